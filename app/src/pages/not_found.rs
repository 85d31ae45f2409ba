//! The 404 page.

use crate::i18n::use_lang;
use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    let lang = use_lang();
    view! {
        <main class="page narrow error-page" data-testid="not-found">
            <h1>"404"</h1>
            <p>{lang.t("errors.not_found")}</p>
            <p><a href="/">{lang.t("errors.home")}</a></p>
        </main>
    }
}
