//! `/users` (admins; a manager sees their own team): every user with their id
//! (what the API and files name them by), role, team and whether they are
//! active; invite a user (a one-time link where they set their password),
//! change a user's role and team, deactivate and reactivate users.

use crate::auth::{CurrentUser, UserRow};
use crate::components::{loaded, TopBar};
use crate::error::AppError;
use crate::pages::choices::{options, Choice};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsersView {
    pub me: CurrentUser,
    pub rows: Vec<UserRow>,
    pub teams: Vec<Choice>,
}

#[cfg(feature = "ssr")]
async fn admin() -> Result<CurrentUser, AppError> {
    let me = crate::auth::server::require_user().await?;
    if me.role != crate::auth::Role::Admin {
        return Err(crate::auth::server::forbidden("err.users_admins").await);
    }
    Ok(me)
}

/// Admins, and managers for their own team (they invite reps into it).
#[cfg(feature = "ssr")]
async fn staff() -> Result<CurrentUser, AppError> {
    let me = crate::auth::server::require_user().await?;
    let team_manager = me.role == crate::auth::Role::Manager && me.team_id.is_some();
    if me.role != crate::auth::Role::Admin && !team_manager {
        return Err(crate::auth::server::forbidden("err.users_staff").await);
    }
    Ok(me)
}

#[server(prefix = "/api", endpoint = "users_view")]
pub async fn load_users() -> Result<UsersView, AppError> {
    let me = staff().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    // A manager sees and invites into their own team only.
    let only = if me.role == crate::auth::Role::Admin { None } else { me.team_id.clone() };
    let rows = store::users::list(&pool, only.as_deref()).await.map_err(AppError::server)?;
    let teams = store::directory::team_names(&pool, only.as_deref()).await.map_err(AppError::server)?;
    let mut choices = Vec::new();
    if only.is_none() {
        choices.push(Choice { value: String::new(), label: crate::i18n::tr("users.no_team") });
    }
    choices.extend(teams.into_iter().map(|(value, label)| Choice { value, label }));
    Ok(UsersView { me, rows, teams: choices })
}

/// Creates a user and returns their one-time invite link (a path).
#[server(prefix = "/api", endpoint = "invite_user")]
pub async fn invite_user(name: String, email: String, role: String, team: Option<String>) -> Result<String, AppError> {
    let me = staff().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let role = crate::auth::Role::parse(&role)
        .ok_or_else(|| crate::i18n::error(crate::i18n::Message::new("err.role").with("role", &role)))?;
    let team = team.filter(|t| !t.trim().is_empty());
    if !services::access::may_invite(&me, role, team.as_deref()) {
        return Err(crate::auth::server::forbidden("err.invite_own_team").await);
    }
    let (_, token) = store::users::invite(&pool, &me.id, &email, &name, role, team.as_deref())
        .await
        .map_err(crate::pages::errors::refusals::user)?;
    Ok(format!("/invite/{token}"))
}

/// A one-time link where the user sets a new password (the link of an invite);
/// using it ends every session they had. Returns the link's path.
#[server(prefix = "/api", endpoint = "reset_password_link")]
pub async fn reset_password_link(id: String) -> Result<String, AppError> {
    let me = admin().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    if store::users::find_active(&pool, &id).await?.is_none() {
        return Err(crate::i18n::error(crate::i18n::Message::new("err.no_user").with("id", &id)));
    }
    let token = store::users::new_invite(&pool, &me.id, &id).await?;
    Ok(format!("/invite/{token}"))
}

#[server(prefix = "/api", endpoint = "set_user_active")]
pub async fn set_user_active(id: String, active: bool) -> Result<(), AppError> {
    let me = admin().await?;
    if me.id == id && !active {
        return Err(crate::i18n::error("err.deactivate_self"));
    }
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    services::people::set_active(&pool, &id, active).await.map_err(crate::pages::errors::refusals::user)
}

/// Gives user `id` a new role and team (`team` empty: none). Admins only; a new
/// role ends the user's sessions, so a demotion holds from their next request.
#[server(prefix = "/api", endpoint = "change_user")]
pub async fn change_user(id: String, role: String, team: Option<String>) -> Result<(), AppError> {
    let me = crate::auth::server::require_user().await?;
    if !services::access::may_change_user(&me) {
        return Err(crate::auth::server::forbidden("err.change_user_admins").await);
    }
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let role = crate::auth::Role::parse(&role)
        .ok_or_else(|| crate::i18n::error(crate::i18n::Message::new("err.role").with("role", &role)))?;
    let team = team.filter(|t| !t.trim().is_empty());
    services::people::change_role_and_team(&pool, &id, role, team.as_deref())
        .await
        .map_err(crate::pages::errors::refusals::user)
}

#[component]
pub fn Users() -> impl IntoView {
    let invite = ServerAction::<InviteUser>::new();
    let activate = ServerAction::<SetUserActive>::new();
    let reset = ServerAction::<ResetPasswordLink>::new();
    let change = ServerAction::<ChangeUser>::new();
    let data = Resource::new(
        move || (invite.version().get(), activate.version().get(), change.version().get()),
        |_| load_users(),
    );
    loaded(data, move |view| view! { <UsersPage view invite activate reset change/> })
}

/// A role's name in the reader's language.
fn role_key(role: &str) -> &'static str {
    match role {
        "admin" => "users.role_admin",
        "manager" => "users.role_manager",
        _ => "users.role_rep",
    }
}

#[component]
fn UsersPage(
    view: UsersView,
    invite: ServerAction<InviteUser>,
    activate: ServerAction<SetUserActive>,
    reset: ServerAction<ResetPasswordLink>,
    change: ServerAction<ChangeUser>,
) -> impl IntoView {
    let UsersView { me, rows, teams } = view;
    let lang = crate::i18n::use_lang();
    let admin = me.role == crate::auth::Role::Admin;
    let all_roles = ["rep", "manager", "admin"]
        .into_iter()
        .map(|value| Choice { value: value.into(), label: lang.t(role_key(value)) })
        .collect::<Vec<_>>();
    let rows = rows
        .into_iter()
        .map(|u| {
            let state = lang.t(match (u.active, u.invited) {
                (false, _) => "users.deactivated",
                (true, true) => "users.invited",
                (true, false) => "users.active",
            });
            let (label, to) =
                if u.active { (lang.t("users.deactivate"), "false") } else { (lang.t("users.reactivate"), "true") };
            let email = u.email.clone();
            let (id, reset_id, change_id) = (u.id.clone(), u.id.clone(), u.id.clone());
            let form = format!("user-{}", u.id);
            // An admin changes role and team in the row; the others read them.
            let (role_cell, team_cell) = if admin {
                let (roles, teams) = (all_roles.clone(), teams.clone());
                let (role_form, team_form) = (form.clone(), form.clone());
                (
                    view! {
                        <ActionForm action=change attr:id=form.clone()>
                            <input type="hidden" name="id" value=change_id/>
                        </ActionForm>
                        <select form=role_form name="role" aria-label=lang.t("users.role")>
                            {options(roles, &u.role)}
                        </select>
                    }
                    .into_any(),
                    view! {
                        <select form=team_form name="team" aria-label=lang.t("nav.team")>
                            {options(teams, u.team_id.as_deref().unwrap_or_default())}
                        </select>
                    }
                    .into_any(),
                )
            } else {
                (lang.t(role_key(&u.role)).into_any(), u.team.clone().unwrap_or_else(|| "—".into()).into_any())
            };
            let save = admin.then(|| {
                view! { <button type="submit" form=form class="link" data-testid="change-user">{lang.t("common.save")}</button> }
            });
            let activate_form = admin.then(move || {
                view! {
                    <ActionForm action=activate>
                        <input type="hidden" name="id" value=id/>
                        <input type="hidden" name="active" value=to/>
                        <button type="submit" class="link">{label}</button>
                    </ActionForm>
                }
            });
            let reset_form = (admin && u.active && !u.invited).then(move || {
                view! {
                    <ActionForm action=reset>
                        <input type="hidden" name="id" value=reset_id/>
                        <button type="submit" class="link">{lang.t("users.reset")}</button>
                    </ActionForm>
                }
            });
            view! {
                <tr class:inactive=!u.active data-user=email>
                    <td>{u.name}</td><td><code data-testid="user-id">{u.id}</code></td><td>{u.email}</td>
                    <td>{role_cell}</td><td>{team_cell}</td><td>{state}</td>
                    <td>
                        {save}
                        {activate_form}
                        {reset_form}
                    </td>
                </tr>
            }
        })
        .collect_view();
    let roles = [("rep", "users.role_rep"), ("manager", "users.role_manager"), ("admin", "users.role_admin")]
        .into_iter()
        .filter(|(value, _)| admin || *value == "rep")
        .map(|(value, key)| Choice { value: value.into(), label: lang.t(key) })
        .collect::<Vec<_>>();
    let result = move || {
        invite.value().get().map(|r| match r {
            Ok(path) => {
                let link = window_origin() + &path;
                view! {
                    <p class="saved" role="status">
                        {lang.t("users.send_link")}
                    </p>
                    <code class="token" data-testid="invite-link">{link}</code>
                }
                .into_any()
            }
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        })
    };
    let reset_result = move || {
        reset.value().get().map(|r| match r {
            Ok(path) => view! {
                <p class="saved" role="status">{lang.t("users.send_reset")}</p>
                <code class="token" data-testid="reset-link">{window_origin() + &path}</code>
            }
            .into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        })
    };
    let activate_error = move || {
        activate
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })
    };
    let change_error = move || {
        change
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| view! { <p class="error" role="alert" data-testid="change-user-error">{e.to_string()}</p> })
    };
    view! {
        <TopBar user=me/>
        <main class="page">
            <div class="heading"><h1>{lang.t("nav.users")}</h1></div>
            {activate_error}
            {change_error}
            {reset_result}
            <table class="board" data-testid="users">
                <thead><tr>
                    <th>{lang.t("board.name")}</th><th>{lang.t("users.id")}</th><th>{lang.t("users.email")}</th>
                    <th>{lang.t("users.role")}</th>
                    <th>{lang.t("nav.team")}</th><th>{lang.t("rules.status")}</th><th></th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <ActionForm action=invite attr:class="card form" attr:data-testid="invite-user">
                <h2>{lang.t("users.invite_title")}</h2>
                <label>{lang.t("board.name")}" " <input name="name" required/></label>
                <label>{lang.t("users.email")}" " <input name="email" type="email" required/></label>
                <label>{lang.t("users.role")}" " <select name="role">{options(roles, "rep")}</select></label>
                <label>{lang.t("nav.team")}" " <select name="team">{options(teams, "")}</select></label>
                <button type="submit">{lang.t("users.invite")}</button>
            </ActionForm>
            {result}
        </main>
    }
}

/// `https://host` in the browser; empty on the server (the path alone still works).
fn window_origin() -> String {
    #[cfg(feature = "hydrate")]
    {
        window().location().origin().unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::new()
    }
}
