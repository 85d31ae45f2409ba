//! `POST /api/v1/hooks/{kind}/{key}`: a CRM's webhook. No sign-in: the address's secret
//! (`key`, made when the connector was saved) and the account the body names are checked
//! (`connectors::hooks`), the delivery is queued, and the answer comes at once; the
//! connector runner does the work and wakes now.

use super::ApiError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use connectors::hooks::HookError;
use serde_json::{json, Value};

/// The largest webhook body taken (the NUL guard reads bodies up to 2 MiB; amoCRM sends up to 500 leads per delivery).
pub const MAX_HOOK_BYTES: usize = 2 * 1024 * 1024;

/// Takes a CRM's webhook delivery.
#[utoipa::path(post, path = "/api/v1/hooks/{kind}/{key}", tag = "connectors",
    params(("kind" = String, Path, description = "`amocrm`, `bitrix24` or `hubspot`"), ("key" = String, Path, description = "the connector's webhook secret, shown on /connectors")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "the CRM's own webhook body (form-encoded for amoCRM and Bitrix24, JSON for HubSpot)"),
    responses((status = 200, description = "queued: `{\"queued\": N}` new events (a repeated delivery queues none)", body = Object),
        (status = 400, description = "not this CRM's webhook, or it names another account; nothing stored", body = super::openapi::ErrorDoc),
        (status = 404, description = "no connector of that kind, or the secret is not its", body = super::openapi::ErrorDoc)))]
pub async fn receive(
    State(state): State<AppState>,
    Path((kind, key)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    // The address as the CRM called it (HubSpot signs it): behind HTTPS (Secure cookies) https.
    let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let scheme = if state.config.secure_cookies { "https" } else { "http" };
    let called = format!("{scheme}://{host}{}", uri.path_and_query().map(|p| p.as_str()).unwrap_or(""));
    let named: std::collections::HashMap<String, String> = headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str().to_ascii_lowercase(), value.to_str().ok()?.to_string())))
        .collect();
    let delivery = connectors::hooks::Delivery {
        uri: &called,
        headers: &named,
        body: &body,
        now_ms: chrono::Utc::now().timestamp_millis(),
    };
    let answer = connectors::hooks::receive(&state.pool, state.connectors.keyring(), &kind, &key, delivery).await;
    if let Some(kind) = connectors::Kind::parse(&kind) {
        let label = match &answer {
            Ok(0) => "repeated",
            Ok(_) => "queued",
            Err(HookError::NotFound) => "not_found",
            Err(HookError::Refused(_)) => "refused",
            Err(HookError::Db(_)) => "error",
        };
        services::metrics::connector_webhook(kind.name(), label);
    }
    match answer {
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
