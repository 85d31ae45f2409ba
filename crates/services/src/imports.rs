//! CSV imports: a file becomes a checked preview; storing it is a second step,
//! all or nothing, run in the background and reporting its progress in
//! `imports`, so a page on any instance can follow it.

use domain::access::{CurrentUser, Role};
use store::records::{upsert_records, validate_batch, StoreError};
use domain::records::sheet;
use domain::records::{Kind, RecordError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;

/// Records stored per statement; the progress moves after each.
const CHUNK: usize = 2_000;
/// Rows an import's page shows before the user decides.
pub const PREVIEW_ROWS: i64 = 10;
/// Errors an import's page lists (the count says how many there are in all).
pub const SHOWN_ERRORS: i64 = 200;

/// One bad row, by its line in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowError {
    pub line: u64,
    pub id: Option<String>,
    pub message: String,
}

/// An import as its page shows it.
#[derive(Debug, Clone)]
pub struct Import {
    pub id: i64,
    pub created_by: String,
    pub kind: String,
    pub file_name: String,
    pub status: String,
    pub problem: Option<String>,
    pub columns: Vec<String>,
    /// The first `PREVIEW_ROWS` records as they will be sent.
    pub preview: Vec<Value>,
    /// The first `SHOWN_ERRORS` errors, and how many there are.
    pub errors: Vec<RowError>,
    pub error_count: i64,
    pub total: i32,
    pub stored: i32,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("no import {0} of yours")]
    NotFound(i64),
    #[error("import {0} is not ready to store")]
    NotReady(i64),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

/// Reads and checks a file against what is stored, and keeps it as an import:
/// `ready` to store, or `invalid` with every problem found. Returns its id.
pub async fn create(
    pool: &PgPool,
    by: &CurrentUser,
    kind: Kind,
    file_name: &str,
    bytes: &[u8],
) -> Result<i64, sqlx::Error> {
    // Previews nobody stored are kept a day.
    sqlx::query(
        "DELETE FROM imports WHERE status IN ('invalid', 'ready') AND created_at < arena_now() - interval '1 day'",
    )
    .execute(pool)
    .await?;
    let tz = store::settings::load(pool).await?.time_zone;
    let (sheet, status, problem, errors) = match sheet::read(bytes, kind, tz) {
        Err(e) => (None, "invalid", Some(e.to_string()), Vec::new()),
        Ok(sheet) => match validate_batch(pool, &sheet.records).await {
            Ok(_) => (Some(sheet), "ready", None, Vec::new()),
            Err(StoreError::Invalid(errors)) => {
                let errors = by_line(&sheet.lines, errors);
                (Some(sheet), "invalid", None, errors)
            }
            Err(StoreError::Db(e)) => return Err(e),
        },
    };
    let (records, lines, columns) = match sheet {
        Some(s) => (s.records, s.lines.into_iter().map(|l| l as i64).collect(), s.columns),
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    sqlx::query_scalar(
        "INSERT INTO imports (created_by, kind, file_name, status, problem, records, lines, errors, columns, total)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8::jsonb, $9, $10) RETURNING id",
    )
    .bind(&by.id)
    .bind(kind.name())
    .bind(file_name)
    .bind(status)
    .bind(problem)
    .bind(Value::Array(records.clone()).to_string())
    .bind(lines)
    .bind(serde_json::to_string(&errors).unwrap_or_else(|_| "[]".into()))
    .bind(columns)
    .bind(records.len() as i32)
    .fetch_one(pool)
    .await
}

fn by_line(lines: &[u64], errors: Vec<RecordError>) -> Vec<RowError> {
    errors
        .into_iter()
        .map(|e| RowError { line: lines.get(e.index).copied().unwrap_or_default(), id: e.id, message: e.message })
        .collect()
}

/// An `imports` row as `find` reads it: the preview and the errors still JSON text.
#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    created_by: String,
    kind: String,
    file_name: String,
    status: String,
    problem: Option<String>,
    columns: Vec<String>,
    preview: String,
    errors: String,
    error_count: i64,
    total: i32,
    stored: i32,
    created_at: DateTime<Utc>,
}

/// The import `id` as `who` may see it: their own, or any for an admin.
pub async fn find(pool: &PgPool, who: &CurrentUser, id: i64) -> Result<Import, ImportError> {
    // A store whose instance stopped mid-way rolled back: say so, and let it be started again.
    sqlx::query(
        "UPDATE imports SET status = 'failed', stored = 0, updated_at = arena_now(),
                problem = 'storing was interrupted (the server stopped); nothing was stored'
         WHERE id = $1 AND status = 'storing' AND updated_at < arena_now() - interval '2 minutes'",
    )
    .bind(id)
    .execute(pool)
    .await?;
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, created_by, kind, file_name, status, problem, columns,
                jsonb_path_query_array(records, '$[0 to $n]', jsonb_build_object('n', $2::int - 1))::text AS preview,
                jsonb_path_query_array(errors, '$[0 to $n]', jsonb_build_object('n', $3::int - 1))::text AS errors,
                jsonb_array_length(errors)::bigint AS error_count, total, stored, created_at
         FROM imports WHERE id = $1 AND (created_by = $4 OR $5)",
    )
    .bind(id)
    .bind(PREVIEW_ROWS as i32)
    .bind(SHOWN_ERRORS as i32)
    .bind(&who.id)
    .bind(who.role == Role::Admin)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Err(ImportError::NotFound(id));
    };
    Ok(Import {
        id: row.id,
        created_by: row.created_by,
        kind: row.kind,
        file_name: row.file_name,
        status: row.status,
        problem: row.problem,
        columns: row.columns,
        preview: serde_json::from_str(&row.preview).unwrap_or_default(),
        errors: serde_json::from_str(&row.errors).unwrap_or_default(),
        error_count: row.error_count,
        total: row.total,
        stored: row.stored,
        created_at: row.created_at,
    })
}

/// The latest imports `who` may see, newest first: (id, kind, file, status, rows, created).
pub async fn recent(
    pool: &PgPool,
    who: &CurrentUser,
) -> Result<Vec<(i64, String, String, String, i32, DateTime<Utc>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, kind, file_name, status, total, created_at FROM imports
         WHERE created_by = $1 OR $2 ORDER BY created_at DESC, id DESC LIMIT 20",
    )
    .bind(&who.id)
    .bind(who.role == Role::Admin)
    .fetch_all(pool)
    .await
}

/// Starts storing a checked import in the background; its page follows the progress.
pub async fn start(pool: &PgPool, who: &CurrentUser, id: i64) -> Result<(), ImportError> {
    find(pool, who, id).await?;
    let started: Option<i64> = sqlx::query_scalar(
        "UPDATE imports SET status = 'storing', stored = 0, problem = NULL, updated_at = arena_now()
         WHERE id = $1 AND status IN ('ready', 'failed') AND total > 0 RETURNING id",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    if started.is_none() {
        return Err(ImportError::NotReady(id));
    }
    let pool = pool.clone();
    tokio::spawn(async move {
        if let Err(e) = store(&pool, id).await {
            tracing::error!("storing import {id} failed: {e}");
            let _ = sqlx::query(
                "UPDATE imports SET status = 'failed', stored = 0, updated_at = arena_now(),
                        problem = 'storing failed, nothing was stored: ' || $2 WHERE id = $1",
            )
            .bind(id)
            .bind(e.to_string())
            .execute(&pool)
            .await;
        }
    });
    Ok(())
}

/// Checks the records again (what they refer to may have changed since the
/// preview), then stores them in one transaction, a chunk at a time.
async fn store(pool: &PgPool, id: i64) -> Result<(), sqlx::Error> {
    let (records, lines): (String, Vec<i64>) =
        sqlx::query_as("SELECT records::text, lines FROM imports WHERE id = $1").bind(id).fetch_one(pool).await?;
    let values: Vec<Value> = serde_json::from_str(&records).unwrap_or_default();
    let records = match validate_batch(pool, &values).await {
        Ok(records) => records,
        Err(StoreError::Invalid(errors)) => {
            let lines: Vec<u64> = lines.into_iter().map(|l| l as u64).collect();
            let errors = serde_json::to_string(&by_line(&lines, errors)).unwrap_or_else(|_| "[]".into());
            sqlx::query(
                "UPDATE imports SET status = 'invalid', errors = $2::jsonb, updated_at = arena_now(),
                        problem = 'the data changed since the preview; nothing was stored' WHERE id = $1",
            )
            .bind(id)
            .bind(errors)
            .execute(pool)
            .await?;
            return Ok(());
        }
        Err(StoreError::Db(e)) => return Err(e),
    };
    let mut tx = pool.begin().await?;
    let touched = domain::records::Touched::of(&records);
    let before = crate::ingest::Before::read(&mut tx, &touched).await?;
    let mut stored = 0;
    for chunk in records.chunks(CHUNK) {
        upsert_records(&mut tx, chunk).await?;
        stored += chunk.len();
        sqlx::query("UPDATE imports SET stored = $2, updated_at = arena_now() WHERE id = $1")
            .bind(id)
            .bind(stored as i32)
            .execute(pool)
            .await?;
    }
    // Points, badges and the TVs follow through the one ingest path, as after an API batch.
    crate::ingest::leave_work(&mut tx, touched, before).await?;
    sqlx::query("UPDATE imports SET status = 'done', records = '[]', updated_at = arena_now() WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
