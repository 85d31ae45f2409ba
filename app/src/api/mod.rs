//! The public JSON API under `/api/v1` (see shared/API.md): bearer-token
//! auth, JSON errors, and the records endpoint.

mod error;
pub mod gamification;
mod health;
mod kpis;
mod live;
mod metrics;
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
        // One byte over the limit is enough to tell "too large" from "exactly the limit".
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES + 1))
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
        .add("POST", "/api/v1/records", post(records::post_records))
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
