//! `/account`: any signed-in user changes their own password. Every other
//! session of theirs ends; this browser stays signed in.

use crate::auth::CurrentUser;
use crate::components::{loaded, TopBar};
use crate::error::AppError;
use leptos::prelude::*;

#[server(prefix = "/api", endpoint = "account_view")]
pub async fn load_account() -> Result<CurrentUser, AppError> {
    crate::auth::server::require_user().await
}

/// Checks the current password (guesses spend the sign-in budget), sets the new
/// one, ends the user's other sessions and keeps this browser signed in.
#[server(prefix = "/api", endpoint = "change_password")]
pub async fn change_password(current: String, new: String) -> Result<(), AppError> {
    use store::users;
    let me = crate::auth::server::require_user().await?;
    let pool = expect_context::<crate::state::AppState>().pool;
    let checked = crate::auth::server::check_password(&pool, &me.email.to_lowercase(), current).await?;
    if checked.is_none() {
        return Err(crate::i18n::error("err.wrong_current_password"));
    }
    users::change_password(&pool, &me.id, new).await.map_err(crate::pages::errors::refusals::user)?;
    // A new session id, with the new epoch: this browser stays, every other session has ended.
    crate::auth::server::start_session(&me.id).await
}

#[component]
pub fn Account() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let data = Resource::new(|| (), |_| load_account());
    loaded(data, move |me| view! { <AccountPage me change/> })
}

#[component]
fn AccountPage(me: CurrentUser, change: ServerAction<ChangePassword>) -> impl IntoView {
    let lang = crate::i18n::use_lang();
    let result = move || {
        change.value().get().map(|r| match r {
            Ok(()) => {
                view! { <p class="saved" role="status" data-testid="password-changed">{lang.t("account.changed")}</p> }
                    .into_any()
            }
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        })
    };
    view! {
        <TopBar user=me/>
        <main class="page narrow">
            <div class="heading"><h1>{lang.t("account.title")}</h1></div>
            {result}
            <ActionForm action=change attr:class="card form" attr:data-testid="change-password">
                <label>{lang.t("account.current")}" " <input name="current" type="password" required autocomplete="current-password"/></label>
                <label>{lang.t("account.new")}" " <input name="new" type="password" required minlength="8" autocomplete="new-password"/></label>
                <button type="submit">{lang.t("account.change")}</button>
            </ActionForm>
        </main>
    }
}
