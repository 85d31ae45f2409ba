//! `/teams` (admins): teams with their region and managers (by name); create
//! a team, rename it, move it to another region, change its manager.

use crate::auth::CurrentUser;
use crate::components::{loaded, TopBar};
use crate::error::AppError;
use crate::pages::choices::{options, Choice};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamRow {
    pub id: String,
    pub name: String,
    pub region: String,
    /// The manager the select shows: the one the team names, else the one manager in it.
    pub manager: String,
    /// The names of the team's managers.
    pub managers: Vec<String>,
    pub reps: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamsView {
    pub me: CurrentUser,
    pub rows: Vec<TeamRow>,
    pub managers: Vec<Choice>,
}

#[cfg(feature = "ssr")]
async fn admin() -> Result<CurrentUser, AppError> {
    let me = crate::auth::server::require_user().await?;
    if me.role != crate::auth::Role::Admin {
        return Err(crate::auth::server::forbidden("err.teams_admins").await);
    }
    Ok(me)
}

#[server(prefix = "/api", endpoint = "teams_view")]
pub async fn load_teams() -> Result<TeamsView, AppError> {
    let me = admin().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let rows = store::teams::list(&pool)
        .await
        .map_err(AppError::server)?
        .into_iter()
        .map(|t| TeamRow {
            id: t.id,
            name: t.name,
            region: t.region,
            manager: t.manager.unwrap_or_default(),
            managers: t.managers,
            reps: t.reps,
        })
        .collect();
    let mut managers = vec![Choice { value: String::new(), label: "—".into() }];
    managers.extend(
        store::teams::managers(&pool)
            .await
            .map_err(AppError::server)?
            .into_iter()
            .map(|(value, label)| Choice { value, label }),
    );
    Ok(TeamsView { me, rows, managers })
}

/// Creates a team (`create` = "true") or changes one.
#[server(prefix = "/api", endpoint = "save_team")]
pub async fn save_team(
    create: bool,
    id: String,
    name: String,
    region: String,
    manager: Option<String>,
) -> Result<(), AppError> {
    admin().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    services::screens::save_team(&pool, create, &id, &name, &region, manager.as_deref()).await.map_err(|e| match e {
        store::teams::TeamError::Invalid(m) => crate::i18n::error(m),
        e => AppError::server(e),
    })
}

#[component]
pub fn Teams() -> impl IntoView {
    let save = ServerAction::<SaveTeam>::new();
    let data = Resource::new(move || save.version().get(), |_| load_teams());
    loaded(data, move |view| view! { <TeamsPage view save/> })
}

#[component]
fn TeamsPage(view: TeamsView, save: ServerAction<SaveTeam>) -> impl IntoView {
    let TeamsView { me, rows, managers } = view;
    let lang = crate::i18n::use_lang();
    let rows = rows
        .into_iter()
        .map(|t| {
            let form = format!("team-{}", t.id);
            let hidden_id = t.id.clone();
            let names = if t.managers.is_empty() { "—".to_string() } else { t.managers.join(", ") };
            view! {
                <tr data-team=t.id.clone()>
                    <td>
                        <ActionForm action=save attr:id=form.clone()>
                            <input type="hidden" name="create" value="false"/>
                            <input type="hidden" name="id" value=hidden_id/>
                        </ActionForm>
                        <code>{t.id.clone()}</code>
                    </td>
                    <td><input form=form.clone() name="name" required value=t.name aria-label=lang.t("challenges.name")/></td>
                    <td><input form=form.clone() name="region" required value=t.region aria-label=lang.t("scope.region")/></td>
                    <td data-testid="team-managers">{names}</td>
                    <td>
                        <select form=form.clone() name="manager" aria-label=lang.t("teams.set_manager")>
                            {options(managers.clone(), &t.manager)}
                        </select>
                    </td>
                    <td class="num">{t.reps}</td>
                    <td><button type="submit" form=form class="link">{lang.t("common.save")}</button></td>
                </tr>
            }
        })
        .collect_view();
    let error = move || {
        save.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })
    };
    view! {
        <TopBar user=me/>
        <main class="page">
            <div class="heading"><h1>{lang.t("teams.title")}</h1></div>
            {error}
            <table class="board" data-testid="teams">
                <thead><tr>
                    <th>"Id"</th><th>{lang.t("challenges.name")}</th><th>{lang.t("scope.region")}</th>
                    <th>{lang.t("teams.managers")}</th><th>{lang.t("teams.set_manager")}</th>
                    <th>{lang.t("teams.reps")}</th><th></th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <ActionForm action=save attr:class="card form" attr:data-testid="new-team">
                <h2>{lang.t("teams.new")}</h2>
                <input type="hidden" name="create" value="true"/>
                <label>{lang.t("teams.id")}" " <input name="id" required placeholder="t-north"/></label>
                <label>{lang.t("challenges.name")}" " <input name="name" required/></label>
                <label>{lang.t("scope.region")}" " <input name="region" required/></label>
                <label>{lang.t("users.role_manager")}" " <select name="manager">{options(managers, "")}</select></label>
                <button type="submit">{lang.t("challenges.create")}</button>
            </ActionForm>
        </main>
    }
}
