//! Who is asking: the signed-in user (browser session) or the token's user
//! (API), their role, and the login/logout server functions.

use crate::error::AppError;
use leptos::prelude::*;

pub use domain::access::{CurrentUser, Role, UserRow};

/// Signs in with email and password, then goes to `next` (a local path).
#[server(prefix = "/api", endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    server::login(email, password, next).await
}

#[server(prefix = "/api", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    server::logout().await
}

#[cfg(feature = "ssr")]
pub mod server {
    use super::CurrentUser;
    use crate::error::AppError;
    use crate::state::AppState;
    use axum::extract::ConnectInfo;
    use axum::http::StatusCode;
    use leptos::prelude::*;
    use std::net::SocketAddr;
    use store::users;
    use tower_sessions::Session;

    pub const SESSION_USER_KEY: &str = "user_id";

    fn state() -> Result<AppState, AppError> {
        use_context::<AppState>().ok_or_else(|| AppError::server("server state missing"))
    }

    /// The active user of `session`, for plain axum routes (CSV export and import).
    pub async fn user_of(pool: &sqlx::PgPool, session: &Session) -> Option<CurrentUser> {
        let id = session.get::<String>(SESSION_USER_KEY).await.ok().flatten()?;
        users::find_active(pool, &id).await.ok().flatten()
    }

    /// The user of the current browser session (a deactivated user has none).
    pub async fn session_user() -> Result<Option<CurrentUser>, AppError> {
        let session: Session = leptos_axum::extract().await?;
        let Some(id) = session.get::<String>(SESSION_USER_KEY).await.map_err(AppError::server)? else {
            return Ok(None);
        };
        Ok(users::find_active(&state()?.pool, &id).await.map_err(AppError::server)?)
    }

    /// The signed-in user, or an error telling the browser to sign in.
    pub async fn require_user() -> Result<CurrentUser, AppError> {
        match session_user().await? {
            Some(user) => Ok(user),
            None => {
                fail_status(StatusCode::UNAUTHORIZED).await;
                Err(AppError::SignIn(crate::i18n::tr("err.sign_in_first")))
            }
        }
    }

    pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
        let state = state()?;
        let email = email.trim().to_lowercase();
        let peer: Option<ConnectInfo<SocketAddr>> = leptos_axum::extract().await.ok();
        let ip = peer.map(|c| c.0.ip().to_string()).unwrap_or_else(|| "unknown".into());
        let limits = &state.login_limits;
        let too_many = || async {
            fail_status(StatusCode::TOO_MANY_REQUESTS).await;
            Err(AppError::TooMany(crate::i18n::tr("err.too_many_logins")))
        };
        if limits.blocked(&email, &ip) {
            return too_many().await;
        }
        let user = users::find_login(&state.pool, &email).await.map_err(AppError::server)?;
        let verified = match &user {
            Some((_, hash)) => users::verify_password(password, hash.clone()).await,
            // Spend the same time on unknown emails, so timing does not reveal accounts.
            None => {
                let _ = users::hash_password(password).await;
                false
            }
        };
        let Some((user, _)) = user.filter(|_| verified) else {
            if limits.record_failure(&email, &ip) {
                return too_many().await;
            }
            fail_status(StatusCode::UNAUTHORIZED).await;
            return Err(crate::i18n::error("err.wrong_password"));
        };
        start_session(&user.id).await?;
        let next = next.filter(|n| n.starts_with('/') && !n.starts_with("//")).unwrap_or_else(|| "/leaderboard".into());
        leptos_axum::redirect(&next);
        Ok(())
    }

    /// Signs this browser in as `user_id`.
    pub async fn start_session(user_id: &str) -> Result<(), AppError> {
        let session: Session = leptos_axum::extract().await?;
        // A new session id on sign-in prevents session fixation.
        session.cycle_id().await.map_err(AppError::server)?;
        session.insert(SESSION_USER_KEY, user_id).await.map_err(AppError::server)?;
        Ok(())
    }

    /// A refusal for a signed-in user who may not do this: 403 and the reason.
    pub async fn forbidden(message: impl Into<crate::i18n::Message>) -> AppError {
        fail_status(StatusCode::FORBIDDEN).await;
        let reason = message.into().in_lang(crate::i18n::use_lang());
        AppError::Forbidden(reason)
    }

    /// Sets the status of a failed call, except for a plain HTML form post (no
    /// JavaScript yet): that one is redirected back to its page with the error.
    async fn fail_status(status: StatusCode) {
        crate::error::status::set_fail_status(status);
    }

    pub async fn logout() -> Result<(), AppError> {
        let session: Session = leptos_axum::extract().await?;
        session.flush().await.map_err(AppError::server)?;
        leptos_axum::redirect("/login");
        Ok(())
    }
}
