//! Changes every screen must hear of at once: a team saved, a display revoked
//! or its sound switched. Each stores through `store`, then tells the screens.

use crate::live::{notify, LiveEvent};
use sqlx::PgPool;
pub use store::teams::TeamError;

/// Creates or renames team `id` (and sets its manager); pages re-read.
pub async fn save_team(
    pool: &PgPool,
    create: bool,
    id: &str,
    name: &str,
    region: &str,
    manager: Option<&str>,
) -> Result<(), TeamError> {
    store::teams::save(pool, create, id, name, region, manager).await?;
    notify(pool, &LiveEvent::Changed).await?;
    Ok(())
}

/// Revokes a display; its TV blanks within seconds (it is told at once, and
/// checks again every few seconds in case the message was lost).
pub async fn revoke_display(pool: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    let done = store::displays::revoke(pool, id).await?;
    if done {
        notify(pool, &LiveEvent::Revoked { display: id }).await?;
    }
    Ok(done)
}

/// Turns a display's won-deal chime on or off; its TV picks it up at its next read.
pub async fn set_display_sound(pool: &PgPool, id: i64, on: bool) -> Result<bool, sqlx::Error> {
    let done = store::displays::set_sound(pool, id, on).await?;
    if done {
        notify(pool, &LiveEvent::Changed).await?;
    }
    Ok(done)
}
