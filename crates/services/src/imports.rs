//! CSV imports: a file becomes a checked preview; storing it is a second step,
//! all or nothing, run in the background and reporting its progress in
//! `imports`, so a page on any instance can follow it.

use crate::ingest::SubmitError;
use chrono::{DateTime, Utc};
use domain::access::{CurrentUser, Role};
use domain::lang::Lang;
use domain::records::sheet;
use domain::records::{Field, Kind, RecordError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use std::collections::{HashMap, HashSet};
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
    /// In English (the records validation's words, or `words` in English).
    pub message: String,
    /// The row's problems as words to show in the reader's language, when
    /// they are the import's own (a cell naming no record, or several).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<Words>,
}

impl RowError {
    /// What is wrong with the row, in `lang` where the words allow it.
    pub fn in_lang(&self, lang: Lang) -> String {
        if self.words.is_empty() {
            self.message.clone()
        } else {
            self.words.iter().map(|w| w.in_lang(lang)).collect::<Vec<_>>().join("; ")
        }
    }
}

/// A message kept with an import (an `app.yml` key and its values), worded when shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Words {
    pub key: String,
    pub args: Vec<(String, String)>,
}

impl Words {
    fn new(key: &str, args: &[(&str, &str)]) -> Words {
        Words { key: key.into(), args: args.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect() }
    }

    pub fn in_lang(&self, lang: Lang) -> String {
        self.args.iter().fold(lang.t(&self.key), |text, (name, value)| text.replace(&format!("%{{{name}}}"), value))
    }
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
        Ok(mut sheet) => {
            let unresolved = resolve(pool, kind, &mut sheet.records).await?;
            // The rows whose cells all name something are checked as the records API checks a batch.
            let checked: Vec<usize> = (0..sheet.records.len()).filter(|i| !unresolved.contains_key(i)).collect();
            let batch: Vec<Value> = checked.iter().map(|&i| sheet.records[i].clone()).collect();
            let mut errors: Vec<RowError> = match crate::ingest::validate(pool, &batch, by).await {
                Ok(_) => Vec::new(),
                Err(SubmitError::Invalid(errors) | SubmitError::OutOfScope(errors)) => {
                    let errors = errors.into_iter().map(|e| RecordError { index: checked[e.index], ..e }).collect();
                    by_line(&sheet.lines, errors)
                }
                Err(SubmitError::Db(e)) => return Err(e.into()),
            };
            errors.extend(unresolved.into_iter().map(|(index, words)| RowError {
                line: sheet.lines.get(index).copied().unwrap_or_default(),
                id: sheet.records[index].get("id").and_then(Value::as_str).map(str::to_string),
                message: words.iter().map(|w| w.in_lang(Lang::En)).collect::<Vec<_>>().join("; "),
                words,
            }));
            errors.sort_by_key(|e| e.line);
            let status = if errors.is_empty() { "ready" } else { "invalid" };
            (Some(sheet), status, None, errors)
        }
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
        .map(|e| RowError {
            line: lines.get(e.index).copied().unwrap_or_default(),
            id: e.id,
            message: e.message,
            words: Vec::new(),
        })
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
    crate::metrics::ingested(crate::ingest::Source::Import, &records);
    Ok(())
}

/// The kind of record a file's column refers to, when people may name it
/// otherwise than by id: an owner by email, a customer, product or team by name.
fn named_by(column: &str) -> Option<Kind> {
    match column {
        "owner" => Some(Kind::User),
        "customer" => Some(Kind::Customer),
        "product" => Some(Kind::Product),
        "team" => Some(Kind::Team),
        _ => None,
    }
}

/// Turns the cells of a file of `kind` that name a stored record the way
/// people know it (an owner by email; a customer, product or team by name,
/// ignoring case) into its id, as the records API wants them. A cell that is an
/// id stays as it is: ids come first. The rows with a cell that names nothing,
/// or several records at once, are returned by index with their problems and
/// left unchanged. (The records API itself takes ids only, as API.md says.)
async fn resolve(pool: &PgPool, kind: Kind, records: &mut [Value]) -> Result<HashMap<usize, Vec<Words>>, sqlx::Error> {
    let mut problems: HashMap<usize, Vec<Words>> = HashMap::new();
    for field in kind.fields() {
        let Some(target) = named_by(field.name) else { continue };
        let cell = |r: &Value| r.get(field.name).and_then(Value::as_str).map(str::to_string);
        let mut values: Vec<String> = records.iter().filter_map(cell).collect();
        values.sort();
        values.dedup();
        if values.is_empty() {
            continue;
        }
        let mut ids: HashSet<String> = HashSet::new();
        // A record of the file itself may be named by its id too.
        if target == kind {
            ids.extend(records.iter().filter_map(|r| r.get("id").and_then(Value::as_str).map(str::to_string)));
        }
        let mut by_name: HashMap<String, Vec<String>> = HashMap::new();
        for named in store::imports::named(pool, target, &values).await? {
            if named.by_id {
                ids.insert(named.id);
            } else {
                let found = by_name.entry(named.value).or_default();
                if !found.contains(&named.id) {
                    found.push(named.id);
                }
            }
        }
        for (index, record) in records.iter_mut().enumerate() {
            let Some(value) = cell(record) else { continue };
            if ids.contains(&value) {
                continue;
            }
            match by_name.get(&value).map(Vec::as_slice) {
                Some([id]) => {
                    record[field.name] = Value::String(id.clone());
                }
                Some(several) => {
                    let mut several = several.to_vec();
                    several.sort();
                    let listed = match several.len() {
                        n if n > 5 => format!("{}, …", several[..5].join(", ")),
                        _ => several.join(", "),
                    };
                    let words =
                        Words::new("import.ambiguous", &[("field", field.name), ("value", &value), ("ids", &listed)]);
                    problems.entry(index).or_default().push(words);
                }
                None => {
                    let key = if target == Kind::User { "import.unknown_user" } else { "import.unknown_named" };
                    problems
                        .entry(index)
                        .or_default()
                        .push(Words::new(key, &[("field", field.name), ("value", &value)]));
                }
            }
        }
    }
    Ok(problems)
}

/// `kind`'s columns, each with the value of one example row that passes its
/// own import for `who`: it names a rep of theirs by email and a customer,
/// product and team of theirs by name (by id where a name is shared), from
/// what is stored; an optional column with nothing to name is left empty. The
/// caller writes it in the reader's spreadsheet convention.
pub async fn template(pool: &PgPool, who: &CurrentUser, kind: Kind) -> Result<Vec<(Field, String)>, sqlx::Error> {
    let examples = match (who.role, who.team_id.as_deref()) {
        (Role::Admin, _) => store::imports::examples(pool, None).await?,
        (Role::Manager, Some(team)) => store::imports::examples(pool, Some(team)).await?,
        _ => store::imports::Examples::default(),
    };
    let owner = match who.role {
        // A rep sends only their own records (the deal form).
        Role::Rep => Some(who.email.clone()),
        _ => examples.owner.clone().or_else(|| Some(who.email.clone())),
    };
    let customer = named_as(pool, Kind::Customer, examples.customer).await?;
    let product = named_as(pool, Kind::Product, examples.product).await?;
    let team = named_as(pool, Kind::Team, examples.team).await?;
    let row = kind
        .fields()
        .iter()
        .map(|f| {
            let stored = match named_by(f.name) {
                Some(Kind::User) => owner.clone(),
                Some(Kind::Customer) => customer.clone(),
                Some(Kind::Product) => product.clone(),
                Some(Kind::Team) => team.clone(),
                _ => return (*f, f.example.to_string()),
            };
            let value = match stored {
                Some(value) => value,
                // Nothing to name: an optional column stays empty; a required one keeps its example.
                None if f.required => f.example.to_string(),
                None => String::new(),
            };
            (*f, value)
        })
        .collect();
    Ok(row)
}

/// How a file names record `(id, name)` of `kind`: by its name when the import
/// reads that name as this record alone (and a spreadsheet would not run it as
/// a formula), else by its id.
async fn named_as(pool: &PgPool, kind: Kind, record: Option<(String, String)>) -> Result<Option<String>, sqlx::Error> {
    let Some((id, name)) = record else { return Ok(None) };
    let name = name.trim().to_string();
    if name.is_empty() || name.starts_with(['=', '+', '-', '@']) {
        return Ok(Some(id));
    }
    let found = store::imports::named(pool, kind, std::slice::from_ref(&name)).await?;
    let alone = matches!(found.as_slice(), [only] if !only.by_id && only.id == id);
    Ok(Some(if alone { name } else { id }))
}
