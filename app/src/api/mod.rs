//! The public JSON API under `/api/v1` (see docs/API.md): bearer-token
//! auth, JSON errors, and the records endpoint.

mod error;
pub mod gamification;
mod health;
mod hooks;
mod kpis;
mod live;
mod metrics;
pub mod openapi;
mod records;

pub use error::ApiError;

use crate::auth::{CurrentUser, Role};
use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::{header, request::Parts};
use axum::routing::{delete, get, patch, post, put, MethodRouter};
use axum::Router;

/// Largest body the records endpoint accepts (API.md: 32 MiB).
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// The longest custom `from`–`to` range: five years, leap days included.
pub const MAX_RANGE_DAYS: i64 = 5 * 365 + 2;
/// Most records in one batch (API.md: 50,000).
pub const MAX_RECORDS: usize = 50_000;

/// Every route of the JSON API as (method, path), in the order `router` mounts
/// them: the authorization matrix test calls each one, so a route added here
/// and missing from the matrix fails the tests.
pub fn routes() -> Vec<(&'static str, &'static str)> {
    table().routes
}

pub fn router() -> Router<AppState> {
    table()
        .router
        // A path under /api/v1 that names no route: the API's 404, not the site's page.
        .route("/api/v1/{*rest}", axum::routing::any(no_such_route))
        .layer(axum::middleware::from_fn(errors_as_json))
}

async fn no_such_route(uri: axum::http::Uri) -> ApiError {
    ApiError::new(axum::http::StatusCode::NOT_FOUND, "not_found", format!("no API route {}", uri.path()))
}

/// docs/API.md: the API's errors are JSON. The framework's own refusals (a wrong method, a
/// query or path that does not parse, a body over a route's limit) are plain text: their text
/// becomes the message of the same `{"error", "message"}` shape, with the same status.
async fn errors_as_json(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let route = request.extensions().get::<axum::extract::MatchedPath>().map(|p| p.as_str().to_string());
    let response = next.run(request).await;
    let status = response.status();
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_string();
    let code = match status.as_u16() {
        400 => "bad_request",
        404 => "not_found",
        405 => "method_not_allowed",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "unprocessable",
        503 => "unavailable",
        _ => "error",
    };
    let message = match status.as_u16() {
        405 => {
            // The route table is built only for this rare answer, never on the way of a normal one.
            let allowed = routes()
                .into_iter()
                .filter(|(_, p)| route.as_deref() == Some(*p))
                .map(|(m, _)| m)
                .collect::<Vec<_>>()
                .join(", ");
            if let Ok(value) = axum::http::HeaderValue::from_str(&allowed) {
                parts.headers.insert(header::ALLOW, value);
            }
            format!("{path} does not take {method}; it takes {allowed}")
        }
        _ if text.is_empty() => status.canonical_reason().unwrap_or("error").to_string(),
        _ => text,
    };
    let mut json = ApiError::new(status, code, message).into_response();
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    json.headers_mut().extend(parts.headers);
    json
}

/// The router, and the list of what it mounts, built together.
struct Table {
    router: Router<AppState>,
    routes: Vec<(&'static str, &'static str)>,
}

impl Table {
    fn add(mut self, method: &'static str, path: &'static str, route: MethodRouter<AppState>) -> Table {
        self.routes.push((method, path));
        // Axum merges the methods of one path mounted twice.
        self.router = self.router.route(path, route);
        self
    }
}

fn table() -> Table {
    Table { router: Router::new(), routes: Vec::new() }
        .add("GET", "/healthz", get(health::healthz))
        .add("GET", "/readyz", get(health::readyz))
        .add("GET", "/metrics", get(metrics::get_metrics))
        // One byte over the limit is enough to tell "too large" from "exactly the limit". The
        // other routes keep axum's 2 MiB.
        .add("POST", "/api/v1/records", post(records::post_records).layer(DefaultBodyLimit::max(MAX_BODY_BYTES + 1)))
        .add(
            "POST",
            "/api/v1/hooks/{kind}/{key}",
            post(hooks::receive).layer(DefaultBodyLimit::max(hooks::MAX_HOOK_BYTES)),
        )
        .add("GET", "/api/v1/kpis", get(kpis::get_kpis))
        .add("GET", "/api/v1/leaderboard", get(kpis::get_leaderboard))
        .add("PUT", "/api/v1/targets", put(kpis::put_target))
        .add("GET", "/api/v1/points", get(gamification::get_points))
        .add("GET", "/api/v1/points/rules", get(gamification::get_rules))
        .add("POST", "/api/v1/points/rules", post(gamification::post_rule))
        .add("DELETE", "/api/v1/points/rules/{id}", delete(gamification::delete_rule))
        .add("GET", "/api/v1/badges", get(gamification::get_badges))
        .add("GET", "/api/v1/challenges", get(gamification::get_challenges))
        .add("POST", "/api/v1/challenges", post(gamification::post_challenge))
        .add("GET", "/api/v1/challenges/{id}", get(gamification::get_challenge))
        .add("PATCH", "/api/v1/challenges/{id}", patch(gamification::patch_challenge))
        .add("POST", "/api/v1/challenges/{id}/launch", post(gamification::launch_challenge))
        .add("GET", "/api/v1/flags", get(gamification::get_flags))
        .add("GET", "/api/v1/live", get(live::get_live))
        .add("GET", "/api/openapi.json", get(openapi::openapi_json))
        .add("GET", "/api/docs", get(openapi::docs_page))
}

/// The user behind `Authorization: Bearer <token>`; 401 without a valid token.
pub struct ApiUser(pub CurrentUser);

impl ApiUser {
    /// 403 unless the user has one of `roles`.
    pub fn require(&self, roles: &[Role], what: &str) -> Result<(), ApiError> {
        if roles.contains(&self.0.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("a {} may not {what}", self.0.role.as_str())))
        }
    }
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let token = header
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::unauthorized("send an API token as `Authorization: Bearer <token>`"))?;
        let user = store::users::user_for_token(&state.pool, token)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::unauthorized("the API token is unknown or revoked"))?;
        Ok(ApiUser(user))
    }
}

/// A JSON body, or the error that names what is wrong with it: 413 over the route's limit, else 400.
pub fn json_body<T>(body: Result<axum::Json<T>, axum::extract::rejection::JsonRejection>) -> Result<T, ApiError> {
    match body {
        Ok(axum::Json(body)) => Ok(body),
        Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            Err(ApiError::too_large("the body is larger than this route takes (2 MiB)"))
        }
        Err(e) => Err(ApiError::bad_request(e.body_text())),
    }
}

/// `[from, to)` from two RFC 3339 query parameters; the error names the bad one.
pub fn range_param(
    from: &str,
    to: &str,
) -> Result<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>), ApiError> {
    let parse = |name: &str, text: &str| {
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(|_| ApiError::bad_request(format!("`{name}` must be an RFC 3339 timestamp, not `{text}`")))
    };
    let (start, end) = (parse("from", from)?, parse("to", to)?);
    if start >= end {
        return Err(ApiError::bad_request("`from` must be before `to`"));
    }
    // A range is read record by record where rollups cannot serve it: keep it bounded.
    if end - start > chrono::Duration::days(MAX_RANGE_DAYS) {
        return Err(ApiError::bad_request(format!(
            "a custom range may span at most 5 years ({MAX_RANGE_DAYS} days); ask for several"
        )));
    }
    Ok((start, end))
}
