//! `/badges`: the badge catalogue, with what a rep has earned (when, and the
//! records that earned it) and what is still open. Badges are public in the organisation.

use crate::auth::CurrentUser;
use crate::components::{loaded, TopBar};
use crate::error::AppError;
use crate::pages::choices::{options, Choice};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BadgeCard {
    pub id: String,
    pub icon: String,
    pub name: String,
    pub description: String,
    /// When earned, with what earned it.
    pub earned: Option<(String, String, Vec<String>)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BadgesView {
    pub me: CurrentUser,
    pub user: String,
    pub user_name: String,
    pub people: Vec<Choice>,
    pub cards: Vec<BadgeCard>,
}

#[server(prefix = "/api", endpoint = "badges_view")]
pub async fn load_badges(user: Option<String>) -> Result<BadgesView, AppError> {
    let me = crate::auth::server::require_user().await?;
    let lang = crate::i18n::use_lang();
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let user = user.filter(|u| !u.is_empty()).unwrap_or_else(|| me.id.clone());
    let user_name: String = store::directory::user_name(&pool, &user)
        .await
        .map_err(AppError::server)?
        .ok_or_else(|| crate::i18n::error(crate::i18n::Message::new("err.no_such_user").with("id", &user)))?;
    let tz = store::settings::load(&pool).await.map_err(AppError::server)?.time_zone;
    let awards = store::badges::of_user(&pool, &user).await.map_err(AppError::server)?;
    let earned = |a: &store::badges::Award| {
        (
            crate::format::date(a.earned_at.with_timezone(&tz), lang),
            crate::badges::detail_in(&a.detail, lang),
            a.records
                .iter()
                .map(|r| format!("{} {}", lang.word(&format!("record.{}", r.kind), &r.kind), r.id))
                .collect::<Vec<_>>(),
        )
    };
    let mut cards: Vec<BadgeCard> = crate::badges::CATALOGUE
        .iter()
        .map(|b| BadgeCard {
            id: b.id.into(),
            icon: b.icon.into(),
            name: lang.pick(b.name_ru, b.name_en).into(),
            description: lang.pick(b.description_ru, b.description_en).into(),
            earned: awards.iter().find(|a| a.badge == b.id).map(earned),
        })
        .collect();
    // Challenge wins first: they are the rarest.
    let wins = awards.iter().filter(|a| a.badge.starts_with("challenge:")).map(|a| BadgeCard {
        id: a.badge.clone(),
        icon: a.icon.clone(),
        name: lang.pick(&a.name_ru, &a.name_en).into(),
        description: crate::badges::detail_in(&a.detail, lang),
        earned: Some(earned(a)),
    });
    cards.splice(0..0, wins);
    cards.sort_by_key(|c| c.earned.is_none());
    let people: Vec<(String, String)> =
        store::directory::reps(&pool, store::directory::Reps { team: None, active_only: true })
            .await
            .map_err(AppError::server)?;
    Ok(BadgesView {
        me,
        user,
        user_name,
        people: people.into_iter().map(|(value, label)| Choice { value, label }).collect(),
        cards,
    })
}

#[component]
pub fn Badges() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(move || query.read().get("user"), load_badges);
    loaded(data, |view| view! { <BadgesPage view/> })
}

#[component]
fn BadgesPage(view: BadgesView) -> impl IntoView {
    let BadgesView { me, user, user_name, people, cards } = view;
    let lang = crate::i18n::use_lang();
    let earned_count = cards.iter().filter(|c| c.earned.is_some()).count();
    let total = cards.len();
    let cards = cards
        .into_iter()
        .map(|c| {
            let got = c.earned.is_some();
            let detail = c.earned.map(|(when, detail, records)| {
                view! {
                    <p class="earned">{domain::tr!(lang, "badges.earned", when = when).into_owned()}</p>
                    <p class="detail">{detail}</p>
                    <p class="records">{records.join(", ")}</p>
                }
            });
            view! {
                <li class=if got { "badge earned" } else { "badge locked" } data-badge=c.id>
                    <span class="icon" aria-hidden="true">{c.icon}</span>
                    <h3>{c.name}</h3>
                    <p>{c.description}</p>
                    {detail}
                </li>
            }
        })
        .collect_view();
    view! {
        <TopBar user=me/>
        <main class="page">
            <div class="heading">
                <h1>{format!("{} · {user_name}", lang.t("nav.badges"))}</h1>
                <p class="muted" data-testid="badge-count">{domain::tr!(lang, "badges.count", n = earned_count, of = total).into_owned()}</p>
            </div>
            <form method="get" action="/badges" class="filters">
                <label>{lang.t("scope.rep")}" " <select name="user">{options(people, &user)}</select></label>
                <button type="submit" class="secondary">{lang.t("board.show")}</button>
            </form>
            <ul class="badges" data-testid="badges">{cards}</ul>
        </main>
    }
}
