//! CSV imports as stored: the checked preview, the progress of the background
//! store, and its outcome (`services::imports` runs them).

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};

/// Previews nobody stored are kept a day.
pub async fn purge_stale(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM imports WHERE status IN ('invalid', 'ready') AND created_at < arena_now() - interval '1 day'",
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// A checked file, `ready` or `invalid`: its records and errors as JSON text.
pub struct NewImport<'a> {
    pub created_by: &'a str,
    pub kind: &'a str,
    pub file_name: &'a str,
    pub status: &'a str,
    pub problem: Option<&'a str>,
    pub records: &'a str,
    pub lines: &'a [i64],
    pub errors: &'a str,
    pub columns: &'a [String],
    pub total: i32,
}

/// Keeps a checked file; returns its id.
pub async fn insert(pool: &PgPool, i: &NewImport<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO imports (created_by, kind, file_name, status, problem, records, lines, errors, columns, total)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8::jsonb, $9, $10) RETURNING id",
    )
    .bind(i.created_by)
    .bind(i.kind)
    .bind(i.file_name)
    .bind(i.status)
    .bind(i.problem)
    .bind(i.records)
    .bind(i.lines)
    .bind(i.errors)
    .bind(i.columns)
    .bind(i.total)
    .fetch_one(pool)
    .await
}

/// A store whose instance stopped mid-way (no progress for two minutes) rolled back: marks it failed.
pub async fn fail_interrupted(pool: &PgPool, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE imports SET status = 'failed', stored = 0, updated_at = arena_now(),
                problem = 'storing was interrupted (the server stopped); nothing was stored'
         WHERE id = $1 AND status = 'storing' AND updated_at < arena_now() - interval '2 minutes'",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

/// An `imports` row as `find` reads it: the preview and the errors still JSON text.
#[derive(sqlx::FromRow)]
pub struct Row {
    pub id: i64,
    pub created_by: String,
    pub kind: String,
    pub file_name: String,
    pub status: String,
    pub problem: Option<String>,
    pub columns: Vec<String>,
    pub preview: String,
    pub errors: String,
    pub error_count: i64,
    pub total: i32,
    pub stored: i32,
    pub created_at: DateTime<Utc>,
}

/// Import `id` with its first `preview` records and first `errors` errors.
pub async fn find(pool: &PgPool, id: i64, preview: i32, errors: i32) -> Result<Option<Row>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, created_by, kind, file_name, status, problem, columns,
                jsonb_path_query_array(records, '$[0 to $n]', jsonb_build_object('n', $2::int - 1))::text AS preview,
                jsonb_path_query_array(errors, '$[0 to $n]', jsonb_build_object('n', $3::int - 1))::text AS errors,
                jsonb_array_length(errors)::bigint AS error_count, total, stored, created_at
         FROM imports WHERE id = $1",
    )
    .bind(id)
    .bind(preview)
    .bind(errors)
    .fetch_optional(pool)
    .await
}

/// The latest 20 imports of `user` (everyone's when `all`), newest first: (id, kind, file, status, rows, created).
pub async fn recent(
    pool: &PgPool,
    user: &str,
    all: bool,
) -> Result<Vec<(i64, String, String, String, i32, DateTime<Utc>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, kind, file_name, status, total, created_at FROM imports
         WHERE created_by = $1 OR $2 ORDER BY created_at DESC, id DESC LIMIT 20",
    )
    .bind(user)
    .bind(all)
    .fetch_all(pool)
    .await
}

/// Marks a ready (or failed) import as storing; false when it is in no state to store.
pub async fn mark_storing(pool: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    let started: Option<i64> = sqlx::query_scalar(
        "UPDATE imports SET status = 'storing', stored = 0, problem = NULL, updated_at = arena_now()
         WHERE id = $1 AND status IN ('ready', 'failed') AND total > 0 RETURNING id",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(started.is_some())
}

pub async fn mark_failed(pool: &PgPool, id: i64, reason: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE imports SET status = 'failed', stored = 0, updated_at = arena_now(),
                problem = 'storing failed, nothing was stored: ' || $2 WHERE id = $1",
    )
    .bind(id)
    .bind(reason)
    .execute(pool)
    .await?;
    Ok(())
}

/// The records (JSON text) and their lines in the file.
pub async fn records_of(pool: &PgPool, id: i64) -> Result<(String, Vec<i64>), sqlx::Error> {
    sqlx::query_as("SELECT records::text, lines FROM imports WHERE id = $1").bind(id).fetch_one(pool).await
}

/// The data changed since the preview: `errors` (JSON text) now, nothing stored.
pub async fn mark_changed(pool: &PgPool, id: i64, errors: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE imports SET status = 'invalid', errors = $2::jsonb, updated_at = arena_now(),
                problem = 'the data changed since the preview; nothing was stored' WHERE id = $1",
    )
    .bind(id)
    .bind(errors)
    .execute(pool)
    .await?;
    Ok(())
}

/// Progress, on its own connection: other pages see it while the store's transaction runs.
pub async fn set_stored(pool: &PgPool, id: i64, stored: i32) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE imports SET stored = $2, updated_at = arena_now() WHERE id = $1")
        .bind(id)
        .bind(stored)
        .execute(pool)
        .await?;
    Ok(())
}

/// Done, in the store's transaction; the records are no longer kept.
pub async fn mark_done(tx: &mut Transaction<'_, Postgres>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE imports SET status = 'done', records = '[]', updated_at = arena_now() WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
