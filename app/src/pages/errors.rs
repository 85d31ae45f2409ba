//! The 403 and 500 pages (404 is `not_found`), and how a failed load picks one.

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
    let _ = reason;
    let lang = use_lang();
    view! {
        <main class="page narrow error-page" data-testid="server-error">
            <h1>"500"</h1>
            <p>{lang.t("errors.server")}</p>
            <p><a href="/">{lang.t("errors.home")}</a></p>
        </main>
    }
}

#[cfg(feature = "ssr")]
fn tracing_error(reason: &str) {
    tracing::error!("page failed to load: {reason}");
}

/// The domain's refusals as server-function errors in the reader's language
/// (a database failure stays as it is: the 500 page, cause in the log).
#[cfg(feature = "ssr")]
pub mod refusals {
    use crate::auth::server::forbidden;
    use crate::error::AppError;
    use crate::i18n::{error, Message};
    use services::challenges::ChallengeError;
    use services::deals::DealError;
    use store::users::UserError;

    pub fn user(e: UserError) -> AppError {
        match e {
            UserError::Invalid(m) => error(m),
            UserError::EmailTaken(email) => error(Message::new("err.email_taken").with("email", email)),
            UserError::UnknownTeam(id) => error(Message::new("err.unknown_team").with("id", id)),
            UserError::UnknownEmail(email) => error(Message::new("err.unknown_email").with("email", email)),
            e @ UserError::Db(_) => AppError::server(e),
        }
    }

    pub async fn challenge(e: ChallengeError) -> AppError {
        match e {
            ChallengeError::Invalid(m) => error(m),
            ChallengeError::Forbidden(m) => forbidden(m).await,
            ChallengeError::NotFound(id) => error(Message::new("err.no_challenge").with("id", id)),
            e @ ChallengeError::Db(_) => AppError::server(e),
        }
    }

    pub async fn deal(e: DealError) -> AppError {
        match e {
            DealError::Invalid(m) => error(m),
            DealError::Forbidden(m) => forbidden(m).await,
            // The records API's messages stay in its language.
            DealError::Record(text) => crate::i18n::refusal(text),
            e @ DealError::Db(_) => AppError::server(e),
        }
    }

    /// A period in the address or a form that does not parse.
    pub fn period(e: crate::period::PeriodParseError) -> AppError {
        error(Message::new("err.not_a_period").with("text", e.0))
    }

    /// A KPI computation over `scope`: an unknown team, region or user is named.
    pub fn kpi(e: store::kpis::KpiError, scope: &crate::kpi::Scope) -> AppError {
        match e {
            store::kpis::KpiError::UnknownScope(_) => error(Message::new("err.unknown_scope").with("scope", scope)),
            e => AppError::server(e),
        }
    }

    /// A scope in the address or a form that does not parse.
    pub fn scope(text: &str) -> AppError {
        error(Message::new("err.not_a_scope").with("text", text))
    }
}
