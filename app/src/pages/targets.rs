//! `/targets`: a team's reps × KPIs grid of targets for one period, editable
//! in place (one form: it posts without JavaScript too), with each cell's
//! actual value and attainment, and "copy from last period".

use crate::auth::CurrentUser;
use crate::components::TopBar;
use crate::error::AppError;
use crate::kpi::Unit;
use crate::pages::choices::Choice;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetsGrid {
    pub me: CurrentUser,
    pub team: String,
    pub period: String,
    pub previous: String,
    pub currency: String,
    pub teams: Vec<Choice>,
    pub periods: Vec<Choice>,
    pub kpis: Vec<Column>,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub id: String,
    pub label: String,
    pub unit: Unit,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// `team:<id>` or `rep:<id>`.
    pub scope: String,
    pub label: String,
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub target: Option<f64>,
    pub actual: Option<f64>,
    pub attainment: Option<f64>,
}

/// Resolves the team a user may manage on this page: admins any (default the first), managers their own.
#[cfg(feature = "ssr")]
async fn team_for(pool: &sqlx::PgPool, me: &CurrentUser, wanted: Option<String>) -> Result<String, AppError> {
    use crate::auth::Role;
    match me.role {
        Role::Rep => Err(crate::auth::server::forbidden("err.targets_managers").await),
        Role::Manager => {
            let own = me.team_id.clone().ok_or_else(|| crate::i18n::error("err.no_team_yet"))?;
            match wanted.filter(|w| !w.is_empty()) {
                Some(w) if w != own => Err(crate::auth::server::forbidden("err.targets_own_team").await),
                _ => Ok(own),
            }
        }
        Role::Admin => match wanted.filter(|w| !w.is_empty()) {
            Some(w) => Ok(w),
            None => store::directory::first_team(pool)
                .await
                .map_err(AppError::server)?
                .ok_or_else(|| crate::i18n::error("err.no_teams")),
        },
    }
}

/// A calendar period for targets: week, month, quarter or year (default: this month).
#[cfg(feature = "ssr")]
fn target_period(text: Option<String>, today: chrono::NaiveDate) -> Result<crate::period::Period, AppError> {
    use crate::period::{Period, PeriodKind};
    let period = match text.filter(|p| !p.is_empty()) {
        Some(p) => Period::parse(&p).map_err(crate::pages::errors::refusals::period)?,
        None => Period::containing(PeriodKind::Month, today),
    };
    if period.kind() == PeriodKind::Day {
        return Err(crate::i18n::error("err.target_period"));
    }
    Ok(period)
}

#[server(prefix = "/api", endpoint = "targets_grid")]
pub async fn load_targets_grid(team: Option<String>, period: Option<String>) -> Result<TargetsGrid, AppError> {
    use crate::kpi::{formulas, Better, Scope, ScopeKind, KPIS};
    use crate::period::{Period, PeriodKind};
    use store::kpis::{card, gather, owners_of, Grouping, Owners, Window};

    let me = crate::auth::server::require_user().await?;
    let lang = crate::i18n::use_lang();
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let settings = store::settings::load(&pool).await.map_err(AppError::server)?;
    let tz = settings.time_zone;
    let today = crate::clock::now().with_timezone(&tz).date_naive();
    let team = team_for(&pool, &me, team).await?;
    let period = target_period(period, today)?;
    let team_scope = Scope::Team(team.clone());
    owners_of(&pool, &team_scope).await.map_err(|e| crate::pages::errors::refusals::kpi(e, &team_scope))?;

    let (start, end) = period.bounds(tz);
    let window = Window::new(start, end, tz);
    let reps: Vec<(String, String)> =
        store::directory::reps(&pool, store::directory::Reps { team: Some(&team), active_only: true })
            .await
            .map_err(AppError::server)?;
    let per_rep = gather(&pool, &Owners(Some(reps.iter().map(|r| r.0.clone()).collect())), window, Grouping::PerOwner)
        .await
        .map_err(AppError::server)?;
    let team_card = card(&pool, &team_scope, window, None).await.map_err(AppError::server)?;
    let targets: Vec<(String, String, f64)> = store::targets::of_scopes(
        &pool,
        &period.to_string(),
        &std::iter::once(team_scope.to_string()).chain(reps.iter().map(|r| format!("rep:{}", r.0))).collect::<Vec<_>>(),
    )
    .await
    .map_err(AppError::server)?;
    let targets: HashMap<(String, String), f64> = targets.into_iter().map(|(s, k, v)| ((s, k), v)).collect();

    let columns: Vec<&crate::kpi::KpiDef> =
        KPIS.iter().filter(|k| k.applies_to(ScopeKind::Rep) && k.better != Better::None).collect();
    let cell = |scope: &str, kpi: &crate::kpi::KpiDef, actual: Option<f64>| {
        let target = targets.get(&(scope.to_string(), kpi.id.to_string())).copied();
        Cell { target, actual, attainment: crate::kpi::attainment(kpi.better, actual, target) }
    };
    let empty = formulas::Aggregates::default();
    let mut rows = vec![Row {
        scope: team_scope.to_string(),
        label: lang.t("targets.whole_team"),
        cells: columns
            .iter()
            .map(|k| cell(&team_scope.to_string(), k, team_card.iter().find(|e| e.id == k.id).and_then(|e| e.value)))
            .collect(),
    }];
    for (id, name) in &reps {
        let scope = format!("rep:{id}");
        let aggregates = per_rep.get(id).unwrap_or(&empty);
        let cells = columns.iter().map(|k| cell(&scope, k, formulas::value(k.id, aggregates).value)).collect();
        rows.push(Row { scope, label: name.clone(), cells });
    }

    let only = if me.role == crate::auth::Role::Admin { None } else { Some(team.as_str()) };
    let teams = store::directory::team_names(&pool, only).await.map_err(AppError::server)?;
    let this_month = Period::containing(PeriodKind::Month, today);
    let periods = [
        ("period.week", Period::containing(PeriodKind::Week, today)),
        ("period.month", this_month),
        ("period.next_month", this_month.next()),
        ("period.quarter", Period::containing(PeriodKind::Quarter, today)),
        ("period.year", Period::containing(PeriodKind::Year, today)),
    ];
    let mut periods: Vec<Choice> =
        periods.into_iter().map(|(key, p)| Choice { value: p.to_string(), label: lang.t(key) }).collect();
    if !periods.iter().any(|c| c.value == period.to_string()) {
        periods.push(Choice { value: period.to_string(), label: period.to_string() });
    }
    Ok(TargetsGrid {
        me,
        team,
        period: period.to_string(),
        previous: period.previous().to_string(),
        currency: settings.currency,
        teams: teams.into_iter().map(|(id, name)| Choice { value: id, label: name }).collect(),
        periods,
        kpis: columns.iter().map(|k| Column { id: k.id.into(), label: k.name(lang).into(), unit: k.unit }).collect(),
        rows,
    })
}

/// Saves the whole grid: `targets` maps `<scope>|<kpi>` to a number (empty clears the target).
/// Every cell is checked before anything is written.
#[server(prefix = "/api", endpoint = "save_targets")]
pub async fn save_targets(team: String, period: String, targets: HashMap<String, String>) -> Result<usize, AppError> {
    use crate::i18n::{error, Message};
    use crate::kpi::{find, Better, Scope};

    let me = crate::auth::server::require_user().await?;
    let lang = crate::i18n::use_lang();
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let team = team_for(&pool, &me, Some(team)).await?;
    let period = target_period(Some(period), crate::clock::now().date_naive())?.to_string();
    let mut changes = Vec::new();
    for (key, text) in &targets {
        let (scope_text, kpi) =
            key.split_once('|').ok_or_else(|| error(Message::new("err.target_cell").with("cell", key)))?;
        let def = find(kpi)
            .filter(|k| k.better != Better::None)
            .ok_or_else(|| error(Message::new("err.no_target").with("kpi", kpi)))?;
        let scope = Scope::parse(scope_text).map_err(|_| crate::pages::errors::refusals::scope(scope_text))?;
        if !services::access::may_set_target(&pool, &me, &scope).await.map_err(AppError::server)?
            || !matches!(&scope, Scope::Team(t) if *t == team) && !matches!(&scope, Scope::Rep(_))
        {
            return Err(
                crate::auth::server::forbidden(Message::new("err.targets_scope").with("scope", scope_text)).await
            );
        }
        let text = text.trim().replace(',', ".").replace([' ', '\u{a0}', '\u{202f}'], "");
        let value = if text.is_empty() {
            None
        } else {
            let bad = |key| {
                error(
                    Message::new(key)
                        .with("kpi", lang.pick(def.name_ru, def.name_en))
                        .with("scope", scope_text)
                        .with("text", &text),
                )
            };
            let v: f64 = text.parse().map_err(|_| bad("err.target_not_a_number"))?;
            if !v.is_finite() || v < 0.0 {
                return Err(bad("err.target_negative"));
            }
            Some(v)
        };
        changes.push((def.id, scope.to_string(), value));
    }
    let changes: Vec<(String, String, Option<f64>)> =
        changes.into_iter().map(|(kpi, scope, value)| (kpi.to_string(), scope, value)).collect();
    services::ingest::set_targets(&pool, &changes, &period, &me.id).await.map_err(AppError::server)?;
    Ok(changes.iter().filter(|c| c.2.is_some()).count())
}

/// Copies the team's and its reps' targets from the previous period into `period`.
#[server(prefix = "/api", endpoint = "copy_targets")]
pub async fn copy_targets(team: String, period: String) -> Result<u64, AppError> {
    let me = crate::auth::server::require_user().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let team = team_for(&pool, &me, Some(team)).await?;
    let period = target_period(Some(period), crate::clock::now().date_naive())?;
    let reps = store::directory::member_scopes(&pool, &team).await.map_err(AppError::server)?;
    let mut scopes = reps;
    scopes.push(format!("team:{team}"));
    let copied =
        services::ingest::copy_targets(&pool, &scopes, &period.previous().to_string(), &period.to_string(), &me.id)
            .await
            .map_err(AppError::server)?;
    Ok(copied)
}

#[component]
pub fn Targets() -> impl IntoView {
    let query = use_query_map();
    let save = ServerAction::<SaveTargets>::new();
    let copy = ServerAction::<CopyTargets>::new();
    let data = Resource::new(
        move || {
            let q = query.read();
            (q.get("team"), q.get("period"), save.version().get(), copy.version().get())
        },
        |(team, period, _, _)| load_targets_grid(team, period),
    );
    let lang = crate::i18n::use_lang();
    view! {
        <Transition fallback=move || view! { <p class="muted page">{lang.t("common.loading")}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(grid) => view! { <Grid grid save copy/> }.into_any(),
                    Err(e) => crate::components::failed(e).into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Grid(grid: TargetsGrid, save: ServerAction<SaveTargets>, copy: ServerAction<CopyTargets>) -> impl IntoView {
    let TargetsGrid { me, team, period, previous, currency, teams, periods, kpis, rows } = grid;
    let error = move || {
        [save.value().get().and_then(|r| r.err()), copy.value().get().and_then(|r| r.err())]
            .into_iter()
            .flatten()
            .map(|e| e.to_string())
            .next()
    };
    let lang = crate::i18n::use_lang();
    let saved = move || save.value().get().and_then(|r| r.ok()).map(|n| format!("{}: {n}", lang.t("targets.saved")));
    let header = kpis.iter().map(|k| view! { <th scope="col">{k.label.clone()}</th> }).collect_view();
    let body = rows
        .into_iter()
        .map(|row| {
            let cells = row
                .cells
                .into_iter()
                .zip(kpis.iter())
                .map(|(cell, k)| {
                    let name = format!("targets[{}|{}]", row.scope, k.id);
                    let label = format!("{} — {}", row.label, k.label);
                    let actual = crate::format::kpi_value(cell.actual, k.unit, &currency, lang);
                    let attainment = cell.attainment.map(|a| format!(" · {}", crate::format::percent(a, 0, lang)));
                    view! {
                        <td data-cell=format!("{}|{}", row.scope, k.id)>
                            <input type="text" inputmode="decimal" name=name aria-label=label
                                value=cell.target.map(|t| t.to_string()).unwrap_or_default()/>
                            <small class="actual">{actual}<strong>{attainment}</strong></small>
                        </td>
                    }
                })
                .collect_view();
            view! { <tr><th scope="row">{row.label}</th>{cells}</tr> }
        })
        .collect_view();
    let team_options = crate::pages::choices::options(teams, &team);
    let period_options = crate::pages::choices::options(periods, &period);
    // Each ActionForm's children are a closure that takes its own copies.
    let (copy_team, copy_period) = (team.clone(), period.clone());
    view! {
        <TopBar user=me/>
        <main class="page wide">
            <div class="heading"><h1>{lang.t("nav.targets")}</h1><p class="muted">{period.clone()}</p></div>
            <form method="get" action="/targets" class="filters">
                <label>{lang.t("nav.team")}" " <select name="team">{team_options}</select></label>
                <label>{lang.t("board.period")}" " <select name="period">{period_options}</select></label>
                <button type="submit" class="secondary">{lang.t("board.show")}</button>
            </form>
            <ActionForm action=copy attr:class="inline">
                <input type="hidden" name="team" value=copy_team/>
                <input type="hidden" name="period" value=copy_period/>
                <button type="submit" class="secondary">{domain::tr!(lang, "targets.copy_from", period = previous).into_owned()}</button>
            </ActionForm>
            <ActionForm action=save attr:class="targets-form">
                <input type="hidden" name="team" value=team.clone()/>
                <input type="hidden" name="period" value=period.clone()/>
                <div class="grid-scroll">
                    <table class="targets" data-testid="targets-grid">
                        <thead><tr><th scope="col">{lang.t("board.who")}</th>{header}</tr></thead>
                        <tbody>{body}</tbody>
                    </table>
                </div>
                <button type="submit" class="primary">{lang.t("common.save")}</button>
                <span class="saved" role="status">{saved}</span>
                <p class="error" role="alert">{error}</p>
            </ActionForm>
        </main>
    }
}
