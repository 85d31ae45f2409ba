//! The derived-work queue (`score_work`): rows written beside the change they
//! stem from, claimed and deleted by a scoring worker in its own transaction.
//! SQL only: what the work means is `services::worker`'s.

use chrono::{DateTime, Utc};
use domain::scoring::RecordRef;
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
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Adds work in the caller's transaction; returns its id (work is done in id order).
pub async fn enqueue(conn: &mut PgConnection, work: &Work) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("INSERT INTO score_work (reason, owners, from_at, to_at) VALUES ($1, $2, $3, $4) RETURNING id")
        .bind(work.reason.as_str())
        .bind(&work.owners)
        .bind(work.from)
        .bind(work.to)
        .fetch_one(conn)
        .await
}

/// Claims (deletes, in the caller's transaction) up to `limit` of the oldest
/// rows no other worker holds. A rollback puts them back.
pub async fn claim(conn: &mut PgConnection, limit: i64) -> Result<Vec<Work>, sqlx::Error> {
    type Row = (i64, String, Option<Vec<String>>, DateTime<Utc>, DateTime<Utc>);
    let rows: Vec<Row> = sqlx::query_as(
        "DELETE FROM score_work WHERE id IN
           (SELECT id FROM score_work ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id, reason, owners, from_at, to_at",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, reason, owners, from, to)| Work { id, reason: Reason::parse(&reason), owners, from, to })
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
    sqlx::query_scalar("SELECT DISTINCT owner_id FROM customers WHERE id = ANY($1)")
        .bind(customers)
        .fetch_all(conn)
        .await
}

/// The reps who owned these records before this batch, and the span of their
/// old instants: a record moved to another rep, or to another day, takes its
/// old points with it. Read in the batch's transaction before it upserts.
pub async fn before_images(
    conn: &mut PgConnection,
    refs: &[RecordRef],
) -> Result<(Vec<String>, Option<(DateTime<Utc>, DateTime<Utc>)>), sqlx::Error> {
    let ids = |kind: &str| -> Vec<&str> { refs.iter().filter(|r| r.kind == kind).map(|r| r.id.as_str()).collect() };
    let row: (Option<Vec<String>>, Option<DateTime<Utc>>, Option<DateTime<Utc>>) = sqlx::query_as(
        "SELECT array_agg(DISTINCT owner) FILTER (WHERE owner IS NOT NULL), min(lo), max(hi) FROM (
           SELECT owner_id owner, least(created_at, closed_at) lo, greatest(created_at, closed_at) hi
             FROM deals WHERE id = ANY($1)
           UNION ALL SELECT owner_id, at, at FROM activities WHERE id = ANY($2)
           UNION ALL SELECT owner_id, proposed_at, proposed_at FROM meeting_requests WHERE id = ANY($3)
           UNION ALL SELECT owner_id, least(created_at, qualified_at, first_contact_at, followed_up_at, converted_at),
               greatest(created_at, qualified_at, first_contact_at, followed_up_at, converted_at)
             FROM leads WHERE id = ANY($4)
           UNION ALL SELECT owner_id, least(acquired_at, churned_at), greatest(acquired_at, churned_at)
             FROM customers WHERE id = ANY($5)
           UNION ALL SELECT coalesce(f.owner_id, c.owner_id), f.at, f.at
             FROM feedback f LEFT JOIN customers c ON c.id = f.customer_id WHERE f.id = ANY($6)
         ) x",
    )
    .bind(ids("deal"))
    .bind(ids("activity"))
    .bind(ids("meeting_request"))
    .bind(ids("lead"))
    .bind(ids("customer"))
    .bind(ids("feedback"))
    .fetch_one(conn)
    .await?;
    let span = match (row.1, row.2) {
        (Some(lo), Some(hi)) => Some((lo, hi)),
        _ => None,
    };
    Ok((row.0.unwrap_or_default(), span))
}
