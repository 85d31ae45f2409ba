//! CSV imports: a file becomes a checked preview; storing it is a second step,
//! all or nothing, run in the background and reporting its progress in
//! `imports`, so a page on any instance can follow it.

use crate::ingest::SubmitError;
use chrono::{DateTime, Utc};
use domain::access::{CurrentUser, Role};
use domain::records::sheet;
use domain::records::{Kind, RecordError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use store::records::upsert_records;

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

/// Files read, checked or stored at once on this instance: an import is
/// CPU- and memory-heavy (200,000 rows), so more wait or are turned away.
pub const AT_ONCE: usize = 2;
static IMPORTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(AT_ONCE);

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// `AT_ONCE` files are being read already: try again in a moment.
    #[error("too many imports at once")]
    Busy,
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
    bytes: Vec<u8>,
) -> Result<i64, ImportError> {
    let _reading = IMPORTS.try_acquire().map_err(|_| ImportError::Busy)?;
    // Previews nobody stored are kept a day.
    store::imports::purge_stale(pool).await?;
    let tz = store::settings::load(pool).await?.time_zone;
    // Reading a file is CPU work: off the async runtime.
    let read = tokio::task::spawn_blocking(move || sheet::read(&bytes, kind, tz))
        .await
        .map_err(|e| sqlx::Error::Protocol(format!("reading the file stopped: {e}")))?;
    let (sheet, status, problem, errors) = match read {
        Err(e) => (None, "invalid", Some(e.to_string()), Vec::new()),
        Ok(sheet) => match crate::ingest::validate(pool, &sheet.records, by).await {
            Ok(_) => (Some(sheet), "ready", None, Vec::new()),
            Err(SubmitError::Invalid(errors) | SubmitError::OutOfScope(errors)) => {
                let errors = by_line(&sheet.lines, errors);
                (Some(sheet), "invalid", None, errors)
            }
            Err(SubmitError::Db(e)) => return Err(e.into()),
        },
    };
    let (records, lines, columns) = match sheet {
        Some(s) => (s.records, s.lines.into_iter().map(|l| l as i64).collect(), s.columns),
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    let id = store::imports::insert(
        pool,
        &store::imports::NewImport {
            created_by: &by.id,
            kind: kind.name(),
            file_name,
            status,
            problem: problem.as_deref(),
            records: &Value::Array(records.clone()).to_string(),
            lines: &lines,
            errors: &serde_json::to_string(&errors).unwrap_or_else(|_| "[]".into()),
            columns: &columns,
            total: records.len() as i32,
        },
    )
    .await?;
    Ok(id)
}

fn by_line(lines: &[u64], errors: Vec<RecordError>) -> Vec<RowError> {
    errors
        .into_iter()
        .map(|e| RowError { line: lines.get(e.index).copied().unwrap_or_default(), id: e.id, message: e.message })
        .collect()
}

/// The import `id` as `who` may see it: their own, or any for an admin.
pub async fn find(pool: &PgPool, who: &CurrentUser, id: i64) -> Result<Import, ImportError> {
    // A store whose instance stopped mid-way rolled back: say so, and let it be started again.
    store::imports::fail_interrupted(pool, id).await?;
    let row = store::imports::find(pool, id, PREVIEW_ROWS as i32, SHOWN_ERRORS as i32).await?;
    let row = row.filter(|r| r.created_by == who.id || who.role == Role::Admin);
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
    store::imports::recent(pool, &who.id, who.role == Role::Admin).await
}

/// Starts storing a checked import in the background; its page follows the progress.
pub async fn start(pool: &PgPool, who: &CurrentUser, id: i64) -> Result<(), ImportError> {
    find(pool, who, id).await?;
    let started = store::imports::mark_storing(pool, id).await?;
    if !started {
        return Err(ImportError::NotReady(id));
    }
    let pool = pool.clone();
    let who = who.clone();
    tokio::spawn(async move {
        if let Err(e) = store(&pool, &who, id).await {
            tracing::error!("storing import {id} failed: {e}");
            let _ = store::imports::mark_failed(&pool, id, &e.to_string()).await;
        }
    });
    Ok(())
}

/// Checks the records again (what they refer to, and the team of their owners,
/// may have changed since the preview), then stores them in one transaction, a
/// chunk at a time.
async fn store(pool: &PgPool, who: &CurrentUser, id: i64) -> Result<(), sqlx::Error> {
    let _storing = IMPORTS.acquire().await.map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    let (records, lines) = store::imports::records_of(pool, id).await?;
    let values: Vec<Value> = serde_json::from_str(&records).unwrap_or_default();
    let records = match crate::ingest::validate(pool, &values, who).await {
        Ok(records) => records,
        Err(SubmitError::Invalid(errors) | SubmitError::OutOfScope(errors)) => {
            let lines: Vec<u64> = lines.into_iter().map(|l| l as u64).collect();
            let errors = serde_json::to_string(&by_line(&lines, errors)).unwrap_or_else(|_| "[]".into());
            store::imports::mark_changed(pool, id, &errors).await?;
            return Ok(());
        }
        Err(SubmitError::Db(e)) => return Err(e),
    };
    let mut tx = pool.begin().await?;
    let touched = domain::records::Touched::of(&records);
    let before = crate::ingest::Before::read(&mut tx, &touched).await?;
    let mut stored = 0;
    for chunk in records.chunks(CHUNK) {
        upsert_records(&mut tx, chunk).await?;
        stored += chunk.len();
        store::imports::set_stored(pool, id, stored as i32).await?;
    }
    // Points, badges and the TVs follow through the one ingest path, as after an API batch.
    crate::ingest::leave_work(&mut tx, touched, before).await?;
    store::imports::mark_done(&mut tx, id).await?;
    tx.commit().await?;
    Ok(())
}
