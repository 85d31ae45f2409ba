//! The organisation's settings (one row).

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
