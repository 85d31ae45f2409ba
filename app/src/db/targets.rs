//! Targets: one number per KPI, scope (rep, team or org) and calendar period.

use sqlx::PgPool;
use std::collections::HashMap;

/// Targets set for `scope` in `period` (both as their API text), by KPI id.
pub async fn for_scope(
    pool: &PgPool,
    scope: &str,
    period: &str,
) -> Result<HashMap<String, f64>, sqlx::Error> {
    let rows: Vec<(String, f64)> =
        sqlx::query_as("SELECT kpi, value FROM targets WHERE scope = $1 AND period = $2")
            .bind(scope)
            .bind(period)
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().collect())
}

/// Sets or replaces a target.
pub async fn set(
    pool: &PgPool,
    kpi: &str,
    scope: &str,
    period: &str,
    value: f64,
    by: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO targets (kpi, scope, period, value, set_by) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (kpi, scope, period) DO UPDATE SET value = EXCLUDED.value, set_by = EXCLUDED.set_by, updated_at = now()",
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
