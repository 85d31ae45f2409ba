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

/// Stores validated settings; each bad field is named in the error.
pub async fn save(pool: &PgPool, name: &str, currency: &str, time_zone: &str, language: &str) -> Result<(), String> {
    let mut problems = Vec::new();
    if name.trim().is_empty() {
        problems.push("the organisation's name must not be empty".to_string());
    }
    if !(currency.len() == 3 && currency.chars().all(|c| c.is_ascii_uppercase())) {
        problems.push(format!("`{currency}` is not a currency code such as RUB, EUR or USD"));
    }
    if time_zone.parse::<chrono_tz::Tz>().is_err() {
        problems.push(format!("`{time_zone}` is not a time zone such as Europe/Moscow"));
    }
    if !["ru", "en"].contains(&language) {
        problems.push(format!("`{language}` is not a language (ru or en)"));
    }
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    sqlx::query("UPDATE org_settings SET name = $1, currency = $2, time_zone = $3, language = $4")
        .bind(name.trim())
        .bind(currency)
        .bind(time_zone)
        .bind(language)
        .execute(pool)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}
