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

/// A stored record a file's cell may name: its id, and whether the cell was
/// the id itself (else its email, for a user, or its name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// The cell, as given.
    pub value: String,
    pub id: String,
    pub by_id: bool,
}

/// A name as files match it: without surrounding spaces, in lower case (in
/// Rust, so Cyrillic names match whatever the database's locale).
pub fn folded(name: &str) -> String {
    name.trim().to_lowercase()
}

/// The stored records of `kind` (users, customers, products or teams) that
/// `values` name: by id exactly; else by email (a user: as sign-in matches
/// it) or by name (the others: `folded`). A value may match several records
/// (two customers of one name): the caller decides. Other kinds: nothing.
pub async fn named(pool: &PgPool, kind: domain::records::Kind, values: &[String]) -> Result<Vec<Named>, sqlx::Error> {
    use domain::records::Kind;
    if !matches!(kind, Kind::User | Kind::Customer | Kind::Product | Kind::Team) || values.is_empty() {
        return Ok(Vec::new());
    }
    let table = kind.table();
    let ids: Vec<String> =
        sqlx::query_scalar(&format!("SELECT id FROM {table} WHERE id = ANY($1)")).bind(values).fetch_all(pool).await?;
    let rest: Vec<&String> = values.iter().filter(|v| !ids.contains(v)).collect();
    let mut found: Vec<Named> = ids.iter().map(|id| Named { value: id.clone(), id: id.clone(), by_id: true }).collect();
    if rest.is_empty() {
        return Ok(found);
    }
    if kind == Kind::User {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT v, u.id FROM unnest($1::text[]) v JOIN users u ON lower(u.email) = lower(btrim(v))")
                .bind(&rest)
                .fetch_all(pool)
                .await?;
        found.extend(rows.into_iter().map(|(value, id)| Named { value, id, by_id: false }));
        return Ok(found);
    }
    // Names are folded in Rust: the catalogue is read once (ids and names only).
    let mut wanted: std::collections::HashMap<String, Vec<&String>> = std::collections::HashMap::new();
    for v in rest {
        wanted.entry(folded(v)).or_default().push(v);
    }
    let all: Vec<(String, String)> =
        sqlx::query_as(&format!("SELECT id, name FROM {table} ORDER BY id")).fetch_all(pool).await?;
    for (id, name) in all {
        for value in wanted.get(&folded(&name)).into_iter().flatten() {
            found.push(Named { value: (*value).clone(), id: id.clone(), by_id: false });
        }
    }
    Ok(found)
}

/// What a template's example row may name, within what its downloader may
/// send: a rep's email, and a customer, product and team as (id, name); each
/// `None` when there is none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Examples {
    pub owner: Option<String>,
    pub customer: Option<(String, String)>,
    pub product: Option<(String, String)>,
    pub team: Option<(String, String)>,
}

/// Examples for a template: `team` limits the rep, customer and team to one
/// team's (a manager's); `None`: the whole organisation's.
pub async fn examples(pool: &PgPool, team: Option<&str>) -> Result<Examples, sqlx::Error> {
    let owner: Option<String> = sqlx::query_scalar(
        "SELECT email FROM users WHERE role = 'rep' AND active AND ($1::text IS NULL OR team_id = $1)
         ORDER BY name, id LIMIT 1",
    )
    .bind(team)
    .fetch_optional(pool)
    .await?;
    let customer = sqlx::query_as(
        "SELECT c.id, c.name FROM customers c JOIN users u ON u.id = c.owner_id
         WHERE $1::text IS NULL OR u.team_id = $1 ORDER BY c.churned_at IS NOT NULL, c.name, c.id LIMIT 1",
    )
    .bind(team)
    .fetch_optional(pool)
    .await?;
    let product =
        sqlx::query_as("SELECT id, name FROM products ORDER BY name, id LIMIT 1").fetch_optional(pool).await?;
    let team = sqlx::query_as("SELECT id, name FROM teams WHERE $1::text IS NULL OR id = $1 ORDER BY name, id LIMIT 1")
        .bind(team)
        .fetch_optional(pool)
        .await?;
    Ok(Examples { owner, customer, product, team })
}
