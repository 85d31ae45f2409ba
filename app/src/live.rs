//! Live updates: every app instance LISTENs on one PostgreSQL channel and
//! forwards what it hears to its open pages and TVs over server-sent events.
//! A notification is only a wake-up: after it (and after any reconnect) a page
//! re-reads its state, so a lost notification costs nothing.

use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast;
use tower_sessions::Session;

pub const CHANNEL: &str = "kpi_arena_live";
/// The cookie a paired TV keeps its display token in.
pub const DISPLAY_COOKIE: &str = "kpi_arena_display";
/// How often an open stream hears from the server even when nothing changed.
const PING: Duration = Duration::from_secs(10);

/// What changed: `changed` (re-read), `won` (deals just won: celebrate them), `revoked` (a display).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LiveEvent {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deals: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<i64>,
}

impl LiveEvent {
    pub fn changed() -> Self {
        LiveEvent { kind: "changed".into(), deals: Vec::new(), display: None }
    }

    /// Deals just won; at most 50 ids fit comfortably in one notification.
    pub fn won(mut deals: Vec<String>) -> Self {
        deals.truncate(50);
        LiveEvent { kind: "won".into(), deals, display: None }
    }

    pub fn revoked(display: i64) -> Self {
        LiveEvent { kind: "revoked".into(), deals: Vec::new(), display: Some(display) }
    }
}

/// Tells every instance (this one too) that something changed.
/// On a transaction's connection, PostgreSQL delivers it when that transaction commits.
pub async fn notify<'e>(executor: impl sqlx::PgExecutor<'e>, event: &LiveEvent) -> Result<(), sqlx::Error> {
    let payload = serde_json::to_string(event).unwrap_or_else(|_| "{\"kind\":\"changed\"}".into());
    sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(payload).execute(executor).await?;
    Ok(())
}

/// Forwards the channel to `tx` for as long as the process runs, reconnecting
/// after a lost connection (and then telling pages to re-read).
pub fn spawn_listener(pool: PgPool, tx: broadcast::Sender<String>) {
    tokio::spawn(async move {
        loop {
            match PgListener::connect_with(&pool).await {
                Ok(mut listener) => {
                    if let Err(e) = listener.listen(CHANNEL).await {
                        tracing::warn!("LISTEN {CHANNEL} failed: {e}");
                    } else {
                        let _ = tx.send(serde_json::to_string(&LiveEvent::changed()).unwrap_or_default());
                        loop {
                            match listener.recv().await {
                                Ok(n) => {
                                    let _ = tx.send(n.payload().to_string());
                                }
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

/// A cookie's value from the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// `GET /api/live`: the event stream of a signed-in user's page or a paired TV.
/// Events: `changed`, `won` (data: the deal ids), `ping` (every 10 s), `revoked` (then the stream ends).
pub async fn events(State(state): State<AppState>, session: Session, headers: HeaderMap) -> Response {
    let display = match cookie(&headers, DISPLAY_COOKIE) {
        Some(token) => crate::db::displays::by_token(&state.pool, &token).await.ok().flatten().map(|d| d.id),
        None => None,
    };
    let user = session.get::<String>(crate::auth::server::SESSION_USER_KEY).await.ok().flatten();
    if display.is_none() && user.is_none() {
        return (StatusCode::UNAUTHORIZED, "sign in, or pair this TV, first").into_response();
    }
    let rx = state.live.subscribe();
    let mut tick = tokio::time::interval(PING);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let pool = state.pool.clone();
    let stream = futures::stream::unfold((rx, tick, false), move |(mut rx, mut tick, done)| {
        let pool = pool.clone();
        async move {
            if done {
                return None;
            }
            // (the event, whether the stream ends after it)
            let (event, end) = loop {
                tokio::select! {
                    message = rx.recv() => match message {
                        Ok(payload) => {
                            let Ok(e) = serde_json::from_str::<LiveEvent>(&payload) else { continue };
                            if e.kind == "revoked" {
                                if e.display.is_some() && e.display == display {
                                    break (Event::default().event("revoked").data("revoked"), true);
                                }
                                continue;
                            }
                            break (Event::default().event(e.kind.clone()).data(e.deals.join(",")), false);
                        }
                        // Missed some: a re-read covers them.
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            break (Event::default().event("changed").data(""), false)
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    },
                    _ = tick.tick() => {
                        // A lost notification must not keep a revoked TV on air.
                        if let Some(id) = display {
                            if !crate::db::displays::is_active(&pool, id).await.unwrap_or(true) {
                                break (Event::default().event("revoked").data("revoked"), true);
                            }
                        }
                        break (Event::default().event("ping").data(crate::clock::now().to_rfc3339()), false);
                    }
                }
            };
            Some((Ok::<Event, Infallible>(event), (rx, tick, end)))
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}
