//! Who may do what, beyond a role check at the door: the policies the pages,
//! the JSON API and the import share.

use domain::access::{CurrentUser, Role};
use domain::kpi::Scope;
use sqlx::PgPool;

/// Who may set a target for `scope`: admins for anything; managers for their
/// own team and its members; reps never.
pub async fn may_set_target(pool: &PgPool, user: &CurrentUser, scope: &Scope) -> Result<bool, sqlx::Error> {
    Ok(match (user.role, scope, user.team_id.as_deref()) {
        (Role::Admin, _, _) => true,
        (Role::Manager, Scope::Team(id), Some(own)) => id == own,
        (Role::Manager, Scope::Rep(id), Some(own)) => {
            store::users::team_of(pool, id).await?.flatten().as_deref() == Some(own)
        }
        _ => false,
    })
}

/// Who may import: managers and admins, as for the records API.
pub fn may_import(user: &CurrentUser) -> bool {
    matches!(user.role, Role::Manager | Role::Admin)
}
