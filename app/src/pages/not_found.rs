//! The 404 page.

use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <main class="page narrow error-page" data-testid="not-found">
            <h1>"404"</h1>
            <p>"Такой страницы нет. / This page does not exist."</p>
            <p><a href="/">"← На главную / Home"</a></p>
        </main>
    }
}
