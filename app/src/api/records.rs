//! `POST /api/v1/records`: a JSON array or NDJSON batch, all or nothing,
//! through the one ingest path. It answers once the records are committed;
//! `?wait=scores` also waits (at most `SCORES_WAIT`) for their points and badges.

use super::{ApiError, ApiUser, MAX_BODY_BYTES, MAX_RECORDS};
use crate::auth::Role;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use services::ingest::{self, Caught, Source};
use store::records::StoreError;

/// The longest `?wait=scores` waits before answering 202.
pub const SCORES_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(serde::Deserialize)]
pub struct RecordsQuery {
    wait: Option<String>,
}

pub async fn post_records(
    State(state): State<AppState>,
    user: ApiUser,
    headers: HeaderMap,
    query: Result<Query<RecordsQuery>, axum::extract::rejection::QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    user.require(&[Role::Manager, Role::Admin], "send records")?;
    let wait = match query.map_err(|e| ApiError::bad_request(e.body_text()))?.0.wait.as_deref() {
        None => false,
        Some("scores") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!("`wait` may only be `scores`; `{other}` is not known")))
        }
    };
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        _ => ApiError::bad_request(rejection.body_text()),
    })?;
    if body.len() > MAX_BODY_BYTES {
        return Err(too_large());
    }
    let ndjson = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-ndjson"));
    let values = if ndjson { parse_ndjson(&body)? } else { parse_array(&body)? };
    if values.len() > MAX_RECORDS {
        return Err(ApiError::too_large(format!(
            "a batch may hold at most {MAX_RECORDS} records; this one has {}",
            values.len()
        )));
    }
    let done = match ingest::submit(&state.pool, &values, Source::Api).await {
        Ok(done) => done,
        Err(StoreError::Invalid(errors)) => return Err(ApiError::invalid_records(errors)),
        Err(StoreError::Db(e)) => return Err(ApiError::internal(e)),
    };
    if !wait {
        return Ok(Json(json!({"accepted": done.accepted})).into_response());
    }
    Ok(match ingest::wait_for(&state.pool, done.work, SCORES_WAIT).await.map_err(ApiError::internal)? {
        Caught::Up => Json(json!({"accepted": done.accepted, "scores": "current"})).into_response(),
        Caught::Pending(rows) => {
            (StatusCode::ACCEPTED, Json(json!({"accepted": done.accepted, "scores": "pending", "pending_work": rows})))
                .into_response()
        }
    })
}

fn too_large() -> ApiError {
    ApiError::too_large(format!("the body is larger than {} MiB", MAX_BODY_BYTES / 1024 / 1024))
}

fn parse_array(body: &[u8]) -> Result<Vec<Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(values)) => Ok(values),
        Ok(_) => Err(ApiError::bad_request("the body must be a JSON array of records")),
        Err(e) => Err(ApiError::bad_request(format!("the body is not valid JSON: {e}"))),
    }
}

fn parse_ndjson(body: &[u8]) -> Result<Vec<Value>, ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| ApiError::bad_request("the body is not UTF-8 text"))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line)
                .map_err(|e| ApiError::bad_request(format!("line {} is not valid JSON: {e}", n + 1)))
        })
        .collect()
}
