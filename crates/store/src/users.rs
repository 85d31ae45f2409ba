//! Users, passwords and API tokens.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use domain::access::{CurrentUser, Role, UserRow};
use domain::lang::Message;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("a user with email `{0}` already exists")]
    EmailTaken(String),
    #[error("team `{0}` does not exist")]
    UnknownTeam(String),
    #[error("no user has email `{0}`")]
    UnknownEmail(String),
    #[error("{0}")]
    Invalid(Message),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

type Row = (String, String, String, String, Option<String>);

fn to_user((id, name, email, role, team_id): Row) -> CurrentUser {
    CurrentUser { id, name, email, role: Role::parse(&role).unwrap_or(Role::Rep), team_id }
}

/// The user of a browser session: active, and signed in since their sessions
/// were last ended (`epoch`: `session_epoch` at sign-in; deactivation, a
/// password change or reset moves it on, which ends every older session).
pub async fn find_session(pool: &PgPool, id: &str, epoch: i64) -> Result<Option<CurrentUser>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, name, email, role, team_id FROM users WHERE id = $1 AND active AND session_epoch = $2",
    )
    .bind(id)
    .bind(epoch)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(to_user))
}

/// Of `ids`, the active users with their `session_epoch` (the live streams' sweep: one query for all).
pub async fn active_epochs(pool: &PgPool, ids: &[String]) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT id, session_epoch FROM users WHERE id = ANY($1) AND active").bind(ids).fetch_all(pool).await
}

/// Of the session ids `ids`, those still stored and not expired.
pub async fn live_sessions(pool: &PgPool, ids: &[String]) -> Result<std::collections::HashSet<String>, sqlx::Error> {
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT id FROM tower_sessions.session WHERE id = ANY($1) AND expiry_date > now()")
            .bind(ids)
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().collect())
}

/// `session_epoch` of user `id`: a new session remembers it.
pub async fn session_epoch(pool: &PgPool, id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT session_epoch FROM users WHERE id = $1").bind(id).fetch_one(pool).await
}

pub async fn find_active(pool: &PgPool, id: &str) -> Result<Option<CurrentUser>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as("SELECT id, name, email, role, team_id FROM users WHERE id = $1 AND active")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(to_user))
}

/// The active user with this email and a password, with the password hash.
pub async fn find_login(pool: &PgPool, email: &str) -> Result<Option<(CurrentUser, String)>, sqlx::Error> {
    let row: Option<(String, String, String, String, Option<String>, String)> = sqlx::query_as(
        "SELECT id, name, email, role, team_id, password_hash FROM users
         WHERE lower(email) = lower($1) AND active AND password_hash IS NOT NULL",
    )
    .bind(email)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(id, name, email, role, team, hash)| (to_user((id, name, email, role, team)), hash)))
}

/// Password hashes computed at once: one per core. Each argon2 computation
/// takes 19 MiB, so hundreds of concurrent sign-ins wait here instead of
/// exhausting memory on the blocking pool.
fn hashing() -> &'static tokio::sync::Semaphore {
    static HASHING: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    HASHING
        .get_or_init(|| tokio::sync::Semaphore::new(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)))
}

/// Argon2id with the crate's recommended parameters, off the async runtime.
pub async fn hash_password(password: String) -> String {
    let _turn = hashing().acquire().await.expect("the hashing semaphore is never closed");
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).expect("argon2 hashing").to_string()
    })
    .await
    .expect("hashing task")
}

pub async fn verify_password(password: String, hash: String) -> bool {
    let _turn = hashing().acquire().await.expect("the hashing semaphore is never closed");
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub team: Option<String>,
    pub password: String,
}

/// Creates a user who can sign in; returns the new user's id.
pub async fn create_user(pool: &PgPool, new: NewUser) -> Result<String, UserError> {
    check_password(&new.password)?;
    let hash = hash_password(new.password.clone()).await;
    insert_user(pool, &new.email, &new.name, new.role, new.team.as_deref(), Some(hash)).await
}

/// What `check_password` refuses a short password with.
pub const PASSWORD_TOO_SHORT: &str = "err.password_short";

/// The password rule: at least 8 characters.
pub fn check_password(password: &str) -> Result<(), UserError> {
    if password.chars().count() < 8 {
        return Err(UserError::Invalid(PASSWORD_TOO_SHORT.into()));
    }
    Ok(())
}

/// Checks and inserts a user (with a password hash, or none until an invite is used).
async fn insert_user(
    pool: &PgPool,
    email: &str,
    name: &str,
    role: Role,
    team: Option<&str>,
    hash: Option<String>,
) -> Result<String, UserError> {
    let email = email.trim().to_string();
    if !email.contains('@') {
        return Err(UserError::Invalid(Message::new("err.not_an_email").with("email", &email)));
    }
    if name.trim().is_empty() {
        return Err(UserError::Invalid("err.user_name".into()));
    }
    if let Some(team) = team {
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM teams WHERE id = $1)").bind(team).fetch_one(pool).await?;
        if !exists {
            return Err(UserError::UnknownTeam(team.to_string()));
        }
    }
    let id = format!("u-{}", hex::encode(rand::random::<[u8; 5]>()));
    let result = sqlx::query(
        "INSERT INTO users (id, name, email, role, team_id, password_hash) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(name.trim())
    .bind(&email)
    .bind(role.as_str())
    .bind(team)
    .bind(hash)
    .execute(pool)
    .await;
    match result {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(UserError::EmailTaken(email)),
        Err(e) => Err(e.into()),
        Ok(_) => Ok(id),
    }
}

/// Sets (or replaces) the password of the user with this email.
pub async fn set_password(pool: &PgPool, email: &str, password: String) -> Result<(), UserError> {
    let hash = hash_password(password).await;
    let done = sqlx::query("UPDATE users SET password_hash = $2 WHERE lower(email) = lower($1)")
        .bind(email)
        .bind(hash)
        .execute(pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(UserError::UnknownEmail(email.to_string()));
    }
    Ok(())
}

pub fn token_digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Creates an API token for the user with this email; only its SHA-256 is stored.
pub async fn create_token(pool: &PgPool, email: &str, label: &str) -> Result<String, UserError> {
    if label.trim().is_empty() {
        return Err(UserError::Invalid("err.token_name".into()));
    }
    let user_id: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE lower(email) = lower($1) AND active")
        .bind(email)
        .fetch_optional(pool)
        .await?;
    let user_id = user_id.ok_or_else(|| UserError::UnknownEmail(email.to_string()))?;
    let token = format!("kpa_{}", hex::encode(rand::random::<[u8; 24]>()));
    sqlx::query("INSERT INTO api_tokens (user_id, label, token_sha256) VALUES ($1, $2, $3)")
        .bind(user_id)
        .bind(label.trim())
        .bind(token_digest(&token))
        .execute(pool)
        .await?;
    Ok(token)
}

/// The active user an unrevoked token belongs to.
pub async fn user_for_token(pool: &PgPool, token: &str) -> Result<Option<CurrentUser>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(
        "UPDATE api_tokens t SET last_used_at = arena_now() FROM users u
         WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL AND u.id = t.user_id AND u.active
         RETURNING u.id, u.name, u.email, u.role, u.team_id",
    )
    .bind(token_digest(token))
    .fetch_optional(pool)
    .await?;
    Ok(row.map(to_user))
}

/// An API token as listed (never the token itself).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct TokenRow {
    pub id: i64,
    pub owner: String,
    pub label: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The tokens of `user` (everyone's when `None`), newest first.
pub async fn tokens(pool: &PgPool, user: Option<&str>) -> Result<Vec<TokenRow>, sqlx::Error> {
    let rows: Vec<(
        i64,
        String,
        String,
        chrono::DateTime<chrono::Utc>,
        Option<chrono::DateTime<chrono::Utc>>,
        Option<chrono::DateTime<chrono::Utc>>,
    )> = sqlx::query_as(
        "SELECT t.id, u.name, t.label, t.created_at, t.last_used_at, t.revoked_at
             FROM api_tokens t JOIN users u ON u.id = t.user_id
             WHERE $1::text IS NULL OR t.user_id = $1 ORDER BY t.revoked_at IS NOT NULL, t.created_at DESC, t.id DESC",
    )
    .bind(user)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, owner, label, created_at, last_used_at, revoked_at)| TokenRow {
            id,
            owner,
            label,
            created_at,
            last_used_at,
            revoked_at,
        })
        .collect())
}

/// Revokes token `id` (only if it belongs to `user`, unless `None`); true when it was active.
pub async fn revoke_token(pool: &PgPool, id: i64, user: Option<&str>) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE api_tokens SET revoked_at = arena_now() WHERE id = $1 AND revoked_at IS NULL AND ($2::text IS NULL OR user_id = $2)",
    )
    .bind(id)
    .bind(user)
    .execute(pool)
    .await?
    .rows_affected()
        == 1)
}

/// Every user (`team` `None`), or the members of one team.
pub async fn list(pool: &PgPool, team: Option<&str>) -> Result<Vec<UserRow>, sqlx::Error> {
    let rows: Vec<(String, String, String, String, Option<String>, Option<String>, bool, bool)> = sqlx::query_as(
        "SELECT u.id, u.name, u.email, u.role, t.name AS team, u.team_id, u.active, u.password_hash IS NULL AS invited
         FROM users u LEFT JOIN teams t ON t.id = u.team_id
         WHERE $1::text IS NULL OR u.team_id = $1
         ORDER BY u.active DESC, u.name, u.id",
    )
    .bind(team)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, email, role, team, team_id, active, invited)| UserRow {
            id,
            name,
            email,
            role,
            team,
            team_id,
            active,
            invited,
        })
        .collect())
}

/// Gives user `id` a role and a team (the caller checked who may). A new role
/// ends every session they had (the epoch moves on, as on deactivation), so a
/// demoted admin or manager keeps no rights past their next request; a new
/// team alone ends nothing (rights are read per request). A manager who leaves
/// their team, or stops being a manager, stops being the manager a team names
/// (`teams.manager_id`). The last active admin stays one: refused.
pub async fn change_role_and_team(pool: &PgPool, id: &str, role: Role, team: Option<&str>) -> Result<(), UserError> {
    let mut tx = pool.begin().await?;
    // The active admins, locked in one order: two admins demoting each other at once cannot both succeed.
    let admins: Vec<String> =
        sqlx::query_scalar("SELECT id FROM users WHERE role = 'admin' AND active ORDER BY id FOR UPDATE")
            .fetch_all(&mut *tx)
            .await?;
    let current: Option<(String, bool)> = sqlx::query_as("SELECT role, active FROM users WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some((was, active)) = current else {
        return Err(UserError::Invalid(Message::new("err.no_user").with("id", id)));
    };
    if let Some(team) = team {
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM teams WHERE id = $1)")
            .bind(team)
            .fetch_one(&mut *tx)
            .await?;
        if !exists {
            return Err(UserError::UnknownTeam(team.to_string()));
        }
    }
    if was == "admin" && active && role != Role::Admin && admins.iter().all(|a| a == id) {
        return Err(UserError::Invalid("err.last_admin".into()));
    }
    sqlx::query(
        "UPDATE users SET role = $2, team_id = $3, updated_at = arena_now(),
           session_epoch = session_epoch + CASE WHEN role = $2 THEN 0 ELSE 1 END
         WHERE id = $1",
    )
    .bind(id)
    .bind(role.as_str())
    .bind(team)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE teams SET manager_id = NULL, updated_at = arena_now()
         WHERE manager_id = $1 AND ($2 <> 'manager' OR id IS DISTINCT FROM $3)",
    )
    .bind(id)
    .bind(role.as_str())
    .bind(team)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// How long an invite link works.
pub const INVITE_DAYS: i64 = 7;

/// Creates a user without a password and a one-time invite for them; returns
/// (user id, invite token). Only the token's SHA-256 is stored.
pub async fn invite(
    pool: &PgPool,
    by: &str,
    email: &str,
    name: &str,
    role: Role,
    team: Option<&str>,
) -> Result<(String, String), UserError> {
    let id = insert_user(pool, email, name, role, team, None).await?;
    let token = new_invite(pool, by, &id).await?;
    Ok((id, token))
}

/// A fresh invite for a user (the old unused ones stop working).
pub async fn new_invite(pool: &PgPool, by: &str, user: &str) -> Result<String, sqlx::Error> {
    let token = hex::encode(rand::random::<[u8; 24]>());
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE invites SET used_at = arena_now() WHERE user_id = $1 AND used_at IS NULL")
        .bind(user)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO invites (token_sha256, user_id, created_by, expires_at)
         VALUES ($1, $2, $3, arena_now() + make_interval(days => $4))",
    )
    .bind(token_digest(&token))
    .bind(user)
    .bind(by)
    .bind(INVITE_DAYS as i32)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// The user an unused, unexpired invite is for (active users only).
pub async fn invited_user(pool: &PgPool, token: &str) -> Result<Option<CurrentUser>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT u.id, u.name, u.email, u.role, u.team_id FROM invites i JOIN users u ON u.id = i.user_id
         WHERE i.token_sha256 = $1 AND i.used_at IS NULL AND i.expires_at > arena_now() AND u.active",
    )
    .bind(token_digest(token))
    .fetch_optional(pool)
    .await?;
    Ok(row.map(to_user))
}

/// Uses an invite: sets the password and spends the invite, both or neither.
pub async fn accept_invite(pool: &PgPool, token: &str, password: String) -> Result<CurrentUser, UserError> {
    check_password(&password)?;
    let hash = hash_password(password).await;
    let mut tx = pool.begin().await?;
    let user: Option<String> = sqlx::query_scalar(
        "UPDATE invites i SET used_at = arena_now() FROM users u
         WHERE i.token_sha256 = $1 AND i.used_at IS NULL AND i.expires_at > arena_now() AND u.id = i.user_id AND u.active
         RETURNING u.id",
    )
    .bind(token_digest(token))
    .fetch_optional(&mut *tx)
    .await?;
    let user = user.ok_or_else(|| UserError::Invalid("err.invite_spent".into()))?;
    let row: Row = sqlx::query_as(
        "UPDATE users SET password_hash = $2, updated_at = arena_now(), session_epoch = session_epoch + 1
         WHERE id = $1 RETURNING id, name, email, role, team_id",
    )
    .bind(&user)
    .bind(hash)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(to_user(row))
}

/// Sets a new password for active user `id` (the caller checked who asks), and
/// ends every session they had; returns the new session epoch.
pub async fn change_password(pool: &PgPool, id: &str, password: String) -> Result<i64, UserError> {
    check_password(&password)?;
    let hash = hash_password(password).await;
    let epoch: Option<i64> = sqlx::query_scalar(
        "UPDATE users SET password_hash = $2, updated_at = arena_now(), session_epoch = session_epoch + 1
         WHERE id = $1 AND active RETURNING session_epoch",
    )
    .bind(id)
    .bind(hash)
    .fetch_optional(pool)
    .await?;
    epoch.ok_or_else(|| UserError::Invalid(Message::new("err.no_user").with("id", id)))
}

/// Deactivates or reactivates a user. A deactivated user cannot sign in, their
/// API tokens stop working (they look up active users only), and every session
/// they had ends for good (the epoch moves on: reactivation does not revive them).
pub async fn set_active(pool: &PgPool, id: &str, active: bool) -> Result<(), UserError> {
    let done = sqlx::query(
        "UPDATE users SET active = $2, updated_at = arena_now(),
           session_epoch = session_epoch + CASE WHEN $2 THEN 0 ELSE 1 END
         WHERE id = $1",
    )
    .bind(id)
    .bind(active)
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(UserError::Invalid(Message::new("err.no_user").with("id", id)));
    }
    Ok(())
}

/// The users behind target scopes: `rep:<id>`, and every member of `team:<id>`.
pub async fn ids_in_scopes<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    scopes: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM users WHERE 'rep:' || id = ANY($1) OR 'team:' || team_id = ANY($1) ORDER BY id")
        .bind(scopes)
        .fetch_all(executor)
        .await
}

/// The team of user `id` (`None` when there is no such user).
pub async fn team_of(pool: &PgPool, id: &str) -> Result<Option<Option<String>>, sqlx::Error> {
    sqlx::query_scalar("SELECT team_id FROM users WHERE id = $1").bind(id).fetch_optional(pool).await
}

/// Failed sign-ins an account may have in `FAILURE_WINDOW_MINUTES` before it waits.
pub const FAILURES_ALLOWED: i32 = 5;
pub const FAILURE_WINDOW_MINUTES: i32 = 15;
/// The longest an account waits after too many failures (the rightful owner is
/// never locked out for long): 1 minute after the 6th, doubling, at most this.
pub const LONGEST_WAIT_MINUTES: i32 = 15;

/// Counts a sign-in attempt for `account` as failed before its password is
/// checked (concurrent guesses cannot outrun the count), in the database, so
/// the budget holds across instances and restarts. `false`: the account must
/// wait, and the password is not checked at all. Past the budget, one attempt
/// is let through after each wait (1, 2, 4, 8, then 15 minutes), so the
/// rightful owner gets in soon. A success calls `login_succeeded`.
pub async fn login_attempt(pool: &PgPool, account: &str) -> Result<bool, sqlx::Error> {
    // (still waiting, has waited since the last count)
    let state: Option<(bool, bool)> = sqlx::query_as(
        "SELECT coalesce(blocked_until > now(), false), blocked_until IS NOT NULL FROM login_failures WHERE account = $1",
    )
    .bind(account)
    .fetch_optional(pool)
    .await?;
    let (waiting, waited) = state.unwrap_or((false, false));
    if waiting {
        return Ok(false);
    }
    // A new window once the last one is over (rate-limit windows run on the wall clock).
    let failures: i32 = sqlx::query_scalar(
        "INSERT INTO login_failures AS f (account, failures, first_at) VALUES ($1, 1, now())
         ON CONFLICT (account) DO UPDATE SET
           failures = CASE WHEN f.first_at < now() - make_interval(mins => $2) THEN 1 ELSE f.failures + 1 END,
           first_at = CASE WHEN f.first_at < now() - make_interval(mins => $2) THEN now() ELSE f.first_at END,
           blocked_until = NULL
         RETURNING failures",
    )
    .bind(account)
    .bind(FAILURE_WINDOW_MINUTES)
    .fetch_one(pool)
    .await?;
    // Over the budget: one attempt after each wait, the waits doubling.
    if failures <= FAILURES_ALLOWED || waited {
        return Ok(true);
    }
    let over = (failures - FAILURES_ALLOWED - 1).min(8);
    let wait = (1i32 << over).min(LONGEST_WAIT_MINUTES);
    sqlx::query("UPDATE login_failures SET blocked_until = now() + make_interval(mins => $2) WHERE account = $1")
        .bind(account)
        .bind(wait)
        .execute(pool)
        .await?;
    Ok(false)
}

/// A right password: the account's failures are forgotten.
pub async fn login_succeeded(pool: &PgPool, account: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_failures WHERE account = $1").bind(account).execute(pool).await?;
    Ok(())
}
