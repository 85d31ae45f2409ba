//! The 403 and 500 pages (404 is `pages::not_found`), and how a failed load picks one.

use crate::error::AppError;
use crate::i18n::use_lang;
use leptos::prelude::*;

/// What a page shows when its data did not load.
pub enum Failure {
    Forbidden(String),
    SignIn,
    Server(String),
    /// Bad input and the like: the message, in place of the page.
    Other(String),
}

impl Failure {
    pub fn of(e: &AppError) -> Failure {
        match e {
            AppError::Forbidden(reason) => Failure::Forbidden(reason.clone()),
            AppError::SignIn(_) => Failure::SignIn,
            AppError::Server(text) | AppError::Call(text) => Failure::Server(text.clone()),
            AppError::Refused(text) | AppError::TooMany(text) => Failure::Other(text.clone()),
        }
    }
}

#[cfg(feature = "ssr")]
fn set_status(status: axum::http::StatusCode) {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(status);
    }
}

/// 403: signed in, but this page is not for this role or team.
#[component]
pub fn Forbidden(reason: String) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_status(axum::http::StatusCode::FORBIDDEN);
    let lang = use_lang();
    view! {
        <main class="page narrow error-page" data-testid="forbidden">
            <h1>"403"</h1>
            <p>{lang.t("errors.forbidden")}</p>
            <p class="muted">{reason}</p>
            <p><a href="/">{lang.t("errors.home")}</a></p>
        </main>
    }
}

/// 500: something failed on our side; the cause is in the server's log.
#[component]
pub fn ServerError(reason: String) -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        tracing_error(&reason);
        set_status(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    }
    let lang = use_lang();
    view! {
        <main class="page narrow error-page" data-testid="server-error">
            <h1>"500"</h1>
            <p>{lang.t("errors.server")}</p>
            // `AppError::server` wrote it: the error's id, never its cause.
            <p class="muted">{reason}</p>
            <p><a href="/">{lang.t("errors.home")}</a></p>
        </main>
    }
}

#[cfg(feature = "ssr")]
fn tracing_error(reason: &str) {
    tracing::error!("page failed to load: {reason}");
}
