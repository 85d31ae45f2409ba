//! `/points`: "why do I have these points?" — a rep's level, their points for a
//! period and every ledger entry behind them (rule, reason, records), read from
//! the same ledger as the API and the leaderboard; plus how points are earned.

use crate::auth::CurrentUser;
use crate::components::{loaded, TopBar};
use crate::error::AppError;
use crate::pages::choices::{options, Choice};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelView {
    pub level: usize,
    pub name: String,
    pub lifetime: i64,
    pub next_at: Option<i64>,
    pub progress: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerRow {
    pub when: String,
    pub rule: String,
    pub kind: String,
    pub reason: String,
    pub points: i64,
    pub records: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointsView {
    pub me: CurrentUser,
    pub user: String,
    pub user_name: String,
    pub people: Vec<Choice>,
    pub period: String,
    pub periods: Vec<Choice>,
    pub total: i64,
    pub level: LevelView,
    pub rows: Vec<LedgerRow>,
    pub rules: Vec<String>,
}

#[server(prefix = "/api", endpoint = "points_view")]
pub async fn load_points(user: Option<String>, period: Option<String>) -> Result<PointsView, AppError> {
    use crate::auth::Role;
    use crate::period::{Period, PeriodKind};

    let me = crate::auth::server::require_user().await?;
    let lang = crate::i18n::use_lang();
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let user = user.filter(|u| !u.is_empty()).unwrap_or_else(|| me.id.clone());
    if !crate::api::gamification::may_read_points(&pool, &me, &user).await.map_err(AppError::server)? {
        return Err(crate::auth::server::forbidden("err.points_own").await);
    }
    let user_name: String = store::directory::user_name(&pool, &user)
        .await
        .map_err(AppError::server)?
        .ok_or_else(|| crate::i18n::error(crate::i18n::Message::new("err.no_such_user").with("id", &user)))?;
    let tz = store::settings::load(&pool).await.map_err(AppError::server)?.time_zone;
    let today = crate::clock::now().with_timezone(&tz).date_naive();
    let period = match period.filter(|p| !p.is_empty()) {
        Some(text) => Period::parse(&text).map_err(crate::pages::errors::refusals::period)?,
        None => Period::containing(PeriodKind::Month, today),
    };
    let (start, end) = period.bounds(tz);
    let (total, entries) = store::points::ledger(&pool, &user, start, end).await.map_err(AppError::server)?;
    let level = store::points::level(&pool, &user).await.map_err(AppError::server)?;
    let rules = store::points::rules(&pool, true)
        .await
        .map_err(AppError::server)?
        .iter()
        .map(|r| {
            format!("{}: {}", crate::scoring::rule_label(&r.rule.label, lang), crate::scoring::describe(&r.rule, lang))
        })
        .collect();
    let people: Vec<(String, String)> = match me.role {
        Role::Rep => Vec::new(),
        Role::Manager => match me.team_id.as_deref() {
            Some(team) => {
                store::directory::reps(&pool, store::directory::Reps { team: Some(team), active_only: false })
                    .await
                    .map_err(AppError::server)?
            }
            None => Vec::new(),
        },
        Role::Admin => {
            store::directory::reps(&pool, store::directory::Reps::default()).await.map_err(AppError::server)?
        }
    };
    Ok(PointsView {
        me,
        user,
        user_name,
        people: people.into_iter().map(|(value, label)| Choice { value, label }).collect(),
        period: period.to_string(),
        periods: crate::pages::choices::recent_periods(today),
        total,
        level: LevelView {
            level: level.level,
            name: lang.pick(&level.name_ru, &level.name_en).to_string(),
            lifetime: level.points,
            next_at: level.next_at,
            progress: level.progress,
        },
        rows: entries
            .into_iter()
            .map(|e| LedgerRow {
                when: crate::format::date_time(e.at.with_timezone(&tz), lang),
                rule: crate::scoring::rule_label(&e.rule, lang),
                kind: e.kind,
                reason: e.why.in_lang(lang),
                points: e.points,
                records: e
                    .records
                    .into_iter()
                    .map(|r| format!("{} {}", lang.word(&format!("record.{}", r.kind), &r.kind), r.id))
                    .collect(),
            })
            .collect(),
        rules,
    })
}

#[component]
pub fn Points() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(
        move || {
            let q = query.read();
            (q.get("user"), q.get("period"))
        },
        |(user, period)| load_points(user, period),
    );
    loaded(data, |view| view! { <PointsPage view/> })
}

#[component]
fn PointsPage(view: PointsView) -> impl IntoView {
    let PointsView { me, user, user_name, people, period, periods, total, level, rows, rules } = view;
    let lang = crate::i18n::use_lang();
    let number = move |n: i64| crate::format::number(n as f64, 0, lang);
    let chips = periods
        .into_iter()
        .map(|c| {
            let current = c.value == period;
            view! {
                <a href=format!("/points?user={}&period={}", user, c.value)
                   class=if current { "chip current" } else { "chip" } aria-current=current.then_some("page")>
                    {c.label}
                </a>
            }
        })
        .collect_view();
    let picker = (!people.is_empty()).then(|| {
        view! {
            <form method="get" action="/points" class="filters">
                <input type="hidden" name="period" value=period.clone()/>
                <label>{lang.t("scope.rep")}" " <select name="user">{options(people, &user)}</select></label>
                <button type="submit" class="secondary">{lang.t("board.show")}</button>
            </form>
        }
    });
    let to_next = match level.next_at {
        Some(next) => domain::tr!(lang, "points.to_next", n = number(next - level.lifetime)).into_owned(),
        None => lang.t("points.top_level"),
    };
    let ledger = if rows.is_empty() {
        view! { <p class="muted" data-testid="no-points">{lang.t("points.none")}</p> }.into_any()
    } else {
        let rows = rows
            .into_iter()
            .map(|r| {
                let sign = if r.points > 0 { "+" } else { "" };
                view! {
                    <tr class=format!("entry {}", r.kind)>
                        <td>{r.when}</td>
                        <td>{r.rule}</td>
                        <td>{r.reason}<span class="records">{r.records.join(", ")}</span></td>
                        <td class="num points">{format!("{sign}{}", number(r.points))}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="board ledger" data-testid="ledger">
                <thead><tr>
                    <th>{lang.t("points.when")}</th><th>{lang.t("points.rule")}</th><th>{lang.t("points.why")}</th><th class="num">{lang.t("nav.points")}</th>
                </tr></thead>
                <tbody>{rows}</tbody>
                <tfoot><tr><td colspan="3">{lang.t("points.total")}</td><td class="num points" data-testid="points-total">{number(total)}</td></tr></tfoot>
            </table>
        }
        .into_any()
    };
    let rules = rules.into_iter().map(|r| view! { <li>{r}</li> }).collect_view();
    view! {
        <TopBar user=me/>
        <main class="page">
            <div class="heading">
                <h1>{format!("{} · {user_name}", lang.t("nav.points"))}</h1>
                <p class="muted">{period.clone()}</p>
            </div>
            <section class="tiles">
                <div class="tile">
                    <h2>{lang.t("points.this_period")}</h2>
                    <p class="value" data-testid="period-points">{number(total)}</p>
                </div>
                <div class="tile" data-testid="level">
                    <h2>{domain::tr!(lang, "home.level", n = level.level).into_owned()}</h2>
                    <p class="value">{level.name}</p>
                    <div class="progress" role="progressbar" aria-label=lang.t("home.to_next_level") aria-valuemin="0" aria-valuemax="100"
                         aria-valuenow=format!("{:.0}", level.progress)>
                        <span style=format!("width: {:.1}%", level.progress)></span>
                    </div>
                    <p class="target">{format!("{} · {to_next}", domain::tr!(lang, "home.lifetime", n = number(level.lifetime)))}</p>
                </div>
            </section>
            <nav class="periods" aria-label=lang.t("board.period")>{chips}</nav>
            {picker}
            <h2>{lang.t("points.why_these")}</h2>
            {ledger}
            <h2>{lang.t("points.how_earned")}</h2>
            <ul class="rules">{rules}</ul>
        </main>
    }
}
