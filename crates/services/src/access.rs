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

/// The displays `user` manages: every one for an admin (`None`), their own
/// team's for a manager, none for a rep.
pub fn displays_of(user: &CurrentUser) -> Option<Option<String>> {
    match (user.role, user.team_id.as_deref()) {
        (Role::Admin, _) => Some(None),
        (Role::Manager, Some(team)) => Some(Some(format!("team:{team}"))),
        _ => None,
    }
}

/// Whether `user` may pair, revoke or mute a display showing `scope`.
pub fn may_manage_display(user: &CurrentUser, scope: &str) -> bool {
    match displays_of(user) {
        Some(None) => true,
        Some(Some(own)) => own == scope,
        None => false,
    }
}

/// Who may write points rules: admins only (the rules score the whole
/// organisation; a manager reads them).
pub fn may_edit_rules(user: &CurrentUser) -> bool {
    user.role == Role::Admin
}

/// Whom `user` may invite, as (role, team): admins anyone anywhere; a manager
/// only reps, into their own team (roles and moves between teams are an
/// admin's). `None`: this invite is refused.
pub fn may_invite(user: &CurrentUser, role: Role, team: Option<&str>) -> bool {
    match user.role {
        Role::Admin => true,
        Role::Manager => role == Role::Rep && team.is_some() && team == user.team_id.as_deref(),
        Role::Rep => false,
    }
}

/// Who may change an existing user's role or team: admins only. A manager
/// invites reps into their own team (`may_invite`) but sets no roles and moves
/// nobody across teams, their own reps included.
pub fn may_change_user(user: &CurrentUser) -> bool {
    user.role == Role::Admin
}
