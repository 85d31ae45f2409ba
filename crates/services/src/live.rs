//! Live fan-out: every instance LISTENs on one PostgreSQL channel and hands
//! what it hears to its open pages and TVs. A notification is only a wake-up:
//! after it (and after any reconnect) a page re-reads its state, so a lost
//! notification costs nothing.

pub use domain::live::LiveEvent;
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use std::time::Duration;
use tokio::sync::broadcast;

pub const CHANNEL: &str = "kpi_arena_live";

/// Tells every instance (this one too) that something changed.
/// On a transaction's connection, PostgreSQL delivers it when that transaction commits.
pub async fn notify<'e>(executor: impl sqlx::PgExecutor<'e>, event: &LiveEvent) -> Result<(), sqlx::Error> {
    let payload = serde_json::to_string(event).unwrap_or_else(|_| "{\"kind\":\"changed\"}".into());
    sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(payload).execute(executor).await?;
    Ok(())
}

/// Forwards the channel to `tx` for as long as the process runs, reconnecting
/// after a lost connection (and then telling pages to re-read).
pub fn spawn_listener(pool: PgPool, tx: broadcast::Sender<LiveEvent>) {
    tokio::spawn(async move {
        loop {
            match PgListener::connect_with(&pool).await {
                Ok(mut listener) => {
                    if let Err(e) = listener.listen(CHANNEL).await {
                        tracing::warn!("LISTEN {CHANNEL} failed: {e}");
                    } else {
                        let _ = tx.send(LiveEvent::Changed);
                        loop {
                            match listener.recv().await {
                                Ok(n) => match serde_json::from_str::<LiveEvent>(n.payload()) {
                                    Ok(event) => {
                                        let _ = tx.send(event);
                                    }
                                    Err(e) => tracing::warn!("a live notification nobody understands ({e})"),
                                },
                                Err(e) => {
                                    tracing::warn!("live notifications interrupted: {e}");
                                    break;
                                }
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!("connecting the live listener failed: {e}"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}
