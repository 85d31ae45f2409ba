//! Integration tests: each test starts the real app on a random port against
//! its own fresh PostgreSQL database and talks to it over HTTP.

mod admin;
mod auth;
mod backup;
mod crm_amocrm;
mod database;
mod deals;
mod demo;
mod errors;
mod fakes;
mod floor;
mod health;
mod helpers;
mod home;
mod i18n;
mod import;
mod import_names;
mod insights;
mod kpis;
mod leaderboard;
mod live;
mod matrix;
mod notify;
mod openapi;
mod people;
mod pipeline;
mod points;
mod records;
mod reference;
mod report;
mod restart;
mod scaleout;
mod telemetry;
mod upgrade;
mod crm {
    pub mod amocrm;
    pub mod bitrix24;
    pub mod common;
}
mod crm_bitrix24;
mod crm_hubspot;
mod crm_pipedrive;
