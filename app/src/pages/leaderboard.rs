//! `/leaderboard`: reps ranked by any KPI (revenue by default) for a period
//! and scope, with each rep's movement against the previous period and the
//! signed-in rep's row highlighted. Works before hydration (links, GET form).

use crate::auth::CurrentUser;
use crate::components::TopBar;
use crate::kpi::Unit;
use crate::pages::choices::{options, Choice};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaderboardView {
    pub me: CurrentUser,
    pub by: String,
    pub by_label: String,
    pub unit: Unit,
    /// `value` or `attainment`.
    pub measure: String,
    pub scope: String,
    pub period: String,
    pub range: String,
    pub currency: String,
    pub periods: Vec<Choice>,
    pub kpis: Vec<Choice>,
    pub scopes: Vec<Choice>,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub rank: usize,
    /// Places gained since the previous period (negative: lost); `None` when not ranked before.
    pub movement: Option<i64>,
    pub user_id: String,
    pub name: String,
    pub team: Option<String>,
    pub value: Option<f64>,
}

/// Reps of `scope` (default org) ranked by `by` (default revenue) for `period` (default this month).
#[server(prefix = "/api", endpoint = "leaderboard")]
pub async fn leaderboard(
    period: Option<String>,
    by: Option<String>,
    scope: Option<String>,
    measure: Option<String>,
) -> Result<LeaderboardView, ServerFnError> {
    use crate::db::kpis::{leaderboard, Window};
    use crate::kpi::{find, Scope, ScopeKind, KPIS};
    use crate::period::{Period, PeriodKind};
    use std::collections::HashMap;

    let me = crate::auth::server::require_user().await?;
    let pool = expect_context::<crate::state::AppState>().pool;
    let settings = crate::db::settings::load(&pool).await.map_err(ServerFnError::new)?;
    let tz = settings.time_zone;
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    let period = match period.filter(|p| !p.is_empty()) {
        Some(text) => Period::parse(&text).map_err(ServerFnError::new)?,
        None => Period::containing(PeriodKind::Month, today),
    };
    let by = by.filter(|b| !b.is_empty()).unwrap_or_else(|| "revenue".into());
    let def = find(&by)
        .filter(|k| k.applies_to(ScopeKind::Rep))
        .ok_or_else(|| ServerFnError::new(format!("cannot rank reps by `{by}`")))?;
    let scope =
        Scope::parse(scope.as_deref().filter(|s| !s.is_empty()).unwrap_or("org")).map_err(ServerFnError::new)?;
    if scope.kind() == ScopeKind::Rep {
        return Err(ServerFnError::new("a leaderboard's scope is org, a team or a region"));
    }

    let window = |p: Period| {
        let (start, end) = p.bounds(tz);
        Window::new(start, end, tz)
    };
    // Fairness option: rank by attainment % of each rep's own target instead of the raw value.
    let by_attainment = measure.as_deref() == Some("attainment");
    let of = |p: Period| by_attainment.then(|| p.to_string());
    let ranked =
        leaderboard(&pool, &scope, window(period), def, of(period).as_deref()).await.map_err(ServerFnError::new)?;
    let before: HashMap<String, usize> =
        leaderboard(&pool, &scope, window(period.previous()), def, of(period.previous()).as_deref())
            .await
            .map_err(ServerFnError::new)?
            .into_iter()
            .filter(|r| r.value.is_some())
            .map(|r| (r.id, r.rank))
            .collect();
    let entries = ranked
        .into_iter()
        .map(|r| Entry {
            movement: before.get(&r.id).map(|was| *was as i64 - r.rank as i64),
            rank: r.rank,
            user_id: r.id,
            name: r.name,
            team: r.team,
            value: r.value,
        })
        .collect();

    let periods = crate::pages::choices::recent_periods(today);
    let kpis = KPIS
        .iter()
        .filter(|k| k.applies_to(ScopeKind::Rep))
        .map(|k| Choice { value: k.id.into(), label: format!("{} / {}", k.name_ru, k.name_en) })
        .collect();
    let mut scopes = vec![Choice { value: "org".into(), label: "Все / Everyone".into() }];
    scopes.extend(crate::pages::choices::team_and_region_scopes(&pool).await?);

    Ok(LeaderboardView {
        me,
        by: def.id.into(),
        by_label: format!("{} / {}", def.name_ru, def.name_en),
        unit: if by_attainment { Unit::Percent } else { def.unit },
        measure: if by_attainment { "attainment".into() } else { "value".into() },
        scope: scope.to_string(),
        period: period.to_string(),
        range: format!(
            "{} — {}",
            period.first_day().format("%d.%m.%Y"),
            (period.end_day() - chrono::Duration::days(1)).format("%d.%m.%Y")
        ),
        currency: settings.currency,
        periods,
        kpis,
        scopes,
        entries,
    })
}

#[component]
pub fn Leaderboard() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(
        move || {
            let q = query.read();
            (q.get("period"), q.get("by"), q.get("scope"), q.get("measure"))
        },
        |(period, by, scope, measure)| leaderboard(period, by, scope, measure),
    );
    view! {
        <Transition fallback=|| view! { <p class="muted page">"Загрузка… / Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(view) => view! { <Board view/> }.into_any(),
                    Err(e) => view! {
                        <main class="page narrow">
                            <p class="error">{e.to_string()}</p>
                            <a href="/leaderboard">"← Рейтинг / Leaderboard"</a>
                        </main>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Board(view: LeaderboardView) -> impl IntoView {
    let LeaderboardView {
        me,
        by,
        by_label,
        unit,
        measure,
        scope,
        period,
        range,
        currency,
        periods,
        kpis,
        scopes,
        entries,
    } = view;
    let measures = vec![
        Choice { value: "value".into(), label: "Значение / Value".into() },
        Choice { value: "attainment".into(), label: "% от цели / % of target".into() },
    ];
    let my_id = me.id.clone();
    let rows = entries
        .into_iter()
        .map(|e| {
            let mine = e.user_id == my_id;
            let movement = match e.movement {
                Some(m) if m > 0 => {
                    view! { <span class="move up" title="vs previous period">{format!("▲{m}")}</span> }.into_any()
                }
                Some(m) if m < 0 => {
                    view! { <span class="move down" title="vs previous period">{format!("▼{}", -m)}</span> }.into_any()
                }
                Some(_) => view! { <span class="move same" title="vs previous period">"="</span> }.into_any(),
                None => {
                    view! { <span class="move new" title="not ranked in the previous period">"•"</span> }.into_any()
                }
            };
            view! {
                <tr class:mine=mine aria-current=mine.then_some("true") data-user=e.user_id>
                    <td class="rank">{e.rank}</td>
                    <td class="movement">{movement}</td>
                    <td class="name">{e.name}</td>
                    <td class="team">{e.team.unwrap_or_default()}</td>
                    <td class="num">{crate::format::kpi_value(e.value, unit, &currency)}</td>
                </tr>
            }
        })
        .collect_view();
    let chips = periods
        .iter()
        .map(|c| {
            let current = c.value == period;
            // Plain links: they navigate before the WASM loads; once hydrated, the router takes them over.
            view! {
                <a
                    href=format!("/leaderboard?period={}&by={}&scope={}&measure={}", c.value, by, scope, measure)
                    class=if current { "chip current" } else { "chip" }
                    aria-current=current.then_some("page")
                >
                    {c.label.clone()}
                </a>
            }
        })
        .collect_view();
    view! {
        <TopBar user=me/>
        <main class="page">
            <div class="heading">
                <h1>{by_label.clone()}</h1>
                <p class="muted" data-testid="period">{period.clone()}" · "{range}</p>
            </div>
            <nav class="periods" aria-label="Period">{chips}</nav>
            <form method="get" action="/leaderboard" class="filters">
                <input type="hidden" name="period" value=period.clone()/>
                <label>"Показатель / KPI" <select name="by">{options(kpis, &by)}</select></label>
                <label>"Кто / Who" <select name="scope">{options(scopes, &scope)}</select></label>
                <label>"Мера / Measure" <select name="measure">{options(measures, &measure)}</select></label>
                <button type="submit" class="secondary">"Показать / Show"</button>
            </form>
            <table class="board" data-testid="leaderboard" data-period=period data-by=by>
                <thead>
                    <tr>
                        <th>"#"</th><th><span class="sr-only">"Движение / Movement"</span></th><th>"Имя / Name"</th>
                        <th>"Команда / Team"</th><th class="num">{by_label}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </main>
    }
}
