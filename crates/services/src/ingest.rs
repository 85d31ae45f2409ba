//! The one ingest path. A batch of records (from the records API, the CSV
//! import, the deal form, or a connector) is validated whole, then stored in one
//! transaction together with the derived work it leaves (`score_work`: whose
//! points and badges, over which span) and a live notification, which
//! PostgreSQL delivers when that transaction commits: the TVs celebrate exactly
//! when the deals are visible. Target and rule changes leave work the same way.
//! The scoring worker (`services::worker`) does the work.

use crate::live::LiveEvent;
use chrono::{DateTime, Duration, Utc};
use domain::access::{CurrentUser, Role};
use domain::period::{Period, PeriodKind};
use domain::records::{scope, Record, RecordError, Touched};
use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};
use store::records::{upsert_records, validate_batch, StoreError};
use store::work::{self, Reason, Work};

/// Where records came from (for the logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Api,
    Import,
    DealForm,
    /// A CRM connector (`connectors`): webhooks, backfill and reconcile.
    Connector,
}

/// A stored batch: how many records, and the derived work it left (none when
/// nothing in it is scored, such as a batch of teams).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Submitted {
    pub accepted: usize,
    pub work: Option<i64>,
}

/// Why a batch was not stored.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// Records that are not valid (the API's 422).
    #[error("{} invalid records", .0.len())]
    Invalid(Vec<RecordError>),
    /// Valid records the sender may not send (the API's 403): another team's, or teams and users.
    #[error("{} records outside the sender's scope", .0.len())]
    OutOfScope(Vec<RecordError>),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

impl From<StoreError> for SubmitError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(errors) => SubmitError::Invalid(errors),
            StoreError::Db(e) => SubmitError::Db(e),
        }
    }
}

/// Validates a whole batch, then checks that `sender` may send every record of
/// it (`domain::records::scope`: admins anything, managers their own team's,
/// reps their own). Every source runs this before storing.
pub async fn validate(pool: &PgPool, values: &[Value], sender: &CurrentUser) -> Result<Vec<Record>, SubmitError> {
    let records = validate_batch(pool, values).await?;
    if sender.role != Role::Admin {
        let stored = store::records::holders(pool, &records).await?;
        let refused = scope::outside_scope(&records, sender, &stored);
        if !refused.is_empty() {
            return Err(SubmitError::OutOfScope(refused));
        }
    }
    Ok(records)
}

/// Validates the whole batch (and the sender's scope), then stores it with its
/// derived work in one transaction.
pub async fn submit(
    pool: &PgPool,
    values: &[Value],
    source: Source,
    sender: &CurrentUser,
) -> Result<Submitted, SubmitError> {
    let started = std::time::Instant::now();
    let records = validate(pool, values, sender).await?;
    let validated = started.elapsed();
    let mut tx = pool.begin().await?;
    let work = store_in(&mut tx, &records).await?;
    let stored = started.elapsed();
    tx.commit().await?;
    crate::metrics::ingested(source, &records);
    tracing::debug!(
        ?source,
        records = records.len(),
        ?work,
        validate_ms = validated.as_millis() as u64,
        store_ms = (stored - validated).as_millis() as u64,
        commit_ms = (started.elapsed() - stored).as_millis() as u64,
        "records stored"
    );
    Ok(Submitted { accepted: values.len(), work })
}

/// Stores validated records in the caller's transaction, with their derived
/// work and the live notification; returns the work's id. The caller commits.
pub async fn store_in(tx: &mut Transaction<'_, Postgres>, records: &[Record]) -> Result<Option<i64>, sqlx::Error> {
    let started = std::time::Instant::now();
    let touched = Touched::of(records);
    let before = Before::read(tx, &touched).await?;
    let read = started.elapsed();
    upsert_records(tx, records).await?;
    let upserted = started.elapsed();
    let work = leave_work(tx, touched, before).await;
    tracing::debug!(
        before_ms = read.as_millis() as u64,
        upsert_ms = (upserted - read).as_millis() as u64,
        work_ms = (started.elapsed() - upserted).as_millis() as u64,
        "records upserted"
    );
    work
}

/// Deletes deals, activities and leads (`refs`; other kinds are left alone) in the caller's
/// transaction: a connector's records an admin removes with it. Like a stored batch, it leaves
/// the work that rescores whoever owned them over their span, and the live notification. The
/// number deleted and the work's id; the caller commits.
pub async fn remove_in(
    tx: &mut Transaction<'_, Postgres>,
    refs: &[domain::scoring::RecordRef],
) -> Result<(u64, Option<i64>), sqlx::Error> {
    let (owners, span) = work::before_images(tx, refs).await?;
    let ids = |kind: &str| refs.iter().filter(|r| r.kind == kind).map(|r| r.id.clone()).collect::<Vec<_>>();
    let removed = store::records::delete_in(tx, &ids("deal"), &ids("activity"), &ids("lead")).await?;
    let mut id = None;
    if let (true, Some((from, to))) = (removed > 0, span) {
        let item = Work { id: 0, reason: Reason::Records, owners: Some(owners), from, to: to + Duration::seconds(1) };
        id = Some(work::enqueue(tx, &item).await?);
    }
    crate::live::notify(&mut **tx, &LiveEvent::Changed).await?;
    Ok((removed, id))
}

/// What the stored versions of a batch's records looked like (their owners and
/// instants), read before they are replaced: the work rescores those too.
pub struct Before {
    owners: Vec<String>,
    span: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Before {
    pub async fn read(tx: &mut Transaction<'_, Postgres>, touched: &Touched) -> Result<Before, sqlx::Error> {
        let (owners, span) = work::before_images(tx, &touched.refs).await?;
        Ok(Before { owners, span })
    }
}

/// The derived work and the live notification of records the caller's
/// transaction has stored (the CSV import stores its records a chunk at a time).
pub async fn leave_work(
    tx: &mut Transaction<'_, Postgres>,
    touched: Touched,
    before: Before,
) -> Result<Option<i64>, sqlx::Error> {
    let mut id = None;
    if let (true, Some((mut from, mut to))) = (touched.scores_anything(), touched.span) {
        let mut owners = touched.owners;
        owners.extend(work::customer_owners(tx, &touched.customers).await?);
        owners.extend(before.owners);
        owners.sort();
        owners.dedup();
        if let Some((lo, hi)) = before.span {
            (from, to) = (from.min(lo), to.max(hi));
        }
        let item = Work { id: 0, reason: Reason::Records, owners: Some(owners), from, to: to + Duration::seconds(1) };
        id = Some(work::enqueue(tx, &item).await?);
    }
    let event = if touched.won.is_empty() { LiveEvent::Changed } else { LiveEvent::won(touched.won) };
    crate::live::notify(&mut **tx, &event).await?;
    Ok(id)
}

/// Leaves the work a change of targets needs: the reps behind the scopes
/// (`rep:<id>`, `team:<id>`) over one calendar period, if it has started.
pub async fn targets_changed(
    tx: &mut Transaction<'_, Postgres>,
    pool: &PgPool,
    scopes: &[String],
    period: &str,
) -> Result<Option<i64>, sqlx::Error> {
    let Ok(period) = Period::parse(period) else { return Ok(None) };
    let tz = store::settings::load(pool).await?.time_zone;
    let (start, end) = period.bounds(tz);
    if start > domain::clock::now() {
        return Ok(None);
    }
    let owners = store::users::ids_in_scopes(&mut **tx, scopes).await?;
    if owners.is_empty() {
        return Ok(None);
    }
    let item = Work { id: 0, reason: Reason::Targets, owners: Some(owners), from: start, to: end };
    Ok(Some(work::enqueue(tx, &item).await?))
}

/// Leaves the work a change of points rules needs: everyone, from the start of
/// the current month (closed months keep the points they were given).
pub async fn rules_changed(tx: &mut Transaction<'_, Postgres>, pool: &PgPool) -> Result<i64, sqlx::Error> {
    let tz = store::settings::load(pool).await?.time_zone;
    let now = domain::clock::now();
    let from = Period::containing(PeriodKind::Month, now.with_timezone(&tz).date_naive()).bounds(tz).0;
    let item = Work { id: 0, reason: Reason::Rules, owners: None, from, to: now + Duration::days(1) };
    work::enqueue(tx, &item).await
}

/// How waiting for scores ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caught {
    /// Everything up to the work is done: points, badges and challenges are current.
    Up,
    /// Still this many rows of work up to it when the wait ended.
    Pending(i64),
}

/// Waits (at most `limit`) until the worker has done the work `id` and all before it.
pub async fn wait_for(pool: &PgPool, id: Option<i64>, limit: std::time::Duration) -> Result<Caught, sqlx::Error> {
    let Some(id) = id else { return Ok(Caught::Up) };
    let started = std::time::Instant::now();
    loop {
        let pending = work::pending_through(pool, id).await?;
        if pending == 0 {
            return Ok(Caught::Up);
        }
        if started.elapsed() >= limit {
            return Ok(Caught::Pending(pending));
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// How long pages wait for the scores of what their user just did.
pub const PAGE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Sets (`Some`) or clears (`None`) targets of one period, with the work they
/// leave, in one transaction; then waits (briefly) for the points to follow.
pub async fn set_targets(
    pool: &PgPool,
    changes: &[(String, String, Option<f64>)],
    period: &str,
    by: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for (kpi, scope, value) in changes {
        match value {
            Some(v) => store::targets::set(&mut *tx, kpi, scope, period, *v, by).await?,
            None => store::targets::clear(&mut *tx, kpi, scope, period).await?,
        }
    }
    let scopes: Vec<String> = changes.iter().map(|c| c.1.clone()).collect();
    let work = targets_changed(&mut tx, pool, &scopes, period).await?;
    tx.commit().await?;
    wait_for(pool, work, PAGE_WAIT).await?;
    Ok(())
}

/// Copies the targets of `scopes` from one period to another, as `set_targets` does.
pub async fn copy_targets(
    pool: &PgPool,
    scopes: &[String],
    from: &str,
    to: &str,
    by: &str,
) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let copied = store::targets::copy(&mut tx, scopes, from, to, by).await?;
    let work = targets_changed(&mut tx, pool, scopes, to).await?;
    tx.commit().await?;
    wait_for(pool, work, PAGE_WAIT).await?;
    Ok(copied)
}

/// Saves a points rule (id 0: a new one) with the work it leaves; returns its id.
pub async fn save_rule(pool: &PgPool, rule: &domain::scoring::Rule, by: &str) -> Result<i64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let id = store::points::save_rule(&mut tx, rule, by).await?;
    let work = rules_changed(&mut tx, pool).await?;
    tx.commit().await?;
    wait_for(pool, Some(work), PAGE_WAIT).await?;
    Ok(id)
}

/// Switches a rule off (its points in open periods are reversed); false when there is no such rule.
pub async fn deactivate_rule(pool: &PgPool, id: i64, by: &str) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    if !store::points::deactivate_rule(&mut tx, id, by).await? {
        return Ok(false);
    }
    let work = rules_changed(&mut tx, pool).await?;
    tx.commit().await?;
    wait_for(pool, Some(work), PAGE_WAIT).await?;
    Ok(true)
}
