//! Live updates in the browser: `GET /api/live` streams what this instance
//! hears (`services::live`) to a signed-in page or a paired TV as server-sent events.

use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use services::live::{Signal, Subject};
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast;
use tower_sessions::Session;

/// The cookie a paired TV keeps its display token in.
pub const DISPLAY_COOKIE: &str = "kpi_arena_display";

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
/// Events: `changed` (data: the data version), `won` (data: the deal ids), `ping` (every 10 s),
/// `revoked` and `signed_out` (then the stream ends). The first event sets the browser's
/// reconnection delay to a random 1 to 5 s, so after a restart the screens come back spread out.
///
/// A stream holds no timer and runs no query of its own: the instance's hub pings every stream
/// at once and checks all of them in one query per kind (`services::live::Hub::sweep`).
pub async fn events(State(state): State<AppState>, session: Session, headers: HeaderMap) -> Response {
    let display = match cookie(&headers, DISPLAY_COOKIE) {
        Some(token) => store::displays::by_token(&state.pool, &token).await.ok().flatten().map(|d| d.id),
        None => None,
    };
    let subject = match display {
        Some(id) => Subject::Display(id),
        // A user's stream checks, as every request does, that they are still active and signed in.
        None => match crate::auth::server::user_of(&state.pool, &session).await {
            Some(user) => Subject::User {
                id: user.id,
                epoch: crate::auth::server::session_epoch(&session).await,
                session: session.id().map(|id| id.to_string()).unwrap_or_default(),
                since: crate::auth::server::session_since(&session).await,
            },
            None => return (StatusCode::UNAUTHORIZED, "sign in, or pair this TV, first").into_response(),
        },
    };
    let (rx, guard) = state.hub.open(subject.clone());
    if state.hub.is_closing() {
        // The instance is stopping: the browser tries again in a moment (elsewhere, behind a balancer).
        return (StatusCode::SERVICE_UNAVAILABLE, "this instance is stopping").into_response();
    }
    let retry = Duration::from_millis(rand::Rng::gen_range(&mut rand::thread_rng(), 1_000..5_000));
    let hello = Event::default().event("ping").data(crate::clock::now().to_rfc3339()).retry(retry);
    let stream = futures::stream::unfold(Some((rx, guard, Some(hello))), move |state| {
        let subject = subject.clone();
        async move {
            let (mut rx, guard, hello) = state?;
            if let Some(hello) = hello {
                return Some((Ok::<Event, Infallible>(hello), Some((rx, guard, None))));
            }
            // (the event, whether the stream ends after it)
            let (event, end) = loop {
                match rx.recv().await {
                    Ok(Signal::Closing) | Err(broadcast::error::RecvError::Closed) => return None,
                    Ok(signal) => match to_event(signal, &subject, guard.id()) {
                        Some(out) => break out,
                        None => continue,
                    },
                    // Missed some: a re-read covers them.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        break (Event::default().event("changed").data(""), false)
                    }
                }
            };
            Some((Ok(event), (!end).then_some((rx, guard, None))))
        }
    });
    Sse::new(stream).into_response()
}

/// What `signal` means for the stream `stream` of `subject`: an event and whether the stream
/// ends after it, or nothing (another TV's revocation, another user's sign-out).
fn to_event(signal: Signal, subject: &Subject, stream: u64) -> Option<(Event, bool)> {
    let event = |name: &str, data: String| Event::default().event(name).data(data);
    match signal {
        Signal::Changed(version) => Some((event("changed", version.to_string()), false)),
        Signal::Won(deals) => Some((event("won", deals.join(",")), false)),
        Signal::Ping(at) => Some((event("ping", at), false)),
        Signal::Revoked(display) => {
            (*subject == Subject::Display(display)).then(|| (event("revoked", "revoked".into()), true))
        }
        Signal::SignedOut(user) => matches!(subject, Subject::User { id, .. } if *id == user)
            .then(|| (event("signed_out", String::new()), true)),
        Signal::Swept { displays, streams } => match subject {
            Subject::Display(id) if displays.contains(id) => Some((event("revoked", "revoked".into()), true)),
            Subject::User { .. } if streams.contains(&stream) => Some((event("signed_out", String::new()), true)),
            _ => None,
        },
        Signal::Closing => None,
    }
}

/// The server functions that change nothing screens show (`/api/{name}`): they only read, or
/// sign someone in or out. Every other one may change something.
const READS: &[&str] = &[
    "login",
    "logout",
    "signed_in_view",
    "demo_data",
    "kpi_card",
    "leaderboard",
    "deal_form",
    "targets_grid",
    "org_settings",
    "team_report",
];

/// Whether a request may change what screens show: every method but GET and HEAD, except the
/// server functions that only read (named `…_view` or listed in [`READS`]).
pub fn may_change(method: &axum::http::Method, path: &str) -> bool {
    if method == axum::http::Method::GET || method == axum::http::Method::HEAD {
        return false;
    }
    match path.strip_prefix("/api/") {
        Some(name) if !name.starts_with("v1/") && !name.contains('/') => {
            !(name.ends_with("_view") || READS.contains(&name))
        }
        _ => true,
    }
}

/// After a request that may have changed something, the next read on this instance computes
/// afresh (`Hub::touch`): what someone just did shows on their next page at once.
pub async fn touch_after_changes(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let change = may_change(request.method(), request.uri().path());
    let response = next.run(request).await;
    // Only what was done: a refused or failed request changed nothing.
    let status = response.status();
    if change && (status.is_success() || status.is_redirection()) {
        state.hub.touch();
    }
    response
}

#[cfg(test)]
mod tests {
    use super::may_change;
    use axum::http::Method;

    #[test]
    fn reads_do_not_count_as_changes_and_everything_else_does() {
        assert!(!may_change(&Method::POST, "/api/leaderboard"));
        assert!(!may_change(&Method::POST, "/api/home_view"));
        assert!(!may_change(&Method::POST, "/api/tv_view"));
        assert!(!may_change(&Method::GET, "/api/v1/kpis"));
        assert!(!may_change(&Method::GET, "/leaderboard"));
        assert!(may_change(&Method::POST, "/api/save_org_settings"));
        assert!(may_change(&Method::POST, "/api/change_user"));
        assert!(may_change(&Method::POST, "/api/v1/records"));
        assert!(may_change(&Method::PUT, "/api/v1/targets"));
        assert!(may_change(&Method::DELETE, "/api/v1/points/rules/7"));
        assert!(may_change(&Method::POST, "/import"));
    }
}
