//! `GET /api/v1/live`: this instance's live figures (admins): open event streams,
//! the lag from a change's commit to its event reaching the streams, views computed.

use super::{ApiError, ApiUser};
use crate::auth::Role;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

#[utoipa::path(get, path = "/api/v1/live", tag = "operations", security(("bearer" = [])), responses((status = 200, description = "open event streams, lag from commit to the streams, views computed, memory", body = Object), (status = 401, description = "no API token, or an unknown or revoked one", body = super::openapi::ErrorDoc), (status = 403, description = "the caller's role or team may not do this", body = super::openapi::ErrorDoc), (status = 500, description = "a failure on the server; the message quotes the request id", body = super::openapi::ErrorDoc)))]
pub async fn get_live(State(state): State<AppState>, me: ApiUser) -> Result<Json<Value>, ApiError> {
    me.require(&[Role::Admin], "read the instance's live figures")?;
    let mut figures = serde_json::to_value(state.hub.figures()).map_err(ApiError::internal)?;
    figures["views_computed"] = json!(state.snapshots.computed());
    Ok(Json(figures))
}
