//! `/account`: any signed-in user changes their own password (every other session of theirs
//! ends; this browser stays signed in) and connects their own Telegram chat for personal news.

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
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let checked = crate::auth::server::check_password(&pool, &me.email.to_lowercase(), current).await?;
    if checked.is_none() {
        return Err(crate::i18n::error("err.wrong_current_password"));
    }
    users::change_password(&pool, &me.id, new).await.map_err(crate::pages::errors::refusals::user)?;
    // A new session id, with the new epoch: this browser stays, every other session has ended.
    crate::auth::server::start_session(&me.id).await
}

/// The user's own Telegram chat, through the organisation's bot.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TelegramStatus {
    /// The organisation has a bot to bind through.
    pub available: bool,
    pub bot: String,
    /// Waiting for `/start CODE`.
    pub code: Option<String>,
    /// The bound chat's name.
    pub chat: Option<String>,
}

#[server(prefix = "/api", endpoint = "my_telegram")]
pub async fn my_telegram() -> Result<TelegramStatus, AppError> {
    let me = crate::auth::server::require_user().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let bot = store::notify::org_bot(&pool).await.map_err(AppError::server)?;
    let mine = notify::setup::mine(&pool, &me).await.map_err(|e| AppError::server(e.to_string()))?;
    let text = |c: &store::notify::ChannelRow, k: &str| c.settings.get(k).and_then(|v| v.as_str()).map(str::to_string);
    Ok(TelegramStatus {
        available: bot.is_some(),
        bot: bot.as_ref().and_then(|b| text(b, "bot")).unwrap_or_default(),
        code: mine.as_ref().and_then(|c| c.bind_code.clone()),
        chat: mine
            .as_ref()
            .filter(|c| c.settings.get("chat").is_some())
            .map(|c| text(c, "chat_title").unwrap_or_default()),
    })
}

#[server(prefix = "/api", endpoint = "bind_my_telegram")]
pub async fn bind_my_telegram() -> Result<(), AppError> {
    let me = crate::auth::server::require_user().await?;
    let state = expect_context::<crate::state::AppState>();
    let lang = crate::i18n::use_lang();
    match notify::setup::bind_mine(&state.pool, &state.notify, &me, lang.code()).await {
        Ok(_) => Ok(()),
        Err(notify::setup::SetupError::Db(e)) => Err(AppError::server(e)),
        Err(e) => Err(crate::i18n::error(crate::i18n::Message::new("notify.failed").with("why", e.to_string()))),
    }
}

#[server(prefix = "/api", endpoint = "unbind_my_telegram")]
pub async fn unbind_my_telegram() -> Result<(), AppError> {
    let me = crate::auth::server::require_user().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    notify::setup::unbind_mine(&pool, &me).await.map_err(|e| AppError::server(e.to_string()))
}

/// The rep's own Telegram chat. Its resource is made by the page, outside the account's
/// `Transition`: one made while that resolves left the server's stream open now and then (the
/// page never finished loading).
#[component]
fn MyTelegramCard(data: Resource<Result<TelegramStatus, AppError>>, changed: RwSignal<u64>) -> impl IntoView {
    let lang = crate::i18n::use_lang();
    let bind = Action::new(move |_: &()| async move {
        bind_my_telegram().await?;
        changed.update(|c| *c += 1);
        Ok::<(), AppError>(())
    });
    let unbind = Action::new(move |_: &()| async move {
        unbind_my_telegram().await?;
        changed.update(|c| *c += 1);
        Ok::<(), AppError>(())
    });
    // While a code waits, look again every 2 seconds.
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            if let Ok(handle) = set_interval_with_handle(
                move || {
                    if data.get_untracked().and_then(|r| r.ok()).is_some_and(|t| t.code.is_some()) {
                        changed.update(|c| *c += 1);
                    }
                },
                std::time::Duration::from_secs(2),
            ) {
                on_cleanup(move || handle.clear());
            }
        }
    });
    let error = move || {
        bind.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })
    };
    let state = move || {
        data.get().and_then(|r| r.ok()).map(|t| match (t.available, t.code, t.chat) {
            (false, None, None) => view! { <p class="hint">{lang.t("account.telegram_none")}</p> }.into_any(),
            (_, Some(code), _) => {
                let link = format!("https://t.me/{}?start={code}", t.bot);
                view! {
                    <p class="notice" data-testid="my-telegram-code">
                        {crate::i18n::Message::new("account.telegram_code").with("bot", &t.bot).with("code", &code).in_lang(lang)}" "
                        <a href=link target="_blank" rel="noopener">{lang.t("notify.bind_link")}</a>
                    </p>
                }
                .into_any()
            }
            (_, None, Some(chat)) => view! {
                <p data-testid="my-telegram-bound">{crate::i18n::Message::new("account.telegram_bound").with("chat", chat).in_lang(lang)}</p>
                <button type="button" on:click=move |_| { unbind.dispatch(()); }>{lang.t("account.telegram_off")}</button>
            }
            .into_any(),
            (true, None, None) => view! {
                <button type="button" data-testid="my-telegram-connect" on:click=move |_| { bind.dispatch(()); }>
                    {lang.t("account.telegram_connect")}
                </button>
            }
            .into_any(),
        })
    };
    view! {
        <section class="card" data-testid="my-telegram">
            <h2>{lang.t("account.telegram")}</h2>
            <p class="hint">{lang.t("account.telegram_hint")}</p>
            <Transition>{state}</Transition>
            {error}
        </section>
    }
}

#[component]
pub fn Account() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let data = Resource::new(|| (), |_| load_account());
    let changed = RwSignal::new(0u64);
    let telegram = Resource::new(move || changed.get(), |_| my_telegram());
    loaded(data, move |me| view! { <AccountPage me change telegram changed/> })
}

#[component]
fn AccountPage(
    me: CurrentUser,
    change: ServerAction<ChangePassword>,
    telegram: Resource<Result<TelegramStatus, AppError>>,
    changed: RwSignal<u64>,
) -> impl IntoView {
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
            <MyTelegramCard data=telegram changed/>
        </main>
    }
}
