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
