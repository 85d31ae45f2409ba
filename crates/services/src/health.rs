//! Whether an instance is ready for traffic (`/readyz`): its database answers, this
//! build's migrations are applied, its scoring worker comes round, and the derived
//! work waiting for any instance's worker is not too old.

use crate::live::Hub;
use crate::replica::Reads;
use crate::worker::Heartbeat;
use serde::Serialize;
use sqlx::PgPool;
use std::time::Duration;

/// A worker silent for longer than this is stuck (a pass on 10,000,000 records takes seconds, not a minute).
pub const WORKER_SILENCE: Duration = Duration::from_secs(60);
/// Work older than this means scores lag behind the records too far for a live leaderboard.
pub const MAX_SCORING_LAG: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Readiness {
    pub ready: bool,
    /// What is wrong, one sentence each (empty when ready).
    pub reasons: Vec<String>,
    /// Milliseconds since this instance's worker last came round; `None` when it runs none.
    pub worker_silent_ms: Option<u64>,
    /// Milliseconds the oldest waiting work has waited; 0 when none waits.
    pub scoring_lag_ms: Option<i64>,
    /// The read replica as last measured, when one is configured. Its lag does not make an
    /// instance unready: reads it cannot serve yet go to the primary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica: Option<crate::replica::ReplicaStatus>,
}

/// Checks everything `/readyz` promises. `worker`: this instance's worker, if it runs one.
pub async fn readiness(pool: &PgPool, worker: Option<&Heartbeat>, hub: &Hub, reads: &Reads) -> Readiness {
    let mut reasons = Vec::new();
    if hub.deaf() {
        reasons.push(
            "live updates do not reach this instance: its LISTEN hears nothing (a pooler in transaction mode? \
             set KPI_ARENA_LISTEN_DATABASE_URL to a direct URL)"
                .into(),
        );
    }
    let mut scoring_lag_ms = None;
    match store::health::ping(pool).await {
        Err(e) => {
            // The details (hosts, users) go to the log, not to whoever asks.
            tracing::warn!("readiness: the database does not answer: {e}");
            reasons.push("the database does not answer".into());
        }
        Ok(()) => {
            match store::health::missing_migrations(pool).await {
                Ok(missing) if missing.is_empty() => {}
                Ok(missing) => reasons.push(format!(
                    "migrations not applied: {}",
                    missing.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
                )),
                Err(e) => {
                    tracing::warn!("readiness: the applied migrations cannot be read: {e}");
                    reasons.push("the applied migrations cannot be read".into());
                }
            }
            match store::health::oldest_work_age_ms(pool).await {
                Ok(age) => {
                    let age = age.unwrap_or(0).max(0);
                    scoring_lag_ms = Some(age);
                    if age as u128 > MAX_SCORING_LAG.as_millis() {
                        reasons.push(format!(
                            "scoring lags: the oldest waiting work is {} s old (at most {} s)",
                            age / 1000,
                            MAX_SCORING_LAG.as_secs()
                        ));
                    }
                }
                Err(e) => {
                    tracing::warn!("readiness: the scoring queue cannot be read: {e}");
                    reasons.push("the scoring queue cannot be read".into());
                }
            }
        }
    }
    let silent = worker.map(Heartbeat::silent_for);
    reasons.extend(silent.and_then(worker_reason));
    let worker_silent_ms = silent.map(|s| s.as_millis() as u64);
    let replica = reads.has_replica().then(|| reads.status()).flatten();
    Readiness { ready: reasons.is_empty(), reasons, worker_silent_ms, scoring_lag_ms, replica }
}

/// What is wrong with a worker silent for `silent`, if anything.
fn worker_reason(silent: Duration) -> Option<String> {
    (silent > WORKER_SILENCE).then(|| {
        format!(
            "the scoring worker has not come round for {} s (at most {} s)",
            silent.as_secs(),
            WORKER_SILENCE.as_secs()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_silent_for_over_a_minute_makes_the_instance_unready() {
        assert_eq!(worker_reason(Duration::from_secs(5)), None);
        assert_eq!(worker_reason(Duration::from_secs(60)), None);
        assert_eq!(
            worker_reason(Duration::from_millis(61_500)).as_deref(),
            Some("the scoring worker has not come round for 61 s (at most 60 s)")
        );
    }
}
