//! The backfill's and the reconcile's turns: leased, claimed, moved on.

use super::{ConnectorRow, COLUMNS};
use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};

/// Starts the backfill of history from `from`, expecting `total` deals; a failed backfill from
/// the same date resumes where it stopped.
pub async fn start_backfill(pool: &PgPool, id: i64, from: DateTime<Utc>, total: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE connectors
            SET backfill_cursor = CASE WHEN backfill_state = 'failed' AND backfill_from = $2 THEN backfill_cursor END,
                backfill_done = CASE WHEN backfill_state = 'failed' AND backfill_from = $2 THEN backfill_done ELSE 0 END,
                backfill_state = 'running', backfill_from = $2, backfill_total = $3, backfill_lease_until = NULL
          WHERE id = $1",
    )
    .bind(id)
    .bind(from)
    .bind(total)
    .execute(pool)
    .await?;
    Ok(())
}

/// Leases a running backfill no other instance is reading (for 2 minutes): the caller reads its
/// next page from the CRM outside any transaction, then stores it with [`still_at`].
pub async fn claim_backfill(pool: &PgPool) -> Result<Option<ConnectorRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE connectors SET backfill_lease_until = arena_now() + interval '2 minutes'
          WHERE id = (SELECT id FROM connectors
                       WHERE backfill_state = 'running' AND (backfill_lease_until IS NULL OR backfill_lease_until < arena_now())
                       ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING {COLUMNS}"
    ))
    .fetch_optional(pool)
    .await
}

/// Locks the connector if its backfill still runs at `cursor` (nobody stored that page meanwhile).
pub async fn still_at(tx: &mut Transaction<'_, Postgres>, id: i64, cursor: Option<&str>) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query_scalar::<_, i64>(
        "SELECT id FROM connectors WHERE id = $1 AND backfill_state = 'running'
            AND backfill_cursor IS NOT DISTINCT FROM $2 FOR UPDATE",
    )
    .bind(id)
    .bind(cursor)
    .fetch_optional(&mut **tx)
    .await?
    .is_some())
}

/// Where the backfill now is: `cursor` (`None` with `finished`: done).
pub async fn backfill_moved(
    tx: &mut Transaction<'_, Postgres>,
    id: i64,
    cursor: Option<&str>,
    added: i64,
    finished: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE connectors SET backfill_cursor = $2, backfill_done = backfill_done + $3, backfill_lease_until = NULL,
                backfill_total = CASE WHEN $4 THEN backfill_done + $3 ELSE greatest(backfill_total, backfill_done + $3) END,
                backfill_state = CASE WHEN $4 THEN 'done' ELSE backfill_state END
          WHERE id = $1",
    )
    .bind(id)
    .bind(cursor)
    .bind(added)
    .bind(finished)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn backfill_failed(pool: &PgPool, id: i64, reason: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE connectors SET backfill_state = 'failed', last_error = $2, last_error_at = arena_now() WHERE id = $1",
    )
    .bind(id)
    .bind(reason)
    .execute(pool)
    .await?;
    Ok(())
}

/// Claims a connector due for its reconcile (the last one `every_seconds` ago or more; none while
/// its backfill runs) by marking it reconciled now: no other instance takes it for that long.
pub async fn claim_reconcile(pool: &PgPool, every_seconds: i64) -> Result<Option<ConnectorRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE connectors SET reconciled_at = arena_now()
          WHERE id = (SELECT id FROM connectors
                       WHERE backfill_state <> 'running'
                         AND (reconciled_at IS NULL OR reconciled_at <= arena_now() - make_interval(secs => $1))
                       ORDER BY reconciled_at NULLS FIRST LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING {COLUMNS}"
    ))
    .bind(every_seconds as f64)
    .fetch_optional(pool)
    .await
}

/// A whole reconcile read the CRM's changes up to `to`, and, when it started at `reread` (the
/// connector's `reread_from` as it claimed it), everything to read again.
pub async fn reconciled_to(
    pool: &PgPool,
    id: i64,
    to: DateTime<Utc>,
    reread: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE connectors SET reconciled_to = greatest(reconciled_to, $2),
                reread_from = CASE WHEN reread_from IS NOT DISTINCT FROM $3 THEN NULL ELSE reread_from END
          WHERE id = $1",
    )
    .bind(id)
    .bind(to)
    .bind(reread)
    .execute(pool)
    .await?;
    Ok(())
}

/// Asks for the connector's reconcile at the runner's next pass.
pub async fn reconcile_now(pool: &PgPool, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE connectors SET reconciled_at = NULL WHERE id = $1").bind(id).execute(pool).await?;
    Ok(())
}
