//! View pieces shared by pages.

mod sparkline;
mod top_bar;

pub use sparkline::Sparkline;
pub use top_bar::TopBar;
