//! `GET /metrics`: Prometheus text (`services::metrics`), for an admin's API token: a
//! scrape job sends it as its bearer token.

use super::{ApiError, ApiUser};
use crate::auth::Role;
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

#[utoipa::path(get, path = "/metrics", tag = "operations", security(("bearer" = [])), responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"), (status = 401, description = "no API token, or an unknown or revoked one", body = super::openapi::ErrorDoc), (status = 403, description = "the caller's role or team may not do this", body = super::openapi::ErrorDoc)))]
pub async fn get_metrics(State(state): State<AppState>, me: ApiUser) -> Result<Response, ApiError> {
    me.require(&[Role::Admin], "read the instance's metrics")?;
    let text = services::metrics::render(&state.pool, &state.hub, &state.reads, state.snapshots.computed()).await;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response())
}
