//! One module per page.

pub mod account;
pub mod badges;
pub mod challenges;
pub mod choices;
pub mod connectors;
pub mod deals;
pub mod displays;
pub mod errors;
pub mod flags;
pub mod home;
pub mod import;
pub mod invite;
pub mod kpis;
pub mod leaderboard;
pub mod login;
pub mod not_found;
pub mod points;
pub mod report;
pub mod rules;
pub mod settings;
pub mod targets;
pub mod team;
pub mod teams;
pub mod tokens;
pub mod tv;
pub mod users;
