//! `/`: each person's home, live. A rep's: rank and movement, points and level,
//! KPIs against targets, badges, challenges, and what it takes to move up. A
//! manager's: their team's month (standings, pace against targets, who needs
//! support, challenges, wins, flags). An admin's: the organisation's month and
//! what is left to set up.

use crate::auth::CurrentUser;
use crate::components::{live_feed, loaded, LiveStatus, TopBar};
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub label: String,
    pub value: String,
    pub target: String,
    pub attainment: Option<f64>,
    /// While the month runs: whether the value keeps the pace its target asks for (`domain::kpi::pace`).
    pub on_pace: Option<bool>,
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

/// What `/` shows, by who is asking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Home {
    Rep(Box<HomeView>),
    Team(Box<TeamHome>),
    Org(Box<OrgHome>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamRow {
    pub rank: usize,
    pub name: String,
    pub revenue: String,
    pub attainment: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamHome {
    pub me: CurrentUser,
    /// `None`: the manager leads no team yet.
    pub team: Option<String>,
    pub period: String,
    /// The share of the month gone, 0–100.
    pub elapsed: f64,
    pub standings: Vec<TeamRow>,
    pub targets: Vec<Progress>,
    /// (name, KPI, attainment text)
    pub support: Vec<(String, String, String)>,
    /// The % of target under which a rep is listed as needing support.
    pub threshold: f64,
    pub challenges: Vec<HomeChallenge>,
    /// (when, name, amount)
    pub wins: Vec<(String, String, String)>,
    pub flags: usize,
    pub flagged: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgTeam {
    pub id: String,
    pub name: String,
    pub reps: usize,
    pub revenue: String,
    pub target: Option<String>,
    pub attainment: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgHome {
    pub me: CurrentUser,
    pub period: String,
    pub elapsed: f64,
    pub targets: Vec<Progress>,
    pub teams: Vec<OrgTeam>,
    /// (id, name, role in words)
    pub without_team: Vec<(String, String, String)>,
    pub unmanaged: Vec<String>,
    pub displays: usize,
    pub tokens: usize,
}

#[server(prefix = "/api", endpoint = "home_view")]
pub async fn load_home() -> Result<Home, AppError> {
    use crate::auth::Role;
    let me = crate::auth::server::require_user().await?;
    Ok(match me.role {
        Role::Rep => Home::Rep(Box::new(server::rep_home(me).await?)),
        Role::Manager => Home::Team(Box::new(server::team_home(me).await?)),
        Role::Admin => Home::Org(Box::new(server::org_home(me).await?)),
    })
}

#[cfg(feature = "ssr")]
mod server {
    use super::*;

    /// The month so far, in % of the whole month.
    fn elapsed(period: crate::period::Period, tz: chrono_tz::Tz) -> f64 {
        100.0 * period.elapsed_share(tz, crate::clock::now())
    }

    /// The KPIs of a card that have a target, as progress bars, paced while `elapsed` (%) is under 100.
    fn progress_of(
        card: &[store::kpis::KpiEntry],
        elapsed: f64,
        currency: &str,
        lang: crate::i18n::Lang,
    ) -> Vec<Progress> {
        let running = elapsed < 100.0;
        card.iter()
            .filter_map(|k| {
                let target = k.target?;
                let def = crate::kpi::find(k.id)?;
                Some(Progress {
                    label: lang.pick(def.name_ru, def.name_en).to_string(),
                    value: crate::format::kpi_value(k.value, k.unit, currency, lang),
                    target: crate::format::kpi_value(Some(target), k.unit, currency, lang),
                    attainment: k.attainment,
                    on_pace: crate::kpi::pace(def, k.value, Some(target), elapsed / 100.0)
                        .filter(|_| running)
                        .map(|p| p.on_pace),
                })
            })
            .collect()
    }

    pub async fn team_home(me: CurrentUser) -> Result<TeamHome, AppError> {
        use crate::period::{Period, PeriodKind};
        let lang = crate::i18n::use_lang();
        let pool = expect_context::<crate::state::AppState>().pool.clone();
        let settings = store::settings::load(&pool).await.map_err(AppError::server)?;
        let tz = settings.time_zone;
        let month = Period::containing(PeriodKind::Month, crate::clock::now().with_timezone(&tz).date_naive());
        let elapsed = elapsed(month, tz);
        let Some(team) = me.team_id.clone() else {
            let none = TeamHome {
                me,
                team: None,
                period: month.to_string(),
                elapsed,
                standings: vec![],
                targets: vec![],
                support: vec![],
                threshold: services::overview::SUPPORT_THRESHOLD,
                challenges: vec![],
                wins: vec![],
                flags: 0,
                flagged: vec![],
            };
            return Ok(none);
        };
        let reads = expect_context::<crate::state::AppState>().reads.clone();
        let on = &team;
        let m = reads
            .read(|pool| async move { services::overview::team_month(&pool, on, month, tz).await })
            .await
            .map_err(AppError::server)?;
        let money = |v: f64| crate::format::kpi_value(Some(v), crate::kpi::Unit::Money, &settings.currency, lang);
        let standings = m
            .standings
            .iter()
            .map(|r| TeamRow {
                rank: r.rank,
                name: r.name.clone(),
                revenue: money(r.value.unwrap_or(0.0)),
                attainment: m.attainment.iter().find(|a| a.id == r.id).and_then(|a| a.value),
            })
            .collect();
        let support = m
            .weak_spots
            .iter()
            .take(5)
            .map(|w| {
                let kpi = crate::kpi::find(&w.kpi).map(|d| d.name(lang).to_string()).unwrap_or_else(|| w.kpi.clone());
                (w.name.clone(), kpi, crate::format::percent(w.attainment, 0, lang))
            })
            .collect();
        let challenges = m
            .challenges
            .iter()
            .map(|(c, rows)| HomeChallenge {
                name: c.name.clone(),
                my_rank: None,
                leader: rows.first().map(|s| s.name.clone()).unwrap_or_default(),
                of: rows.len(),
            })
            .collect();
        let wins = m
            .wins
            .iter()
            .take(5)
            .map(|(_, name, amount, at, _)| {
                let at = at.with_timezone(&tz);
                (
                    format!("{} {}", crate::format::day_month(at, lang), at.format("%H:%M")),
                    name.clone(),
                    crate::format::money(&amount.to_string(), &settings.currency, lang),
                )
            })
            .collect();
        let mut flagged: Vec<String> = m.flags.iter().map(|f| f.user_name.clone()).collect();
        flagged.sort();
        flagged.dedup();
        Ok(TeamHome {
            team: store::directory::team_names(&pool, Some(&team))
                .await
                .map_err(AppError::server)?
                .into_iter()
                .next()
                .map(|(_, name)| name),
            me,
            period: month.to_string(),
            elapsed,
            standings,
            targets: progress_of(&m.card, elapsed, &settings.currency, lang),
            support,
            threshold: services::overview::SUPPORT_THRESHOLD,
            challenges,
            wins,
            flags: m.flags.len(),
            flagged,
        })
    }

    pub async fn org_home(me: CurrentUser) -> Result<OrgHome, AppError> {
        use crate::period::{Period, PeriodKind};
        let lang = crate::i18n::use_lang();
        let pool = expect_context::<crate::state::AppState>().pool.clone();
        let settings = store::settings::load(&pool).await.map_err(AppError::server)?;
        let tz = settings.time_zone;
        let month = Period::containing(PeriodKind::Month, crate::clock::now().with_timezone(&tz).date_naive());
        let reads = expect_context::<crate::state::AppState>().reads.clone();
        let m = reads
            .read(|pool| async move { services::overview::org_month(&pool, month, tz).await })
            .await
            .map_err(AppError::server)?;
        let elapsed = elapsed(month, tz);
        let money = |v: f64| crate::format::kpi_value(Some(v), crate::kpi::Unit::Money, &settings.currency, lang);
        Ok(OrgHome {
            me,
            period: month.to_string(),
            elapsed,
            targets: progress_of(&m.card, elapsed, &settings.currency, lang),
            teams: m
                .teams
                .iter()
                .map(|t| OrgTeam {
                    id: t.id.clone(),
                    name: t.name.clone(),
                    reps: t.reps,
                    revenue: money(t.revenue),
                    target: t.target.map(money),
                    attainment: t.attainment,
                })
                .collect(),
            without_team: m
                .without_team
                .into_iter()
                .map(|(id, name, role)| (id, name, lang.t(&format!("users.role_{role}"))))
                .collect(),
            unmanaged: m.unmanaged,
            displays: m.displays_active,
            tokens: m.tokens,
        })
    }

    pub async fn rep_home(me: CurrentUser) -> Result<HomeView, AppError> {
        use crate::kpi::Scope;
        use crate::period::{Period, PeriodKind};
        use store::kpis::{card, Window};
        fn e(err: impl std::fmt::Display) -> AppError {
            AppError::server(err.to_string())
        }

        let lang = crate::i18n::use_lang();
        let state = expect_context::<crate::state::AppState>();
        let pool = state.pool.clone();
        let settings = store::settings::load(&pool).await.map_err(e)?;
        let tz = settings.time_zone;
        let month = Period::containing(PeriodKind::Month, crate::clock::now().with_timezone(&tz).date_naive());
        let window = |p: Period| {
            let (start, end) = p.bounds(tz);
            Window::new(start, end, tz)
        };
        // The rankings are the leaderboard's, shared by every rep's home; only this rep's parts are theirs.
        let revenue = crate::kpi::find("revenue").expect("revenue is a KPI");
        let org = Scope::Org;
        let (state_ref, org_ref) = (&state, &org);
        let ranking = |p: Period| async move {
            crate::pages::leaderboard::ranking_snapshot(state_ref, Some(revenue), org_ref, p, tz, false)
                .await
                .map_err(|e| crate::pages::errors::refusals::kpi_shared(e, org_ref))
        };
        let now = ranking(month).await?;
        let before = ranking(month.previous()).await?;
        let mine = now.iter().position(|r| r.id == me.id);
        let rank = mine.map(|i| now[i].rank);
        let movement = match (rank, before.iter().find(|r| r.id == me.id && r.value.is_some())) {
            (Some(r), Some(b)) => Some(b.rank as i64 - r as i64),
            _ => None,
        };
        let (mine_scope, month_text) = (Scope::Rep(me.id.clone()), month.to_string());
        let (on, of, span) = (&mine_scope, month_text.as_str(), window(month));
        let my_card = state.reads.read(|pool| async move { card(&pool, on, span, Some(of)).await }).await.map_err(e)?;
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
        let progress = progress_of(&my_card, elapsed(month, tz), &settings.currency, lang);
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
            let mine =
                c.participants.contains(&me.id) || me.team_id.as_ref().is_some_and(|t| c.participants.contains(t));
            if c.status != "live" || !mine {
                continue;
            }
            let standings = state
                .snapshots
                .get(format!("challenge:{}", c.id), services::challenges::standings(&pool, &c))
                .await
                .map_err(|err| e(&*err))?;
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
}

#[component]
pub fn Home() -> impl IntoView {
    let feed = live_feed();
    let data = Resource::new(move || feed.version.get(), |_| load_home());
    loaded(data, |home| match home {
        Home::Rep(view) => view! { <HomePage view=*view/> }.into_any(),
        Home::Team(view) => view! { <TeamHomePage view=*view/> }.into_any(),
        Home::Org(view) => view! { <OrgHomePage view=*view/> }.into_any(),
    })
}

/// Progress bars of KPIs against their targets, with their pace while the month runs.
fn goals(progress: Vec<Progress>, lang: crate::i18n::Lang) -> impl IntoView {
    progress
        .into_iter()
        .map(|p| {
            let width = p.attainment.unwrap_or(0.0).clamp(0.0, 100.0);
            let attained = p.attainment.map(|a| crate::format::percent(a, 0, lang)).unwrap_or("—".into());
            let pace = p.on_pace.map(|on| {
                if on {
                    view! { <span class="pace on">{lang.t("home.on_pace")}</span> }
                } else {
                    view! { <span class="pace behind">{lang.t("home.behind_pace")}</span> }
                }
            });
            view! {
                <li>
                    <span class="label">{p.label}</span>
                    <span class="nums">{p.value}" / "{p.target}" · "{attained}" "{pace}</span>
                    <div class="progress" role="progressbar" aria-label=lang.t("home.attainment")
                         aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{width:.0}")>
                        <span style=format!("width: {width:.1}%")></span>
                    </div>
                </li>
            }
        })
        .collect_view()
}

#[component]
fn TeamHomePage(view: TeamHome) -> impl IntoView {
    let TeamHome {
        me,
        team,
        period,
        elapsed,
        standings,
        targets,
        support,
        threshold,
        challenges,
        wins,
        flags,
        flagged,
    } = view;
    let lang = crate::i18n::use_lang();
    let Some(team) = team else {
        return view! {
            <TopBar user=me/>
            <main class="page narrow">
                <h1>{lang.t("home.title")}</h1>
                <p data-testid="no-team">{lang.t("home.no_team")}</p>
            </main>
        }
        .into_any();
    };
    let percent = move |a: Option<f64>| a.map(|a| crate::format::percent(a, 0, lang)).unwrap_or_else(|| "—".into());
    let standings = standings
        .into_iter()
        .map(|r| view! { <tr><td class="rank">{r.rank}</td><td>{r.name}</td><td class="num">{r.revenue}</td><td class="num">{percent(r.attainment)}</td></tr> })
        .collect_view();
    let support = if support.is_empty() {
        view! { <p class="muted">{lang.t("team.nobody_under")}</p> }.into_any()
    } else {
        let rows = support
            .into_iter()
            .map(|(name, kpi, attained)| view! { <li><strong>{name}</strong>" — "{kpi}" "{attained}</li> })
            .collect_view();
        view! { <ul class="rules">{rows}</ul> }.into_any()
    };
    let challenges = if challenges.is_empty() {
        view! {
            <p class="muted" data-testid="team-challenges">
                {lang.t("home.no_running_challenges")}" "<a href="/challenges">{lang.t("home.start_challenge")}</a>
            </p>
        }
        .into_any()
    } else {
        let rows = challenges
            .into_iter()
            .map(|c| view! { <li><a href="/challenges">{c.name}</a>" — "{lang.t("home.leader")}": "{c.leader}</li> })
            .collect_view();
        view! { <ul class="rules" data-testid="team-challenges">{rows}</ul> }.into_any()
    };
    let wins = if wins.is_empty() {
        view! { <p class="muted" data-testid="team-wins">{lang.t("home.no_wins")}</p> }.into_any()
    } else {
        let rows = wins
            .into_iter()
            .map(|(when, name, amount)| view! { <li><span class="muted">{when}</span>" "<strong>{name}</strong>" "{amount}</li> })
            .collect_view();
        view! { <ul class="rules" data-testid="team-wins">{rows}</ul> }.into_any()
    };
    let flags_line = if flags == 0 {
        lang.t("home.no_flags")
    } else {
        domain::tr!(lang, "home.flags_open", n = flags, names = flagged.join(", ")).into_owned()
    };
    let elapsed_text = domain::tr!(lang, "home.elapsed", share = crate::format::percent(elapsed, 0, lang)).into_owned();
    view! {
        <TopBar user=me/>
        <main class="page" data-testid="team-home">
            <div class="heading"><h1>{team}</h1><p class="muted">{period}" · "{elapsed_text}</p><LiveStatus/></div>
            <h2>{lang.t("home.team_targets")}</h2>
            <ul class="goals" data-testid="team-targets">{goals(targets, lang)}</ul>
            <h2>{lang.t("home.standings")}</h2>
            <table class="board" data-testid="team-standings">
                <thead><tr><th>"#"</th><th>{lang.t("board.name")}</th><th class="num">{lang.t("home.revenue")}</th><th class="num">{lang.t("home.of_target")}</th></tr></thead>
                <tbody>{standings}</tbody>
            </table>
            <h2>{domain::tr!(lang, "team.needs_support", threshold = crate::format::percent(threshold, 0, lang)).into_owned()}</h2>
            <div data-testid="team-support">{support}</div>
            <p><a href="/team">{lang.t("home.team_details")}</a></p>
            <h2>{lang.t("home.running_challenges")}</h2>
            {challenges}
            <h2>{lang.t("home.recent_wins")}</h2>
            {wins}
            <h2>{lang.t("home.flags")}</h2>
            <p data-testid="team-flags">{flags_line}" "<a href="/flags">{lang.t("home.review_flags")}</a></p>
        </main>
    }
    .into_any()
}

#[component]
fn OrgHomePage(view: OrgHome) -> impl IntoView {
    let OrgHome { me, period, elapsed, targets, teams, without_team, unmanaged, displays, tokens } = view;
    let lang = crate::i18n::use_lang();
    let percent = move |a: Option<f64>| a.map(|a| crate::format::percent(a, 0, lang)).unwrap_or_else(|| "—".into());
    let teams = teams
        .into_iter()
        .map(|t| view! {
            <tr data-team=t.id>
                <td>{t.name}</td><td class="num">{t.reps}</td><td class="num">{t.revenue}</td>
                <td class="num">{t.target.unwrap_or_else(|| "—".into())}</td><td class="num">{percent(t.attainment)}</td>
            </tr>
        })
        .collect_view();
    let setup = |done: bool, text: String, href: &'static str| {
        view! { <li class:todo=!done><span aria-hidden="true">{if done { "✓" } else { "•" }}</span>" "<a href=href>{text}</a></li> }
    };
    let nobody = without_team.is_empty();
    let no_team = if nobody {
        lang.t("home.everyone_in_team")
    } else {
        let names: Vec<String> = without_team.iter().map(|(_, name, role)| format!("{name} ({role})")).collect();
        domain::tr!(lang, "home.without_team", n = without_team.len(), names = names.join(", ")).into_owned()
    };
    let managed = if unmanaged.is_empty() {
        lang.t("home.all_teams_managed")
    } else {
        domain::tr!(lang, "home.unmanaged", names = unmanaged.join(", ")).into_owned()
    };
    let elapsed_text = domain::tr!(lang, "home.elapsed", share = crate::format::percent(elapsed, 0, lang)).into_owned();
    view! {
        <TopBar user=me/>
        <main class="page" data-testid="org-home">
            <div class="heading"><h1>{lang.t("home.organisation")}</h1><p class="muted">{period}" · "{elapsed_text}</p><LiveStatus/></div>
            <h2>{lang.t("home.org_targets")}</h2>
            <ul class="goals" data-testid="org-targets">{goals(targets, lang)}</ul>
            <h2>{lang.t("nav.teams")}</h2>
            <table class="board" data-testid="org-teams">
                <thead><tr><th>{lang.t("board.name")}</th><th class="num">{lang.t("home.reps")}</th><th class="num">{lang.t("home.revenue")}</th><th class="num">{lang.t("home.target")}</th><th class="num">{lang.t("home.of_target")}</th></tr></thead>
                <tbody>{teams}</tbody>
            </table>
            <h2>{lang.t("home.setup")}</h2>
            <ul class="rules setup" data-testid="org-setup">
                {setup(nobody, no_team, "/users")}
                {setup(unmanaged.is_empty(), managed, "/teams")}
                {setup(displays > 0, domain::tr!(lang, "home.displays", n = displays).into_owned(), "/displays")}
                {setup(tokens > 0, domain::tr!(lang, "home.tokens", n = tokens).into_owned(), "/tokens")}
            </ul>
        </main>
    }
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
    let progress = goals(progress, lang);
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
            <div class="heading"><h1>{lang.t("home.title")}</h1><p class="muted">{period}</p><LiveStatus/></div>
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
