//! Points, badges, rules, challenges and anti-gaming flags over the JSON API.

use super::{ApiError, ApiUser};
use crate::auth::{CurrentUser, Role};
use crate::i18n::Message;
use crate::period::{Period, PeriodKind};
use crate::scoring::{Rule, RuleKind};
use crate::state::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};
use services::challenges::{self, ChallengeError, NewChallenge};
use sqlx::PgPool;
use store::points;

impl From<ChallengeError> for ApiError {
    fn from(e: ChallengeError) -> Self {
        match e {
            ChallengeError::Invalid(m) => ApiError::bad_request(m.to_string()),
            ChallengeError::Forbidden(m) => ApiError::forbidden(m.to_string()),
            e @ ChallengeError::NotFound(_) => {
                ApiError::new(axum::http::StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            ChallengeError::Db(e) => ApiError::internal(e),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PointsQuery {
    user: Option<String>,
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// `[start, end)` of a `period`, or of `from`/`to`; the current month when neither is given.
pub async fn window_of(
    pool: &PgPool,
    period: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let tz = store::settings::load(pool).await.map_err(ApiError::internal)?.time_zone;
    match (period, from, to) {
        (Some(p), None, None) => Ok(Period::parse(p).map_err(|e| ApiError::bad_request(e.to_string()))?.bounds(tz)),
        (None, Some(f), Some(t)) => super::range_param(f, t),
        (None, None, None) => {
            let today = crate::clock::now().with_timezone(&tz).date_naive();
            Ok(Period::containing(PeriodKind::Month, today).bounds(tz))
        }
        _ => Err(ApiError::bad_request("give either `period` or both `from` and `to`")),
    }
}

/// Whose points `me` may read: their own; a manager, their team's; an admin, anyone's.
pub async fn may_read_points(pool: &PgPool, me: &CurrentUser, user: &str) -> Result<bool, sqlx::Error> {
    Ok(match me.role {
        Role::Admin => true,
        _ if me.id == user => true,
        Role::Manager => {
            let team: Option<Option<String>> = store::users::team_of(pool, user).await?;
            team.flatten().is_some_and(|t| Some(t) == me.team_id)
        }
        Role::Rep => false,
    })
}

async fn known_user(pool: &PgPool, user: &str) -> Result<(), ApiError> {
    let exists = store::directory::user_exists(pool, user).await.map_err(ApiError::internal)?;
    if exists {
        Ok(())
    } else {
        Err(ApiError::new(axum::http::StatusCode::NOT_FOUND, "not_found", format!("no user `{user}`")))
    }
}

/// `GET /api/v1/points?user=ID&period=PERIOD`: the ledger and its total.
#[utoipa::path(get, path = "/api/v1/points", tag = "gamification", security(("bearer" = [])), params(PointsQuery), responses((status = 200, description = "the ledger of the window and its total", body = Object), (status = 400, description = "a parameter or body that does not parse, named", body = super::openapi::ErrorDoc), (status = 401, description = "no API token, or an unknown or revoked one", body = super::openapi::ErrorDoc), (status = 403, description = "the caller's role or team may not do this", body = super::openapi::ErrorDoc), (status = 404, description = "an unknown scope, user, rule or challenge", body = super::openapi::ErrorDoc), (status = 500, description = "a failure on the server; the message quotes the request id", body = super::openapi::ErrorDoc)))]
pub async fn get_points(
    State(state): State<AppState>,
    me: ApiUser,
    Query(q): Query<PointsQuery>,
) -> Result<Json<Value>, ApiError> {
    let user = q.user.clone().unwrap_or_else(|| me.0.id.clone());
    known_user(&state.pool, &user).await?;
    if !may_read_points(&state.pool, &me.0, &user).await.map_err(ApiError::internal)? {
        return Err(ApiError::forbidden("a rep may read only their own points; a manager, their team's"));
    }
    let (start, end) = window_of(&state.pool, q.period.as_deref(), q.from.as_deref(), q.to.as_deref()).await?;
    let (total, entries) = points::ledger(&state.pool, &user, start, end).await.map_err(ApiError::internal)?;
    let level = points::level(&state.pool, &user).await.map_err(ApiError::internal)?;
    let tz = store::settings::load(&state.pool).await.map_err(ApiError::internal)?.time_zone;
    Ok(Json(json!({
        "user": user,
        "period": {"start": start, "end": end},
        "total": total,
        "entries": entries.iter().map(|e| json!({
            "points": e.points, "rule": e.rule, "rule_id": e.rule_id, "kind": e.kind, "reason": e.reason,
            "period": e.period(tz), "at": e.at, "records": e.records,
        })).collect::<Vec<_>>(),
        "level": level,
    })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    user: Option<String>,
}

/// `GET /api/v1/badges?user=ID`: badges are public within the organisation.
#[utoipa::path(get, path = "/api/v1/badges", tag = "gamification", security(("bearer" = [])), params(UserQuery), responses((status = 200, description = "the user's badges", body = Object), (status = 400, description = "a parameter or body that does not parse, named", body = super::openapi::ErrorDoc), (status = 401, description = "no API token, or an unknown or revoked one", body = super::openapi::ErrorDoc), (status = 404, description = "an unknown scope, user, rule or challenge", body = super::openapi::ErrorDoc), (status = 500, description = "a failure on the server; the message quotes the request id", body = super::openapi::ErrorDoc)))]
pub async fn get_badges(
    State(state): State<AppState>,
    me: ApiUser,
    Query(q): Query<UserQuery>,
) -> Result<Json<Value>, ApiError> {
    let user = q.user.unwrap_or_else(|| me.0.id.clone());
    known_user(&state.pool, &user).await?;
    let awards = store::badges::of_user(&state.pool, &user).await.map_err(ApiError::internal)?;
    let catalogue: Vec<Value> = crate::badges::CATALOGUE
        .iter()
        .map(|b| json!({"id": b.id, "icon": b.icon, "name": b.name_en, "name_ru": b.name_ru, "description": b.description_en}))
        .collect();
    Ok(Json(json!({
        "user": user,
        "badges": awards.iter().map(|a| json!({
            "id": a.badge, "icon": a.icon, "name": a.name_en, "name_ru": a.name_ru, "description": a.description_en,
            "earned_at": a.earned_at, "detail": a.detail, "records": a.records,
        })).collect::<Vec<_>>(),
        "catalogue": catalogue,
    })))
}

fn rule_json(r: &points::StoredRule) -> Value {
    let kind_text = |k: Option<PeriodKind>| k.map(PeriodKind::as_str);
    json!({
        "id": r.rule.id, "kind": r.rule.kind.as_str(), "basis": r.rule.basis, "points": r.rule.points,
        "per": r.rule.per, "threshold": r.rule.threshold, "attainment_cap": r.rule.attainment_cap,
        "period": kind_text(r.rule.period_kind), "cap_points": r.rule.cap_points, "cap_per": kind_text(r.rule.cap_per),
        "min_deal_amount": r.rule.min_deal_amount, "label": r.rule.label, "active": r.active,
    })
}

/// `GET /api/v1/points/rules`: every role may read how points are earned.
#[utoipa::path(get, path = "/api/v1/points/rules", tag = "gamification", security(("bearer" = [])), responses((status = 200, description = "`rules`: every active rule", body = Object), (status = 401, description = "no API token, or an unknown or revoked one", body = super::openapi::ErrorDoc), (status = 500, description = "a failure on the server; the message quotes the request id", body = super::openapi::ErrorDoc)))]
pub async fn get_rules(State(state): State<AppState>, _me: ApiUser) -> Result<Json<Value>, ApiError> {
    let rules = points::rules(&state.pool, false).await.map_err(ApiError::internal)?;
    Ok(Json(json!({"rules": rules.iter().map(rule_json).collect::<Vec<_>>()})))
}

/// A rule as sent to the API or typed on the rules page.
#[derive(Debug, Clone, Deserialize, serde::Serialize, Default, utoipa::ToSchema)]
pub struct RuleBody {
    #[serde(default)]
    pub id: Option<i64>,
    pub kind: String,
    pub basis: String,
    pub points: i64,
    #[serde(default)]
    pub per: Option<Decimal>,
    #[serde(default)]
    pub threshold: Option<f64>,
    #[serde(default)]
    pub attainment_cap: Option<f64>,
    #[serde(default)]
    pub period: Option<String>,
    #[serde(default)]
    pub cap_points: Option<i64>,
    #[serde(default)]
    pub cap_per: Option<String>,
    /// Per-unit rules on won deals: the smallest amount that counts (absent: more than 0).
    #[serde(default)]
    pub min_deal_amount: Option<Decimal>,
    pub label: String,
}

/// Turns what was sent into a checked rule; the error names the bad field.
pub fn rule_from(body: &RuleBody) -> Result<Rule, Message> {
    let kind = RuleKind::parse(&body.kind).ok_or_else(|| Message::new("err.rule_kind").with("kind", &body.kind))?;
    let period = |name: &'static str, text: &Option<String>| -> Result<Option<PeriodKind>, Message> {
        match text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(t) => PeriodKind::parse(t)
                .map(Some)
                .ok_or_else(|| Message::new("err.rule_period_kind").with("field", name).with("text", t)),
        }
    };
    let rule = Rule {
        id: body.id.unwrap_or(0),
        kind,
        basis: body.basis.trim().to_string(),
        points: body.points,
        per: body.per.unwrap_or(Decimal::ONE),
        threshold: if kind == RuleKind::Threshold { Some(body.threshold.unwrap_or(100.0)) } else { None },
        attainment_cap: if kind == RuleKind::Attainment {
            Some(body.attainment_cap.unwrap_or(crate::scoring::DEFAULT_ATTAINMENT_CAP))
        } else {
            None
        },
        period_kind: period("period", &body.period)?,
        cap_points: body.cap_points,
        cap_per: period("cap_per", &body.cap_per)?,
        min_deal_amount: body.min_deal_amount,
        label: body.label.trim().to_string(),
    };
    points::check_rule(&rule)?;
    Ok(rule)
}

/// `POST /api/v1/points/rules`: creates (or with `id`, replaces) a rule; admins only.
#[utoipa::path(post, path = "/api/v1/points/rules", tag = "gamification", security(("bearer" = [])), request_body = RuleBody, responses((status = 200, description = "`{\"id\"}` of the rule stored", body = Object), (status = 404, description = "`id` names no rule", body = super::openapi::ErrorDoc), (status = 400, description = "a parameter or body that does not parse, named", body = super::openapi::ErrorDoc), (status = 401, description = "no API token, or an unknown or revoked one", body = super::openapi::ErrorDoc), (status = 403, description = "the caller's role or team may not do this", body = super::openapi::ErrorDoc), (status = 500, description = "a failure on the server; the message quotes the request id", body = super::openapi::ErrorDoc)))]
pub async fn post_rule(
    State(state): State<AppState>,
    me: ApiUser,
    body: Result<Json<RuleBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    me.require(&[Role::Admin], "edit points rules")?;
    let body = super::json_body(body)?;
    let rule = rule_from(&body).map_err(|m| ApiError::bad_request(m.to_string()))?;
    if rule.id != 0 {
        let exists = store::points::rule_exists(&state.pool, rule.id).await.map_err(ApiError::internal)?;
        if !exists {
            return Err(ApiError::new(axum::http::StatusCode::NOT_FOUND, "not_found", format!("no rule {}", rule.id)));
        }
    }
    let id = services::ingest::save_rule(&state.pool, &rule, &me.0.id).await.map_err(ApiError::internal)?;
    Ok(Json(json!({"id": id})))
}

/// `DELETE /api/v1/points/rules/{id}`: deactivates a rule; its points in open periods are reversed.
#[utoipa::path(delete, path = "/api/v1/points/rules/{id}", tag = "gamification", security(("bearer" = [])), params(("id" = i64, Path, description = "the rule's id")), responses((status = 200, description = "`{\"id\", \"active\": false}`", body = Object), (status = 400, description = "a parameter or body that does not parse, named", body = super::openapi::ErrorDoc), (status = 401, description = "no API token, or an unknown or revoked one", body = super::openapi::ErrorDoc), (status = 403, description = "the caller's role or team may not do this", body = super::openapi::ErrorDoc), (status = 404, description = "an unknown scope, user, rule or challenge", body = super::openapi::ErrorDoc), (status = 500, description = "a failure on the server; the message quotes the request id", body = super::openapi::ErrorDoc)))]
pub async fn delete_rule(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    me.require(&[Role::Admin], "edit points rules")?;
    if !services::ingest::deactivate_rule(&state.pool, id, &me.0.id).await.map_err(ApiError::internal)? {
        return Err(ApiError::new(axum::http::StatusCode::NOT_FOUND, "not_found", format!("no rule {id}")));
    }
    Ok(Json(json!({"id": id, "active": false})))
}

/// `GET /api/v1/challenges`: drafts only for managers and admins.
#[utoipa::path(get, path = "/api/v1/challenges", tag = "gamification", security(("bearer" = [])), responses((status = 200, description = "`challenges`: drafts only for managers and admins", body = Object), (status = 401, description = "no API token, or an unknown or revoked one", body = super::openapi::ErrorDoc), (status = 500, description = "a failure on the server; the message quotes the request id", body = super::openapi::ErrorDoc)))]
pub async fn get_challenges(State(state): State<AppState>, me: ApiUser) -> Result<Json<Value>, ApiError> {
    let list = challenges::list(&state.pool, &me.0).await.map_err(ApiError::internal)?;
    Ok(Json(json!({"challenges": list})))
}

/// `POST /api/v1/challenges`.
#[utoipa::path(post, path = "/api/v1/challenges", tag = "gamification", security(("bearer" = [])), request_body = super::openapi::NewChallengeDoc, responses((status = 200, description = "`{\"id\"}` of the challenge stored", body = Object), (status = 400, description = "a parameter or body that does not parse, named", body = super::openapi::ErrorDoc), (status = 401, description = "no API token, or an unknown or revoked one", body = super::openapi::ErrorDoc), (status = 403, description = "the caller's role or team may not do this", body = super::openapi::ErrorDoc), (status = 500, description = "a failure on the server; the message quotes the request id", body = super::openapi::ErrorDoc)))]
pub async fn post_challenge(
    State(state): State<AppState>,
    me: ApiUser,
    body: Result<Json<NewChallenge>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    me.require(&[Role::Manager, Role::Admin], "create challenges")?;
    let body = super::json_body(body)?;
    let id = challenges::create(&state.pool, &me.0, &body).await?;
    challenges::finish_due(&state.pool).await.map_err(ApiError::internal)?;
    Ok(Json(json!({"id": id})))
}

/// `GET /api/v1/challenges/{id}`: the challenge and its live standings.
#[utoipa::path(get, path = "/api/v1/challenges/{id}", tag = "gamification", security(("bearer" = [])), params(("id" = i64, Path, description = "the challenge's id")), responses((status = 200, description = "`challenge` and its live `standings`", body = Object), (status = 400, description = "a parameter or body that does not parse, named", body = super::openapi::ErrorDoc), (status = 401, description = "no API token, or an unknown or revoked one", body = super::openapi::ErrorDoc), (status = 404, description = "an unknown scope, user, rule or challenge", body = super::openapi::ErrorDoc), (status = 500, description = "a failure on the server; the message quotes the request id", body = super::openapi::ErrorDoc)))]
pub async fn get_challenge(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let c = challenges::get(&state.pool, &me.0, id).await?;
    let standings = challenges::standings(&state.pool, &c).await.map_err(ApiError::internal)?;
    Ok(Json(json!({"challenge": c, "standings": standings})))
}

/// The fields `PATCH /api/v1/challenges/{id}` may change; an absent one stays.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ChallengePatch {
    name: Option<String>,
    ends_at: Option<chrono::DateTime<chrono::Utc>>,
    prize: Option<String>,
    participants: Option<Vec<String>>,
}

/// `PATCH /api/v1/challenges/{id}`: a draft's name, end, prize and participants;
/// a running one's name, prize and end (only to a later instant than now); finished: 400.
#[utoipa::path(patch, path = "/api/v1/challenges/{id}", tag = "gamification", security(("bearer" = [])), params(("id" = i64, Path, description = "the challenge's id")), request_body = ChallengePatch, responses((status = 200, description = "`{\"challenge\"}` as changed", body = Object), (status = 400, description = "a parameter or body that does not parse, named", body = super::openapi::ErrorDoc), (status = 401, description = "no API token, or an unknown or revoked one", body = super::openapi::ErrorDoc), (status = 403, description = "the caller's role or team may not do this", body = super::openapi::ErrorDoc), (status = 404, description = "an unknown scope, user, rule or challenge", body = super::openapi::ErrorDoc), (status = 500, description = "a failure on the server; the message quotes the request id", body = super::openapi::ErrorDoc)))]
pub async fn patch_challenge(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
    body: Result<Json<ChallengePatch>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    me.require(&[Role::Manager, Role::Admin], "edit challenges")?;
    let patch = super::json_body(body)?;
    let c = challenges::get(&state.pool, &me.0, id).await?;
    let edit = challenges::ChallengeEdit {
        name: patch.name.unwrap_or(c.name),
        ends_at: patch.ends_at.unwrap_or(c.ends_at),
        prize: patch.prize.unwrap_or(c.prize),
        participants: patch.participants,
    };
    challenges::edit(&state.pool, &me.0, id, &edit).await?;
    let c = challenges::get(&state.pool, &me.0, id).await?;
    Ok(Json(json!({"challenge": c})))
}

/// `POST /api/v1/challenges/{id}/launch`: a draft goes live.
#[utoipa::path(post, path = "/api/v1/challenges/{id}/launch", tag = "gamification", security(("bearer" = [])), params(("id" = i64, Path, description = "the challenge's id")), responses((status = 200, description = "`{\"id\", \"status\": \"live\"}`", body = Object), (status = 400, description = "a parameter or body that does not parse, named", body = super::openapi::ErrorDoc), (status = 401, description = "no API token, or an unknown or revoked one", body = super::openapi::ErrorDoc), (status = 403, description = "the caller's role or team may not do this", body = super::openapi::ErrorDoc), (status = 404, description = "an unknown scope, user, rule or challenge", body = super::openapi::ErrorDoc), (status = 500, description = "a failure on the server; the message quotes the request id", body = super::openapi::ErrorDoc)))]
pub async fn launch_challenge(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    challenges::launch(&state.pool, &me.0, id).await?;
    Ok(Json(json!({"id": id, "status": "live"})))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FlagsQuery {
    team: Option<String>,
}

/// `GET /api/v1/flags?team=ID`: a manager sees their own team, an admin any team or all.
#[utoipa::path(get, path = "/api/v1/flags", tag = "gamification", security(("bearer" = [])), params(FlagsQuery), responses((status = 200, description = "`flags`: late and undone wins, activity spikes, with their records", body = Object), (status = 400, description = "a parameter or body that does not parse, named", body = super::openapi::ErrorDoc), (status = 401, description = "no API token, or an unknown or revoked one", body = super::openapi::ErrorDoc), (status = 403, description = "the caller's role or team may not do this", body = super::openapi::ErrorDoc), (status = 404, description = "an unknown scope, user, rule or challenge", body = super::openapi::ErrorDoc), (status = 500, description = "a failure on the server; the message quotes the request id", body = super::openapi::ErrorDoc)))]
pub async fn get_flags(
    State(state): State<AppState>,
    me: ApiUser,
    Query(q): Query<FlagsQuery>,
) -> Result<Json<Value>, ApiError> {
    me.require(&[Role::Manager, Role::Admin], "review anti-gaming flags")?;
    let team = match me.0.role {
        Role::Manager => {
            let own =
                me.0.team_id.clone().ok_or_else(|| ApiError::forbidden("a manager without a team sees no flags"))?;
            if q.team.as_ref().is_some_and(|t| *t != own) {
                return Err(ApiError::forbidden("a manager may review only their own team"));
            }
            Some(own)
        }
        _ => q.team,
    };
    let flags = store::flags::flags(&state.pool, team.as_deref()).await.map_err(ApiError::internal)?;
    Ok(Json(json!({"flags": flags})))
}
