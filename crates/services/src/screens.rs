//! Changes every screen must hear of at once: a team saved, a display revoked
//! or its sound switched. Each stores through `store`, then tells the screens.

use crate::access::may_manage_display;
use crate::live::{notify, LiveEvent};
use domain::access::CurrentUser;
use domain::lang::Message;
use sqlx::PgPool;
use store::displays::{NewDisplay, PairError};
pub use store::teams::TeamError;

/// Why a change to a display was refused.
#[derive(Debug, thiserror::Error)]
pub enum ScreenError {
    #[error("{0}")]
    Invalid(Message),
    /// Another team's display (a manager manages only their own team's).
    #[error("{0}")]
    Forbidden(Message),
    #[error("no display {0}")]
    NotFound(i64),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

impl From<PairError> for ScreenError {
    fn from(e: PairError) -> Self {
        match e {
            PairError::Invalid(m) => ScreenError::Invalid(m),
            PairError::Db(e) => ScreenError::Db(e),
        }
    }
}

/// Pairs the TV showing the code to a new display of `new.scope`: admins any
/// (an existing team, or the organisation), managers only their own team.
pub async fn pair_display(pool: &PgPool, by: &CurrentUser, new: &NewDisplay) -> Result<i64, ScreenError> {
    if !may_manage_display(by, &new.scope) {
        return Err(ScreenError::Forbidden("err.display_team_only".into()));
    }
    Ok(store::displays::pair(pool, &by.id, new).await?)
}

/// Display `id` when `by` may manage it.
async fn managed(pool: &PgPool, by: &CurrentUser, id: i64) -> Result<(), ScreenError> {
    let scope = store::displays::scope_of(pool, id).await?.ok_or(ScreenError::NotFound(id))?;
    if !may_manage_display(by, &scope) {
        return Err(ScreenError::Forbidden("err.display_team_only".into()));
    }
    Ok(())
}

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
pub async fn revoke_display(pool: &PgPool, by: &CurrentUser, id: i64) -> Result<bool, ScreenError> {
    managed(pool, by, id).await?;
    let done = store::displays::revoke(pool, id).await?;
    if done {
        notify(pool, &LiveEvent::Revoked { display: id }).await?;
    }
    Ok(done)
}

/// Turns a display's won-deal chime on or off; its TV picks it up at its next read.
pub async fn set_display_sound(pool: &PgPool, by: &CurrentUser, id: i64, on: bool) -> Result<bool, ScreenError> {
    managed(pool, by, id).await?;
    let done = store::displays::set_sound(pool, id, on).await?;
    if done {
        notify(pool, &LiveEvent::Changed).await?;
    }
    Ok(done)
}
