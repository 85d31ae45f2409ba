//! The pages shown in place of the one asked for: 403, 404 (`pages::not_found`
//! uses `Navigation`), 500, the sign-in prompt and a refusal. Every one has the
//! navigation when someone is signed in, a sentence in the reader's language,
//! and answers its HTTP status when rendered on the server. `Failed` picks one
//! by the error's variant; every page whose data can be refused shows its
//! errors through it (`components::loaded` does, for the pages built on it).

use super::TopBar;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::i18n::use_lang;
use leptos::prelude::*;

/// What a page shows when its data did not load.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    Forbidden(String),
    SignIn,
    Server(String),
    /// Bad input and the like (400, 429): the message, in place of the page.
    Other(String, u16),
}

impl Failure {
    pub fn of(e: &AppError) -> Failure {
        match e {
            AppError::Forbidden(reason) => Failure::Forbidden(reason.clone()),
            AppError::SignIn(_) => Failure::SignIn,
            AppError::Server(text) | AppError::Call(text) => Failure::Server(text.clone()),
            AppError::Refused(text) => Failure::Other(text.clone(), 400),
            AppError::TooMany(text) => Failure::Other(text.clone(), 429),
        }
    }

    /// The HTTP status of a page that shows this failure.
    pub fn status(&self) -> u16 {
        match self {
            Failure::Forbidden(_) => 403,
            Failure::SignIn => 401,
            Failure::Server(_) => 500,
            Failure::Other(_, status) => *status,
        }
    }
}

/// Who is signed in (nobody: `None`), for the navigation above a page that is
/// not the one asked for. Refuses no one and sets no status.
#[server(prefix = "/api", endpoint = "signed_in_view")]
pub async fn signed_in() -> Result<Option<CurrentUser>, AppError> {
    crate::auth::server::session_user().await
}

/// The page's answer status, on the server (the browser has none to set).
pub fn set_status(status: u16) {
    #[cfg(feature = "ssr")]
    if let (Some(response), Ok(status)) =
        (use_context::<leptos_axum::ResponseOptions>(), axum::http::StatusCode::from_u16(status))
    {
        response.set_status(status);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = status;
}

/// The top bar for whoever is signed in, or nothing. It holds the first
/// response until it knows (a blocking resource), so the page has its
/// navigation without JavaScript too.
#[component]
pub fn Navigation() -> impl IntoView {
    let me = Resource::new_blocking(|| (), |_| signed_in());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move { me.await.ok().flatten().map(|user| view! { <TopBar user/> }) })}
        </Suspense>
    }
}

/// The page in place of one whose data did not load: the 403, 500, sign-in or
/// refusal page by the error's variant, under the navigation, with its status.
#[component]
pub fn Failed(error: AppError) -> impl IntoView {
    let failure = Failure::of(&error);
    set_status(failure.status());
    let lang = use_lang();
    let page = match failure {
        Failure::Forbidden(reason) => view! { <Forbidden reason/> }.into_any(),
        Failure::Server(reason) => view! { <ServerError reason/> }.into_any(),
        Failure::SignIn => view! {
            <main class="page narrow error-page" data-testid="sign-in-again">
                <p class="error" role="alert">{lang.t("common.sign_in_again")}</p>
                <p><a href="/login">{lang.t("login.submit")}</a></p>
            </main>
        }
        .into_any(),
        Failure::Other(message, _) => view! {
            <main class="page narrow error-page" data-testid="refused">
                <h1>{lang.t("errors.refused")}</h1>
                <p class="error" role="alert">{message}</p>
                <p><a href="/">{lang.t("errors.home")}</a></p>
            </main>
        }
        .into_any(),
    };
    view! {
        <Navigation/>
        {page}
    }
}

/// `<Failed error/>` as a plain call, for a page's own `match` on its data.
pub fn failed(error: AppError) -> impl IntoView {
    view! { <Failed error/> }
}

/// 403: signed in, but this page is not for this role or team.
#[component]
pub fn Forbidden(reason: String) -> impl IntoView {
    set_status(403);
    let lang = use_lang();
    view! {
        <main class="page narrow error-page" data-testid="forbidden">
            <h1>"403"</h1>
            <p>{lang.t("errors.forbidden")}</p>
            <p class="muted" data-testid="forbidden-reason">{reason}</p>
            <p><a href="/">{lang.t("errors.home")}</a></p>
        </main>
    }
}

/// 500: something failed on our side; the cause is in the server's log.
#[component]
pub fn ServerError(reason: String) -> impl IntoView {
    #[cfg(feature = "ssr")]
    tracing::error!("page failed to load: {reason}");
    set_status(500);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_picks_its_page_and_status() {
        let cases = [
            (AppError::Forbidden("x".into()), 403),
            (AppError::SignIn("x".into()), 401),
            (AppError::Server("x".into()), 500),
            (AppError::Call("x".into()), 500),
            (AppError::Refused("x".into()), 400),
            (AppError::TooMany("x".into()), 429),
        ];
        for (error, status) in cases {
            assert_eq!(Failure::of(&error).status(), status, "{error:?}");
        }
        assert_eq!(Failure::of(&AppError::Forbidden("только свою".into())), Failure::Forbidden("только свою".into()));
    }
}
