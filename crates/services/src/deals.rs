//! Won deals logged in the app: who may log for whom, then the one ingest path
//! (`ingest::submit`), so points, badges and the TV follow as for the records API.

use crate::ingest::{self, Source, SubmitError};
use chrono::{DateTime, Utc};
use domain::access::{CurrentUser, Role};
use domain::lang::Message;
use serde_json::json;
use sqlx::PgPool;

/// A won deal as the form fills it in.
#[derive(Debug, Clone)]
pub struct WonDeal {
    /// Empty: one is made up.
    pub id: String,
    pub owner: String,
    pub customer: Option<String>,
    /// As typed; the records validation reads it.
    pub amount: String,
    pub product: Option<String>,
    pub deal_type: String,
    pub closed_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum DealError {
    #[error("{0}")]
    Invalid(Message),
    #[error("{0}")]
    Forbidden(Message),
    /// The records validation's own messages (the public API's, in English).
    #[error("{0}")]
    Record(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

/// Whether `by` may log deals for `owner`: reps their own, managers their
/// team's reps, admins anyone's.
async fn may_log_for(pool: &PgPool, by: &CurrentUser, owner: &str) -> Result<(), DealError> {
    let row = store::directory::active_role_and_team(pool, owner).await?;
    let Some((role, team)) = row else {
        return Err(DealError::Invalid(Message::new("err.deal_owner").with("id", owner)));
    };
    let allowed = match by.role {
        Role::Admin => true,
        Role::Manager => role == "rep" && team.is_some() && team == by.team_id,
        Role::Rep => owner == by.id,
    };
    if allowed {
        Ok(())
    } else {
        Err(DealError::Forbidden(match by.role {
            Role::Rep => "err.deal_own_only".into(),
            _ => "err.deal_team_only".into(),
        }))
    }
}

/// Stores one won deal through the records API's validation and storage; returns its id.
pub async fn log_won_deal(pool: &PgPool, by: &CurrentUser, deal: &WonDeal) -> Result<String, DealError> {
    let owner = deal.owner.trim();
    may_log_for(pool, by, owner).await?;
    let id = match deal.id.trim() {
        "" => format!("app-{}-{}", deal.closed_at.format("%Y%m%d"), hex::encode(rand::random::<[u8; 4]>())),
        id => id.to_string(),
    };
    // The form adds deals; replacing one (as a re-sent API record does) could overwrite someone else's.
    let taken = store::records::deal_exists(pool, &id).await?;
    if taken {
        return Err(DealError::Invalid(Message::new("err.deal_exists").with("id", &id)));
    }
    let when = deal.closed_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut record = json!({
        "kind": "deal", "id": id, "owner": owner, "amount": deal.amount.trim(), "deal_type": deal.deal_type,
        "status": "won", "created_at": when, "closed_at": when,
    });
    for (field, value) in [("customer", &deal.customer), ("product", &deal.product)] {
        if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            record[field] = json!(v);
        }
    }
    match ingest::submit(pool, &[record], Source::DealForm, by).await {
        Ok(done) => {
            // The rep sees their points on the next page; the TV has celebrated already.
            ingest::wait_for(pool, done.work, ingest::PAGE_WAIT).await?;
            Ok(id)
        }
        Err(SubmitError::Invalid(errors) | SubmitError::OutOfScope(errors)) => {
            Err(DealError::Record(errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join("; ")))
        }
        Err(SubmitError::Db(e)) => Err(e.into()),
    }
}

/// The users `by` may log deals for, as (id, name), by name.
pub async fn owners_for(pool: &PgPool, by: &CurrentUser) -> Result<Vec<(String, String)>, sqlx::Error> {
    use store::directory::{active_users, Who};
    match (by.role, by.team_id.as_deref()) {
        (Role::Admin, _) => active_users(pool, Who::Everyone).await,
        (Role::Rep, _) => active_users(pool, Who::Only(&by.id)).await,
        (Role::Manager, Some(team)) => active_users(pool, Who::RepsOf(team)).await,
        (Role::Manager, None) => Ok(Vec::new()),
    }
}
