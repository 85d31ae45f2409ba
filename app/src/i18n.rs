//! The reader's language in the UI: how a request picks it and how pages and
//! server functions read it. The languages and their words are the domain's
//! (`domain::lang`, `crates/domain/locales/app.yml`).

use crate::error::AppError;
pub use domain::lang::{choose, from_accept_language, from_cookie_header, preferred, Lang, Message, COOKIE};
use leptos::prelude::*;

/// A server function's refusal of what it was asked (400), in the reader's language.
pub fn error(message: impl Into<Message>) -> AppError {
    refusal(message.into().in_lang(use_lang()))
}

/// A refusal whose text is already written (a record's problems, a list of
/// messages already in the reader's language): 400 unless the call chose a status.
pub fn refusal(text: impl Into<String>) -> AppError {
    #[cfg(feature = "ssr")]
    crate::error::status::set_default_fail_status(axum::http::StatusCode::BAD_REQUEST);
    AppError::Refused(text.into())
}

/// The language of the current render or server function: the context `App`
/// provides, else (on the server) what the request's middleware chose, else
/// (in the browser) the `<html lang>` the server rendered.
pub fn use_lang() -> Lang {
    if let Some(lang) = use_context::<Lang>() {
        return lang;
    }
    #[cfg(feature = "ssr")]
    if let Some(lang) = use_context::<axum::http::request::Parts>().and_then(|p| p.extensions.get::<Lang>().copied()) {
        return lang;
    }
    #[cfg(feature = "hydrate")]
    if let Some(lang) =
        document().document_element().and_then(|e| e.get_attribute("lang")).and_then(|code| Lang::parse(&code))
    {
        return lang;
    }
    Lang::default()
}

/// Translates `key` in the current language.
pub fn tr(key: &str) -> String {
    use_lang().t(key)
}

/// Where a language switch may send the reader back to: a path on this site, else `/`.
pub fn local_path(back: Option<&str>) -> &str {
    back.and_then(domain::access::local_path).unwrap_or("/")
}

/// Chooses each page request's language and stores it in the request's
/// extensions, reading the organisation's default only when the reader's
/// cookie and browser name neither language.
#[cfg(feature = "ssr")]
pub async fn middleware(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::header;
    let headers = request.headers();
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let lang = match preferred(text(header::COOKIE), text(header::ACCEPT_LANGUAGE)) {
        Some(lang) => lang,
        None => {
            let org = store::settings::load(&state.pool).await.ok().map(|s| s.language);
            choose(None, None, org.as_deref())
        }
    };
    request.extensions_mut().insert(lang);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_beats_accept_language_which_beats_the_org_default() {
        assert_eq!(choose(Some("a=1; lang=en"), Some("ru-RU,ru;q=0.9"), Some("ru")), Lang::En);
        assert_eq!(choose(Some("lang=ru"), Some("en-US"), Some("en")), Lang::Ru);
        assert_eq!(choose(None, Some("en-US,en;q=0.9"), Some("ru")), Lang::En);
        assert_eq!(choose(Some("other=1"), Some("ru"), Some("en")), Lang::Ru);
        assert_eq!(choose(None, Some("de-DE,fr;q=0.8"), Some("en")), Lang::En);
        assert_eq!(choose(Some("lang=de"), None, None), Lang::Ru);
    }

    #[test]
    fn accept_language_takes_the_first_of_ru_or_en() {
        assert_eq!(from_accept_language("de-DE, en-GB;q=0.8, ru;q=0.5"), Some(Lang::En));
        assert_eq!(from_accept_language("ru-RU,ru;q=0.9,en-US;q=0.8"), Some(Lang::Ru));
        assert_eq!(from_accept_language("fr, *;q=0.1"), None);
    }

    #[test]
    fn switching_back_goes_only_to_a_local_path() {
        assert_eq!(local_path(Some("/leaderboard?period=2026-11")), "/leaderboard?period=2026-11");
        assert_eq!(local_path(Some("https://evil.example")), "/");
        assert_eq!(local_path(Some("//evil.example/x")), "/");
        assert_eq!(local_path(Some("/\\evil.example")), "/");
        assert_eq!(local_path(Some("/x\r\nSet-Cookie: a=b")), "/");
        assert_eq!(local_path(None), "/");
    }
}
