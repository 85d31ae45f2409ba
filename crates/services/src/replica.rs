//! Where the heavy reads go. With a streaming read replica (`KPI_ARENA_READ_DATABASE_URL`),
//! KPI cards, leaderboards and reports are computed there; everything else, writes
//! included, stays on the primary.
//!
//! A read goes to the replica only once the replica has replayed everything the
//! primary had committed when the read began, so nobody reads older data than the
//! primary holds: a rep who just logged a deal, a manager who just set a target, a
//! screen told of a change all see it. A replica that lags is given a few
//! milliseconds to catch up; past that, or when it does not answer in time or is no
//! standby, the read goes to the primary, and `/readyz` and `/metrics` show why. A read
//! that fails on the replica is done again on the primary ([`Reads::read`]).

use serde::Serialize;
use sqlx::PgPool;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a read waits, in all, for the replica to replay what the primary committed.
const WAITS_MS: [u64; 4] = [0, 5, 10, 20];
/// The most the check before a read may take, waits and round trips included; past it the
/// replica counts as not answering until the next measurement.
const CHECK_LIMIT: Duration = Duration::from_millis(150);
/// How often the replica's lag is measured for `/readyz` and `/metrics`, and the most a
/// measurement may take.
const POLL: Duration = Duration::from_secs(1);
const MEASURE_LIMIT: Duration = Duration::from_millis(900);

/// The pools reads choose from.
pub struct Reads {
    primary: PgPool,
    replica: Option<PgPool>,
    status: Mutex<Option<ReplicaStatus>>,
    on_replica: AtomicU64,
    on_primary: AtomicU64,
}

/// The replica as last measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplicaStatus {
    /// Whether it answered and is a standby: reads may go there.
    pub usable: bool,
    /// Bytes of the primary's log it has not replayed yet.
    pub lag_bytes: i64,
    /// Seconds behind the primary (0 when caught up).
    pub lag_seconds: f64,
    /// What is wrong, when it is not usable.
    pub problem: Option<String>,
}

/// Reads counted by where they went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadCounts {
    pub replica: u64,
    pub primary: u64,
}

impl Reads {
    /// Every read on the primary: no replica configured.
    pub fn primary_only(primary: PgPool) -> Arc<Reads> {
        Arc::new(Reads::new(primary, None))
    }

    /// Reads on `replica` when it is caught up; its lag measured every second from now on.
    pub fn with_replica(primary: PgPool, replica: PgPool) -> Arc<Reads> {
        let reads = Arc::new(Reads::new(primary, Some(replica)));
        let polled = Arc::downgrade(&reads);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(reads) = polled.upgrade() else { return };
                let status = match tokio::time::timeout(MEASURE_LIMIT, reads.measure()).await {
                    Ok(status) => status,
                    Err(_) => ReplicaStatus {
                        usable: false,
                        lag_bytes: 0,
                        lag_seconds: 0.0,
                        problem: Some("the read replica does not answer in time: reads stay on the primary".into()),
                    },
                };
                *reads.status.lock().expect("replica status") = Some(status);
            }
        });
        reads
    }

    fn new(primary: PgPool, replica: Option<PgPool>) -> Reads {
        Reads {
            primary,
            replica,
            status: Mutex::new(None),
            on_replica: AtomicU64::new(0),
            on_primary: AtomicU64::new(0),
        }
    }

    /// The primary: for writes, and for reads that must see the latest commit.
    pub fn primary(&self) -> &PgPool {
        &self.primary
    }

    /// The pool for a KPI card, leaderboard or report that begins now.
    pub async fn pool(&self) -> PgPool {
        self.choose().await.0
    }

    /// Runs `read` where reads go (see [`Reads::pool`]); when it fails on the replica, marks
    /// the replica unusable until the next measurement and runs it again on the primary.
    pub async fn read<T, E, F, Fut>(&self, read: F) -> Result<T, E>
    where
        F: Fn(PgPool) -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
        E: std::fmt::Display,
    {
        let (pool, on_replica) = self.choose().await;
        match read(pool).await {
            Err(e) if on_replica => {
                tracing::warn!("a read failed on the read replica, so it runs again on the primary: {e}");
                self.mark_unusable("a read failed on the read replica: reads stay on the primary");
                self.on_primary.fetch_add(1, Ordering::Relaxed);
                read(self.primary.clone()).await
            }
            answer => answer,
        }
    }

    /// The pool a read begins on, and whether it is the replica's.
    async fn choose(&self) -> (PgPool, bool) {
        if let Some(replica) = &self.replica {
            let known_bad = self.status().is_some_and(|s| !s.usable);
            if !known_bad {
                match tokio::time::timeout(CHECK_LIMIT, self.caught_up(replica)).await {
                    Ok(true) => {
                        self.on_replica.fetch_add(1, Ordering::Relaxed);
                        return (replica.clone(), true);
                    }
                    Ok(false) => {}
                    Err(_) => self.mark_unusable("the read replica does not answer in time: reads stay on the primary"),
                }
            }
        }
        self.on_primary.fetch_add(1, Ordering::Relaxed);
        (self.primary.clone(), false)
    }

    fn mark_unusable(&self, problem: &str) {
        let mut status = self.status.lock().expect("replica status");
        let (lag_bytes, lag_seconds) = status.as_ref().map_or((0, 0.0), |s| (s.lag_bytes, s.lag_seconds));
        *status = Some(ReplicaStatus { usable: false, lag_bytes, lag_seconds, problem: Some(problem.to_string()) });
    }

    /// Whether `replica` has replayed all the primary had committed when this was called,
    /// waiting a few milliseconds for it if need be.
    async fn caught_up(&self, replica: &PgPool) -> bool {
        let lsn = match store::health::current_lsn(&self.primary).await {
            Ok(lsn) => lsn,
            Err(e) => {
                tracing::warn!("reading the primary's log position failed: {e}");
                return false;
            }
        };
        for wait in WAITS_MS {
            tokio::time::sleep(Duration::from_millis(wait)).await;
            match store::health::replayed_up_to(replica, &lsn).await {
                Ok(Some(true)) => return true,
                Ok(Some(false)) => continue,
                Ok(None) => return false,
                Err(e) => {
                    tracing::warn!("asking the read replica how far it has replayed failed: {e}");
                    return false;
                }
            }
        }
        false
    }

    async fn measure(&self) -> ReplicaStatus {
        let unusable = |problem: &str| ReplicaStatus {
            usable: false,
            lag_bytes: 0,
            lag_seconds: 0.0,
            problem: Some(problem.to_string()),
        };
        let Some(replica) = &self.replica else { return unusable("no replica is configured") };
        let lsn = match store::health::current_lsn(&self.primary).await {
            Ok(lsn) => lsn,
            Err(e) => {
                tracing::warn!("reading the primary's log position failed: {e}");
                return unusable("the primary's log position cannot be read");
            }
        };
        match store::health::replay_lag(replica, &lsn).await {
            Ok(lag) if lag.standby => {
                ReplicaStatus { usable: true, lag_bytes: lag.bytes, lag_seconds: lag.seconds, problem: None }
            }
            Ok(_) => unusable("the read replica is not a standby (promoted, or a primary): reads stay on the primary"),
            Err(e) => {
                // The details (hosts, users) go to the log, not to whoever asks `/readyz`.
                tracing::warn!("the read replica does not answer: {e}");
                unusable("the read replica does not answer: reads stay on the primary")
            }
        }
    }

    /// The replica as last measured; `None` without one, or before the first measurement.
    pub fn status(&self) -> Option<ReplicaStatus> {
        self.status.lock().expect("replica status").clone()
    }

    pub fn has_replica(&self) -> bool {
        self.replica.is_some()
    }

    pub fn counts(&self) -> ReadCounts {
        ReadCounts {
            replica: self.on_replica.load(Ordering::Relaxed),
            primary: self.on_primary.load(Ordering::Relaxed),
        }
    }
}
