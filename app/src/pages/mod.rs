//! One module per page.

pub mod choices;
pub mod home;
pub mod kpis;
pub mod leaderboard;
pub mod login;
pub mod not_found;
pub mod settings;
pub mod targets;
pub mod team;
