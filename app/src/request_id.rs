//! Every request's id. A trusted proxy's `X-Request-Id` is kept (so its log and ours agree);
//! otherwise the id is made here. It is on every log line the request writes (a tracing span),
//! in the response's `X-Request-Id`, and it is the error id a reader quotes from a 500 page
//! or an API error (`error::error_id`).

use crate::state::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use std::net::SocketAddr;
use tracing::Instrument;

pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static CURRENT: String;
}

/// The id of the request being served, if any: from the request's own task, or (for work
/// Leptos runs in other tasks while rendering) from the request's headers in the reactive context.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok().or_else(|| {
        let parts = leptos::prelude::use_context::<axum::http::request::Parts>()?;
        parts.headers.get(HEADER)?.to_str().ok().map(str::to_string)
    })
}

/// An id from elsewhere is kept only if it is short and plain (it goes into logs and headers).
fn acceptable(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// The path as the logs may show it: a long opaque segment (an invitation's or a TV's token)
/// is a secret, and becomes `…`.
fn loggable(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            let opaque =
                segment.len() >= 20 && segment.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
            if opaque {
                "…"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

pub async fn middleware(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let from_proxy = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(peer)| state.config.is_trusted_proxy(peer.ip()));
    let given = request.headers().get(HEADER).and_then(|v| v.to_str().ok()).filter(|id| from_proxy && acceptable(id));
    let id = given.map(str::to_string).unwrap_or_else(|| hex::encode(rand::random::<[u8; 8]>()));
    let value = HeaderValue::from_str(&id).expect("an id of plain characters");
    request.headers_mut().insert(HEADER, value.clone());
    // At the highest level: a filter that lets any line through (even `KPI_ARENA_LOG=error`) keeps the span.
    let path = loggable(request.uri().path());
    let span = tracing::error_span!("request", id = %id, method = %request.method(), path = %path);
    let mut response = CURRENT.scope(id, next.run(request)).instrument(span).await;
    response.headers_mut().insert(HEADER, value);
    response
}

#[cfg(test)]
mod tests {
    use super::{acceptable, loggable};

    #[test]
    fn a_token_in_the_path_stays_out_of_the_logs() {
        assert_eq!(loggable("/invite/Qx7vR2mK9pLw4sT8nB3cY6dF"), "/invite/…");
        assert_eq!(loggable("/api/v1/challenges/7/launch"), "/api/v1/challenges/7/launch");
        assert_eq!(loggable("/import/template/opportunity.csv"), "/import/template/opportunity.csv");
    }

    #[test]
    fn an_id_from_a_proxy_is_kept_only_when_short_and_plain() {
        assert!(acceptable("f3c1e0a2-9b7d-4c1e-8a55-0c2b9d7e6f11"));
        assert!(acceptable("req:1.2_3"));
        assert!(!acceptable(""));
        assert!(!acceptable(&"a".repeat(65)));
        assert!(!acceptable("two words"));
        assert!(!acceptable("quote\"d"));
    }
}
