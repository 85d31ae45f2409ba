//! The one error every server function returns. Its variant says what went
//! wrong (the page to show, the status to answer); its text is already in the
//! reader's language, a whole sentence, and `Display` is that text alone.
//! Pages match on the variant, never on the words (`components::failure::Failed`).

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// 400: what was asked cannot be done as asked (bad input, a conflict).
    #[error("{0}")]
    Refused(String),
    /// 401: nobody is signed in (or the account was switched off).
    #[error("{0}")]
    SignIn(String),
    /// 403: signed in, but not allowed; the reason.
    #[error("{0}")]
    Forbidden(String),
    /// 429: too many attempts.
    #[error("{0}")]
    TooMany(String),
    /// 500: our failure; the cause is in the server's log.
    #[error("{0}")]
    Server(String),
    /// The call itself failed on its way (network, encoding): a sentence in
    /// the reader's language (the cause goes to the browser's console).
    #[error("{0}")]
    Call(String),
}

/// What a server function returns.
pub type Fallible<T> = Result<T, AppError>;

impl AppError {
    /// Our failure, from any error (a database's, a session store's). The cause
    /// goes to the server's log under a short id; the reader sees only that
    /// something failed, and the id to quote, in their language.
    pub fn server(e: impl std::fmt::Display) -> AppError {
        #[cfg(feature = "ssr")]
        {
            let id = error_id();
            tracing::error!(error_id = %id, "internal error: {e}");
            let text = crate::i18n::Message::new("errors.internal").with("id", &id).in_lang(crate::i18n::use_lang());
            AppError::Server(text)
        }
        #[cfg(not(feature = "ssr"))]
        AppError::Server(e.to_string())
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(e: ServerFnErrorErr) -> AppError {
        match e {
            ServerFnErrorErr::ServerError(text) => AppError::Server(text),
            other => AppError::call(other),
        }
    }
}

impl AppError {
    /// A call that failed on its way: the reader is told so in their language,
    /// never the framework's English ("error reaching server to call server function").
    pub fn call(cause: impl std::fmt::Display) -> AppError {
        #[cfg(feature = "ssr")]
        tracing::warn!("a server function call failed: {cause}");
        #[cfg(not(feature = "ssr"))]
        leptos::logging::warn!("a server function call failed: {cause}");
        AppError::Call(crate::i18n::tr("errors.call"))
    }
}

impl From<ServerFnErrorErr> for AppError {
    fn from(e: ServerFnErrorErr) -> AppError {
        AppError::from_server_fn_error(e)
    }
}

impl From<leptos::prelude::ServerFnError> for AppError {
    fn from(e: leptos::prelude::ServerFnError) -> AppError {
        match e {
            leptos::prelude::ServerFnError::ServerError(text) => AppError::Server(text),
            other => AppError::call(other),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> AppError {
        AppError::server(e)
    }
}

/// The id that ties what a reader saw to the server's log lines: the request's id
/// (`request_id`), or a short random one outside a request.
#[cfg(feature = "ssr")]
pub fn error_id() -> String {
    crate::request_id::current().unwrap_or_else(|| hex::encode(rand::random::<[u8; 4]>()))
}

/// The HTTP status of a failed server-function call (server only).
#[cfg(feature = "ssr")]
pub mod status {
    use axum::http::{header, StatusCode};
    use leptos::prelude::*;

    /// The status of a failed call that names no status of its own (bad input:
    /// 400), unless the call already chose one (401, 403, 429 stay).
    pub fn set_default_fail_status(status: StatusCode) {
        let chosen = use_context::<leptos_axum::ResponseOptions>()
            .is_some_and(|r| r.0.read().is_ok_and(|parts| parts.status.is_some()));
        if !chosen {
            set_fail_status(status);
        }
    }

    /// Sets a failed call's status, except for a plain HTML form post (no JavaScript
    /// yet): that one is redirected back to its page with the error.
    pub fn set_fail_status(status: StatusCode) {
        let from_form = use_context::<axum::http::request::Parts>()
            .and_then(|p| p.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).map(|a| a.contains("text/html")))
            .unwrap_or(false);
        if !from_form {
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(status);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_travels_as_its_variant() {
        let e = AppError::Forbidden("только своя команда".into());
        let bytes = e.ser();
        assert_eq!(AppError::de(bytes), e);
        // What a reader sees is the sentence alone, in their language.
        assert_eq!(e.to_string(), "только своя команда");
        let offline = AppError::from_server_fn_error(ServerFnErrorErr::Request("offline".into()));
        assert_eq!(offline, AppError::Call(crate::i18n::Lang::Ru.t("errors.call")));
        assert!(!offline.to_string().contains("server function"), "{offline}");
    }
}
