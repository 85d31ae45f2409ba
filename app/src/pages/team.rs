//! `/team`: a manager's view of one team for the current period: the revenue
//! forecast against the target, and the weak spots (who needs extra support).

use crate::auth::CurrentUser;
use crate::components::TopBar;
use crate::error::AppError;
use crate::insights::{Forecast, WeakSpot};
use crate::pages::choices::Choice;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamView {
    pub me: CurrentUser,
    pub team: String,
    pub teams: Vec<Choice>,
    pub period: String,
    pub threshold: f64,
    pub currency: String,
    pub forecast: Forecast,
    pub weak_spots: Vec<WeakSpot>,
}

/// The team `me` may see on the team pages: a manager their own, an admin any
/// (by default the first by name); a rep none (`refusal` is the key of the page's own refusal).
#[cfg(feature = "ssr")]
pub(crate) async fn team_for(
    pool: &sqlx::PgPool,
    me: &CurrentUser,
    wanted: Option<String>,
    refusal: &'static str,
) -> Result<String, AppError> {
    use crate::auth::Role;
    match (me.role, wanted.filter(|t| !t.is_empty())) {
        (Role::Rep, _) => Err(crate::auth::server::forbidden(refusal).await),
        (Role::Manager, wanted) => {
            let own = me.team_id.clone().ok_or_else(|| crate::i18n::error("err.no_team_yet"))?;
            if wanted.is_some_and(|w| w != own) {
                return Err(crate::auth::server::forbidden("err.own_team_only").await);
            }
            Ok(own)
        }
        (Role::Admin, Some(t)) => Ok(t),
        (Role::Admin, None) => store::directory::first_team(pool)
            .await
            .map_err(AppError::server)?
            .ok_or_else(|| crate::i18n::error("err.no_teams")),
    }
}

/// The teams the team pages' select offers: every team to an admin, their own to a manager.
#[cfg(feature = "ssr")]
pub(crate) async fn team_choices(pool: &sqlx::PgPool, me: &CurrentUser, team: &str) -> Result<Vec<Choice>, AppError> {
    let only = if me.role == crate::auth::Role::Admin { None } else { Some(team) };
    let teams = store::directory::team_names(pool, only).await.map_err(AppError::server)?;
    Ok(teams.into_iter().map(|(value, label)| Choice { value, label }).collect())
}

#[server(prefix = "/api", endpoint = "team_view")]
pub async fn load_team_view(team: Option<String>, threshold: Option<f64>) -> Result<TeamView, AppError> {
    use crate::kpi::Scope;
    use crate::period::{Period, PeriodKind};
    use store::insights::{forecast, weak_spots};

    let me = crate::auth::server::require_user().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let team = team_for(&pool, &me, team, "err.team_insights_managers").await?;
    let threshold = threshold.filter(|t| t.is_finite() && *t > 0.0).unwrap_or(70.0);
    let settings = store::settings::load(&pool).await.map_err(AppError::server)?;
    let now = crate::clock::now();
    let period = Period::containing(PeriodKind::Month, now.with_timezone(&settings.time_zone).date_naive());
    let scope = Scope::Team(team.clone());
    let forecast = forecast(&pool, &scope, period, settings.time_zone, now).await.map_err(AppError::server)?;
    let weak_spots = weak_spots(&pool, &team, period, settings.time_zone, threshold).await.map_err(AppError::server)?;
    let teams = team_choices(&pool, &me, &team).await?;
    Ok(TeamView {
        me,
        team,
        teams,
        period: period.to_string(),
        threshold,
        currency: settings.currency,
        forecast,
        weak_spots,
    })
}

#[component]
pub fn Team() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(
        move || {
            let q = query.read();
            (q.get("team"), q.get("threshold").and_then(|t| t.parse().ok()))
        },
        |(team, threshold)| load_team_view(team, threshold),
    );
    let lang = crate::i18n::use_lang();
    view! {
        <Transition fallback=move || view! { <p class="muted page">{lang.t("common.loading")}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(view) => view! { <TeamPage view/> }.into_any(),
                    Err(e) => crate::components::failed(e).into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn TeamPage(view: TeamView) -> impl IntoView {
    let TeamView { me, team, teams, period, threshold, currency, forecast, weak_spots } = view;
    let lang = crate::i18n::use_lang();
    let money = |v: Option<f64>| crate::format::kpi_value(v, crate::kpi::Unit::Money, &currency, lang);
    let versus = |v: Option<f64>| match (v, forecast.target) {
        (Some(v), Some(t)) if t > 0.0 => {
            format!(
                " · {}",
                domain::tr!(lang, "team.of_target", percent = crate::format::percent(v * 100.0 / t, 0, lang))
            )
        }
        _ => String::new(),
    };
    // While the month runs, a rep's attainment is against their pace (the target prorated to the elapsed part).
    let so_far = weak_spots.iter().any(|s| s.so_far);
    let spots = if weak_spots.is_empty() {
        view! { <p class="muted" data-testid="no-weak-spots">{lang.t("team.nobody_under")}</p> }.into_any()
    } else {
        let rows = weak_spots
            .into_iter()
            .map(|s| {
                let name = crate::kpi::find(&s.kpi).map(|k| k.name(lang).to_string()).unwrap_or(s.kpi.clone());
                view! {
                    <tr data-user=s.user_id>
                        <td>{s.name}</td>
                        <td>{name}</td>
                        <td class="num">{crate::format::percent(s.attainment, 1, lang)}</td>
                        <td class="num">{format!("−{}", crate::format::number(s.gap, 1, lang))}</td>
                        <td class="num">{s.kpis_below}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="board" data-testid="weak-spots">
                <thead><tr>
                    <th>{lang.t("board.name")}</th><th>{lang.t("team.drags_most")}</th>
                    <th class="num">{lang.t(if so_far { "team.of_pace" } else { "team.attained" })}</th>
                    <th class="num">{lang.t("team.gap")}</th><th class="num">{lang.t("team.kpis_below")}</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };
    view! {
        <TopBar user=me/>
        <main class="page">
            <div class="heading"><h1>{lang.t("nav.team")}</h1><p class="muted">{period.clone()}</p></div>
            <form method="get" action="/team" class="filters">
                <label>{lang.t("nav.team")}" " <select name="team">{crate::pages::choices::options(teams, &team)}</select></label>
                <label>{lang.t("team.threshold")}" " <input type="number" name="threshold" min="1" max="200" value=threshold.to_string()/></label>
                <button type="submit" class="secondary">{lang.t("board.show")}</button>
                <a class="chip" href=format!("/team/report?team={team}&period={period}") data-testid="open-report">
                    {lang.t("report.open")}
                </a>
                <a class="chip" href=format!("/team/report.csv?team={team}&period={period}") download>
                    {lang.t("team.download_csv")}
                </a>
            </form>
            <section class="tiles" data-testid="forecast">
                <div class="tile">
                    <h2>{lang.t("team.revenue_to_date")}</h2>
                    <p class="value">{money(Some(forecast.revenue_to_date))}</p>
                    <p class="target">{format!("{}: {}", lang.t("team.elapsed"), crate::format::percent(forecast.elapsed * 100.0, 0, lang))}</p>
                    // Against the target prorated to the elapsed part: on pace or behind it.
                    {forecast.pace.map(|p| view! {
                        <p class="pace" class:behind=!p.on_pace data-testid="forecast-pace" data-on-pace=p.on_pace.to_string()>
                            <strong>{lang.t(if p.on_pace { "kpis.on_pace" } else { "kpis.behind_pace" })}</strong>
                            {format!(" · {}: {}", lang.t("kpis.due_by_now"), money(Some(p.expected)))}
                        </p>
                    })}
                </div>
                <div class="tile">
                    <h2>{lang.t("team.forecast_run_rate")}</h2>
                    <p class="value" data-testid="run-rate">{money(forecast.run_rate)}</p>
                    <p class="target">{versus(forecast.run_rate)}</p>
                </div>
                <div class="tile">
                    <h2>{lang.t("team.forecast_pipeline")}</h2>
                    <p class="value">{money(forecast.pipeline)}</p>
                    <p class="target">
                        {format!("{}: {} × {}", lang.t("team.open"), money(Some(forecast.open_pipeline)),
                            forecast.recent_win_rate.map(|r| crate::format::percent(r, 1, lang)).unwrap_or("—".into()))}
                        {versus(forecast.pipeline)}
                    </p>
                </div>
                <div class="tile">
                    <h2>{lang.t("kpis.target")}</h2>
                    <p class="value">{money(forecast.target)}</p>
                </div>
            </section>
            <h2>{domain::tr!(lang, "team.needs_support", threshold = crate::format::percent(threshold, 1, lang)).into_owned()}</h2>
            {spots}
        </main>
    }
}
