//! The 403 and 500 pages (404 is `not_found`), and how a failed load picks one.

use crate::i18n::{use_lang, Lang};
use leptos::prelude::*;

/// Starts the message of every refusal (`auth::server::forbidden`), so a page
/// that failed to load can tell "not allowed" from other errors.
pub const FORBIDDEN: &str = "Нет доступа / Forbidden: ";

/// What a page shows when its data did not load.
pub enum Failure {
    Forbidden(String),
    SignIn,
    Server(String),
    /// Bad input and the like: the message, in place of the page.
    Other(String),
}

impl Failure {
    pub fn of(e: &ServerFnError) -> Failure {
        let text = match e {
            ServerFnError::ServerError(s) => s.clone(),
            other => other.to_string(),
        };
        if let Some(reason) = text.strip_prefix(FORBIDDEN) {
            Failure::Forbidden(reason.to_string())
        } else if Lang::ALL.iter().any(|lang| text == lang.t("err.sign_in_first")) {
            Failure::SignIn
        } else if text.starts_with("error returned from database")
            || text.starts_with("database error")
            || text.contains("pool timed out")
            || !matches!(e, ServerFnError::ServerError(_))
        {
            Failure::Server(text)
        } else {
            Failure::Other(text)
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
    use services::challenges::ChallengeError;
    use store::users::UserError;
    use crate::i18n::{error, Message};
    use services::deals::DealError;
    use leptos::prelude::ServerFnError;

    pub fn user(e: UserError) -> ServerFnError {
        match e {
            UserError::Invalid(m) => error(m),
            UserError::EmailTaken(email) => error(Message::new("err.email_taken").with("email", email)),
            UserError::UnknownTeam(id) => error(Message::new("err.unknown_team").with("id", id)),
            UserError::UnknownEmail(email) => error(Message::new("err.unknown_email").with("email", email)),
            e @ UserError::Db(_) => ServerFnError::new(e),
        }
    }

    pub async fn challenge(e: ChallengeError) -> ServerFnError {
        match e {
            ChallengeError::Invalid(m) => error(m),
            ChallengeError::Forbidden(m) => forbidden(m).await,
            ChallengeError::NotFound(id) => error(Message::new("err.no_challenge").with("id", id)),
            e @ ChallengeError::Db(_) => ServerFnError::new(e),
        }
    }

    pub async fn deal(e: DealError) -> ServerFnError {
        match e {
            DealError::Invalid(m) => error(m),
            DealError::Forbidden(m) => forbidden(m).await,
            // The records API's messages stay in its language.
            DealError::Record(text) => crate::i18n::refusal(text),
            e @ DealError::Db(_) => ServerFnError::new(e),
        }
    }

    /// A period in the address or a form that does not parse.
    pub fn period(e: crate::period::PeriodParseError) -> ServerFnError {
        error(Message::new("err.not_a_period").with("text", e.0))
    }

    /// A KPI computation over `scope`: an unknown team, region or user is named.
    pub fn kpi(e: store::kpis::KpiError, scope: &crate::kpi::Scope) -> ServerFnError {
        match e {
            store::kpis::KpiError::UnknownScope(_) => error(Message::new("err.unknown_scope").with("scope", scope)),
            e => ServerFnError::new(e),
        }
    }

    /// A scope in the address or a form that does not parse.
    pub fn scope(text: &str) -> ServerFnError {
        error(Message::new("err.not_a_scope").with("text", text))
    }
}
