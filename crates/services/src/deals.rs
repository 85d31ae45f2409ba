//! Won deals logged in the app: who may log for whom, then the one ingest path
//! (`ingest::submit`), so points, badges and the TV follow as for the records API.
//! The form is stricter than the API: no win at 0, no close date in the future,
//! and one deal per submission however often it is sent.

use crate::ingest::{self, Source, SubmitError};
use chrono::{DateTime, Utc};
use domain::access::{CurrentUser, Role};
use domain::lang::Message;
use rust_decimal::Decimal;
use serde_json::json;
use sqlx::PgPool;
use std::str::FromStr;

/// A won deal as the form fills it in.
#[derive(Debug, Clone)]
pub struct WonDeal {
    /// Empty: one is made from `submission` (or made up without one).
    pub id: String,
    /// The form's own id (`new_submission`, rendered into it): sent twice, it logs one deal.
    pub submission: String,
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

/// A fresh id for one filling-in of the deal form.
pub fn new_submission() -> String {
    hex::encode(rand::random::<[u8; 12]>())
}

/// What the form refuses that the records API accepts (and flags, `store::flags`):
/// a win at 0, and a close date ahead of the clock by more than its skew.
fn check_form(deal: &WonDeal, now: DateTime<Utc>) -> Result<(), DealError> {
    if Decimal::from_str(deal.amount.trim()).is_ok_and(|a| a.is_zero()) {
        return Err(DealError::Invalid("err.deal_zero".into()));
    }
    if domain::fairness::dated_ahead(deal.closed_at, now) {
        return Err(DealError::Invalid("err.deal_future".into()));
    }
    let submission = deal.submission.trim();
    if submission.len() > 64 || !submission.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(DealError::Invalid("err.deal_submission".into()));
    }
    Ok(())
}

/// Stores one won deal through the records API's validation and storage; returns its id.
pub async fn log_won_deal(pool: &PgPool, by: &CurrentUser, deal: &WonDeal) -> Result<String, DealError> {
    let owner = deal.owner.trim();
    may_log_for(pool, by, owner).await?;
    check_form(deal, domain::clock::now())?;
    // Without an id of its own the deal is named by its submission, so the same form sent
    // twice (a double click, a resent page) upserts one deal through the one ingest path.
    let id = match (deal.id.trim(), deal.submission.trim()) {
        ("", "") => format!("app-{}-{}", deal.closed_at.format("%Y%m%d"), hex::encode(rand::random::<[u8; 4]>())),
        ("", submission) => format!("app-{submission}"),
        (id, _) => id.to_string(),
    };
    // The form adds deals; replacing one (as a re-sent API record does) could overwrite someone
    // else's. The same won deal again (same owner and amount) is the one already logged.
    if let Some((held_by, amount, status)) = store::records::deal_summary(pool, &id).await? {
        let same =
            held_by == owner && status == "won" && Decimal::from_str(deal.amount.trim()).is_ok_and(|a| a == amount);
        return if same { Ok(id) } else { Err(DealError::Invalid(Message::new("err.deal_exists").with("id", &id))) };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn deal(amount: &str, closed_at: DateTime<Utc>, submission: &str) -> WonDeal {
        WonDeal {
            id: String::new(),
            submission: submission.into(),
            owner: "r1".into(),
            customer: None,
            amount: amount.into(),
            product: None,
            deal_type: "new".into(),
            closed_at,
        }
    }

    fn refusal(r: Result<(), DealError>) -> Option<&'static str> {
        match r {
            Err(DealError::Invalid(m)) => Some(m.key()),
            _ => None,
        }
    }

    #[test]
    fn the_form_refuses_a_win_at_zero_a_future_close_date_and_a_forged_submission() {
        let now = DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z").unwrap().with_timezone(&Utc);
        let ok = new_submission();
        assert_eq!(refusal(check_form(&deal("0", now, &ok), now)), Some("err.deal_zero"));
        assert_eq!(refusal(check_form(&deal("0.00", now, &ok), now)), Some("err.deal_zero"));
        let ahead = now + chrono::Duration::minutes(11);
        assert_eq!(refusal(check_form(&deal("10", ahead, &ok), now)), Some("err.deal_future"));
        assert_eq!(refusal(check_form(&deal("10", now, "a b"), now)), Some("err.deal_submission"));
        // Within the clock skew, and anything the records validation names itself, passes on.
        assert!(check_form(&deal("10", now + chrono::Duration::minutes(10), &ok), now).is_ok());
        assert!(check_form(&deal("-5", now, ""), now).is_ok());
    }
}
