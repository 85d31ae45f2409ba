//! `/displays`: pairing TVs (enter the code a TV shows) and revoking them.
//! Managers and admins; a revoked TV blanks within seconds.

use crate::auth::CurrentUser;
use crate::components::{loaded, TopBar};
use crate::error::AppError;
use crate::pages::choices::{options, Choice};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisplayRow {
    pub id: i64,
    pub name: String,
    pub how: String,
    pub seen: String,
    pub revoked: bool,
    pub sound: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisplaysView {
    pub me: CurrentUser,
    pub rows: Vec<DisplayRow>,
    pub scopes: Vec<Choice>,
}

#[cfg(feature = "ssr")]
async fn manager() -> Result<CurrentUser, AppError> {
    let me = crate::auth::server::require_user().await?;
    if me.role == crate::auth::Role::Rep {
        return Err(crate::auth::server::forbidden("err.displays_managers").await);
    }
    Ok(me)
}

#[server(prefix = "/api", endpoint = "displays_view")]
pub async fn load_displays() -> Result<DisplaysView, AppError> {
    let me = manager().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let lang = crate::i18n::use_lang();
    let tz = store::settings::load(&pool).await.map_err(AppError::server)?.time_zone;
    let mine = services::access::displays_of(&me).unwrap_or(Some(String::new()));
    let rows = store::displays::list(&pool, mine.as_deref())
        .await
        .map_err(AppError::server)?
        .into_iter()
        .map(|d| DisplayRow {
            id: d.id,
            how: domain::tr!(lang, "displays.how", scope = d.scope, names = d.names, seconds = d.rotate_seconds)
                .into_owned(),
            seen: d
                .last_seen_at
                .map(|t| {
                    let t = t.with_timezone(&tz);
                    format!("{}:{}", crate::format::date_time(t, lang), t.format("%S"))
                })
                .unwrap_or_else(|| "—".into()),
            revoked: d.revoked_at.is_some(),
            sound: d.sound,
            name: d.name,
        })
        .collect();
    // A manager pairs displays of their own team only; an admin, of any team or everyone.
    let mut scopes = vec![Choice { value: "org".into(), label: lang.t("scope.everyone") }];
    scopes.extend(
        crate::pages::choices::team_and_region_scopes(&pool)
            .await?
            .into_iter()
            .filter(|c| c.value.starts_with("team:")),
    );
    scopes.retain(|c| services::access::may_manage_display(&me, &c.value));
    Ok(DisplaysView { me, rows, scopes })
}

#[server(prefix = "/api", endpoint = "pair_display")]
pub async fn pair_display(
    code: String,
    name: String,
    names: String,
    rotate_seconds: String,
    scope: String,
    sound: Option<String>,
) -> Result<i64, AppError> {
    let me = manager().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let rotate_seconds: i32 = rotate_seconds.trim().parse().map_err(|_| {
        crate::i18n::error(crate::i18n::Message::new("err.display_seconds").with("text", &rotate_seconds))
    })?;
    let sound = sound.as_deref() == Some("on");
    let new = store::displays::NewDisplay { code, name, names, rotate_seconds, scope, sound };
    match services::screens::pair_display(&pool, &me, &new).await {
        Ok(id) => Ok(id),
        Err(e) => Err(crate::pages::errors::refusals::screen(e).await),
    }
}

#[server(prefix = "/api", endpoint = "revoke_display")]
pub async fn revoke_display(id: i64) -> Result<(), AppError> {
    let me = manager().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    if let Err(e) = services::screens::revoke_display(&pool, &me, id).await {
        return Err(crate::pages::errors::refusals::screen(e).await);
    }
    Ok(())
}

/// Turns a display's won-deal chime on (`sound` = "true") or off.
#[server(prefix = "/api", endpoint = "display_sound")]
pub async fn set_display_sound(id: i64, sound: bool) -> Result<(), AppError> {
    let me = manager().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    match services::screens::set_display_sound(&pool, &me, id, sound).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(crate::i18n::error(crate::i18n::Message::new("err.no_display").with("id", id))),
        Err(e) => Err(crate::pages::errors::refusals::screen(e).await),
    }
}

#[component]
pub fn Displays() -> impl IntoView {
    let pair = ServerAction::<PairDisplay>::new();
    let revoke = ServerAction::<RevokeDisplay>::new();
    let sound = ServerAction::<SetDisplaySound>::new();
    let data = Resource::new(
        move || (pair.version().get(), revoke.version().get(), sound.version().get()),
        |_| load_displays(),
    );
    loaded(data, move |view| view! { <DisplaysPage view pair revoke sound/> })
}

#[component]
fn DisplaysPage(
    view: DisplaysView,
    pair: ServerAction<PairDisplay>,
    revoke: ServerAction<RevokeDisplay>,
    sound: ServerAction<SetDisplaySound>,
) -> impl IntoView {
    let DisplaysView { me, rows, scopes } = view;
    let lang = crate::i18n::use_lang();
    let rows = rows
        .into_iter()
        .map(|d| {
            let button = (!d.revoked).then(|| {
                view! {
                    <ActionForm action=revoke>
                        <input type="hidden" name="id" value=d.id.to_string()/>
                        <button type="submit" class="link">{lang.t("displays.revoke")}</button>
                    </ActionForm>
                }
            });
            let chime = (!d.revoked).then(|| {
                let (label, to) = if d.sound {
                    (format!("🔔 {}", lang.t("displays.sound_on")), "false")
                } else {
                    (format!("🔕 {}", lang.t("displays.sound_off")), "true")
                };
                view! {
                    <ActionForm action=sound>
                        <input type="hidden" name="id" value=d.id.to_string()/>
                        <input type="hidden" name="sound" value=to/>
                        <button type="submit" class="link" data-testid="display-sound">{label}</button>
                    </ActionForm>
                }
            });
            view! {
                <tr class:inactive=d.revoked data-display=d.id.to_string()>
                    <td>{d.name}</td><td>{d.how}</td><td>{d.seen}</td><td>{chime}</td><td>{button}</td>
                </tr>
            }
        })
        .collect_view();
    let name_modes = [("full", "board.names_full"), ("initials", "board.names_initials"), ("none", "board.names_none")]
        .into_iter()
        .map(|(value, key)| Choice { value: value.into(), label: lang.t(key) })
        .collect::<Vec<_>>();
    let error = move || {
        pair.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })
    };
    view! {
        <TopBar user=me/>
        <main class="page">
            <div class="heading"><h1>{lang.t("nav.displays")}</h1></div>
            <p class="muted">
                {lang.t("displays.intro")}
            </p>
            <table class="board" data-testid="displays">
                <thead><tr><th>{lang.t("displays.display")}</th><th>{lang.t("displays.shows")}</th><th>{lang.t("displays.last_seen")}</th><th>{lang.t("displays.sound")}</th><th></th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <ActionForm action=pair attr:class="card form" attr:data-testid="pair-display">
                <h2>{lang.t("displays.pair_title")}</h2>
                {error}
                <label>{lang.t("displays.code")}" " <input name="code" required autocomplete="off"/></label>
                <label>{lang.t("challenges.name")}" " <input name="name" required/></label>
                <label>{lang.t("displays.show")}" " <select name="scope">{options(scopes, "org")}</select></label>
                <label>{lang.t("board.names")}" " <select name="names">{options(name_modes, "full")}</select></label>
                <label>{lang.t("displays.seconds")}" " <input name="rotate_seconds" type="number" min="5" max="600" value="15"/></label>
                <label class="check">
                    <input type="checkbox" name="sound"/>
                    {lang.t("displays.chime")}
                </label>
                <button type="submit">{lang.t("displays.pair")}</button>
            </ActionForm>
        </main>
    }
}
