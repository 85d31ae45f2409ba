//! Everything that touches PostgreSQL: SQL sits next to the function that runs it.

pub mod badges;
pub mod challenges;
pub mod connectors;
pub mod demo;
pub mod directory;
pub mod displays;
pub mod flags;
pub mod health;
pub mod imports;
pub mod insights;
pub mod kpis;
pub mod notify;
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

/// How the app reaches PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// A connection of its own to the server: settings go with each connection.
    Direct,
    /// Through a pooler in transaction mode (PgBouncer): server connections are shared
    /// between clients, so nothing is set per connection. [`settings_on_role`] puts the
    /// same settings on the role instead, over a direct connection.
    Pooler,
}

/// The settings every statement of the app runs with. Sorts for the exact medians stay
/// in memory. Every statement is planned for its own bounds: a generic plan, chosen after
/// five executions of a prepared statement, can read a year of records where its bounds
/// need a day's.
const SETTINGS: [(&str, &str); 2] = [("work_mem", "32MB"), ("plan_cache_mode", "force_custom_plan")];

pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    connect_by(url, max_connections, Route::Direct).await
}

pub async fn connect_by(url: &str, max_connections: u32, route: Route) -> Result<PgPool, sqlx::Error> {
    pool_options(max_connections).connect_with(connect_options(url, route)?).await
}

/// A pool that connects at its first use: a read replica that is down at start does not stop
/// the app, and one that stops answering is given up on after 2 s (reads go to the primary).
pub fn connect_lazy_by(url: &str, max_connections: u32, route: Route) -> Result<PgPool, sqlx::Error> {
    let options = pool_options(max_connections).acquire_timeout(Duration::from_secs(2));
    Ok(options.connect_lazy_with(connect_options(url, route)?))
}

/// A connection idle this long is pinged before it is handed out; one used within it is not
/// (HikariCP's bypass window, the same 500 ms). A busy instance then pays no round trip before
/// each query (2,000 pages re-reading after a won deal: two queries each, and two pings), and
/// after the database restarts, a connection that had just been used fails one query and is
/// dropped, as any connection cut mid-query would.
const PING_AFTER_IDLE: Duration = Duration::from_millis(500);

fn pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_AFTER_IDLE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}

fn connect_options(url: &str, route: Route) -> Result<PgConnectOptions, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?.application_name("kpi-arena");
    Ok(match route {
        // The app's clock for `arena_now()`: 0 unless a test pins it.
        Route::Direct => options.options(SETTINGS).options([("kpi_arena.clock_offset", domain::clock::pg_offset())]),
        // PgBouncer refuses startup options it does not know, and would not keep them per client.
        Route::Pooler => options,
    })
}

/// Puts [`SETTINGS`] on the connecting role in this database, for connections that come
/// through a pooler, unless they are there already. A role may always set its own defaults;
/// they apply to the sessions that start after (a pooler's new server connections).
pub async fn settings_on_role(conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    let (database, current): (String, Vec<String>) = sqlx::query_as(
        "SELECT current_database(), coalesce((SELECT setconfig FROM pg_db_role_setting
             WHERE setrole = (SELECT oid FROM pg_roles WHERE rolname = current_user)
               AND setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())), '{}')",
    )
    .fetch_one(&mut *conn)
    .await?;
    for (name, value) in SETTINGS {
        if current.iter().any(|c| c == &format!("{name}={value}")) {
            continue;
        }
        // Names and values are ours; the database name is quoted as an identifier.
        let sql =
            format!("ALTER ROLE CURRENT_USER IN DATABASE \"{}\" SET {name} = '{value}'", database.replace('"', "\"\""));
        sqlx::raw_sql(&sql).execute(&mut *conn).await?;
    }
    Ok(())
}
