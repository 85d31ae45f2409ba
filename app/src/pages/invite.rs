//! `/invite/{token}`: an invited user sets their password (the link works
//! once, for 7 days) and is signed in.

use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// The invitee's name, or an error when the link is unknown, used or expired.
#[server(prefix = "/api", endpoint = "invite_view")]
pub async fn load_invite(token: String) -> Result<String, AppError> {
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    match store::users::invited_user(&pool, &token).await.map_err(AppError::server)? {
        Some(user) => Ok(user.name),
        None => Err(crate::i18n::error("err.invite_unknown")),
    }
}

/// Sets the password, spends the invite and signs the browser in.
#[server(prefix = "/api", endpoint = "accept_invite")]
pub async fn accept_invite(token: String, password: String, repeat: String) -> Result<(), AppError> {
    if password != repeat {
        return Err(crate::i18n::error("err.passwords_differ"));
    }
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let user =
        store::users::accept_invite(&pool, &token, password).await.map_err(crate::pages::errors::refusals::user)?;
    crate::auth::server::start_session(&user.id).await?;
    leptos_axum::redirect("/");
    Ok(())
}

#[component]
pub fn Invite() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let accept = ServerAction::<AcceptInvite>::new();
    let data = Resource::new(token, load_invite);
    let error = move || {
        accept.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })
    };
    let lang = crate::i18n::use_lang();
    view! {
        <main class="page narrow">
            <h1>{lang.t("invite.title")}</h1>
            <Transition fallback=move || view! { <p class="muted">{lang.t("common.loading")}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(name) => view! {
                            <p>{domain::tr!(lang, "invite.hello", name = name).into_owned()}</p>
                            {error}
                            <ActionForm action=accept attr:class="card form" attr:data-testid="accept-invite">
                                <input type="hidden" name="token" value=token()/>
                                <label>{lang.t("login.password")}" " <input name="password" type="password" required minlength="8" autocomplete="new-password"/></label>
                                <label>{lang.t("invite.repeat")}" " <input name="repeat" type="password" required minlength="8" autocomplete="new-password"/></label>
                                <button type="submit">{lang.t("invite.save")}</button>
                            </ActionForm>
                        }
                        .into_any(),
                        // A link used, expired or mistyped: what happened and what to do, as a page of its own.
                        Err(e) => view! {
                            <section class="card error-page" data-testid="invite-gone">
                                <h2>{lang.t("invite.gone")}</h2>
                                <p class="error" role="alert">{e.to_string()}</p>
                                <p><a href="/login">{lang.t("login.submit")}</a></p>
                            </section>
                        }
                        .into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}
