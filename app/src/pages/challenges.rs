//! `/challenges`: live standings of every challenge a user may see; managers
//! and admins create challenges (as drafts, visible only to them, or live) and launch drafts.

use crate::auth::{CurrentUser, Role};
use crate::components::{loaded, TopBar};
use crate::error::AppError;
use crate::pages::choices::{options, Choice};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StandingRow {
    pub rank: usize,
    pub name: String,
    pub value: String,
    pub winning: bool,
    /// A race: how far toward the goal, in % (100 and over: reached).
    pub progress: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChallengeCard {
    pub id: i64,
    pub name: String,
    pub what: String,
    pub status: String,
    pub dates: String,
    pub prize: String,
    pub can_launch: bool,
    /// Managers their own, admins any; never a finished one.
    pub can_edit: bool,
    pub kind: String,
    pub last_day: String,
    pub participants: Vec<String>,
    pub standings: Vec<StandingRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChallengesView {
    pub me: CurrentUser,
    pub cards: Vec<ChallengeCard>,
    pub reps: Vec<Choice>,
    pub teams: Vec<Choice>,
    pub bases: Vec<Choice>,
    pub today: String,
}

fn kind_label(kind: &str, lang: crate::i18n::Lang) -> String {
    lang.t(match kind {
        "race" => "challenges.kind_race",
        "top_n" => "challenges.kind_top_n",
        "head_to_head" => "challenges.kind_head_to_head",
        _ => "challenges.kind_team_vs_team",
    })
}

#[server(prefix = "/api", endpoint = "challenges_view")]
pub async fn load_challenges() -> Result<ChallengesView, AppError> {
    use services::challenges::{list, standings};

    let me = crate::auth::server::require_user().await?;
    let lang = crate::i18n::use_lang();
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let settings = store::settings::load(&pool).await.map_err(AppError::server)?;
    let tz = settings.time_zone;
    let mut cards = Vec::new();
    for c in list(&pool, &me).await.map_err(AppError::server)? {
        let unit = crate::kpi::find(&c.basis).map(|k| k.unit);
        let basis =
            crate::kpi::find(&c.basis).map(|k| k.name(lang).to_string()).unwrap_or_else(|| lang.t("nav.points"));
        let show = |v: Option<f64>| match unit {
            Some(u) => crate::format::kpi_value(v, u, &settings.currency, lang),
            None => v.map(|v| crate::format::number(v, 0, lang)).unwrap_or("—".into()),
        };
        let goal = match (c.kind.as_str(), c.goal, c.top_n) {
            ("race", Some(g), _) => format!(" · {} {}", lang.t("challenges.goal"), show(Some(g))),
            ("top_n", _, Some(n)) => format!(" · N = {n}"),
            _ => String::new(),
        };
        let rows = standings(&pool, &c).await.map_err(AppError::server)?;
        let last_day = c.ends_at.with_timezone(&tz) - chrono::Duration::seconds(1);
        cards.push(ChallengeCard {
            id: c.id,
            name: c.name.clone(),
            what: format!("{} · {basis}{goal}", kind_label(&c.kind, lang)),
            status: c.status.clone(),
            dates: format!(
                "{} — {}",
                crate::format::date(c.starts_at.with_timezone(&tz), lang),
                crate::format::date(last_day, lang)
            ),
            prize: c.prize.clone(),
            can_launch: c.status == "draft" && (me.role == Role::Admin || c.created_by == me.id),
            can_edit: c.status != "finished"
                && (me.role == Role::Admin || (me.role == Role::Manager && c.created_by == me.id)),
            kind: c.kind.clone(),
            last_day: last_day.date_naive().to_string(),
            participants: c.participants.clone(),
            standings: rows
                .into_iter()
                .map(|s| StandingRow {
                    rank: s.rank,
                    name: s.name,
                    value: show(s.value),
                    winning: s.winning,
                    progress: match (c.kind.as_str(), c.goal) {
                        ("race", Some(goal)) => Some(
                            crate::kpi::attainment(store::challenges::better_of(&c.basis), s.value, Some(goal))
                                .unwrap_or(0.0),
                        ),
                        _ => None,
                    },
                })
                .collect(),
        });
    }
    let reps: Vec<(String, String)> = match me.role {
        Role::Rep => Vec::new(),
        // A manager with no team yet has nobody to enter.
        Role::Manager => match me.team_id.as_deref() {
            Some(team) => store::directory::reps(&pool, store::directory::Reps { team: Some(team), active_only: true })
                .await
                .map_err(AppError::server)?,
            None => Vec::new(),
        },
        Role::Admin => store::directory::reps(&pool, store::directory::Reps { team: None, active_only: true })
            .await
            .map_err(AppError::server)?,
    };
    let teams = store::directory::team_names(&pool, None).await.map_err(AppError::server)?;
    let mut bases = vec![Choice { value: "points".into(), label: lang.t("nav.points") }];
    bases.extend(
        crate::kpi::KPIS
            .iter()
            .filter(|k| k.applies_to(crate::kpi::ScopeKind::Rep) && k.better != crate::kpi::Better::None)
            .map(|k| Choice { value: k.id.into(), label: k.name(lang).into() }),
    );
    let choice = |(value, label): (String, String)| Choice { value, label };
    Ok(ChallengesView {
        today: crate::clock::now().with_timezone(&tz).date_naive().to_string(),
        me,
        cards,
        reps: reps.into_iter().map(choice).collect(),
        teams: teams.into_iter().map(choice).collect(),
        bases,
    })
}

/// Creates a challenge from the form. Dates are the first and last day, in
/// the organisation's time zone; `participants` maps ids to "on" (checkboxes).
#[server(prefix = "/api", endpoint = "create_challenge")]
#[allow(clippy::too_many_arguments)]
pub async fn create_challenge(
    name: String,
    kind: String,
    basis: String,
    goal: Option<String>,
    top_n: Option<String>,
    first_day: String,
    last_day: String,
    participants: HashMap<String, String>,
    prize: Option<String>,
    launch: Option<String>,
) -> Result<i64, AppError> {
    use crate::i18n::Message;
    use crate::pages::errors::refusals;
    use services::challenges::{create, finish_due, NewChallenge};

    let me = crate::auth::server::require_user().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let tz = store::settings::load(&pool).await.map_err(AppError::server)?.time_zone;
    let lang = crate::i18n::use_lang();
    let day = |label: &str, text: &str| {
        chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
            crate::i18n::error(Message::new("err.not_a_date").with("field", lang.t(label)).with("text", text))
        })
    };
    let number = |label: &str, text: Option<String>| -> Result<Option<f64>, AppError> {
        match text.map(|t| t.trim().replace(',', ".").replace([' ', '\u{a0}'], "")).filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(t) => t.parse().map(Some).map_err(|_| {
                crate::i18n::error(Message::new("err.not_a_number").with("field", lang.t(label)).with("text", &t))
            }),
        }
    };
    let new = NewChallenge {
        name,
        kind,
        basis,
        goal: number("challenges.goal", goal)?,
        top_n: number("challenges.top_n", top_n)?.map(|n| n as i32),
        starts_at: crate::period::local_midnight(day("challenges.first_day", &first_day)?, tz),
        ends_at: crate::period::local_midnight(day("challenges.last_day", &last_day)? + chrono::Duration::days(1), tz),
        participants: participants
            .into_iter()
            .filter(|(id, on)| !id.is_empty() && on == "on")
            .map(|(id, _)| id)
            .collect(),
        prize: prize.unwrap_or_default(),
        launch: launch.as_deref() == Some("on"),
    };
    let id = match create(&pool, &me, &new).await {
        Ok(id) => id,
        Err(e) => return Err(refusals::challenge(e).await),
    };
    finish_due(&pool).await.map_err(AppError::server)?;
    Ok(id)
}

/// Edits a challenge from its card's form: name, last day (organisation time
/// zone), prize and, for a draft, participants (`participants` absent: kept).
#[server(prefix = "/api", endpoint = "edit_challenge")]
pub async fn edit_challenge(
    id: i64,
    name: String,
    last_day: String,
    prize: Option<String>,
    participants: Option<HashMap<String, String>>,
) -> Result<(), AppError> {
    use crate::i18n::Message;
    use crate::pages::errors::refusals;
    use services::challenges::{edit, get, ChallengeEdit};
    let me = crate::auth::server::require_user().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let tz = store::settings::load(&pool).await.map_err(AppError::server)?.time_zone;
    let c = match get(&pool, &me, id).await {
        Ok(c) => c,
        Err(e) => return Err(refusals::challenge(e).await),
    };
    let day = chrono::NaiveDate::parse_from_str(last_day.trim(), "%Y-%m-%d")
        .map_err(|_| crate::i18n::error(Message::new("err.last_day").with("text", &last_day)))?;
    // An unchanged last day keeps the exact end (an API-made challenge may not end at midnight).
    let old_day = (c.ends_at.with_timezone(&tz) - chrono::Duration::seconds(1)).date_naive();
    let ends_at =
        if day == old_day { c.ends_at } else { crate::period::local_midnight(day + chrono::Duration::days(1), tz) };
    let participants = participants
        .map(|p| p.into_iter().filter(|(id, on)| !id.is_empty() && on == "on").map(|(id, _)| id).collect::<Vec<_>>());
    let e = ChallengeEdit { name, ends_at, prize: prize.unwrap_or_default(), participants };
    match edit(&pool, &me, id, &e).await {
        Ok(()) => Ok(()),
        Err(e) => Err(refusals::challenge(e).await),
    }
}

#[server(prefix = "/api", endpoint = "launch_challenge")]
pub async fn launch_challenge(id: i64) -> Result<(), AppError> {
    use crate::pages::errors::refusals;
    use services::challenges::launch;
    let me = crate::auth::server::require_user().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    match launch(&pool, &me, id).await {
        Ok(()) => Ok(()),
        Err(e) => Err(refusals::challenge(e).await),
    }
}

#[component]
pub fn Challenges() -> impl IntoView {
    let create = ServerAction::<CreateChallenge>::new();
    let launch = ServerAction::<LaunchChallenge>::new();
    let edit = ServerAction::<EditChallenge>::new();
    let data = Resource::new(
        move || (create.version().get(), launch.version().get(), edit.version().get()),
        |_| load_challenges(),
    );
    loaded(data, move |view| view! { <ChallengesPage view create launch edit/> })
}

#[component]
fn ChallengesPage(
    view: ChallengesView,
    create: ServerAction<CreateChallenge>,
    launch: ServerAction<LaunchChallenge>,
    edit: ServerAction<EditChallenge>,
) -> impl IntoView {
    let ChallengesView { me, cards, reps, teams, bases, today } = view;
    let lang = crate::i18n::use_lang();
    let edit_error = move || {
        edit.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })
    };
    let can_create = me.role != Role::Rep;
    let empty = cards.is_empty();
    let cards = cards
        .into_iter()
        .map(|c| {
            let status = lang.t(match c.status.as_str() {
                "draft" => "challenges.status_draft",
                "live" => "challenges.status_live",
                _ => "challenges.status_finished",
            });
            let rows = c
                .standings
                .into_iter()
                .map(|s| {
                    // A race shows each participant's way to the goal.
                    let progress = s.progress.map(|p| {
                        let width = p.clamp(0.0, 100.0);
                        view! {
                            <td class="race">
                                <div class="progress" role="progressbar" aria-label=lang.t("challenges.to_goal")
                                     aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{width:.0}")>
                                    <span style=format!("width: {width:.1}%")></span>
                                </div>
                                <span class="muted">{crate::format::percent(p, 0, lang)}</span>
                            </td>
                        }
                    });
                    view! {
                        <tr class:winning=s.winning>
                            <td class="rank">{s.rank}</td>
                            <td>{s.name}{s.winning.then_some(" 🏆")}</td>
                            <td class="num">{s.value}</td>
                            {progress}
                        </tr>
                    }
                })
                .collect_view();
            let launch_form = c.can_launch.then(|| {
                view! {
                    <ActionForm action=launch>
                        <input type="hidden" name="id" value=c.id.to_string()/>
                        <button type="submit">{lang.t("challenges.launch")}</button>
                    </ActionForm>
                }
            });
            let (edit_name, edit_prize, edit_day) = (c.name.clone(), c.prize.clone(), c.last_day.clone());
            let edit_form = c.can_edit.then(|| {
                let boxes = (c.status == "draft").then(|| {
                    let choices = if c.kind == "team_vs_team" { teams.clone() } else { reps.clone() };
                    let boxes = choices
                        .into_iter()
                        .map(|p| {
                            let on = c.participants.contains(&p.value);
                            view! {
                                <label class="check">
                                    <input type="checkbox" name=format!("participants[{}]", p.value) checked=on/>
                                    {p.label}
                                </label>
                            }
                        })
                        .collect_view();
                    view! {
                        <input type="hidden" name="participants[_]" value=""/>
                        <fieldset><legend>{lang.t("challenges.participants")}</legend>{boxes}</fieldset>
                    }
                });
                view! {
                    <details class="edit">
                        <summary>{lang.t("challenges.edit")}</summary>
                        <ActionForm action=edit attr:class="form" attr:data-testid="edit-challenge">
                            <input type="hidden" name="id" value=c.id.to_string()/>
                            <label>{lang.t("challenges.name")}" " <input name="name" required value=edit_name/></label>
                            <label>{lang.t("challenges.last_day")}" " <input name="last_day" type="date" required value=edit_day/></label>
                            <label>{lang.t("challenges.prize")}" " <input name="prize" value=edit_prize/></label>
                            {boxes}
                            <button type="submit">{lang.t("common.save")}</button>
                        </ActionForm>
                    </details>
                }
            });
            view! {
                <article class=format!("card challenge {}", c.status) data-challenge=c.id.to_string()>
                    <h2>{c.name}</h2>
                    <p class="muted">{c.what}</p>
                    <p><span class="status">{status}</span>" · "{c.dates}</p>
                    {(!c.prize.is_empty()).then(|| view! { <p>{format!("{}: {}", lang.t("challenges.prize"), c.prize)}</p> })}
                    <table class="board"><tbody>{rows}</tbody></table>
                    {launch_form}
                    {edit_form}
                </article>
            }
        })
        .collect_view();
    let form = can_create.then(|| {
        let kinds = vec![
            Choice { value: "top_n".into(), label: kind_label("top_n", lang) },
            Choice { value: "race".into(), label: kind_label("race", lang) },
            Choice { value: "head_to_head".into(), label: kind_label("head_to_head", lang) },
            Choice { value: "team_vs_team".into(), label: kind_label("team_vs_team", lang) },
        ];
        let boxes = |choices: Vec<Choice>| {
            choices
                .into_iter()
                .map(|c| {
                    view! {
                        <label class="check">
                            <input type="checkbox" name=format!("participants[{}]", c.value)/>
                            {c.label}
                        </label>
                    }
                })
                .collect_view()
        };
        let (reps, teams) = (boxes(reps), boxes(teams));
        let error = move || {
            create.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })
        };
        view! {
            <ActionForm action=create attr:class="card form" attr:data-testid="new-challenge">
                <h2>{lang.t("challenges.new")}</h2>
                {error}
                <label>{lang.t("challenges.name")}" " <input name="name" required/></label>
                <label>{lang.t("challenges.kind")}" " <select name="kind">{options(kinds, "top_n")}</select></label>
                <label>{lang.t("challenges.basis")}" " <select name="basis">{options(bases, "points")}</select></label>
                <label>{lang.t("challenges.race_target")}" " <input name="goal" inputmode="decimal"/></label>
                <label>{lang.t("challenges.top_n")}" " <input name="top_n" type="number" min="1" value="3"/></label>
                <label>{lang.t("challenges.first_day")}" " <input name="first_day" type="date" required value=today.clone()/></label>
                <label>{lang.t("challenges.last_day")}" " <input name="last_day" type="date" required value=today.clone()/></label>
                <input type="hidden" name="participants[_]" value=""/>
                <fieldset><legend>{lang.t("challenges.participants")}</legend>{reps}</fieldset>
                <fieldset><legend>{lang.t("challenges.teams")}</legend>{teams}</fieldset>
                <label>{lang.t("challenges.prize")}" " <input name="prize"/></label>
                <label class="check"><input type="checkbox" name="launch"/>{lang.t("challenges.launch_now")}</label>
                <button type="submit">{lang.t("challenges.create")}</button>
            </ActionForm>
        }
    });
    view! {
        <TopBar user=me/>
        <main class="page">
            <div class="heading"><h1>{lang.t("nav.challenges")}</h1></div>
            {empty.then(|| view! { <p class="muted">{lang.t("challenges.none")}</p> })}
            {edit_error}
            <section class="challenges" data-testid="challenges">{cards}</section>
            {form}
        </main>
    }
}
