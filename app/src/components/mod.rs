//! View pieces shared by pages.

mod top_bar;

pub use top_bar::TopBar;
