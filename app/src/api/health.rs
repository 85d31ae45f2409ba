//! `GET /healthz` and `GET /readyz`, for a load balancer, systemd or Kubernetes. No
//! sign-in: they say whether the instance works, nothing about the organisation.

use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// The process is alive and answers; touches nothing else.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "`ok` while the process runs", body = String, content_type = "text/plain")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// How long the checks may take: a probe that waits on a busy pool is an answer too.
const CHECKS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Ready for traffic: 200 with the figures, or 503 with the reasons (`services::health`).
#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, description = "ready: `{\"ready\": true, …}` with the figures", body = Object), (status = 503, description = "not ready: `ready` false and the `reasons`, a sentence each", body = Object)))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let checks = services::health::readiness(&state.pool, state.worker.as_deref(), &state.hub, &state.reads);
    let readiness = match tokio::time::timeout(CHECKS_TIMEOUT, checks).await {
        Ok(readiness) => readiness,
        Err(_) => services::health::Readiness {
            ready: false,
            reasons: vec![format!("the checks took longer than {} s", CHECKS_TIMEOUT.as_secs())],
            worker_silent_ms: None,
            scoring_lag_ms: None,
            replica: state.reads.status(),
        },
    };
    let status = if readiness.ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(readiness)).into_response()
}
