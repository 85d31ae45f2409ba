//! `/login`: email and password; works as a plain form before the WASM loads.

use crate::auth::Login as LoginFn;
use crate::components::LangSwitch;
use crate::i18n::use_lang;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn Login() -> impl IntoView {
    let login = ServerAction::<LoginFn>::new();
    let lang = use_lang();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/leaderboard".to_string());
    let error = move || match login.value().get() {
        Some(Err(e)) => Some(clean_error(&e.to_string())),
        _ => None,
    };
    view! {
        <main class="page narrow login">
            <LangSwitch/>
            <h1 class="brand">"KPI Arena"</h1>
            <p class="muted">{lang.t("login.intro")}</p>
            <ActionForm action=login attr:class="card form">
                <input type="hidden" name="next" value=next/>
                <label for="email">{lang.t("login.email")}</label>
                <input id="email" type="email" name="email" autocomplete="username" required/>
                <label for="password">{lang.t("login.password")}</label>
                <input id="password" type="password" name="password" autocomplete="current-password" required/>
                <button type="submit" class="primary" disabled=move || login.pending().get()>
                    {lang.t("login.submit")}
                </button>
                <p class="error" role="alert">{error}</p>
            </ActionForm>
        </main>
    }
}

/// Server function errors arrive as "error running server function: …"; show the message only.
fn clean_error(text: &str) -> String {
    text.rsplit_once(": ").map(|(_, m)| m).unwrap_or(text).to_string()
}
