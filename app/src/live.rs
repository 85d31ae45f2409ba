//! Live updates in the browser: `GET /api/live` streams what this instance
//! hears (`services::live`) to a signed-in page or a paired TV as server-sent events.

use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use services::live::LiveEvent;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast;
use tower_sessions::Session;

/// The cookie a paired TV keeps its display token in.
pub const DISPLAY_COOKIE: &str = "kpi_arena_display";
/// How often an open stream hears from the server even when nothing changed.
const PING: Duration = Duration::from_secs(10);

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
        Some(token) => store::displays::by_token(&state.pool, &token).await.ok().flatten().map(|d| d.id),
        None => None,
    };
    // A user's stream checks, as every request does, that they are still active and signed in.
    let user = match display {
        Some(_) => None,
        None => crate::auth::server::user_of(&state.pool, &session).await,
    };
    if display.is_none() && user.is_none() {
        return (StatusCode::UNAUTHORIZED, "sign in, or pair this TV, first").into_response();
    }
    let user_id = user.map(|u| u.id);
    let rx = state.live.subscribe();
    let mut tick = tokio::time::interval(PING);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let pool = state.pool.clone();
    let stream = futures::stream::unfold((rx, tick, false), move |(mut rx, mut tick, done)| {
        let pool = pool.clone();
        let session = session.clone();
        let user_id = user_id.clone();
        async move {
            if done {
                return None;
            }
            // (the event, whether the stream ends after it)
            let (event, end) = loop {
                tokio::select! {
                    message = rx.recv() => match message {
                        Ok(LiveEvent::Revoked { display: revoked }) => {
                            if Some(revoked) == display {
                                break (Event::default().event("revoked").data("revoked"), true);
                            }
                            continue;
                        }
                        Ok(e @ LiveEvent::Changed) => break (Event::default().event(e.name()).data(""), false),
                        Ok(LiveEvent::Won { deals }) => break (Event::default().event("won").data(deals.join(",")), false),
                        // Missed some: a re-read covers them.
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            break (Event::default().event("changed").data(""), false)
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    },
                    _ = tick.tick() => {
                        // A lost notification must not keep a revoked TV on air.
                        if let Some(id) = display {
                            if !store::displays::is_active(&pool, id).await.unwrap_or(true) {
                                break (Event::default().event("revoked").data("revoked"), true);
                            }
                        }
                        // Nor a deactivated user's page (their sessions have ended).
                        if let Some(id) = &user_id {
                            let still = crate::auth::server::user_of(&pool, &session).await;
                            if still.is_none_or(|u| u.id != *id) {
                                break (Event::default().event("signed_out").data(""), true);
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
