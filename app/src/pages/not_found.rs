//! The 404 page, under the navigation like every other.

use crate::components::failure::{set_status, Navigation};
use crate::i18n::use_lang;
use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    set_status(404);
    let lang = use_lang();
    view! {
        <Navigation/>
        <main class="page narrow error-page" data-testid="not-found">
            <h1>"404"</h1>
            <p>{lang.t("errors.not_found")}</p>
            <p><a href="/">{lang.t("errors.home")}</a></p>
        </main>
    }
}
