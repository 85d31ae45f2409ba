//! View pieces shared by pages.

pub mod failure;
mod lang_switch;
mod live;
mod loaded;
mod sparkline;
mod top_bar;

pub use failure::{failed, Failed};
pub use lang_switch::LangSwitch;
pub use live::{live_feed, LiveFeed, LiveStatus};
pub use loaded::loaded;
pub use sparkline::Sparkline;
pub use top_bar::TopBar;
