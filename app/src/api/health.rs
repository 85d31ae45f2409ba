//! `GET /healthz` and `GET /readyz`, for a load balancer, systemd or Kubernetes. No
//! sign-in: they say whether the instance works, nothing about the organisation.

use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// The process is alive and answers; touches nothing else.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready for traffic: 200 with the figures, or 503 with the reasons (`services::health`).
pub async fn readyz(State(state): State<AppState>) -> Response {
    let readiness = services::health::readiness(&state.pool, state.worker.as_deref()).await;
    let status = if readiness.ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(readiness)).into_response()
}
