//! Targets: one number per KPI, scope (rep, team or org) and calendar period.

use sqlx::PgPool;
use std::collections::HashMap;

/// Targets set for `scope` in `period` (both as their API text), by KPI id.
pub async fn for_scope(pool: &PgPool, scope: &str, period: &str) -> Result<HashMap<String, f64>, sqlx::Error> {
    let rows: Vec<(String, f64)> = sqlx::query_as("SELECT kpi, value FROM targets WHERE scope = $1 AND period = $2")
        .bind(scope)
        .bind(period)
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Targets set for any of `scopes` in `period`, by (scope, KPI id).
pub async fn for_scopes(
    pool: &PgPool,
    scopes: &[String],
    period: &str,
) -> Result<HashMap<(String, String), f64>, sqlx::Error> {
    let rows: Vec<(String, String, f64)> =
        sqlx::query_as("SELECT scope, kpi, value FROM targets WHERE scope = ANY($1) AND period = $2")
            .bind(scopes)
            .bind(period)
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().map(|(scope, kpi, value)| ((scope, kpi), value)).collect())
}

/// Sets or replaces a target.
pub async fn set<'e>(
    pool: impl sqlx::PgExecutor<'e>,
    kpi: &str,
    scope: &str,
    period: &str,
    value: f64,
    by: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO targets (kpi, scope, period, value, set_by) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (kpi, scope, period) DO UPDATE SET value = EXCLUDED.value, set_by = EXCLUDED.set_by, updated_at = arena_now()",
    )
    .bind(kpi)
    .bind(scope)
    .bind(period)
    .bind(value)
    .bind(by)
    .execute(pool)
    .await?;
    Ok(())
}

/// Removes a target.
pub async fn clear<'e>(
    pool: impl sqlx::PgExecutor<'e>,
    kpi: &str,
    scope: &str,
    period: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM targets WHERE kpi = $1 AND scope = $2 AND period = $3")
        .bind(kpi)
        .bind(scope)
        .bind(period)
        .execute(pool)
        .await?;
    Ok(())
}

/// Copies every target of `scopes` from period `from` to period `to`, replacing what `to` had.
pub async fn copy(
    conn: &mut sqlx::PgConnection,
    scopes: &[String],
    from: &str,
    to: &str,
    by: &str,
) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM targets WHERE scope = ANY($1) AND period = $2")
        .bind(scopes)
        .bind(to)
        .execute(&mut *conn)
        .await?;
    let copied = sqlx::query(
        "INSERT INTO targets (kpi, scope, period, value, set_by)
         SELECT kpi, scope, $3, value, $4 FROM targets WHERE scope = ANY($1) AND period = $2",
    )
    .bind(scopes)
    .bind(from)
    .bind(to)
    .bind(by)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(copied)
}

/// The targets of `period` for `scopes`: (scope, kpi, value).
pub async fn of_scopes(
    pool: &sqlx::PgPool,
    period: &str,
    scopes: &[String],
) -> Result<Vec<(String, String, f64)>, sqlx::Error> {
    sqlx::query_as("SELECT scope, kpi, value FROM targets WHERE period = $1 AND scope = ANY($2)")
        .bind(period)
        .bind(scopes)
        .fetch_all(pool)
        .await
}
