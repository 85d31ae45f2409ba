//! The team report as CSV (`GET /team/report.csv?team=ID&period=PERIOD`): one
//! row per rep (and one for the team) per KPI, with value, target and attainment,
//! for a spreadsheet to pivot. Managers get their own team; admins any team.

use crate::auth::Role;
use crate::kpi::Scope;
use crate::period::{Period, PeriodKind};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::records::sheet::{file_name, inert};
use serde::Deserialize;
use tower_sessions::Session;

#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    team: Option<String>,
    period: Option<String>,
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (status, message.into()).into_response()
}

pub async fn team_csv(State(state): State<AppState>, session: Session, Query(q): Query<ReportQuery>) -> Response {
    let pool = &state.pool;
    let me = crate::auth::server::user_of(pool, &session).await;
    let Some(me) = me else { return refuse(StatusCode::UNAUTHORIZED, "sign in first") };
    let team = match (me.role, q.team.filter(|t| !t.is_empty())) {
        (Role::Rep, _) => return refuse(StatusCode::FORBIDDEN, "only managers and admins export team reports"),
        (Role::Manager, wanted) => match (&me.team_id, wanted) {
            (Some(own), Some(w)) if *own != w => {
                return refuse(StatusCode::FORBIDDEN, "a manager exports their own team only")
            }
            (Some(own), _) => own.clone(),
            (None, _) => return refuse(StatusCode::FORBIDDEN, "you manage no team yet"),
        },
        (Role::Admin, Some(t)) => t,
        (Role::Admin, None) => return refuse(StatusCode::BAD_REQUEST, "name the team: ?team=ID"),
    };
    match build(&state, &team, q.period.as_deref()).await {
        Ok((period, body)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}\"", file_name(&["team", &team, &period], "csv")),
                ),
            ],
            body,
        )
            .into_response(),
        Err(Failure::Bad(m)) => refuse(StatusCode::BAD_REQUEST, m),
        Err(Failure::NotFound(m)) => refuse(StatusCode::NOT_FOUND, m),
        Err(Failure::Internal(m)) => {
            tracing::error!("team report failed: {m}");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "the report failed; try again")
        }
    }
}

enum Failure {
    Bad(String),
    NotFound(String),
    Internal(String),
}

async fn build(state: &AppState, team: &str, period: Option<&str>) -> Result<(String, Vec<u8>), Failure> {
    use store::kpis::{card, reps_of, KpiError, Window};
    let internal = |e: &dyn std::fmt::Display| Failure::Internal(e.to_string());
    let settings = store::settings::load(&state.pool).await.map_err(|e| internal(&e))?;
    let tz = settings.time_zone;
    let period = match period.filter(|p| !p.is_empty()) {
        Some(p) => Period::parse(p).map_err(|e| Failure::Bad(e.to_string()))?,
        None => Period::containing(PeriodKind::Month, crate::clock::now().with_timezone(&tz).date_naive()),
    };
    let (start, end) = period.bounds(tz);
    let window = Window::new(start, end, tz);
    let team_scope = Scope::Team(team.to_string());
    let reps = reps_of(&state.pool, &team_scope).await.map_err(|e| match e {
        KpiError::UnknownScope(m) => Failure::NotFound(m),
        KpiError::Db(e) => internal(&e),
    })?;
    let mut scopes = vec![(team_scope, format!("team:{team}"), "(team)".to_string())];
    scopes.extend(reps.into_iter().map(|(id, name, _)| (Scope::Rep(id.clone()), id, name)));
    let mut out = csv::Writer::from_writer(Vec::new());
    let header = ["scope", "name", "period", "kpi", "kpi_name", "value", "target", "attainment_percent"];
    out.write_record(header).map_err(|e| internal(&e))?;
    let text = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for (scope, id, name) in scopes {
        let entries = card(&state.pool, &scope, window, Some(&period.to_string())).await.map_err(|e| internal(&e))?;
        for k in entries {
            let kpi_name = crate::kpi::find(k.id).map(|d| d.name_en).unwrap_or(k.id);
            // Ids and names are whatever a CRM sent: never a formula in a manager's spreadsheet.
            let row = [
                inert(&id).into_owned(),
                inert(&name).into_owned(),
                period.to_string(),
                k.id.to_string(),
                kpi_name.to_string(),
                text(k.value),
                text(k.target),
                text(k.attainment),
            ];
            out.write_record(&row).map_err(|e| internal(&e))?;
        }
    }
    let body = out.into_inner().map_err(|e| internal(&e))?;
    Ok((period.to_string(), body))
}
