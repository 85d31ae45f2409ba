//! The team report as CSV (`GET /team/report.csv?team=ID&period=PERIOD`): one
//! row per rep (and one for the team) per KPI, with value, target and attainment,
//! for a spreadsheet to pivot. Managers get their own team; admins any team.
//!
//! A download people open in Excel is written in the reader's convention
//! ([`Spreadsheet`]): Russian with `;` between cells and a decimal comma, English
//! with `,` and a decimal point, both UTF-8 with a byte-order mark; money to the
//! kopeck, percentages to one decimal.

use crate::auth::Role;
use crate::i18n::Lang;
use crate::kpi::{Scope, Unit};
use crate::period::{Period, PeriodKind};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
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

/// How a file for a spreadsheet is written for its reader: what Excel in the
/// reader's language opens as columns and numbers without an import dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spreadsheet {
    lang: Lang,
}

impl Spreadsheet {
    pub fn for_reader(lang: Lang) -> Self {
        Spreadsheet { lang }
    }

    /// `;` in Russian (where the comma is the decimal mark), `,` in English.
    pub fn delimiter(self) -> u8 {
        match self.lang {
            Lang::Ru => b';',
            Lang::En => b',',
        }
    }

    /// A CSV writer in this convention, the UTF-8 byte-order mark already written
    /// (without it Excel reads UTF-8 as the system's code page).
    pub fn writer(self) -> csv::Writer<Vec<u8>> {
        csv::WriterBuilder::new().delimiter(self.delimiter()).from_writer("\u{feff}".as_bytes().to_vec())
    }

    /// `value` with exactly `decimals` places and the reader's decimal mark, no
    /// thousands separator (a spreadsheet reads it as a number): `178795.83333, 2`
    /// → `178795,83` in Russian, `178795.83` in English.
    pub fn number(self, value: f64, decimals: usize) -> String {
        let text = format!("{value:.decimals$}");
        // A value that rounds to zero is 0, never "-0,00".
        let text = match text.strip_prefix('-') {
            Some(rest) if rest.bytes().all(|b| matches!(b, b'0' | b'.')) => rest.to_string(),
            _ => text,
        };
        self.decimal(&text)
    }

    /// A decimal already written with a point (`"1200.00"`), with the reader's decimal mark.
    pub fn decimal(self, text: &str) -> String {
        match self.lang {
            Lang::Ru => text.replacen('.', ",", 1),
            Lang::En => text.to_string(),
        }
    }

    /// A KPI's value (or target) in its unit: money to the kopeck, percentages,
    /// minutes and days to one decimal, ratios to two, counts whole unless they are not.
    pub fn kpi_value(self, value: f64, unit: Unit) -> String {
        let decimals = match unit {
            Unit::Money | Unit::Ratio | Unit::PerCustomer => 2,
            Unit::Percent | Unit::Minutes | Unit::Days => 1,
            Unit::Count if value.fract() == 0.0 => 0,
            Unit::Count => 2,
        };
        self.number(value, decimals)
    }
}

pub async fn team_csv(
    State(state): State<AppState>,
    session: Session,
    lang: Option<Extension<Lang>>,
    Query(q): Query<ReportQuery>,
) -> Response {
    let sheet = Spreadsheet::for_reader(lang.map(|Extension(l)| l).unwrap_or(Lang::En));
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
    match build(&state, &team, q.period.as_deref(), sheet).await {
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

async fn build(
    state: &AppState,
    team: &str,
    period: Option<&str>,
    sheet: Spreadsheet,
) -> Result<(String, Vec<u8>), Failure> {
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
    let lang = sheet.lang;
    let mut scopes = vec![(team_scope, format!("team:{team}"), lang.t("report_csv.team_row"))];
    scopes.extend(reps.into_iter().map(|(id, name, _)| (Scope::Rep(id.clone()), id, name)));
    let mut out = sheet.writer();
    let header = [
        "report_csv.scope",
        "report_csv.name",
        "report_csv.period",
        "report_csv.kpi",
        "report_csv.kpi_name",
        "report_csv.value",
        "report_csv.target",
        "report_csv.attainment_percent",
    ]
    .map(|key| lang.t(key));
    out.write_record(&header).map_err(|e| internal(&e))?;
    // Every card on one pool: where reads go is chosen once for the whole sheet.
    let (all, period_text) = (&scopes, period.to_string());
    let of = period_text.as_str();
    let cards = state
        .reads
        .read(|pool| async move {
            let mut cards = Vec::with_capacity(all.len());
            for (scope, _, _) in all {
                cards.push(card(&pool, scope, window, Some(of)).await?);
            }
            Ok::<_, KpiError>(cards)
        })
        .await
        .map_err(|e| internal(&e))?;
    for ((_, id, name), entries) in scopes.iter().zip(cards) {
        for k in entries {
            let kpi_name = crate::kpi::find(k.id).map(|d| d.name(lang)).unwrap_or(k.id);
            let text = |v: Option<f64>| v.map(|v| sheet.kpi_value(v, k.unit)).unwrap_or_default();
            // Ids and names are whatever a CRM sent: never a formula in a manager's spreadsheet.
            let row = [
                inert(id).into_owned(),
                inert(name).into_owned(),
                period.to_string(),
                k.id.to_string(),
                kpi_name.to_string(),
                text(k.value),
                text(k.target),
                k.attainment.map(|a| sheet.number(a, 1)).unwrap_or_default(),
            ];
            out.write_record(&row).map_err(|e| internal(&e))?;
        }
    }
    let body = out.into_inner().map_err(|e| internal(&e))?;
    Ok((period.to_string(), body))
}
