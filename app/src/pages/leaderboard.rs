//! `/leaderboard`: reps ranked by revenue for a period (this month by default),
//! the signed-in rep's row highlighted. Period links work before hydration.

use crate::auth::CurrentUser;
use crate::components::TopBar;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaderboardView {
    pub me: CurrentUser,
    pub period: String,
    pub range: String,
    pub currency: String,
    pub choices: Vec<PeriodChoice>,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodChoice {
    pub label: String,
    pub period: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub rank: i64,
    pub user_id: String,
    pub name: String,
    pub team: Option<String>,
    /// Exact decimal text, formatted only for display.
    pub revenue: String,
}

/// Revenue leaderboard for `period` (default: the current month in the organisation's time zone).
#[server(prefix = "/api", endpoint = "leaderboard")]
pub async fn revenue_leaderboard(period: Option<String>) -> Result<LeaderboardView, ServerFnError> {
    use crate::db;
    use crate::period::{Period, PeriodKind};

    let me = crate::auth::server::require_user().await?;
    let state = expect_context::<crate::state::AppState>();
    let settings = db::settings::load(&state.pool)
        .await
        .map_err(ServerFnError::new)?;
    let today = chrono::Utc::now()
        .with_timezone(&settings.time_zone)
        .date_naive();
    let period = match period.filter(|p| !p.is_empty()) {
        Some(text) => Period::parse(&text).map_err(ServerFnError::new)?,
        None => Period::containing(PeriodKind::Month, today),
    };
    let (start, end) = period.bounds(settings.time_zone);
    let rows = db::leaderboard::revenue(&state.pool, start, end)
        .await
        .map_err(ServerFnError::new)?;
    let this_month = Period::containing(PeriodKind::Month, today);
    let choices = [
        ("Неделя / Week", Period::containing(PeriodKind::Week, today)),
        ("Месяц / Month", this_month),
        ("Прошлый месяц / Last month", this_month.previous()),
        (
            "Квартал / Quarter",
            Period::containing(PeriodKind::Quarter, today),
        ),
        ("Год / Year", Period::containing(PeriodKind::Year, today)),
    ];
    Ok(LeaderboardView {
        me,
        period: period.to_string(),
        range: format!(
            "{} — {}",
            period.first_day().format("%d.%m.%Y"),
            (period.end_day() - chrono::Duration::days(1)).format("%d.%m.%Y")
        ),
        currency: settings.currency,
        choices: choices
            .into_iter()
            .map(|(label, p)| PeriodChoice {
                label: label.into(),
                period: p.to_string(),
            })
            .collect(),
        entries: rows
            .into_iter()
            .map(|r| Entry {
                rank: r.rank,
                user_id: r.user_id,
                name: r.name,
                team: r.team,
                revenue: r.revenue.to_string(),
            })
            .collect(),
    })
}

#[component]
pub fn Leaderboard() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(move || query.read().get("period"), revenue_leaderboard);
    view! {
        <Transition fallback=|| view! { <p class="muted page">"Загрузка… / Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(view) => view! { <Board view/> }.into_any(),
                    Err(e) => view! {
                        <main class="page narrow">
                            <p class="error">{e.to_string()}</p>
                            <a href="/login?next=/leaderboard">"Войти / Sign in"</a>
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
        period,
        range,
        currency,
        choices,
        entries,
    } = view;
    let my_id = me.id.clone();
    let rows = entries
        .into_iter()
        .map(|e| {
            let mine = e.user_id == my_id;
            view! {
                <tr class:mine=mine aria-current=mine.then_some("true") data-user=e.user_id>
                    <td class="rank">{e.rank}</td>
                    <td class="name">{e.name}</td>
                    <td class="team">{e.team.unwrap_or_default()}</td>
                    <td class="num">{crate::format::money(&e.revenue, &currency)}</td>
                </tr>
            }
        })
        .collect_view();
    let links = choices
        .into_iter()
        .map(|c| {
            let current = c.period == period;
            // Plain links: they navigate before the WASM loads; once hydrated, the router takes them over.
            view! {
                <a
                    href=format!("/leaderboard?period={}", c.period)
                    class=if current { "chip current" } else { "chip" }
                    aria-current=current.then_some("page")
                >
                    {c.label}
                </a>
            }
        })
        .collect_view();
    view! {
        <TopBar user=me/>
        <main class="page">
            <div class="heading">
                <h1>"Выручка / Revenue"</h1>
                <p class="muted" data-testid="period">{period.clone()}" · "{range}</p>
            </div>
            <nav class="periods" aria-label="Period">{links}</nav>
            <table class="board" data-testid="leaderboard" data-period=period>
                <thead>
                    <tr><th>"#"</th><th>"Имя / Name"</th><th>"Команда / Team"</th><th class="num">"Выручка / Revenue"</th></tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </main>
    }
}
