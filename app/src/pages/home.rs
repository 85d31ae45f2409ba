//! `/`: the rep's home — rank and movement, points and level, KPIs against
//! targets, badges, challenges, and what it takes to move up. Updates live.

use crate::auth::CurrentUser;
use crate::components::{live_feed, loaded, TopBar};
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub label: String,
    pub value: String,
    pub target: String,
    pub attainment: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HomeChallenge {
    pub name: String,
    pub my_rank: Option<usize>,
    pub leader: String,
    pub of: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HomeView {
    pub me: CurrentUser,
    pub period: String,
    pub rank: Option<usize>,
    pub reps: usize,
    pub movement: Option<i64>,
    pub move_up: String,
    pub points: i64,
    pub level: crate::pages::points::LevelView,
    pub progress: Vec<Progress>,
    pub badges: Vec<(String, String, String)>,
    pub challenges: Vec<HomeChallenge>,
}

#[server(prefix = "/api", endpoint = "home_view")]
pub async fn load_home() -> Result<HomeView, AppError> {
    use crate::kpi::Scope;
    use crate::period::{Period, PeriodKind};
    use store::kpis::{card, leaderboard, Window};
    fn e(err: impl std::fmt::Display) -> AppError {
        AppError::server(err.to_string())
    }

    let me = crate::auth::server::require_user().await?;
    let lang = crate::i18n::use_lang();
    let pool = expect_context::<crate::state::AppState>().pool;
    let settings = store::settings::load(&pool).await.map_err(e)?;
    let tz = settings.time_zone;
    let month = Period::containing(PeriodKind::Month, crate::clock::now().with_timezone(&tz).date_naive());
    let window = |p: Period| {
        let (start, end) = p.bounds(tz);
        Window::new(start, end, tz)
    };
    let revenue = crate::kpi::find("revenue").expect("revenue is a KPI");
    let now = leaderboard(&pool, &Scope::Org, window(month), revenue, None).await.map_err(e)?;
    let before = leaderboard(&pool, &Scope::Org, window(month.previous()), revenue, None).await.map_err(e)?;
    let mine = now.iter().position(|r| r.id == me.id);
    let rank = mine.map(|i| now[i].rank);
    let movement = match (rank, before.iter().find(|r| r.id == me.id && r.value.is_some())) {
        (Some(r), Some(b)) => Some(b.rank as i64 - r as i64),
        _ => None,
    };
    let my_card = card(&pool, &Scope::Rep(me.id.clone()), window(month), Some(&month.to_string())).await.map_err(e)?;
    let money = |v: f64| crate::format::kpi_value(Some(v), crate::kpi::Unit::Money, &settings.currency, lang);
    let move_up = match mine {
        None => lang.t("home.not_ranked"),
        Some(i) => {
            let my_value = now[i].value.unwrap_or(0.0);
            match now.iter().rev().find(|r| r.rank < now[i].rank) {
                None => lang.t("home.leading"),
                Some(ahead) => {
                    let average = my_card.iter().find(|k| k.id == "avg_deal_size").and_then(|k| k.value);
                    match crate::insights::deals_to_pass(my_value, ahead.value.unwrap_or(0.0), average) {
                        Some(n) => domain::tr!(
                            lang,
                            "home.deals_to_pass",
                            n = n,
                            average = money(average.unwrap_or(0.0)),
                            rank = ahead.rank,
                            name = ahead.name
                        )
                        .into_owned(),
                        None => domain::tr!(
                            lang,
                            "home.gap_to_pass",
                            rank = ahead.rank,
                            name = ahead.name,
                            gap = money(ahead.value.unwrap_or(0.0) - my_value)
                        )
                        .into_owned(),
                    }
                }
            }
        }
    };
    let progress = my_card
        .iter()
        .filter_map(|k| {
            let target = k.target?;
            let def = crate::kpi::find(k.id)?;
            Some(Progress {
                label: lang.pick(def.name_ru, def.name_en).to_string(),
                value: crate::format::kpi_value(k.value, k.unit, &settings.currency, lang),
                target: crate::format::kpi_value(Some(target), k.unit, &settings.currency, lang),
                attainment: k.attainment,
            })
        })
        .collect();
    let (start, end) = month.bounds(tz);
    let (points, _) = store::points::ledger(&pool, &me.id, start, end).await.map_err(e)?;
    let level = store::points::level(&pool, &me.id).await.map_err(e)?;
    let mut badges: Vec<(String, String, String)> = store::badges::of_user(&pool, &me.id)
        .await
        .map_err(e)?
        .into_iter()
        .map(|a| {
            (
                a.icon,
                lang.pick(&a.name_ru, &a.name_en).to_string(),
                crate::format::date(a.earned_at.with_timezone(&tz), lang),
            )
        })
        .collect();
    badges.reverse();
    badges.truncate(6);
    let mut challenges = Vec::new();
    for c in services::challenges::list(&pool, &me).await.map_err(e)? {
        let mine = c.participants.contains(&me.id) || me.team_id.as_ref().is_some_and(|t| c.participants.contains(t));
        if c.status != "live" || !mine {
            continue;
        }
        let standings = services::challenges::standings(&pool, &c).await.map_err(e)?;
        let my_id = if c.kind == "team_vs_team" { me.team_id.clone().unwrap_or_default() } else { me.id.clone() };
        challenges.push(HomeChallenge {
            name: c.name,
            my_rank: standings.iter().find(|s| s.id == my_id).map(|s| s.rank),
            leader: standings.first().map(|s| s.name.clone()).unwrap_or_default(),
            of: standings.len(),
        });
    }
    Ok(HomeView {
        me,
        period: month.to_string(),
        rank,
        reps: now.len(),
        movement,
        move_up,
        points,
        level: crate::pages::points::LevelView {
            level: level.level,
            name: lang.pick(&level.name_ru, &level.name_en).to_string(),
            lifetime: level.points,
            next_at: level.next_at,
            progress: level.progress,
        },
        progress,
        badges,
        challenges,
    })
}

#[component]
pub fn Home() -> impl IntoView {
    let feed = live_feed();
    let data = Resource::new(move || feed.version.get(), |_| load_home());
    loaded(data, |view| view! { <HomePage view/> })
}

#[component]
fn HomePage(view: HomeView) -> impl IntoView {
    let HomeView { me, period, rank, reps, movement, move_up, points, level, progress, badges, challenges } = view;
    let lang = crate::i18n::use_lang();
    let number = move |n: i64| crate::format::number(n as f64, 0, lang);
    let movement = match movement {
        Some(m) if m > 0 => format!("▲{m} {}", lang.t("home.since_last_month")),
        Some(m) if m < 0 => format!("▼{} {}", -m, lang.t("home.since_last_month")),
        Some(_) => lang.t("home.same_as_last_month"),
        None => String::new(),
    };
    let progress = progress
        .into_iter()
        .map(|p| {
            let width = p.attainment.unwrap_or(0.0).clamp(0.0, 100.0);
            let attained = p.attainment.map(|a| crate::format::percent(a, 0, lang)).unwrap_or("—".into());
            view! {
                <li>
                    <span class="label">{p.label}</span>
                    <span class="nums">{p.value}" / "{p.target}" · "{attained}</span>
                    <div class="progress" role="progressbar" aria-label=lang.t("home.attainment")
                         aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{width:.0}")>
                        <span style=format!("width: {width:.1}%")></span>
                    </div>
                </li>
            }
        })
        .collect_view();
    let badges = badges
        .into_iter()
        .map(|(icon, name, when)| view! { <li><span aria-hidden="true">{icon}</span>" "{name}<span class="muted">" · "{when}</span></li> })
        .collect_view();
    let challenges = challenges
        .into_iter()
        .map(|c| {
            let place = c
                .my_rank
                .map(|r| domain::tr!(lang, "home.place", rank = r, of = c.of).into_owned())
                .unwrap_or_default();
            let leader = lang.t("home.leader");
            view! { <li><a href="/challenges">{c.name}</a>" — "{place}" · "{leader}": "{c.leader}</li> }
        })
        .collect_view();
    let to_next =
        level.next_at.map(|n| format!(" · {}", domain::tr!(lang, "home.to_go", n = number(n - level.lifetime))));
    view! {
        <TopBar user=me/>
        <main class="page">
            <div class="heading"><h1>{lang.t("home.title")}</h1><p class="muted">{period}</p></div>
            <section class="tiles">
                <div class="tile" data-testid="my-rank">
                    <h2>{lang.t("home.revenue_rank")}</h2>
                    <p class="value">{rank.map(|r| domain::tr!(lang, "home.rank_of", rank = r, of = reps).into_owned()).unwrap_or("—".into())}</p>
                    <p class="target">{movement}</p>
                    <p class="target" data-testid="move-up">{move_up}</p>
                </div>
                <div class="tile" data-testid="my-points">
                    <h2>{lang.t("home.points_this_month")}</h2>
                    <p class="value">{number(points)}</p>
                    <p class="target"><a href="/points">{lang.t("home.why_points")}</a></p>
                </div>
                <div class="tile">
                    <h2>{domain::tr!(lang, "home.level", n = level.level).into_owned()}</h2>
                    <p class="value">{level.name}</p>
                    <div class="progress" role="progressbar" aria-label=lang.t("home.to_next_level")
                         aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{:.0}", level.progress)>
                        <span style=format!("width: {:.1}%", level.progress)></span>
                    </div>
                    <p class="target">{domain::tr!(lang, "home.lifetime", n = number(level.lifetime)).into_owned()}{to_next}</p>
                </div>
            </section>
            <h2>{lang.t("home.my_targets")}</h2>
            <ul class="goals" data-testid="my-targets">{progress}</ul>
            <h2>{lang.t("home.my_challenges")}</h2>
            <ul class="rules">{challenges}</ul>
            <h2>{lang.t("home.latest_badges")}</h2>
            <ul class="rules" data-testid="my-badges">{badges}</ul>
            <p><a href="/badges">{lang.t("home.all_badges")}</a></p>
        </main>
    }
}
