//! `POST /api/v1/hooks/{kind}/{key}`: a CRM's webhook. No sign-in: the address's secret
//! (`key`, made when the connector was saved) and the account the body names are checked
//! (`connectors::hooks`), the delivery is queued, and the answer comes at once; the
//! connector runner does the work and wakes now.

use super::ApiError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use connectors::hooks::HookError;
use serde_json::{json, Value};

/// The largest webhook body taken (amoCRM sends up to 500 leads per delivery).
pub const MAX_HOOK_BYTES: usize = 4 * 1024 * 1024;

/// Takes a CRM's webhook delivery.
#[utoipa::path(post, path = "/api/v1/hooks/{kind}/{key}", tag = "connectors",
    params(("kind" = String, Path, description = "`amocrm` or `bitrix24`"), ("key" = String, Path, description = "the connector's webhook secret, shown on /connectors")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "the CRM's own webhook body"),
    responses((status = 200, description = "queued: `{\"queued\": N}` new events (a repeated delivery queues none)", body = Object),
        (status = 400, description = "not this CRM's webhook, or it names another account; nothing stored", body = super::openapi::ErrorDoc),
        (status = 404, description = "no connector of that kind, or the secret is not its", body = super::openapi::ErrorDoc)))]
pub async fn receive(
    State(state): State<AppState>,
    Path((kind, key)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    match connectors::hooks::receive(&state.pool, state.connectors.keyring(), &kind, &key, &body).await {
        Ok(queued) => {
            if queued > 0 {
                state.connectors.wake();
            }
            Ok(Json(json!({"queued": queued})))
        }
        Err(HookError::NotFound) => Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such webhook")),
        Err(HookError::Refused(why)) => {
            tracing::warn!(kind, reason = %why, "webhook refused");
            Err(ApiError::bad_request(format!("webhook refused: {why}")))
        }
        Err(HookError::Db(e)) => Err(ApiError::internal(e)),
    }
}
