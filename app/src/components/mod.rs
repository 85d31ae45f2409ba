//! View pieces shared by pages.

mod live;
mod loaded;
mod sparkline;
mod top_bar;

pub use live::{live_feed, LiveFeed};
pub use loaded::loaded;
pub use sparkline::Sparkline;
pub use top_bar::TopBar;
