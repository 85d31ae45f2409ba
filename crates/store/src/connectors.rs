//! CRM connectors: their settings (the token sealed by the caller), the CRM's people and who
//! they are here, every CRM deal seen with its version, and the webhook deliveries waiting.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};
use std::collections::HashMap;

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

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct PersonRow {
    pub crm_user: String,
    pub name: String,
    pub email: Option<String>,
    pub user_id: Option<String>,
    pub ignored: bool,
    /// Deals of theirs waiting for them to be mapped.
    pub waiting: i64,
}

/// Adds or refreshes the CRM's people; a new one is matched to the user with the same email.
pub async fn upsert_people(
    pool: &PgPool,
    id: i64,
    people: &[(String, String, Option<String>)],
) -> Result<(), sqlx::Error> {
    let ids: Vec<&str> = people.iter().map(|p| p.0.as_str()).collect();
    let names: Vec<&str> = people.iter().map(|p| p.1.as_str()).collect();
    let emails: Vec<Option<&str>> = people.iter().map(|p| p.2.as_deref()).collect();
    sqlx::query(
        "INSERT INTO connector_people (connector_id, crm_user, name, email, user_id)
         SELECT $1, p.crm_user, p.name, p.email,
                (SELECT u.id FROM users u WHERE p.email IS NOT NULL AND lower(u.email) = lower(p.email))
           FROM unnest($2::text[], $3::text[], $4::text[]) AS p (crm_user, name, email)
         ON CONFLICT (connector_id, crm_user) DO UPDATE
            SET name = EXCLUDED.name, email = EXCLUDED.email,
                user_id = COALESCE(connector_people.user_id, EXCLUDED.user_id)",
    )
    .bind(id)
    .bind(&ids)
    .bind(&names)
    .bind(&emails)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn people(pool: &PgPool, id: i64) -> Result<Vec<PersonRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.crm_user, p.name, p.email, p.user_id, p.ignored,
                (SELECT count(*) FROM connector_items i
                  WHERE i.connector_id = p.connector_id AND i.crm_user = p.crm_user AND i.state = 'needs_mapping') AS waiting
           FROM connector_people p WHERE p.connector_id = $1 ORDER BY p.user_id IS NOT NULL, p.ignored, p.name",
    )
    .bind(id)
    .fetch_all(pool)
    .await
}

/// Who each CRM user is here: `Some(user)`, or `None` (ignored or not mapped), with whether ignored.
pub async fn owners(
    tx: &mut Transaction<'_, Postgres>,
    id: i64,
) -> Result<HashMap<String, (Option<String>, bool)>, sqlx::Error> {
    let rows: Vec<(String, Option<String>, bool)> =
        sqlx::query_as("SELECT crm_user, user_id, ignored FROM connector_people WHERE connector_id = $1")
            .bind(id)
            .fetch_all(&mut **tx)
            .await?;
    Ok(rows.into_iter().map(|(crm, user, ignored)| (crm, (user, ignored))).collect())
}

/// Maps a CRM user to a user here (`Some`), or ignores them (`None`); false when no such CRM user.
pub async fn set_person(
    tx: &mut Transaction<'_, Postgres>,
    id: i64,
    crm_user: &str,
    user: Option<&str>,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE connector_people SET user_id = $3, ignored = ($3 IS NULL) WHERE connector_id = $1 AND crm_user = $2",
    )
    .bind(id)
    .bind(crm_user)
    .bind(user)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

/// The stored versions of these CRM deals (modification time and the deal as stored), locked
/// until the caller commits.
pub async fn versions(
    tx: &mut Transaction<'_, Postgres>,
    id: i64,
    crm_ids: &[String],
) -> Result<HashMap<String, (DateTime<Utc>, Value)>, sqlx::Error> {
    let rows: Vec<(String, DateTime<Utc>, Value)> = sqlx::query_as(
        "SELECT crm_id, modified_at, deal FROM connector_items WHERE connector_id = $1 AND crm_id = ANY($2) FOR UPDATE",
    )
    .bind(id)
    .bind(crm_ids)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|(crm_id, at, deal)| (crm_id, (at, deal))).collect())
}

/// One CRM deal's newest version and what became of it.
pub struct Item {
    pub crm_id: String,
    pub modified_at: DateTime<Utc>,
    pub crm_user: String,
    pub deal: Value,
    /// `stored`, `needs_mapping` or `ignored`.
    pub state: &'static str,
    pub record_id: Option<String>,
}

/// Stores the items; an item older than the one stored (another instance stored a newer version
/// meanwhile) is not written. Returns the CRM ids written.
pub async fn upsert_items(
    tx: &mut Transaction<'_, Postgres>,
    id: i64,
    items: &[Item],
) -> Result<std::collections::HashSet<String>, sqlx::Error> {
    if items.is_empty() {
        return Ok(Default::default());
    }
    let crm_ids: Vec<&str> = items.iter().map(|i| i.crm_id.as_str()).collect();
    let modified: Vec<DateTime<Utc>> = items.iter().map(|i| i.modified_at).collect();
    let users: Vec<&str> = items.iter().map(|i| i.crm_user.as_str()).collect();
    let deals: Vec<&Value> = items.iter().map(|i| &i.deal).collect();
    let states: Vec<&str> = items.iter().map(|i| i.state).collect();
    let records: Vec<Option<&str>> = items.iter().map(|i| i.record_id.as_deref()).collect();
    sqlx::query(
        "INSERT INTO connector_items (connector_id, crm_id, modified_at, crm_user, deal, state, record_id)
         SELECT $1, * FROM unnest($2::text[], $3::timestamptz[], $4::text[], $5::jsonb[], $6::text[], $7::text[])
         ON CONFLICT (connector_id, crm_id) DO UPDATE
            SET modified_at = EXCLUDED.modified_at, crm_user = EXCLUDED.crm_user, deal = EXCLUDED.deal,
                state = EXCLUDED.state, record_id = COALESCE(EXCLUDED.record_id, connector_items.record_id)
          WHERE connector_items.modified_at <= EXCLUDED.modified_at
         RETURNING crm_id",
    )
    .bind(id)
    .bind(&crm_ids)
    .bind(&modified)
    .bind(&users)
    .bind(&deals)
    .bind(&states)
    .bind(&records)
    .fetch_all(&mut **tx)
    .await
    .map(|rows| rows.iter().map(|row| sqlx::Row::get::<String, _>(row, 0)).collect())
}

/// The deals waiting for these CRM users to be mapped (their stored JSON), locked.
pub async fn waiting(tx: &mut Transaction<'_, Postgres>, id: i64, crm_user: &str) -> Result<Vec<Value>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT deal FROM connector_items WHERE connector_id = $1 AND crm_user = $2 AND state <> 'stored'
          ORDER BY crm_id FOR UPDATE",
    )
    .bind(id)
    .bind(crm_user)
    .fetch_all(&mut **tx)
    .await
}

/// How many deals are waiting for a mapping.
pub async fn waiting_count(pool: &PgPool, id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM connector_items WHERE connector_id = $1 AND state = 'needs_mapping'")
        .bind(id)
        .fetch_one(pool)
        .await
}

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

/// Lists a deal the records validation refused (in a backfill or reconcile) as a failed
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

/// One connector's figures for `/metrics`.
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
