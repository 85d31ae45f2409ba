//! Changes to who someone is: active or not, their role and team. Store the
//! change, then tell every instance: the user's open pages stop listening (their
//! sessions ended) and every screen re-reads (names, teams and standings moved).

use crate::live::{notify, LiveEvent};
use domain::access::Role;
use sqlx::PgPool;
use store::users::UserError;

/// Activates or deactivates user `id` (deactivating ends their sessions).
pub async fn set_active(pool: &PgPool, id: &str, active: bool) -> Result<(), UserError> {
    store::users::set_active(pool, id, active).await?;
    if !active {
        notify(pool, &LiveEvent::SignedOut { user: id.to_string() }).await?;
    }
    notify(pool, &LiveEvent::Changed).await?;
    Ok(())
}

/// Gives user `id` a role and team; a new role ends their sessions.
pub async fn change_role_and_team(pool: &PgPool, id: &str, role: Role, team: Option<&str>) -> Result<(), UserError> {
    let before = store::users::session_epoch(pool, id).await.ok();
    store::users::change_role_and_team(pool, id, role, team).await?;
    if store::users::session_epoch(pool, id).await.ok() != before {
        notify(pool, &LiveEvent::SignedOut { user: id.to_string() }).await?;
    }
    notify(pool, &LiveEvent::Changed).await?;
    Ok(())
}
