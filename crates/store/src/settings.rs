//! The organisation's settings (one row).

use domain::lang::Message;
use sqlx::PgPool;

#[derive(Debug, Clone)]
pub struct OrgSettings {
    pub name: String,
    pub currency: String,
    pub time_zone: chrono_tz::Tz,
    pub language: String,
}

pub async fn load(pool: &PgPool) -> Result<OrgSettings, sqlx::Error> {
    let (name, currency, tz, language): (String, String, String, String) =
        sqlx::query_as("SELECT name, currency, time_zone, language FROM org_settings").fetch_one(pool).await?;
    Ok(OrgSettings { name, currency, time_zone: tz.parse().unwrap_or(chrono_tz::UTC), language })
}

/// True once the database holds any user: the demo loads itself only into an empty one.
pub async fn has_users(pool: &PgPool) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users)").fetch_one(pool).await
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// Every bad field, each named.
    #[error("{}", .0.iter().map(Message::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Message>),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

/// Stores validated settings; each bad field is named in the error.
pub async fn save(
    pool: &PgPool,
    name: &str,
    currency: &str,
    time_zone: &str,
    language: &str,
) -> Result<(), SettingsError> {
    let mut problems = Vec::new();
    if name.trim().is_empty() {
        problems.push(Message::new("err.org_name"));
    }
    if !(currency.len() == 3 && currency.chars().all(|c| c.is_ascii_uppercase())) {
        problems.push(Message::new("err.currency").with("code", currency));
    }
    if time_zone.parse::<chrono_tz::Tz>().is_err() {
        problems.push(Message::new("err.time_zone").with("zone", time_zone));
    }
    if !["ru", "en"].contains(&language) {
        problems.push(Message::new("err.language").with("language", language));
    }
    if !problems.is_empty() {
        return Err(SettingsError::Invalid(problems));
    }
    sqlx::query("UPDATE org_settings SET name = $1, currency = $2, time_zone = $3, language = $4")
        .bind(name.trim())
        .bind(currency)
        .bind(time_zone)
        .bind(language)
        .execute(pool)
        .await?;
    Ok(())
}
