//! Anti-gaming flags a manager judges: a verdict ("fine" or "acted on", with a
//! note) takes a flag off the open list. Managers judge their own team's reps'
//! flags, admins anyone's.

use domain::access::{CurrentUser, Role};
use domain::fairness::{Verdict, NOTE_MAX};
use domain::lang::Message;
use sqlx::PgPool;

#[derive(Debug, thiserror::Error)]
pub enum FlagError {
    #[error("{0}")]
    Invalid(Message),
    #[error("{0}")]
    Forbidden(Message),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

/// Who may resolve a flag raised on a rep of `team`: admins; that team's manager.
pub fn may_resolve(user: &CurrentUser, team: Option<&str>) -> bool {
    match user.role {
        Role::Admin => true,
        Role::Manager => team.is_some() && team == user.team_id.as_deref(),
        Role::Rep => false,
    }
}

/// Records `by`'s verdict on the flag `key`, which must still be raised by its records.
pub async fn resolve(pool: &PgPool, by: &CurrentUser, key: &str, verdict: &str, note: &str) -> Result<(), FlagError> {
    if !matches!(by.role, Role::Manager | Role::Admin) {
        return Err(FlagError::Forbidden("err.flags_managers".into()));
    }
    let verdict = Verdict::parse(verdict).ok_or_else(|| FlagError::Invalid("err.flag_verdict".into()))?;
    let note = note.trim();
    if note.chars().count() > NOTE_MAX {
        return Err(FlagError::Invalid(Message::new("err.flag_note_long").with("max", NOTE_MAX)));
    }
    let Some(flag) = store::flags::find(pool, key).await? else {
        return Err(FlagError::Invalid("err.no_flag".into()));
    };
    if !may_resolve(by, flag.team_id.as_deref()) {
        return Err(FlagError::Forbidden("err.flag_team_only".into()));
    }
    store::flags::resolve(pool, key, verdict, note, &by.id).await?;
    Ok(())
}
