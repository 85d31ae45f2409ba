//! Webhook deliveries: queued, claimed by a runner, done or failed with their reason.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};

/// One webhook delivery to queue: its deduplication key, the CRM deal it names, the deal when it carried one.
pub struct NewEvent {
    pub key: String,
    pub crm_id: String,
    pub deal: Option<Value>,
}

/// Queues deliveries (a repeated key is dropped) and notes the connector's last event;
/// returns how many were new.
pub async fn enqueue(pool: &PgPool, id: i64, events: &[NewEvent]) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let keys: Vec<&str> = events.iter().map(|e| e.key.as_str()).collect();
    let crm_ids: Vec<&str> = events.iter().map(|e| e.crm_id.as_str()).collect();
    let deals: Vec<Option<&Value>> = events.iter().map(|e| e.deal.as_ref()).collect();
    let inserted = sqlx::query(
        "INSERT INTO connector_events (connector_id, key, crm_id, deal)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::jsonb[])
         ON CONFLICT (connector_id, key) DO NOTHING",
    )
    .bind(id)
    .bind(&keys)
    .bind(&crm_ids)
    .bind(&deals)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query("UPDATE connectors SET last_event_at = arena_now() WHERE id = $1").bind(id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(inserted)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub connector_id: i64,
    pub crm_id: String,
    pub deal: Option<Value>,
    pub attempts: i32,
    pub received_at: DateTime<Utc>,
    pub reason: Option<String>,
}

/// Claims up to `limit` queued deliveries, oldest first, locked until the caller commits
/// (another instance skips them).
pub async fn claim(tx: &mut Transaction<'_, Postgres>, limit: i64) -> Result<Vec<EventRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, connector_id, crm_id, deal, attempts, received_at, reason FROM connector_events
          WHERE state = 'queued' ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

/// Marks deliveries done.
pub async fn done(tx: &mut Transaction<'_, Postgres>, ids: &[i64]) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE connector_events SET state = 'done', done_at = arena_now(), attempts = attempts + 1 WHERE id = ANY($1)",
    )
    .bind(ids)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A delivery that could not be done: tried again later, or failed for good after `give_up` attempts.
pub async fn attempt_failed(
    tx: &mut Transaction<'_, Postgres>,
    event: i64,
    reason: &str,
    give_up: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE connector_events SET attempts = attempts + 1, reason = $2,
                state = CASE WHEN attempts + 1 >= $3 THEN 'failed' ELSE 'queued' END
          WHERE id = $1",
    )
    .bind(event)
    .bind(reason)
    .bind(give_up)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The failed deliveries, newest first.
pub async fn failed(pool: &PgPool, id: i64, limit: i64) -> Result<Vec<EventRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, connector_id, crm_id, deal, attempts, received_at, reason FROM connector_events
          WHERE connector_id = $1 AND state = 'failed' ORDER BY id DESC LIMIT $2",
    )
    .bind(id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Queues a failed delivery again; false when there is no such failed delivery.
pub async fn retry(pool: &PgPool, id: i64, event: i64) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE connector_events SET state = 'queued', attempts = 0 WHERE connector_id = $1 AND id = $2 AND state = 'failed'",
    )
    .bind(id)
    .bind(event)
    .execute(pool)
    .await?
    .rows_affected()
        == 1)
}

/// Deliveries received in the last hour.
pub async fn last_hour(pool: &PgPool, id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM connector_events WHERE connector_id = $1 AND received_at > arena_now() - interval '1 hour'",
    )
    .bind(id)
    .fetch_one(pool)
    .await
}

/// delivery with its reason, so it can be retried once it is fixed in the CRM.
pub async fn refused(
    tx: &mut Transaction<'_, Postgres>,
    id: i64,
    crm_id: &str,
    why: &str,
    item: Option<&Value>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO connector_events (connector_id, key, crm_id, state, attempts, reason, deal)
         VALUES ($1, 'refused:' || $2 || '@' || arena_now()::text, $2, 'failed', 1, $3, $4)
         ON CONFLICT (connector_id, key) DO NOTHING",
    )
    .bind(id)
    .bind(crm_id)
    .bind(why)
    .bind(item)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
