//! TV displays and their pairing: a TV shows a short code, a manager enters
//! it, and the TV receives a long-lived, revocable, read-only display token
//! (kept in a cookie; only its SHA-256 is stored here).

use crate::users::token_digest;
use chrono::{DateTime, Utc};
use domain::lang::Message;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

/// Letters and digits that cannot be mistaken for one another on a screen.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// A code not entered within this many minutes is dropped.
const PAIRING_MINUTES: i32 = 60;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Display {
    pub id: i64,
    pub name: String,
    pub names: String,
    pub rotate_seconds: i32,
    pub scope: String,
    pub created_by: String,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// A chime at each won-deal celebration (off unless turned on).
    pub sound: bool,
}

fn random_code() -> String {
    (0..6).map(|_| CODE_ALPHABET[rand::random::<usize>() % CODE_ALPHABET.len()] as char).collect()
}

/// At most this many TVs wait for a manager's code at once: a flood of
/// cookie-less visits cannot fill the table.
pub const MAX_PENDING: i64 = 200;

/// A new pairing for a TV: (code to show, secret for the TV's cookie); `None`
/// when `MAX_PENDING` TVs are waiting already.
pub async fn start_pairing(pool: &PgPool) -> Result<Option<(String, String)>, sqlx::Error> {
    sqlx::query("DELETE FROM tv_pairings WHERE created_at < arena_now() - make_interval(mins => $1)")
        .bind(PAIRING_MINUTES)
        .execute(pool)
        .await?;
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM tv_pairings").fetch_one(pool).await?;
    if pending >= MAX_PENDING {
        return Ok(None);
    }
    let secret = format!("kpd_{}", hex::encode(rand::random::<[u8; 24]>()));
    loop {
        let code = random_code();
        let inserted =
            sqlx::query("INSERT INTO tv_pairings (code, secret_sha256) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(&code)
                .bind(token_digest(&secret))
                .execute(pool)
                .await?
                .rows_affected();
        if inserted == 1 {
            return Ok(Some((code, secret)));
        }
    }
}

/// Where a TV's pairing stands: `Ok(token)` once a manager bound it (the row is
/// then gone; the token is the TV's own secret, whose digest the display keeps),
/// `Err(Some(code))` while waiting, `Err(None)` when unknown or expired.
pub async fn poll_pairing(pool: &PgPool, secret: &str) -> Result<Result<String, Option<String>>, sqlx::Error> {
    let row: Option<(String, bool)> = sqlx::query_as(
        "SELECT code, paired FROM tv_pairings
         WHERE secret_sha256 = $1 AND created_at >= arena_now() - make_interval(mins => $2)",
    )
    .bind(token_digest(secret))
    .bind(PAIRING_MINUTES)
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        Some((code, true)) => {
            sqlx::query("DELETE FROM tv_pairings WHERE code = $1").bind(&code).execute(pool).await?;
            Ok(secret.to_string())
        }
        Some((code, false)) => Err(Some(code)),
        None => Err(None),
    })
}

/// What a manager enters to pair a TV.
#[derive(Debug, Clone, Deserialize)]
pub struct NewDisplay {
    pub code: String,
    pub name: String,
    pub names: String,
    pub rotate_seconds: i32,
    pub scope: String,
    pub sound: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PairError {
    #[error("{0}")]
    Invalid(Message),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

/// Binds the TV showing `code` to a new display; the error names what is wrong.
pub async fn pair(pool: &PgPool, by: &str, d: &NewDisplay) -> Result<i64, PairError> {
    let invalid = |m: Message| Err(PairError::Invalid(m));
    let code = d.code.trim().to_uppercase().replace([' ', '-'], "");
    if d.name.trim().is_empty() {
        return invalid("err.display_name".into());
    }
    if !["full", "initials", "none"].contains(&d.names.as_str()) {
        return invalid(Message::new("err.display_names").with("names", &d.names));
    }
    if !(5..=600).contains(&d.rotate_seconds) {
        return invalid("err.display_rotate".into());
    }
    if d.scope != "org" && !d.scope.starts_with("team:") {
        return invalid("err.display_scope".into());
    }
    if let Some(team) = d.scope.strip_prefix("team:") {
        let known: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM teams WHERE id = $1)").bind(team).fetch_one(pool).await?;
        if !known {
            return invalid(Message::new("err.unknown_team").with("id", team));
        }
    }
    let mut tx = pool.begin().await?;
    // The display's token is the TV's pairing secret: its digest moves over, the secret stays with the TV.
    let digest: Option<Vec<u8>> = sqlx::query_scalar(
        "UPDATE tv_pairings SET paired = TRUE
         WHERE code = $1 AND NOT paired AND created_at >= arena_now() - make_interval(mins => $2)
         RETURNING secret_sha256",
    )
    .bind(&code)
    .bind(PAIRING_MINUTES)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(digest) = digest else {
        return invalid(Message::new("err.display_code").with("code", &code));
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO displays (name, token_sha256, names, rotate_seconds, scope, created_by, sound)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(d.name.trim())
    .bind(&digest)
    .bind(&d.names)
    .bind(d.rotate_seconds)
    .bind(&d.scope)
    .bind(by)
    .bind(d.sound)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

const COLUMNS: &str = "id, name, names, rotate_seconds, scope, created_by, last_seen_at, revoked_at, sound";

type Row = (i64, String, String, i32, String, String, Option<DateTime<Utc>>, Option<DateTime<Utc>>, bool);

fn from_row(r: Row) -> Display {
    Display {
        id: r.0,
        name: r.1,
        names: r.2,
        rotate_seconds: r.3,
        scope: r.4,
        created_by: r.5,
        last_seen_at: r.6,
        revoked_at: r.7,
        sound: r.8,
    }
}

/// The display behind a token, unless revoked; marks it seen.
pub async fn by_token(pool: &PgPool, token: &str) -> Result<Option<Display>, sqlx::Error> {
    let sql = format!(
        "UPDATE displays SET last_seen_at = arena_now() WHERE token_sha256 = $1 AND revoked_at IS NULL RETURNING {COLUMNS}"
    );
    Ok(sqlx::query_as::<_, Row>(&sql).bind(token_digest(token)).fetch_optional(pool).await?.map(from_row))
}

/// Of displays `ids`, those still allowed to show data (the live streams' sweep: one query for all).
pub async fn active_among(pool: &PgPool, ids: &[i64]) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM displays WHERE id = ANY($1) AND revoked_at IS NULL")
        .bind(ids)
        .fetch_all(pool)
        .await
}

/// Every display (`scope` `None`), or only those showing `scope`.
pub async fn list(pool: &PgPool, scope: Option<&str>) -> Result<Vec<Display>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM displays WHERE $1::text IS NULL OR scope = $1 ORDER BY revoked_at IS NOT NULL, name, id"
    );
    Ok(sqlx::query_as::<_, Row>(&sql).bind(scope).fetch_all(pool).await?.into_iter().map(from_row).collect())
}

/// What display `id` shows (`org` or `team:<id>`), if there is such a display.
pub async fn scope_of(pool: &PgPool, id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT scope FROM displays WHERE id = $1").bind(id).fetch_optional(pool).await
}

/// Revokes a display (`services::screens::revoke_display` tells its TV).
pub async fn revoke(pool: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE displays SET revoked_at = arena_now() WHERE id = $1 AND revoked_at IS NULL")
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected()
        == 1;
    Ok(done)
}

/// Turns a display's won-deal chime on or off; its TV picks it up at its next read.
pub async fn set_sound(pool: &PgPool, id: i64, on: bool) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE displays SET sound = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id)
        .bind(on)
        .execute(pool)
        .await?
        .rows_affected()
        == 1;
    Ok(done)
}
