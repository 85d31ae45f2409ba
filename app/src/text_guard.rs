//! Text PostgreSQL cannot hold: a NUL character is valid in JSON (`\u0000`) and
//! in a form or query (`%00`), but PostgreSQL refuses it in text, so a request
//! carrying one would fail deep inside with a 500. Every query string, form
//! post and JSON body is checked on the way in and refused with 422 naming the
//! field. (The records
//! API checks its own bodies, naming the record as well:
//! `domain::records::parse_record`.)

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// Bodies larger than this are not buffered here (the forms and JSON calls are small; uploads are multipart).
const LARGEST_CHECKED: usize = 2 * 1024 * 1024;

/// The first field (a form field's name, or a JSON path) whose text holds a NUL.
pub fn field_with_nul(content_type: &str, body: &[u8]) -> Option<String> {
    if content_type.starts_with("application/x-www-form-urlencoded") {
        return form_urlencoded::parse(body).find(|(k, v)| k.contains('\0') || v.contains('\0')).map(|(k, _)| k.into());
    }
    if content_type.starts_with("application/json") {
        let value: Value = serde_json::from_slice(body).ok()?;
        return json_path_with_nul(&value, "");
    }
    None
}

fn json_path_with_nul(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::String(s) if s.contains('\0') => Some(if path.is_empty() { "(body)".into() } else { path.into() }),
        Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, v)| json_path_with_nul(v, &format!("{path}[{i}]")))
        }
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                return Some(format!("{path}.{}", k.replace('\0', "\\u0000")));
            }
            let key = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
            json_path_with_nul(v, &key)
        }),
        _ => None,
    }
}

fn refused(field: &str) -> Response {
    let message = format!("`{field}` must not contain the NUL character (\\u0000)");
    let body = serde_json::json!({"error": "invalid_text", "message": message});
    (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response()
}

/// The middleware: 422 `{"error": "invalid_text", "message": …}` for a NUL in
/// any query parameter, form field or JSON string.
pub async fn refuse_nul(request: Request, next: Next) -> Response {
    let query = request.uri().query().unwrap_or_default();
    if let Some(field) = field_with_nul("application/x-www-form-urlencoded", query.as_bytes()) {
        return refused(&field);
    }
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let checked = content_type.starts_with("application/x-www-form-urlencoded")
        || content_type.starts_with("application/json") && request.uri().path() != "/api/v1/records";
    if !checked {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, LARGEST_CHECKED).await else {
        // In the API's own words (docs/API.md: its errors are JSON); a page's form gets plain text.
        let message = format!("the body is larger than this route takes ({} MiB)", LARGEST_CHECKED >> 20);
        if content_type.starts_with("application/json") {
            let body = serde_json::json!({"error": "payload_too_large", "message": message});
            return (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(body)).into_response();
        }
        return (StatusCode::PAYLOAD_TOO_LARGE, message).into_response();
    };
    if let Some(field) = field_with_nul(&content_type, &bytes) {
        return refused(&field);
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_holding_a_nul_is_named() {
        let form = "application/x-www-form-urlencoded";
        assert_eq!(field_with_nul(form, b"id=t1&name=Mos%00cow&region=N"), Some("name".into()));
        assert_eq!(field_with_nul(form, b"id=t1&name=Moscow"), None);
        let json = "application/json";
        assert_eq!(
            field_with_nul(json, br#"{"name": "ok", "participants": ["r1", "r\u00002"]}"#),
            Some("participants[1]".into())
        );
        assert_eq!(field_with_nul(json, br#"{"outer": [{"label": "a\u0000"}]}"#), Some("outer[0].label".into()));
        assert_eq!(field_with_nul(json, br#"{"label": "a\\u0000"}"#), None, "an escaped backslash is no NUL");
        assert_eq!(field_with_nul("text/plain", b"a\0b"), None);
    }
}
