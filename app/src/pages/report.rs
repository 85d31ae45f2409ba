//! `/team/report`: the team report of one period for a director, made to be
//! printed: the team's KPIs against targets with their trends, the reps
//! against their targets, and who moved most on revenue. A running period is
//! compared like with like: with the previous period up to the same point.
//! Rendered on the server.

use crate::auth::CurrentUser;
use crate::components::{loaded, Sparkline, TopBar};
use crate::error::AppError;
use crate::insights::Mover;
use crate::pages::choices::{options, Choice};
use crate::pages::kpis::{change_text, KpiTile};
use crate::pages::targets::{Column, Row};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportView {
    pub me: CurrentUser,
    pub org: String,
    pub team: String,
    pub team_name: String,
    pub teams: Vec<Choice>,
    pub period: String,
    pub periods: Vec<Choice>,
    /// The period's first and last day, for the reader.
    pub range: String,
    /// What the period is compared with: the previous period, or its span up to the same point while this one runs.
    pub previous: String,
    /// When the report was made, in the organisation's time zone, for the reader.
    pub generated: String,
    pub currency: String,
    /// The team's KPIs with their 6-period trends.
    pub kpis: Vec<KpiTile>,
    /// KPIs with a target this period for the team or one of its reps: the columns of `rows`.
    pub targeted: Vec<Column>,
    /// The whole team, then each rep.
    pub rows: Vec<Row>,
    /// Revenue: the reps who gained most and who lost most against the previous period.
    pub up: Vec<Mover>,
    pub down: Vec<Mover>,
}

/// The report of `team` (a manager: their own; an admin: any, default the first) for `period` (default this month).
#[server(prefix = "/api", endpoint = "team_report")]
pub async fn team_report(team: Option<String>, period: Option<String>) -> Result<ReportView, AppError> {
    use crate::kpi::{formulas, Better, Scope, ScopeKind, KPIS};
    use crate::pages::targets::Cell;
    use crate::period::{Period, PeriodKind};
    use std::collections::HashMap;
    use store::kpis::{card_history, gather, reps_of, Grouping, Owners, Window};
    /// How many reps each list of movers shows.
    const MOVERS: usize = 3;

    let me = crate::auth::server::require_user().await?;
    let lang = crate::i18n::use_lang();
    let state = expect_context::<crate::state::AppState>();
    let pool = state.pool.clone();
    let team = crate::pages::team::team_for(&pool, &me, team, "err.team_reports_managers").await?;
    // Authorised on the primary; the report itself is read where reads go (a caught-up replica).
    let reads = &state.reads;
    let settings = store::settings::load(&pool).await.map_err(AppError::server)?;
    let tz = settings.time_zone;
    let instant = crate::clock::now();
    let now = instant.with_timezone(&tz);
    let period = match period.filter(|p| !p.is_empty()) {
        Some(p) => Period::parse(&p).map_err(crate::pages::errors::refusals::period)?,
        None => Period::containing(PeriodKind::Month, now.date_naive()),
    };
    let window = |p: Period| {
        let (start, end) = p.bounds(tz);
        Window::new(start, end, tz)
    };
    let scope = Scope::Team(team.clone());
    let reps = reps_of(&pool, &scope).await.map_err(AppError::server)?;

    // The team's card for this period and the five before it, and the previous period's comparable span.
    let on = &scope;
    let history = reads
        .read(|pool| async move { card_history(&pool, on, period, tz, 6, instant).await })
        .await
        .map_err(AppError::server)?;
    let kpis = crate::pages::kpis::tiles(&history);
    // While the period runs, the previous one compares up to the same point (like with like).
    let (compared_start, compared_end) = period.comparable_previous(tz, instant);

    // Reps against targets: the KPIs someone in the team has a target for.
    let mut scopes = vec![scope.to_string()];
    scopes.extend(reps.iter().map(|(id, _, _)| format!("rep:{id}")));
    let (all_scopes, period_text) = (&scopes, period.to_string());
    let of = period_text.as_str();
    let targets = reads
        .read(|pool| async move { store::targets::for_scopes(&pool, all_scopes, of).await })
        .await
        .map_err(AppError::server)?;
    let targeted: Vec<&crate::kpi::KpiDef> = KPIS
        .iter()
        .filter(|k| k.better != Better::None && k.applies_to(ScopeKind::Team))
        .filter(|k| targets.keys().any(|(_, kpi)| kpi == k.id))
        .collect();
    let cell = |scope: &str, kpi: &crate::kpi::KpiDef, actual: Option<f64>| {
        let target = targets.get(&(scope.to_string(), kpi.id.to_string())).copied();
        Cell { target, actual, attainment: crate::kpi::attainment(kpi.better, actual, target) }
    };
    let team_values: HashMap<&str, Option<f64>> = kpis.iter().map(|k| (k.id.as_str(), k.value)).collect();
    let mut rows = vec![Row {
        scope: scope.to_string(),
        label: lang.t("targets.whole_team"),
        cells: targeted.iter().map(|k| cell(&scope.to_string(), k, team_values.get(k.id).copied().flatten())).collect(),
    }];
    let owners = Owners(Some(reps.iter().map(|(id, _, _)| id.clone()).collect()));
    let (whose, span) = (&owners, window(period));
    let per_rep = reads
        .read(|pool| async move { gather(&pool, whose, span, Grouping::PerOwner).await })
        .await
        .map_err(AppError::server)?;
    let nothing = formulas::Aggregates::default();
    for (id, name, _) in &reps {
        let rep_scope = format!("rep:{id}");
        let aggregates = per_rep.get(id).unwrap_or(&nothing);
        let cells = targeted
            .iter()
            .map(|k| {
                // A team-only KPI (costs) has no value for one rep.
                let actual = k.applies_to(ScopeKind::Rep).then(|| formulas::value(k.id, aggregates).value).flatten();
                cell(&rep_scope, k, actual)
            })
            .collect();
        rows.push(Row { scope: rep_scope, label: name.clone(), cells });
    }

    // Movers: revenue against the previous period's comparable span, with each rep's place in the team's ranking.
    let all = reads
        .read(|pool| async move { store::insights::revenue_movers(&pool, on, period, tz, instant).await })
        .await
        .map_err(AppError::server)?;
    let (up, down) = crate::insights::movers(all, MOVERS);

    let teams = crate::pages::team::team_choices(&pool, &me, &team).await?;
    let team_name = teams.iter().find(|t| t.value == team).map_or(team.clone(), |t| t.label.clone());
    let mut periods = crate::pages::choices::recent_periods(now.date_naive());
    if !periods.iter().any(|c| c.value == period.to_string()) {
        periods.push(Choice { value: period.to_string(), label: period.to_string() });
    }
    Ok(ReportView {
        me,
        org: settings.name,
        team,
        team_name,
        teams,
        period: period.to_string(),
        periods,
        range: format!(
            "{} — {}",
            crate::format::date(period.first_day(), lang),
            crate::format::date(period.end_day() - chrono::Duration::days(1), lang)
        ),
        previous: match history.running {
            // "01.11.2026 00:00 — 02.11.2026 10:00": the same span of the previous period.
            Some(_) => format!(
                "{} — {}",
                crate::format::date_time(compared_start.with_timezone(&tz), lang),
                crate::format::date_time(compared_end.with_timezone(&tz), lang)
            ),
            None => period.previous().to_string(),
        },
        generated: format!("{} ({})", crate::format::date_time(now, lang), tz.name()),
        currency: settings.currency,
        kpis,
        targeted: targeted
            .iter()
            .map(|k| Column { id: k.id.into(), label: k.name(lang).into(), unit: k.unit })
            .collect(),
        rows,
        up,
        down,
    })
}

#[component]
pub fn TeamReport() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(
        move || {
            let q = query.read();
            (q.get("team"), q.get("period"))
        },
        |(team, period)| team_report(team, period),
    );
    loaded(data, |view| view! { <Report view/> })
}

#[component]
fn Report(view: ReportView) -> impl IntoView {
    let ReportView {
        me,
        org,
        team,
        team_name,
        teams,
        period,
        periods,
        range,
        previous,
        generated,
        currency,
        kpis,
        targeted,
        rows,
        up,
        down,
    } = view;
    let lang = crate::i18n::use_lang();
    let csv = format!("/team/report.csv?team={team}&period={period}");
    // While the period runs, a column says whether each KPI is on pace.
    let running = kpis.iter().any(|k| k.previous_so_far);
    let kpi_rows = kpis
        .into_iter()
        .map(|k| {
            let fmt = |v: Option<f64>| crate::format::kpi_value(v, k.unit, &currency, lang);
            let (change, improving) = (k.change(), k.improving());
            view! {
                <tr data-kpi=k.id.clone()>
                    <td class="name">{lang.pick(&k.name_ru, &k.name_en).to_string()}</td>
                    <td class="num value">{fmt(k.value)}</td>
                    <td class="num target">{k.target.map_or("—".to_string(), |t| fmt(Some(t)))}</td>
                    <td class="num attainment" class:met=k.attainment.is_some_and(|a| a >= 100.0)>
                        {k.attainment.map_or("—".to_string(), |a| crate::format::percent(a, 1, lang))}
                    </td>
                    {running.then(|| view! {
                        <td class="pace" class:behind=k.pace.is_some_and(|p| !p.on_pace)
                            data-on-pace=k.pace.map(|p| p.on_pace.to_string())>
                            {match k.pace {
                                Some(p) => lang.t(if p.on_pace { "kpis.on_pace" } else { "kpis.behind_pace" }),
                                None => "—".to_string(),
                            }}
                        </td>
                    })}
                    <td class="num change" class:up={improving == Some(true)} class:down={improving == Some(false)}>
                        {change_text(change, lang)}
                    </td>
                    <td class="trend"><Sparkline values=k.trend.clone()/></td>
                </tr>
            }
            .into_any()
        })
        .collect_view();
    let reps = if targeted.is_empty() {
        view! { <p class="muted" data-testid="no-targets">{lang.t("report.no_targets")}</p> }.into_any()
    } else {
        let header =
            targeted.iter().map(|k| view! { <th scope="col" class="num">{k.label.clone()}</th> }).collect_view();
        let body = rows
            .into_iter()
            .map(|row| {
                let cells = row
                    .cells
                    .into_iter()
                    .zip(targeted.iter())
                    .map(|(cell, k)| {
                        let fmt = |v: Option<f64>| crate::format::kpi_value(v, k.unit, &currency, lang);
                        let target = cell.target.map(|t| format!("{}: {}", lang.t("kpis.target"), fmt(Some(t))));
                        let attainment = cell.attainment.map(|a| format!(" · {}", crate::format::percent(a, 1, lang)));
                        view! {
                            <td class="num" data-cell=format!("{}|{}", row.scope, k.id)>
                                <span class="actual">{fmt(cell.actual)}</span>
                                <small class="of-target">{target}<strong>{attainment}</strong></small>
                            </td>
                        }
                    })
                    .collect_view();
                view! { <tr data-scope=row.scope.clone()><th scope="row">{row.label}</th>{cells}</tr> }
            })
            .collect_view();
        view! {
            // Focusable: on a narrow screen the table scrolls inside its box, by keyboard too.
            <div class="grid-scroll" tabindex="0" role="region" aria-label=lang.t("report.reps")>
                <table class="targets report-reps" data-testid="report-reps">
                    <thead><tr><th scope="col">{lang.t("board.who")}</th>{header}</tr></thead>
                    <tbody>{body}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    let movers = |list: Vec<Mover>, testid: &'static str, title: String| {
        let body = if list.is_empty() {
            view! { <p class="muted">{lang.t("report.no_movers")}</p> }.into_any()
        } else {
            let money = |v: f64| crate::format::money(&format!("{:.2}", v.abs()), &currency, lang);
            let rows = list
                .into_iter()
                .map(|m| {
                    let change = m.change();
                    let sign = if change >= 0.0 { "+" } else { "−" };
                    let percent = (m.previous != 0.0).then(|| {
                        format!(" ({sign}{})", crate::format::percent((change * 100.0 / m.previous).abs(), 1, lang))
                    });
                    let places = m.places();
                    let (class, arrow) = match places {
                        p if p > 0 => ("move up", format!("▲{p}")),
                        p if p < 0 => ("move down", format!("▼{}", -p)),
                        _ => ("move same", "=".to_string()),
                    };
                    view! {
                        <tr data-user=m.user_id>
                            <td class="name">{m.name}</td>
                            <td class="num">{money(m.previous)}</td>
                            <td class="num">{money(m.current)}</td>
                            <td class="num change">{format!("{sign}{}", money(change))}{percent}</td>
                            <td class="num rank">
                                {m.rank}" "<span class=class title=lang.t("board.vs_previous")>{arrow}</span>
                            </td>
                        </tr>
                    }
                })
                .collect_view();
            view! {
                <table class="board" data-testid=testid>
                    <thead><tr>
                        <th>{lang.t("board.name")}</th>
                        <th class="num">{previous.clone()}</th>
                        <th class="num">{period.clone()}</th>
                        <th class="num">{lang.t("report.change")}</th>
                        <th class="num">{lang.t("report.rank")}</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            }
            .into_any()
        };
        view! { <div class="mover-list"><h3>{title}</h3>{body}</div> }.into_any()
    };
    let up = movers(up, "movers-up", lang.t("report.movers_up"));
    let down = movers(down, "movers-down", lang.t("report.movers_down"));
    // Each part is type-erased (`into_any`): one view type for the whole page is too deep for the compiler.
    let head = view! {
        <header class="report-head">
            <p class="report-org">{org}</p>
            <h1>{domain::tr!(lang, "report.title", team = team_name).into_owned()}</h1>
            <p data-testid="report-period"><strong>{period.clone()}</strong>" · "{range}</p>
            <p class="muted">{domain::tr!(lang, "report.generated", at = generated).into_owned()}</p>
        </header>
        <form method="get" action="/team/report" class="filters no-print">
            <label>{lang.t("nav.team")}" " <select name="team">{options(teams, &team)}</select></label>
            <label>{lang.t("board.period")}" " <select name="period">{options(periods, &period)}</select></label>
            <button type="submit" class="secondary">{lang.t("board.show")}</button>
            <button type="button" class="secondary print-button" on:click=|_| print()>{lang.t("report.print")}</button>
            <a class="chip" href=csv download>{lang.t("team.download_csv")}</a>
        </form>
    }
    .into_any();
    let change_vs = domain::tr!(lang, "report.change_vs", period = previous).into_owned();
    let kpi_table = view! {
        <div class="grid-scroll" tabindex="0" role="region" aria-label=lang.t("report.kpis")>
            <table class="board report-kpis" data-testid="report-kpis">
                <thead><tr>
                    <th scope="col">{lang.t("board.kpi")}</th>
                    <th scope="col" class="num">{lang.t("board.measure_value")}</th>
                    <th scope="col" class="num">{lang.t("kpis.target")}</th>
                    <th scope="col" class="num">{lang.t("report.attainment")}</th>
                    {running.then(|| view! { <th scope="col">{lang.t("kpis.pace")}</th> })}
                    <th scope="col" class="num">{change_vs}</th>
                    <th scope="col">{lang.t("report.trend")}</th>
                </tr></thead>
                <tbody>{kpi_rows}</tbody>
            </table>
        </div>
    }
    .into_any();
    view! {
        <TopBar user=me/>
        <main class="page wide report" data-testid="team-report">
            {head}
            <section class="report-section">
                <h2>{lang.t("report.kpis")}</h2>
                {kpi_table}
            </section>
            <section class="report-section">
                <h2>{lang.t("report.reps")}</h2>
                {reps}
            </section>
            <section class="report-section" data-testid="movers">
                <h2>{lang.t("report.movers")}</h2>
                <div class="movers">{up}{down}</div>
            </section>
        </main>
    }
}

/// The browser's print dialog (the button does nothing before the page is hydrated, and is hidden then).
fn print() {
    #[cfg(feature = "hydrate")]
    {
        let _ = window().print();
    }
}
