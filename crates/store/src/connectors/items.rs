//! The CRM's people and who they are here, and every CRM item seen with its newest version.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};
use std::collections::HashMap;

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
