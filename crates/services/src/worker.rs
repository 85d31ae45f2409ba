//! The scoring worker. Every instance runs one: it claims rows of derived work
//! (`score_work`, oldest first, skipping rows another instance holds), merges
//! them, brings points and badges up to date for exactly those reps and spans,
//! deletes the rows and tells every screen, all in one transaction. A crash or a
//! lost connection at any moment rolls that back and leaves the rows for the
//! next try, so after any fault derived data is right again within seconds,
//! without a new record. It also ends challenges on time, from its own clock,
//! and re-evaluates every badge at start and once a day.

use crate::live::{Hub, LiveEvent};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use domain::period::{Period, PeriodKind};
use sqlx::PgPool;
use std::sync::Arc;
use store::work::{self, Work};

/// How many rows one pass merges at most.
const CLAIM: i64 = 50;
/// How often the worker looks without being woken (challenges due, work from a lost notification).
const TICK: std::time::Duration = std::time::Duration::from_secs(1);
/// How often new anti-gaming flags are looked for at most (they read the whole history).
const FLAGS_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
/// How long it waits after a failure before trying again.
const BACKOFF: std::time::Duration = std::time::Duration::from_secs(1);

/// When the worker last came round: its readiness (`crate::health`) asks how long ago that was.
#[derive(Debug)]
pub struct Heartbeat {
    started: std::time::Instant,
    /// Milliseconds after `started` of the last beat.
    last: std::sync::atomic::AtomicU64,
}

impl Heartbeat {
    pub fn new() -> Heartbeat {
        Heartbeat { started: std::time::Instant::now(), last: std::sync::atomic::AtomicU64::new(0) }
    }

    pub fn beat(&self) {
        let now = self.started.elapsed().as_millis() as u64;
        self.last.store(now, std::sync::atomic::Ordering::Relaxed);
    }

    /// How long ago the worker last beat.
    pub fn silent_for(&self) -> std::time::Duration {
        let last = std::time::Duration::from_millis(self.last.load(std::sync::atomic::Ordering::Relaxed));
        self.started.elapsed().saturating_sub(last)
    }
}

impl Default for Heartbeat {
    fn default() -> Self {
        Self::new()
    }
}

/// Starts the worker; `hub` wakes it as soon as any instance stores something. It beats
/// `heartbeat` before each pass and each wait.
pub fn spawn(pool: PgPool, hub: Arc<Hub>) -> Arc<Heartbeat> {
    let heartbeat = Arc::new(Heartbeat::new());
    let beats = heartbeat.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut badges_done: Option<NaiveDate> = None;
        let mut flags_told = std::time::Instant::now() - FLAGS_EVERY;
        let mut flags_due = false;
        let mut digests_done: Option<String> = None;
        loop {
            let mut worked = false;
            loop {
                beats.beat();
                let started = std::time::Instant::now();
                match run_once(&pool).await {
                    Ok(true) => {
                        worked = true;
                        // Under a flood of records (more work already waiting when a long pass
                        // ends), rest as long as the pass took: what arrives meanwhile merges into
                        // the next pass, and the worker takes about half of the machine from the
                        // ingest path at most. A batch arriving at a quiet worker is scored at once.
                        let rest = rest_after(started.elapsed());
                        if !rest.is_zero() && work::pending(&pool).await.unwrap_or(0) > 0 {
                            tokio::time::sleep(rest).await;
                        }
                        continue;
                    }
                    Ok(false) => break,
                    Err(e) => {
                        tracing::warn!("scoring failed, the work stays queued and is tried again: {e}");
                        tokio::time::sleep(BACKOFF).await;
                        break;
                    }
                }
            }
            if let Err(e) = crate::challenges::finish_due(&pool).await {
                tracing::warn!("finishing challenges failed: {e}");
            }
            match crate::notify::digests_due(&pool, digests_done.as_deref()).await {
                Ok(done) => digests_done = done,
                Err(e) => tracing::warn!("writing the digests failed: {e}"),
            }
            flags_due |= worked;
            // Flags read the whole history: after scores moved, at most every 10 seconds.
            if flags_due && flags_told.elapsed() >= FLAGS_EVERY {
                flags_due = false;
                flags_told = std::time::Instant::now();
                if let Err(e) = crate::notify::new_flags(&pool).await {
                    tracing::warn!("telling the new anti-gaming flags failed: {e}");
                }
            }
            // A challenge's lead changes only when scores do.
            if worked {
                if let Err(e) = crate::notify::lead_changes(&pool).await {
                    tracing::warn!("telling who leads the challenges failed: {e}");
                }
            }
            match daily_badges(&pool, badges_done).await {
                Ok(day) => badges_done = day,
                Err(e) => tracing::warn!("evaluating every badge failed: {e}"),
            }
            beats.beat();
            tokio::select! {
                _ = hub.work.notified() => {}
                _ = tick.tick() => {}
            }
        }
    });
    heartbeat
}

/// A pass shorter than this is followed at once (a few records: scores follow in milliseconds).
const QUICK: std::time::Duration = std::time::Duration::from_millis(200);
/// The longest rest between passes.
const MAX_REST: std::time::Duration = std::time::Duration::from_secs(3);

/// How long to rest after a pass that took `took`.
pub fn rest_after(took: std::time::Duration) -> std::time::Duration {
    if took < QUICK {
        std::time::Duration::ZERO
    } else {
        took.min(MAX_REST)
    }
}

/// Every badge for everyone, when the organisation's day has changed since the last time.
async fn daily_badges(pool: &PgPool, done: Option<NaiveDate>) -> Result<Option<NaiveDate>, sqlx::Error> {
    let tz = store::settings::load(pool).await?.time_zone;
    let today = domain::clock::now().with_timezone(&tz).date_naive();
    if done != Some(today) {
        store::badges::evaluate(pool).await?;
        crate::notify::daily_badges(pool).await?;
        // Badges earned by the day's turn show on the TVs and homes.
        crate::live::notify(pool, &LiveEvent::Changed).await?;
    }
    Ok(Some(today))
}

/// The merged work of several rows: one recompute over the union of their reps and spans.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub owners: Option<Vec<String>>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Plan {
    /// `None` for no rows.
    pub fn merge(rows: &[Work]) -> Option<Plan> {
        let first = rows.first()?;
        let mut plan = Plan { owners: Some(Vec::new()), from: first.from, to: first.to };
        for row in rows {
            plan.owners = match (plan.owners.take(), &row.owners) {
                (Some(mut all), Some(these)) => {
                    all.extend(these.iter().cloned());
                    Some(all)
                }
                _ => None,
            };
            plan.from = plan.from.min(row.from);
            plan.to = plan.to.max(row.to);
        }
        if let Some(owners) = plan.owners.as_mut() {
            owners.sort();
            owners.dedup();
        }
        Some(plan)
    }
}

/// One pass: claims, merges and does up to `CLAIM` rows of work in one
/// transaction. Returns whether there was any.
pub async fn run_once(pool: &PgPool) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let claimed = work::claim(&mut tx, CLAIM).await?;
    let Some(mut plan) = Plan::merge(&claimed) else {
        tx.rollback().await?;
        return Ok(false);
    };
    // State KPIs (active deals, customers) measured at asof move the running periods too.
    let now = domain::clock::now();
    plan.to = plan.to.max(now + Duration::seconds(1));
    let owners = plan.owners.as_deref();
    let before = crate::notify::before_scoring(&mut tx, pool, owners).await?;
    store::points::recompute_in(&mut tx, pool, owners, plan.from, plan.to).await?;
    // Badges over the window the change can move; the comparative ones (given
    // for closed months) only when a change reaches before this month.
    let tz = store::settings::load(pool).await?.time_zone;
    let month = Period::containing(PeriodKind::Month, now.with_timezone(&tz).date_naive()).bounds(tz).0;
    store::badges::evaluate_in(&mut tx, pool, tz, owners, Some((plan.from, month))).await?;
    // What is worth telling the team's channels goes to the outbox with the change itself.
    if let Some(before) = &before {
        crate::notify::moments_in(&mut tx, pool, owners, plan.from, before).await?;
    }
    crate::live::notify(&mut *tx, &LiveEvent::Changed).await?;
    tx.commit().await?;
    tracing::debug!(rows = claimed.len(), "scores brought up to date");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::work::Reason;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn row(owners: Option<&[&str]>, from: &str, to: &str) -> Work {
        Work {
            id: 1,
            reason: Reason::Records,
            owners: owners.map(|o| o.iter().map(|s| s.to_string()).collect()),
            from: at(from),
            to: at(to),
        }
    }

    #[test]
    fn a_quick_pass_is_followed_at_once_and_a_long_one_by_as_long_a_rest() {
        use std::time::Duration as D;
        assert_eq!(rest_after(D::from_millis(40)), D::ZERO);
        assert_eq!(rest_after(D::from_millis(900)), D::from_millis(900));
        assert_eq!(rest_after(D::from_secs(8)), D::from_secs(3));
    }

    #[test]
    fn rows_merge_into_one_recompute_over_the_union() {
        assert_eq!(Plan::merge(&[]), None);
        let rows = [
            row(Some(&["r2", "r1"]), "2026-10-05T00:00:00Z", "2026-10-06T00:00:00Z"),
            row(Some(&["r1", "r3"]), "2026-09-30T00:00:00Z", "2026-10-02T00:00:00Z"),
        ];
        let plan = Plan::merge(&rows).unwrap();
        assert_eq!(plan.owners, Some(vec!["r1".into(), "r2".into(), "r3".into()]));
        assert_eq!((plan.from, plan.to), (at("2026-09-30T00:00:00Z"), at("2026-10-06T00:00:00Z")));
        // Work for everyone (a rule change) makes the merge everyone's.
        let everyone = row(None, "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z");
        let plan = Plan::merge(&[rows[0].clone(), everyone]).unwrap();
        assert_eq!(plan.owners, None);
        assert_eq!(plan.to, at("2026-11-01T00:00:00Z"));
    }
}
