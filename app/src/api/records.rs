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
use services::ingest::{self, Caught, Source, SubmitError};

/// The longest `?wait=scores` waits before answering 202.
pub const SCORES_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordsQuery {
    wait: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/records", tag = "records", security(("bearer" = [])), params(RecordsQuery), request_body(content((Vec<Object> = "application/json"), (String = "application/x-ndjson")), description = "an array of records (each `kind`, `id` and that kind's fields: docs/KPIS.md), or one record a line"), responses((status = 200, description = "every record stored", body = super::openapi::AcceptedDoc), (status = 202, description = "stored; with `wait=scores`, points still being worked out after 10 s", body = super::openapi::AcceptedDoc), (status = 400, description = "a parameter or body that does not parse, named", body = super::openapi::ErrorDoc), (status = 401, description = "no API token, or an unknown or revoked one", body = super::openapi::ErrorDoc), (status = 403, description = "the caller's role or team may not do this", body = super::openapi::ErrorDoc), (status = 413, description = "over 50,000 records or 32 MiB", body = super::openapi::ErrorDoc), (status = 422, description = "invalid records, each named; nothing stored", body = super::openapi::ErrorDoc), (status = 500, description = "a failure on the server; the message quotes the request id", body = super::openapi::ErrorDoc)))]
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
    // Both readers stop at the first record over the limit.
    let values = if ndjson { parse_ndjson(&body)? } else { parse_array(&body)? };
    let done = match ingest::submit(&state.pool, &values, Source::Api, &user.0).await {
        Ok(done) => done,
        Err(SubmitError::Invalid(errors)) => return Err(ApiError::invalid_records(errors)),
        Err(SubmitError::OutOfScope(errors)) => return Err(ApiError::out_of_scope(errors)),
        Err(SubmitError::Db(e)) => return Err(ApiError::internal(e)),
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

/// Stops reading an array at its `MAX_RECORDS + 1`-th element: a 32 MiB body of
/// tiny records is refused while it is read, not after it is all in memory.
struct Bounded;

const TOO_MANY: &str = "too many records";

impl<'de> serde::de::Visitor<'de> for Bounded {
    type Value = Vec<Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON array of records")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Value>, A::Error> {
        let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_RECORDS));
        while let Some(value) = seq.next_element::<Value>()? {
            if values.len() == MAX_RECORDS {
                return Err(serde::de::Error::custom(TOO_MANY));
            }
            values.push(value);
        }
        Ok(values)
    }
}

fn too_many() -> ApiError {
    ApiError::too_large(format!("a batch may hold at most {MAX_RECORDS} records; this one has more"))
}

fn parse_array(body: &[u8]) -> Result<Vec<Value>, ApiError> {
    use serde::Deserializer;
    let mut reader = serde_json::Deserializer::from_slice(body);
    let values = reader.deserialize_seq(Bounded).and_then(|values| reader.end().map(|()| values));
    values.map_err(|e| match e.classify() {
        serde_json::error::Category::Data if e.to_string().starts_with(TOO_MANY) => too_many(),
        // Not an array: say so if it is JSON at all (read without keeping it).
        serde_json::error::Category::Data => match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
            Ok(_) => ApiError::bad_request("the body must be a JSON array of records"),
            Err(e) => ApiError::bad_request(format!("the body is not valid JSON: {e}")),
        },
        _ => ApiError::bad_request(format!("the body is not valid JSON: {e}")),
    })
}

fn parse_ndjson(body: &[u8]) -> Result<Vec<Value>, ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| ApiError::bad_request("the body is not UTF-8 text"))?;
    let mut values = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, line)| !line.trim().is_empty()) {
        if values.len() == MAX_RECORDS {
            return Err(too_many());
        }
        let value = serde_json::from_str(line)
            .map_err(|e| ApiError::bad_request(format!("line {} is not valid JSON: {e}", n + 1)))?;
        values.push(value);
    }
    Ok(values)
}
