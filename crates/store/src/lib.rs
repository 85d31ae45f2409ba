//! Everything that touches PostgreSQL: SQL sits next to the function that runs it.

pub mod badges;
pub mod challenges;
pub mod demo;
pub mod directory;
pub mod displays;
pub mod flags;
pub mod health;
pub mod imports;
pub mod insights;
pub mod kpis;
pub mod points;
pub mod records;
pub mod rollups;
pub mod settings;
pub mod targets;
pub mod teams;
pub mod users;
pub mod work;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::str::FromStr;
use std::time::Duration;

/// The schema migrations in `migrations/`, compiled in.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    // Sorts for the exact medians stay in memory. Every statement is planned
    // for its own bounds: a generic plan, chosen after five executions of a
    // prepared statement, can read a year of records where its bounds need a day's.
    let options = PgConnectOptions::from_str(url)?.application_name("kpi-arena").options([
        ("work_mem", "32MB"),
        ("plan_cache_mode", "force_custom_plan"),
        // The app's clock for `arena_now()`: 0 unless a test pins it.
        ("kpi_arena.clock_offset", domain::clock::pg_offset().as_str()),
    ]);
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
}
