//! Every instance's connector loop. Each pass:
//! 1. the queued webhook deliveries (claimed with `SKIP LOCKED`, so instances share them), each
//!    applied in one transaction with its claim; a CRM that fails is tried again, five times;
//! 2. one page of a running backfill, stored in one transaction with the backfill's new cursor,
//!    so a restart resumes at the page after the last one stored;
//! 3. a reconcile when one is due (every 15 minutes): the deals, then the done activities, the
//!    CRM changed since the last one (with 5 minutes of overlap), which catches anything a
//!    webhook missed and brings the activities (they come by no webhook).
//!
//! A webhook wakes the runner of the instance that took it; the others look every second.

use crate::apply::{apply, from_json, Applied, Versions};
use crate::secret::Keyring;
use crate::Crm;
use chrono::Duration;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Notify;

/// Seconds between reconciles of a connector.
pub const RECONCILE_SECONDS: i64 = 15 * 60;
/// Deliveries claimed per transaction.
const CLAIM: i64 = 100;
/// Attempts of a delivery whose CRM call fails before it is listed as failed.
const ATTEMPTS: i32 = 5;
/// Pages one reconcile reads before it leaves the rest to the next pass.
const RECONCILE_PAGES: usize = 200;

/// A handle on this instance's runner.
#[derive(Clone)]
pub struct Runner {
    pool: PgPool,
    keyring: Option<Keyring>,
    wake: Arc<Notify>,
}

impl Runner {
    /// A runner that does nothing until `spawn`ed (or `pass` is called).
    pub fn new(pool: PgPool, keyring: Option<Keyring>) -> Runner {
        Runner { pool, keyring, wake: Arc::new(Notify::new()) }
    }

    pub fn keyring(&self) -> Option<&Keyring> {
        self.keyring.as_ref()
    }

    /// Starts the loop in the background.
    pub fn spawn(self) -> Runner {
        let runner = self.clone();
        tokio::spawn(async move {
            loop {
                match runner.pass().await {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "connector pass failed"),
                }
                tokio::select! {
                    _ = runner.wake.notified() => {}
                    _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                }
            }
        });
        self
    }

    /// Wakes the loop now (a webhook was queued).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// One pass; true when it did something and another may be due at once.
    pub async fn pass(&self) -> Result<bool, sqlx::Error> {
        let Some(keyring) = &self.keyring else { return Ok(false) };
        let events = self.events(keyring).await?;
        let backfilled = self.backfill(keyring).await?;
        let reconciled = self.reconcile(keyring).await?;
        Ok(events || backfilled || reconciled)
    }

    /// The queued webhook deliveries. A database error storing them (a deal PostgreSQL refuses)
    /// rolls the batch back and counts an attempt against each, so a bad delivery ends as failed
    /// instead of holding up the queue.
    async fn events(&self, keyring: &Keyring) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let claimed = store::connectors::claim(&mut tx, CLAIM).await?;
        if claimed.is_empty() {
            return Ok(false);
        }
        let ids: Vec<i64> = claimed.iter().map(|e| e.id).collect();
        match self.do_events(keyring, tx, claimed).await {
            Ok(()) => Ok(true),
            Err(e) => {
                tracing::warn!(error = %e, events = ids.len(), "storing CRM webhook deliveries failed");
                let mut tx = self.pool.begin().await?;
                for id in ids {
                    store::connectors::attempt_failed(&mut tx, id, &format!("storing it failed: {e}"), ATTEMPTS)
                        .await?;
                }
                tx.commit().await?;
                Ok(false)
            }
        }
    }

    async fn do_events(
        &self,
        keyring: &Keyring,
        mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
        claimed: Vec<store::connectors::EventRow>,
    ) -> Result<(), sqlx::Error> {
        let mut by_connector: HashMap<i64, Vec<store::connectors::EventRow>> = HashMap::new();
        // Shown on the page once the failed attempts are committed, so the two never disagree.
        let mut errors: Vec<(i64, String)> = Vec::new();
        for event in claimed {
            by_connector.entry(event.connector_id).or_default().push(event);
        }
        for (id, events) in by_connector {
            let Some(row) = store::connectors::by_id(&self.pool, id).await? else { continue };
            let (kind, crm) = match Crm::open_fresh(&self.pool, &row, keyring).await {
                Ok(opened) => opened,
                Err(why) => {
                    for event in &events {
                        store::connectors::attempt_failed(&mut tx, event.id, &why, ATTEMPTS).await?;
                    }
                    continue;
                }
            };
            let mut deals = Vec::new();
            let mut by_crm_id: HashMap<String, Vec<i64>> = HashMap::new();
            let mut done = Vec::new();
            for event in &events {
                let deal = match event.deal.as_ref().and_then(from_json) {
                    Some(deal) => Some(deal),
                    None => match crm.item(&event.crm_id).await {
                        Ok(item) => item,
                        Err(e) => {
                            let why = e.to_string();
                            store::connectors::attempt_failed(&mut tx, event.id, &why, ATTEMPTS).await?;
                            errors.push((id, why));
                            continue;
                        }
                    },
                };
                match deal {
                    Some(deal) => {
                        by_crm_id.entry(deal.id().to_string()).or_default().push(event.id);
                        deals.push(deal);
                    }
                    // Gone from the CRM: nothing to store.
                    None => done.push(event.id),
                }
            }
            let Applied { rejected, .. } = apply(&self.pool, &mut tx, &row, kind, deals, Versions::NewerOnly).await?;
            for (crm_id, why) in &rejected {
                for event in by_crm_id.remove(crm_id).unwrap_or_default() {
                    store::connectors::attempt_failed(&mut tx, event, why, 1).await?;
                }
            }
            done.extend(by_crm_id.into_values().flatten());
            store::connectors::done(&mut tx, &done).await?;
        }
        tx.commit().await?;
        for (id, why) in errors {
            store::connectors::set_error(&self.pool, id, Some(&why)).await?;
        }
        Ok(())
    }

    /// One page of a running backfill: leased, read from the CRM outside any transaction, then
    /// stored with the new cursor in one, if no other instance stored that page meanwhile.
    async fn backfill(&self, keyring: &Keyring) -> Result<bool, sqlx::Error> {
        let Some(row) = store::connectors::claim_backfill(&self.pool).await? else { return Ok(false) };
        let since = row.backfill_from.unwrap_or_default();
        let page = match Crm::open_fresh(&self.pool, &row, keyring).await {
            Ok((kind, crm)) => crm
                .changed(since, row.backfill_cursor.as_deref())
                .await
                .map(|page| (kind, page))
                .map_err(|e| e.to_string()),
            Err(why) => Err(why),
        };
        let (kind, (deals, next)) = match page {
            Ok(page) => page,
            Err(why) => {
                tracing::warn!(connector = row.id, error = %why, "backfill stopped");
                store::connectors::backfill_failed(&self.pool, row.id, &why).await?;
                return Ok(false);
            }
        };
        let mut tx = self.pool.begin().await?;
        if !store::connectors::still_at(&mut tx, row.id, row.backfill_cursor.as_deref()).await? {
            return Ok(true);
        }
        let count = deals.len() as i64;
        let applied = match apply(&self.pool, &mut tx, &row, kind, deals, Versions::NewerOnly).await {
            Ok(applied) => applied,
            Err(e) => {
                drop(tx);
                let why = format!("storing a page failed: {e}");
                store::connectors::backfill_failed(&self.pool, row.id, &why).await?;
                return Ok(false);
            }
        };
        self.keep_rejected(&mut tx, row.id, &applied).await?;
        let finished = next.is_none();
        store::connectors::backfill_moved(&mut tx, row.id, next.as_deref(), count, finished).await?;
        tx.commit().await?;
        Ok(!finished)
    }

    /// The CRM's changes since the last whole reconcile (with 5 minutes of overlap), a page per
    /// transaction; the mark moves only when every page was read (pages come in id order, so a
    /// later page may hold an earlier change).
    async fn reconcile(&self, keyring: &Keyring) -> Result<bool, sqlx::Error> {
        let Some(row) = store::connectors::claim_reconcile(&self.pool, RECONCILE_SECONDS).await? else {
            return Ok(false);
        };
        let (kind, crm) = match Crm::open_fresh(&self.pool, &row, keyring).await {
            Ok(opened) => opened,
            Err(why) => {
                store::connectors::set_error(&self.pool, row.id, Some(&why)).await?;
                return Ok(false);
            }
        };
        let since = row.reconciled_to.unwrap_or_default() - Duration::minutes(5);
        // Every deal again when a field was just mapped.
        let since = row.reread_from.map_or(since, |from| from.min(since));
        let mut cursor: Option<String> = None;
        let mut newest = row.reconciled_to.unwrap_or_default();
        let mut whole = false;
        for _ in 0..RECONCILE_PAGES {
            let (deals, next) = match crm.changed(since, cursor.as_deref()).await {
                Ok(page) => page,
                Err(e) => {
                    store::connectors::set_error(&self.pool, row.id, Some(&e.to_string())).await?;
                    return Ok(false);
                }
            };
            newest = deals.iter().map(|d| d.modified_at()).max().unwrap_or(newest).max(newest);
            let mut tx = self.pool.begin().await?;
            match apply(&self.pool, &mut tx, &row, kind, deals, Versions::NewerOnly).await {
                Ok(applied) => {
                    self.keep_rejected(&mut tx, row.id, &applied).await?;
                    tx.commit().await?;
                }
                Err(e) => {
                    drop(tx);
                    store::connectors::set_error(&self.pool, row.id, Some(&format!("storing a page failed: {e}")))
                        .await?;
                    return Ok(false);
                }
            }
            match next {
                Some(next) => cursor = Some(next),
                None => {
                    whole = true;
                    break;
                }
            }
        }
        if whole {
            store::connectors::reconciled_to(&self.pool, row.id, newest, row.reread_from).await?;
        }
        // New people and stages in the CRM since the last look.
        if let Ok(users) = crm.users().await {
            store::connectors::upsert_people(&self.pool, row.id, &crate::people(kind, users)).await?;
        }
        crate::setup::keep_fields(&self.pool, row.id, &crm).await?;
        if let Ok(stages) = crm.stages().await {
            store::connectors::set_stages(&self.pool, row.id, &serde_json::to_value(&stages).expect("stages as JSON"))
                .await?;
        }
        Ok(false)
    }

    /// A deal or activity the validation refused during a backfill or reconcile is listed as a
    /// failed delivery with its reason, so an admin sees it and can retry it once it is fixed (a
    /// deal is then read back from the CRM, an activity applied again as it was read).
    async fn keep_rejected(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        id: i64,
        applied: &Applied,
    ) -> Result<(), sqlx::Error> {
        for (crm_id, why) in &applied.rejected {
            store::connectors::refused(tx, id, crm_id, why, applied.refused_items.get(crm_id)).await?;
        }
        Ok(())
    }
}
