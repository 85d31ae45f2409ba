//! View pieces shared by pages.

mod loaded;
mod sparkline;
mod top_bar;

pub use loaded::loaded;
pub use sparkline::Sparkline;
pub use top_bar::TopBar;
