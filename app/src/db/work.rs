//! The derived-work queue (`score_work`): rows written beside the change they
//! stem from, claimed and deleted by a scoring worker in its own transaction.
//! SQL only: what the work means is `services::worker`'s.

use crate::scoring::RecordRef;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

/// Why scores must be brought up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Records,
    Targets,
    Rules,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Records => "records",
            Reason::Targets => "targets",
            Reason::Rules => "rules",
        }
    }

    fn parse(text: &str) -> Reason {
        match text {
            "targets" => Reason::Targets,
            "rules" => Reason::Rules,
            _ => Reason::Records,
        }
    }
}

/// One unit of derived work: rescore `owners` (every rep when `None`) over `[from, to)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Work {
    pub id: i64,
    pub reason: Reason,
    pub owners: Option<Vec<String>>,
    pub records: Vec<RecordRef>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Adds work in the caller's transaction; returns its id (work is done in id order).
pub async fn enqueue(conn: &mut PgConnection, work: &Work) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO score_work (reason, owners, records, from_at, to_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(work.reason.as_str())
    .bind(&work.owners)
    .bind(serde_json::to_value(&work.records).unwrap_or_default())
    .bind(work.from)
    .bind(work.to)
    .fetch_one(conn)
    .await
}

/// Claims (deletes, in the caller's transaction) up to `limit` of the oldest
/// rows no other worker holds. A rollback puts them back.
pub async fn claim(conn: &mut PgConnection, limit: i64) -> Result<Vec<Work>, sqlx::Error> {
    type Row = (i64, String, Option<Vec<String>>, serde_json::Value, DateTime<Utc>, DateTime<Utc>);
    let rows: Vec<Row> = sqlx::query_as(
        "DELETE FROM score_work WHERE id IN
           (SELECT id FROM score_work ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id, reason, owners, records, from_at, to_at",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, reason, owners, records, from, to)| Work {
            id,
            reason: Reason::parse(&reason),
            owners,
            records: serde_json::from_value(records).unwrap_or_default(),
            from,
            to,
        })
        .collect())
}

/// How many rows up to `id` are still waiting (or being worked on).
pub async fn pending_through(pool: &PgPool, id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM score_work WHERE id <= $1").bind(id).fetch_one(pool).await
}

/// How many rows are waiting in all.
pub async fn pending(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM score_work").fetch_one(pool).await
}

/// The owners of these customers (feedback without an owner scores for them).
pub async fn customer_owners(conn: &mut PgConnection, customers: &[String]) -> Result<Vec<String>, sqlx::Error> {
    if customers.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_scalar("SELECT DISTINCT owner_id FROM customers WHERE id = ANY($1)").bind(customers).fetch_all(conn).await
}

/// Who holds ledger entries for these records, and when: a record moved to
/// another rep, or to another day, takes its old points with it.
pub async fn previous_holders(
    conn: &mut PgConnection,
    refs: &[RecordRef],
) -> Result<Vec<(String, DateTime<Utc>)>, sqlx::Error> {
    if refs.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as(
        "SELECT DISTINCT e.user_id, e.at FROM points_entries e, jsonb_array_elements($1::jsonb) r
         WHERE e.records @> jsonb_build_array(r)",
    )
    .bind(serde_json::to_value(refs).unwrap_or_default())
    .fetch_all(conn)
    .await
}
