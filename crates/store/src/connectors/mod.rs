//! CRM connectors: their settings (the token sealed by the caller), the CRM's people and who
//! they are here, every CRM deal seen with its version, and the webhook deliveries waiting.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};

mod events;
mod items;
mod sync;
pub use events::*;
pub use items::*;
pub use sync::*;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ConnectorRow {
    pub id: i64,
    pub kind: String,
    pub base_url: String,
    pub secret: Vec<u8>,
    pub hook_key: String,
    pub hook_secret: Option<Vec<u8>>,
    pub account: String,
    pub stage_map: Value,
    pub stages: Value,
    /// Which CRM deal fields give `customer`, `product`, `deal_type` (`connectors::FieldMap`).
    pub field_map: Value,
    /// The CRM's deal fields as last read.
    pub fields: Value,
    /// Where the next whole reconcile reads from when every deal must be read again.
    pub reread_from: Option<DateTime<Utc>>,
    pub backfill_state: String,
    pub backfill_from: Option<DateTime<Utc>>,
    pub backfill_cursor: Option<String>,
    pub backfill_done: i64,
    pub backfill_total: Option<i64>,
    pub reconciled_to: Option<DateTime<Utc>>,
    pub reconciled_at: Option<DateTime<Utc>>,
    pub last_event_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub created_by: String,
}

const COLUMNS: &str =
    "id, kind, base_url, secret, hook_key, hook_secret, account, stage_map, stages, field_map, fields, reread_from, backfill_state, backfill_from, \
    backfill_cursor, backfill_done, backfill_total, reconciled_to, reconciled_at, last_event_at, last_error, \
    last_error_at, created_by";

pub struct NewConnector<'a> {
    pub kind: &'a str,
    pub base_url: &'a str,
    pub secret: Vec<u8>,
    pub hook_key: &'a str,
    pub hook_secret: Option<Vec<u8>>,
    pub account: &'a str,
    pub by: &'a str,
}

/// Stores a connector; `None` when one of its kind exists already. Reconciling starts now.
pub async fn create(tx: &mut Transaction<'_, Postgres>, new: NewConnector<'_>) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO connectors (kind, base_url, secret, hook_key, account, created_by, hook_secret, reconciled_to, reconciled_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, arena_now(), arena_now()) ON CONFLICT (kind) DO NOTHING RETURNING id",
    )
    .bind(new.kind)
    .bind(new.base_url)
    .bind(new.secret)
    .bind(new.hook_key)
    .bind(new.account)
    .bind(new.by)
    .bind(new.hook_secret)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn all(pool: &PgPool) -> Result<Vec<ConnectorRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM connectors ORDER BY id")).fetch_all(pool).await
}

pub async fn by_id(pool: &PgPool, id: i64) -> Result<Option<ConnectorRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM connectors WHERE id = $1")).bind(id).fetch_optional(pool).await
}

/// A connector, locked until the caller's transaction ends (its token is being refreshed); an
/// error at once (`55P03`) when another transaction holds it (a delete: waiting could close a
/// circle PostgreSQL cannot see, through the runner's own claim).
pub async fn locked(tx: &mut Transaction<'_, Postgres>, id: i64) -> Result<Option<ConnectorRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM connectors WHERE id = $1 FOR UPDATE NOWAIT"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

/// Replaces a connector's sealed token (refreshed OAuth tokens).
pub async fn set_secret(tx: &mut Transaction<'_, Postgres>, id: i64, sealed: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE connectors SET secret = $2 WHERE id = $1").bind(id).bind(sealed).execute(&mut **tx).await?;
    Ok(())
}

pub async fn by_kind(pool: &PgPool, kind: &str) -> Result<Option<ConnectorRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM connectors WHERE kind = $1")).bind(kind).fetch_optional(pool).await
}

/// Deletes a connector with its people, items and events; the records it brought stay.
pub async fn delete(tx: &mut Transaction<'_, Postgres>, id: i64) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM connectors WHERE id = $1").bind(id).execute(&mut **tx).await?.rows_affected() == 1)
}

/// Locks a connector until the caller's transaction ends (a runner storing a page waits, and
/// one that stored before has committed); false when there is none.
pub async fn lock(tx: &mut Transaction<'_, Postgres>, id: i64) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("SELECT 1 FROM connectors WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .is_some())
}

/// The records a connector stored: (record id, its kind: `deal`, `activity` or `lead`).
pub async fn stored_records(tx: &mut Transaction<'_, Postgres>, id: i64) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT record_id, CASE WHEN deal ? 'stage' THEN 'deal' WHEN deal ? 'activity_type' THEN 'activity' ELSE 'lead' END
           FROM connector_items
          WHERE connector_id = $1 AND record_id IS NOT NULL ORDER BY record_id",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await
}

/// Keeps what the CRM marks its webhooks with (sealed by the caller); false when no such connector.
pub async fn set_hook_secret(pool: &PgPool, id: i64, sealed: &[u8]) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("UPDATE connectors SET hook_secret = $2 WHERE id = $1")
        .bind(id)
        .bind(sealed)
        .execute(pool)
        .await?
        .rows_affected()
        == 1)
}

/// Sets (or, with `None`, clears) one stage's override, in the caller's transaction; returns
/// the connector as it now is, locked.
pub async fn set_stage(
    tx: &mut Transaction<'_, Postgres>,
    id: i64,
    stage: &str,
    outcome: Option<&str>,
) -> Result<Option<ConnectorRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE connectors SET stage_map = CASE WHEN $3::text IS NULL THEN stage_map - $2
                                                ELSE stage_map || jsonb_build_object($2::text, $3::text) END
          WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(stage)
    .bind(outcome)
    .fetch_optional(&mut **tx)
    .await
}

/// Keeps the CRM's stages as last read.
pub async fn set_stages(pool: &PgPool, id: i64, stages: &Value) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE connectors SET stages = $2 WHERE id = $1").bind(id).bind(stages).execute(pool).await?;
    Ok(())
}

/// Has the next reconcile read every deal again from the backfill's start (a CRM that sends only
/// the fields asked for has not sent a newly mapped one), at once.
pub async fn reread(pool: &PgPool, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE connectors SET reconciled_at = NULL,
                reread_from = coalesce(backfill_from,
                                       (SELECT min(modified_at) FROM connector_items WHERE connector_id = $1),
                                       reconciled_to)
          WHERE id = $1",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Keeps the CRM's deal fields as last read.
pub async fn set_fields(pool: &PgPool, id: i64, fields: &Value) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE connectors SET fields = $2 WHERE id = $1").bind(id).bind(fields).execute(pool).await?;
    Ok(())
}

/// Sets the field mapping in the caller's transaction; returns the connector as it now is, locked.
pub async fn set_field_map(
    tx: &mut Transaction<'_, Postgres>,
    id: i64,
    field_map: &Value,
) -> Result<Option<ConnectorRow>, sqlx::Error> {
    sqlx::query_as(&format!("UPDATE connectors SET field_map = $2 WHERE id = $1 RETURNING {COLUMNS}"))
        .bind(id)
        .bind(field_map)
        .fetch_optional(&mut **tx)
        .await
}

/// Every deal item's stored JSON (to apply again after the field mapping changed), locked.
pub async fn deal_items(tx: &mut Transaction<'_, Postgres>, id: i64) -> Result<Vec<Value>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT deal FROM connector_items WHERE connector_id = $1 AND deal ? 'stage' ORDER BY crm_id FOR UPDATE",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await
}

/// The values the stored deals have in the CRM field `key`, with how many deals have each, most first.
pub async fn field_values(pool: &PgPool, id: i64, key: &str) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT deal->'fields'->>$2 v, count(*) FROM connector_items
          WHERE connector_id = $1 AND deal->'fields' ? $2 GROUP BY v ORDER BY count(*) DESC, v LIMIT 50",
    )
    .bind(id)
    .bind(key)
    .fetch_all(pool)
    .await
}

/// Which of `customers` and `products` exist as records.
pub async fn known(
    tx: &mut Transaction<'_, Postgres>,
    customers: &[String],
    products: &[String],
) -> Result<(Vec<String>, Vec<String>), sqlx::Error> {
    let customers =
        sqlx::query_scalar("SELECT id FROM customers WHERE id = ANY($1)").bind(customers).fetch_all(&mut **tx).await?;
    let products =
        sqlx::query_scalar("SELECT id FROM products WHERE id = ANY($1)").bind(products).fetch_all(&mut **tx).await?;
    Ok((customers, products))
}

/// The deals (their stored JSON) in one stage, of every state, locked.
pub async fn in_stage(tx: &mut Transaction<'_, Postgres>, id: i64, stage: &str) -> Result<Vec<Value>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT deal FROM connector_items WHERE connector_id = $1 AND deal->>'stage' = $2 ORDER BY crm_id FOR UPDATE",
    )
    .bind(id)
    .bind(stage)
    .fetch_all(&mut **tx)
    .await
}

/// Remembers the last failure (or clears it with `None`).
pub async fn set_error(pool: &PgPool, id: i64, error: Option<&str>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE connectors SET last_error = $2, last_error_at = CASE WHEN $2 IS NULL THEN last_error_at ELSE arena_now() END
         WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Figures {
    pub kind: String,
    pub queued: i64,
    pub failed: i64,
    pub waiting: i64,
    /// Seconds since its last webhook (none yet: `None`).
    pub last_event_age: Option<f64>,
    pub backfill_done: i64,
    pub backfill_total: Option<i64>,
    /// When its last error happened (seconds since the epoch).
    pub last_error_at: Option<f64>,
}

pub async fn figures(pool: &PgPool) -> Result<Vec<Figures>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.kind,
                (SELECT count(*) FROM connector_events e WHERE e.connector_id = c.id AND e.state = 'queued') AS queued,
                (SELECT count(*) FROM connector_events e WHERE e.connector_id = c.id AND e.state = 'failed') AS failed,
                (SELECT count(*) FROM connector_items i WHERE i.connector_id = c.id AND i.state = 'needs_mapping') AS waiting,
                extract(epoch FROM arena_now() - c.last_event_at)::float8 AS last_event_age,
                c.backfill_done, c.backfill_total,
                extract(epoch FROM c.last_error_at)::float8 AS last_error_at
           FROM connectors c ORDER BY c.kind",
    )
    .fetch_all(pool)
    .await
}
