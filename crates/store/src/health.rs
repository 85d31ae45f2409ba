//! What an instance's readiness reads from the database.

use sqlx::PgPool;

/// One round trip: whether the database answers at all.
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}

/// The versions of this build's migrations that the database has not applied successfully.
pub async fn missing_migrations(pool: &PgPool) -> Result<Vec<i64>, sqlx::Error> {
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success").fetch_all(pool).await?;
    Ok(crate::MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| m.version)
        .filter(|v| !applied.contains(v))
        .collect())
}

/// How long the oldest derived work has been waiting for a scoring worker, in milliseconds
/// (by the app's clock); `None` when nothing waits.
pub async fn oldest_work_age_ms(pool: &PgPool) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT (EXTRACT(EPOCH FROM arena_now() - min(created_at)) * 1000)::bigint FROM score_work")
        .fetch_one(pool)
        .await
}

/// Where the primary's write-ahead log is inserted to: everything committed so far lies before
/// it, also under `synchronous_commit = off` (where a commit is visible before it is flushed).
pub async fn current_lsn(primary: &PgPool) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_current_wal_insert_lsn()::text").fetch_one(primary).await
}

/// Whether a standby has replayed the primary's log up to `lsn`; `None` when it is no standby.
pub async fn replayed_up_to(replica: &PgPool, lsn: &str) -> Result<Option<bool>, sqlx::Error> {
    sqlx::query_scalar("SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() >= $1::pg_lsn END")
        .bind(lsn)
        .fetch_one(replica)
        .await
}

/// How far a standby is behind the primary's `lsn`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplayLag {
    /// False when the server is no standby (a primary, or one promoted).
    pub standby: bool,
    /// Bytes of the primary's log not yet replayed (0 when caught up).
    pub bytes: i64,
    /// Seconds since the last transaction it replayed committed on the primary; 0 when caught up.
    pub seconds: f64,
}

pub async fn replay_lag(replica: &PgPool, lsn: &str) -> Result<ReplayLag, sqlx::Error> {
    let (standby, bytes, seconds): (bool, Option<f64>, Option<f64>) = sqlx::query_as(
        "SELECT pg_is_in_recovery(), \
                pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::float8, \
                EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8",
    )
    .bind(lsn)
    .fetch_one(replica)
    .await?;
    let bytes = bytes.unwrap_or(0.0).max(0.0) as i64;
    // The last replayed commit's age says nothing once everything is replayed (an idle primary).
    let seconds = if bytes == 0 { 0.0 } else { seconds.unwrap_or(0.0).max(0.0) };
    Ok(ReplayLag { standby, bytes, seconds })
}
