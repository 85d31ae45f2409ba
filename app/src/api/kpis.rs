//! `GET /api/v1/kpis`, `GET /api/v1/leaderboard`, `PUT /api/v1/targets`.

use super::{ApiError, ApiUser};
use crate::auth::Role;
use crate::fairness::{neighbour_rows, Names};
use crate::kpi::{self, Scope, ScopeKind};
use crate::period::{Period, PeriodKind};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::Json;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use store::kpis::{self as engine, KpiError, Window};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KpiQuery {
    /// `org` (the default), `team:<id>`, `region:<name>`; the KPI card also `rep:<user id>`.
    scope: Option<String>,
    /// `2026-11-27`, `2026-W48`, `2026-11`, `2026-Q4` or `2026`; or `from` and `to` instead.
    period: Option<String>,
    /// RFC 3339: the start of a custom range (with `to`).
    from: Option<String>,
    /// RFC 3339: the end of a custom range, excluded.
    to: Option<String>,
    /// The leaderboard only: a KPI id or `points` (default `revenue`).
    by: Option<String>,
    /// The leaderboard only. `attainment`: rank by attainment % of each rep's own target instead of the value.
    measure: Option<String>,
    /// The leaderboard only. `neighbours`: the top 3 and the caller's own row with 2 above and 2 below.
    view: Option<String>,
    /// The leaderboard only. `initials` or `none` for shared screens (user ids are left out too).
    names: Option<String>,
}

impl From<KpiError> for ApiError {
    fn from(e: KpiError) -> Self {
        match e {
            KpiError::UnknownScope(message) => ApiError::new(axum::http::StatusCode::NOT_FOUND, "not_found", message),
            KpiError::Db(e) => ApiError::internal(e),
        }
    }
}

/// The window a query asks for, and the calendar period's text when it names one.
async fn window(state: &AppState, q: &KpiQuery) -> Result<(Window, Option<String>), ApiError> {
    let tz = store::settings::load(&state.pool).await.map_err(ApiError::internal)?.time_zone;
    match (&q.period, &q.from, &q.to) {
        (Some(p), None, None) => {
            let period = Period::parse(p).map_err(|e| ApiError::bad_request(e.to_string()))?;
            let (start, end) = period.bounds(tz);
            Ok((Window::new(start, end, tz), Some(period.to_string())))
        }
        (None, Some(from), Some(to)) => {
            let (start, end) = super::range_param(from, to)?;
            Ok((Window::new(start, end, tz), None))
        }
        _ => Err(ApiError::bad_request(
            "give either `period` (2026-11-27, 2026-W48, 2026-11, 2026-Q4, 2026) or both `from` and `to`",
        )),
    }
}

fn scope_of(q: &KpiQuery) -> Result<Scope, ApiError> {
    Scope::parse(q.scope.as_deref().unwrap_or("org")).map_err(ApiError::bad_request)
}

fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

#[utoipa::path(get, path = "/api/v1/kpis", tag = "kpis", security(("bearer" = [])), params(KpiQuery), responses((status = 200, description = "every KPI that applies to the scope", body = super::openapi::KpiCardDoc), (status = 400, description = "a parameter or body that does not parse, named", body = super::openapi::ErrorDoc), (status = 401, description = "no API token, or an unknown or revoked one", body = super::openapi::ErrorDoc), (status = 404, description = "an unknown scope, user, rule or challenge", body = super::openapi::ErrorDoc), (status = 500, description = "a failure on the server; the message quotes the request id", body = super::openapi::ErrorDoc)))]
pub async fn get_kpis(
    State(state): State<AppState>,
    _user: ApiUser,
    Query(q): Query<KpiQuery>,
) -> Result<Json<Value>, ApiError> {
    // Every role may read any scope of its organisation.
    let scope = scope_of(&q)?;
    let (window, period) = window(&state, &q).await?;
    let (on, of) = (&scope, period.as_deref());
    let kpis = state.reads.read(|pool| async move { engine::card(&pool, on, window, of).await }).await?;
    Ok(Json(json!({
        "scope": scope.to_string(),
        "period": {"start": instant(window.start), "end": instant(window.end)},
        "kpis": kpis,
    })))
}

#[utoipa::path(get, path = "/api/v1/leaderboard", tag = "kpis", security(("bearer" = [])), params(KpiQuery), responses((status = 200, description = "the scope's reps, best first", body = super::openapi::LeaderboardDoc), (status = 400, description = "a parameter or body that does not parse, named", body = super::openapi::ErrorDoc), (status = 401, description = "no API token, or an unknown or revoked one", body = super::openapi::ErrorDoc), (status = 404, description = "an unknown scope, user, rule or challenge", body = super::openapi::ErrorDoc), (status = 500, description = "a failure on the server; the message quotes the request id", body = super::openapi::ErrorDoc)))]
pub async fn get_leaderboard(
    State(state): State<AppState>,
    user: ApiUser,
    Query(q): Query<KpiQuery>,
) -> Result<Json<Value>, ApiError> {
    let scope = scope_of(&q)?;
    if scope.kind() == ScopeKind::Rep {
        return Err(ApiError::bad_request("a leaderboard's scope is org, team:<id> or region:<name>"));
    }
    let by = q.by.as_deref().unwrap_or("revenue");
    let names = match q.names.as_deref() {
        None => Names::Full,
        Some(text) => Names::parse(text)
            .ok_or_else(|| ApiError::bad_request(format!("`names` is full, initials or none, not `{text}`")))?,
    };
    let (window, period) = window(&state, &q).await?;
    let ranked = if by == "points" {
        if q.measure.as_deref().is_some_and(|m| m != "value") {
            return Err(ApiError::bad_request("points are ranked by value only"));
        }
        let (on, start, end) = (&scope, window.start, window.end);
        state.reads.read(|pool| async move { store::points::points_leaderboard(&pool, on, start, end).await }).await?
    } else {
        let def =
            kpi::find(by).ok_or_else(|| ApiError::bad_request(format!("`{by}` is neither a KPI id nor `points`")))?;
        if !def.applies_to(ScopeKind::Rep) {
            return Err(ApiError::bad_request(format!(
                "`{by}` is not measured per rep, so reps cannot be ranked by it"
            )));
        }
        let attainment_of = match q.measure.as_deref() {
            None | Some("value") => None,
            Some("attainment") => Some(period.ok_or_else(|| {
                ApiError::bad_request("ranking by attainment needs a calendar `period`, which targets are set for")
            })?),
            Some(other) => {
                return Err(ApiError::bad_request(format!("`measure` is `value` or `attainment`, not `{other}`")))
            }
        };
        let (on, of) = (&scope, attainment_of.as_deref());
        state.reads.read(|pool| async move { engine::leaderboard(&pool, on, window, def, of).await }).await?
    };
    let rows: Vec<usize> = match q.view.as_deref() {
        None | Some("all") => (0..ranked.len()).collect(),
        Some("neighbours") => neighbour_rows(ranked.len(), ranked.iter().position(|r| r.id == user.0.id)),
        Some(other) => return Err(ApiError::bad_request(format!("`view` is all or neighbours, not `{other}`"))),
    };
    let entries: Vec<Value> = rows
        .into_iter()
        .map(|i| &ranked[i])
        .map(|r| {
            let id = if names == Names::Full { Value::from(r.id.clone()) } else { Value::Null };
            json!({"rank": r.rank, "user": {"id": id, "name": names.show(&r.name, r.rank)}, "value": r.value})
        })
        .collect();
    Ok(Json(json!({"by": by, "entries": entries})))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TargetBody {
    kpi: String,
    scope: String,
    period: String,
    value: f64,
}

#[utoipa::path(put, path = "/api/v1/targets", tag = "kpis", security(("bearer" = [])), request_body = TargetBody, responses((status = 200, description = "the target as set", body = TargetBody), (status = 400, description = "a parameter or body that does not parse, named", body = super::openapi::ErrorDoc), (status = 401, description = "no API token, or an unknown or revoked one", body = super::openapi::ErrorDoc), (status = 403, description = "the caller's role or team may not do this", body = super::openapi::ErrorDoc), (status = 404, description = "an unknown scope, user, rule or challenge", body = super::openapi::ErrorDoc), (status = 500, description = "a failure on the server; the message quotes the request id", body = super::openapi::ErrorDoc)))]
pub async fn put_target(
    State(state): State<AppState>,
    user: ApiUser,
    body: Result<Json<TargetBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    user.require(&[Role::Manager, Role::Admin], "set targets")?;
    let body = super::json_body(body)?;
    let def = kpi::find(&body.kpi).ok_or_else(|| ApiError::bad_request(format!("`{}` is not a KPI id", body.kpi)))?;
    let scope = Scope::parse(&body.scope).map_err(ApiError::bad_request)?;
    if scope.kind() == ScopeKind::Region {
        return Err(ApiError::bad_request("targets are set for a rep, a team or the org, not a region"));
    }
    if !def.applies_to(scope.kind()) {
        return Err(ApiError::bad_request(format!("`{}` does not exist for scope `{}`", def.id, body.scope)));
    }
    if def.better == kpi::Better::None {
        return Err(ApiError::bad_request(format!("`{}` is informational and takes no target", def.id)));
    }
    let period = Period::parse(&body.period).map_err(|e| ApiError::bad_request(e.to_string()))?;
    if period.kind() == PeriodKind::Day {
        return Err(ApiError::bad_request("a target's period is a week, month, quarter or year"));
    }
    if !body.value.is_finite() {
        return Err(ApiError::bad_request("`value` must be a finite number"));
    }
    // The scope must exist (404 otherwise), and a manager may only target their own team and its reps.
    engine::owners_of(&state.pool, &scope).await?;
    if !services::access::may_set_target(&state.pool, &user.0, &scope).await.map_err(ApiError::internal)? {
        return Err(ApiError::forbidden("a manager may set targets only for their own team and its reps"));
    }
    let change = [(def.id.to_string(), scope.to_string(), Some(body.value))];
    services::ingest::set_targets(&state.pool, &change, &period.to_string(), &user.0.id)
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(json!({"kpi": def.id, "scope": scope.to_string(), "period": period.to_string(), "value": body.value})))
}
