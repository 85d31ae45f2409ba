//! Compute once, serve to many: what an open screen shows (a leaderboard by KPI,
//! scope, period and measure; a TV's wall) is computed once per data version and
//! handed to every screen that re-reads it. The version is the live hub's
//! (`live::Hub::version`): it moves when changes are told to the screens, so a
//! burst of re-reads after one change costs one computation per distinct view.
//! Concurrent readers of a view being computed wait for that one computation
//! (moka's `try_get_with`). Entries also expire after [`LIFETIME`], which bounds
//! how long a change that sent no notification (a renamed user) can go unseen.

use crate::live::Hub;
use std::any::Any;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The longest a computed view is served.
pub const LIFETIME: Duration = Duration::from_secs(10);

type Value = Arc<dyn Any + Send + Sync>;

pub struct Snapshots {
    hub: Arc<Hub>,
    cache: moka::future::Cache<(String, u64), Value>,
    computed: AtomicU64,
}

impl Snapshots {
    pub fn new(hub: Arc<Hub>) -> Arc<Self> {
        let cache = moka::future::Cache::builder().max_capacity(5_000).time_to_live(LIFETIME).build();
        Arc::new(Self { hub, cache, computed: AtomicU64::new(0) })
    }

    /// The view named `key` at the current data version: computed by `compute` if no
    /// screen read it yet at this version, else the one computation's result.
    /// A key names one type of value: its prefix is the caller's.
    pub async fn get<T, E>(&self, key: String, compute: impl Future<Output = Result<T, E>>) -> Result<Arc<T>, Arc<E>>
    where
        T: Send + Sync + 'static,
        E: Send + Sync + 'static,
    {
        let version = self.hub.version();
        // On the heap: a view's computation can be a large future, and moka's wraps it again.
        let compute = Box::pin(async {
            self.computed.fetch_add(1, Ordering::Relaxed);
            compute.await.map(|v| Arc::new(v) as Value)
        });
        let value = Box::pin(self.cache.try_get_with((key, version), compute)).await?;
        Ok(value.downcast::<T>().expect("a snapshot key names one type of value"))
    }

    /// How many views were computed since start (each miss once).
    pub fn computed(&self) -> u64 {
        self.computed.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hundred_concurrent_readers_of_one_view_cost_one_computation() {
        let snapshots = Snapshots::new(Hub::new());
        let reads = (0..100).map(|_| {
            snapshots.get("board:revenue".to_string(), async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok::<_, String>(vec![1, 2, 3])
            })
        });
        let all = futures::future::join_all(reads).await;
        assert!(all.iter().all(|r| r.as_deref() == Ok(&vec![1, 2, 3])));
        assert_eq!(snapshots.computed(), 1);
        // Another view is its own computation; a failed one is not kept.
        let failed = snapshots.get::<Vec<i32>, String>("board:other".into(), async { Err("no".into()) }).await;
        assert_eq!(failed.unwrap_err().as_str(), "no");
        let again = snapshots.get::<Vec<i32>, String>("board:other".into(), async { Ok(vec![4]) }).await;
        assert_eq!(*again.unwrap(), vec![4]);
        assert_eq!(snapshots.computed(), 3);
    }
}
