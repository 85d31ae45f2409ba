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
    /// The user's `session_epoch` at sign-in: a session from an older epoch has ended.
    pub const SESSION_EPOCH_KEY: &str = "epoch";
    /// When the session began (Unix seconds): it ends `SESSION_ABSOLUTE_DAYS` later.
    pub const SESSION_SINCE_KEY: &str = "since";

    fn state() -> Result<AppState, AppError> {
        use_context::<AppState>().ok_or_else(|| AppError::server("server state missing"))
    }

    /// The active user of `session`, unless the session has ended (deactivation,
    /// a password change); for plain axum routes (CSV export and import, the live stream).
    pub async fn user_of(pool: &sqlx::PgPool, session: &Session) -> Option<CurrentUser> {
        user_in(pool, session).await.ok().flatten()
    }

    async fn user_in(pool: &sqlx::PgPool, session: &Session) -> Result<Option<CurrentUser>, AppError> {
        let Some(id) = session.get::<String>(SESSION_USER_KEY).await.map_err(AppError::server)? else {
            return Ok(None);
        };
        let since = session.get::<i64>(SESSION_SINCE_KEY).await.map_err(AppError::server)?.unwrap_or(0);
        // Session lifetimes run on the wall clock.
        if domain::access::session_over(since, chrono::Utc::now().timestamp()) {
            session.flush().await.map_err(AppError::server)?;
            return Ok(None);
        }
        let epoch = session.get::<i64>(SESSION_EPOCH_KEY).await.map_err(AppError::server)?.unwrap_or(0);
        Ok(users::find_session(pool, &id, epoch).await?)
    }

    /// When `session` was signed in (seconds since the epoch; 0 when unknown).
    pub async fn session_since(session: &Session) -> i64 {
        session.get::<i64>(SESSION_SINCE_KEY).await.ok().flatten().unwrap_or(0)
    }

    /// The session epoch `session` was signed in with (0 when none).
    pub async fn session_epoch(session: &Session) -> i64 {
        session.get::<i64>(SESSION_EPOCH_KEY).await.ok().flatten().unwrap_or(0)
    }

    /// The user of the current browser session (a deactivated user has none).
    pub async fn session_user() -> Result<Option<CurrentUser>, AppError> {
        let session: Session = leptos_axum::extract().await?;
        user_in(&state()?.pool, &session).await
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
        let ip = client_ip().await;
        let too_many = || async {
            fail_status(StatusCode::TOO_MANY_REQUESTS).await;
            Err(AppError::TooMany(crate::i18n::tr("err.too_many_logins")))
        };
        if state.login_limits.blocked(&ip) {
            return too_many().await;
        }
        let Some(user) = check_password(&state.pool, &email, password).await? else {
            if state.login_limits.record_failure(&ip) {
                return too_many().await;
            }
            fail_status(StatusCode::UNAUTHORIZED).await;
            return Err(crate::i18n::error("err.wrong_password"));
        };
        start_session(&user.id).await?;
        let next = next.as_deref().and_then(domain::access::local_path).unwrap_or("/leaderboard");
        leptos_axum::redirect(next);
        Ok(())
    }

    /// The active user `account` (a lower-cased email) when `password` is theirs.
    /// Every guess spends the account's failure budget before it is hashed; a
    /// right one clears it. `TooMany` (429) while the account must wait. Sign-in
    /// and the password change both check passwords here.
    pub async fn check_password(
        pool: &sqlx::PgPool,
        account: &str,
        password: String,
    ) -> Result<Option<CurrentUser>, AppError> {
        if !users::login_attempt(pool, account).await? {
            fail_status(StatusCode::TOO_MANY_REQUESTS).await;
            return Err(AppError::TooMany(crate::i18n::tr("err.too_many_logins")));
        }
        let Some((user, hash)) = users::find_login(pool, account).await? else {
            // Spend the same time on unknown emails, so timing does not reveal accounts.
            let _ = users::hash_password(password).await;
            return Ok(None);
        };
        if !users::verify_password(password, hash).await {
            return Ok(None);
        }
        users::login_succeeded(pool, account).await?;
        Ok(Some(user))
    }

    /// The address of the client calling (`X-Forwarded-For` only from a trusted proxy).
    pub async fn client_ip() -> String {
        let Ok(state) = state() else { return "unknown".into() };
        let peer: Option<ConnectInfo<SocketAddr>> = leptos_axum::extract().await.ok();
        let headers: axum::http::HeaderMap = leptos_axum::extract().await.unwrap_or_default();
        let forwarded = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
        match peer {
            Some(ConnectInfo(peer)) => state.config.client_ip(peer.ip(), forwarded).to_string(),
            None => "unknown".into(),
        }
    }

    /// Signs this browser in as `user_id`.
    pub async fn start_session(user_id: &str) -> Result<(), AppError> {
        let session: Session = leptos_axum::extract().await?;
        // A new session id on sign-in prevents session fixation.
        session.cycle_id().await.map_err(AppError::server)?;
        let epoch = users::session_epoch(&state()?.pool, user_id).await?;
        session.insert(SESSION_USER_KEY, user_id).await.map_err(AppError::server)?;
        session.insert(SESSION_EPOCH_KEY, epoch).await.map_err(AppError::server)?;
        session.insert(SESSION_SINCE_KEY, chrono::Utc::now().timestamp()).await.map_err(AppError::server)?;
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
