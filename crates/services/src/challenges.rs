//! Challenges as people create and run them: what a challenge must be, who
//! may create, edit and launch one (managers their own team's, admins any),
//! and the screens told when one changes. The SQL is `store::challenges`.

use crate::live::{notify, LiveEvent};
use chrono::{DateTime, Utc};
use domain::access::{CurrentUser, Role};
use domain::kpi::{Better, ScopeKind};
use domain::lang::Message;
use serde::Deserialize;
use sqlx::PgPool;
use store::challenges as sql;
pub use store::challenges::{list_live, standings, Challenge, Standing};

/// A challenge as a manager fills it in.
#[derive(Debug, Clone, Deserialize)]
pub struct NewChallenge {
    pub name: String,
    pub kind: String,
    pub basis: String,
    pub goal: Option<f64>,
    pub top_n: Option<i32>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub participants: Vec<String>,
    #[serde(default)]
    pub prize: String,
    /// Launch at once instead of saving a draft.
    #[serde(default)]
    pub launch: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ChallengeError {
    #[error("{0}")]
    Invalid(Message),
    #[error("{0}")]
    Forbidden(Message),
    #[error("no challenge {0}")]
    NotFound(i64),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

/// Ends every live challenge whose end has passed (winners, their badges) and
/// tells the screens when one did. Returns how many ended.
pub async fn finish_due(pool: &PgPool) -> Result<usize, sqlx::Error> {
    let due = sql::due(pool).await?;
    let mut ended = 0;
    for c in &due {
        let standings = sql::standings(pool, c).await?;
        let winners: Vec<String> = standings.iter().filter(|s| s.winning).map(|s| s.id.clone()).collect();
        let names: Vec<String> = standings.iter().filter(|s| s.winning).map(|s| s.name.clone()).collect();
        let people = sql::winning_people(pool, c, &winners).await?;
        let mut tx = pool.begin().await?;
        if sql::finish_in(&mut tx, c, &winners, &people).await? {
            let moment = domain::notify::Moment::ChallengeEnded { challenge: c.name.clone(), winners: names };
            crate::notify::challenge_in(&mut tx, pool, c, moment).await?;
            ended += 1;
        }
        tx.commit().await?;
    }
    if ended > 0 {
        notify(pool, &LiveEvent::Changed).await?;
    }
    Ok(ended)
}

/// Tells the channels a challenge is live, in the transaction that makes it so.
async fn launched_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    pool: &PgPool,
    c: &Challenge,
) -> Result<(), sqlx::Error> {
    let tz = store::settings::load(pool).await?.time_zone;
    let ends = (c.ends_at - chrono::Duration::seconds(1)).with_timezone(&tz).date_naive();
    let moment = domain::notify::Moment::ChallengeLaunched { challenge: c.name.clone(), ends };
    crate::notify::challenge_in(tx, pool, c, moment).await?;
    Ok(())
}

fn invalid(message: impl Into<Message>) -> ChallengeError {
    ChallengeError::Invalid(message.into())
}

/// Checks a new challenge and who may create it: managers for their own team's
/// reps (any teams in a team-vs-team), admins for anyone.
pub async fn create(pool: &PgPool, by: &CurrentUser, c: &NewChallenge) -> Result<i64, ChallengeError> {
    // Who asks comes before what they ask.
    if by.role == Role::Rep {
        return Err(ChallengeError::Forbidden("err.challenge_rep_creates".into()));
    }
    if c.name.trim().is_empty() {
        return Err(invalid("err.challenge_name"));
    }
    if c.basis != "points" {
        let k = domain::kpi::find(&c.basis)
            .ok_or_else(|| invalid(Message::new("err.challenge_basis").with("basis", &c.basis)))?;
        let scope = if c.kind == "team_vs_team" { ScopeKind::Team } else { ScopeKind::Rep };
        if !k.applies_to(scope) || k.better == Better::None {
            return Err(invalid(Message::new("err.challenge_basis_ranks").with("basis", k.id)));
        }
    }
    if c.ends_at <= c.starts_at {
        return Err(invalid("err.challenge_ends"));
    }
    match c.kind.as_str() {
        "race" if !c.goal.is_some_and(|g| g.is_finite()) => return Err(invalid("err.challenge_race_goal")),
        "top_n" if !c.top_n.is_some_and(|n| n > 0) => return Err(invalid("err.challenge_top_n")),
        _ => {}
    }
    let participants = check_participants(pool, by, &c.kind, &c.participants).await?;
    let challenge = Challenge {
        id: 0,
        name: c.name.trim().to_string(),
        kind: c.kind.clone(),
        basis: c.basis.clone(),
        goal: c.goal,
        top_n: c.top_n,
        starts_at: c.starts_at,
        ends_at: c.ends_at,
        participants,
        prize: c.prize.trim().to_string(),
        status: if c.launch { "live" } else { "draft" }.to_string(),
        winners: Vec::new(),
        created_by: by.id.clone(),
    };
    let mut tx = pool.begin().await?;
    let id = sql::insert_in(&mut tx, &challenge).await?;
    if c.launch {
        launched_in(&mut tx, pool, &Challenge { id, ..challenge }).await?;
    }
    tx.commit().await?;
    notify(pool, &LiveEvent::Changed).await?;
    Ok(id)
}

/// The challenges `user` may see, newest first: drafts only for managers and admins.
pub async fn list(pool: &PgPool, user: &CurrentUser) -> Result<Vec<Challenge>, sqlx::Error> {
    finish_due(pool).await?;
    sql::list(pool, user.role != Role::Rep).await
}

/// One challenge, if `user` may see it (a rep gets `NotFound` for a draft).
pub async fn get(pool: &PgPool, user: &CurrentUser, id: i64) -> Result<Challenge, ChallengeError> {
    finish_due(pool).await?;
    match sql::find(pool, id).await? {
        Some(c) if c.status != "draft" || user.role != Role::Rep => Ok(c),
        _ => Err(ChallengeError::NotFound(id)),
    }
}

/// Checks the participants of a challenge of `kind` and who may enter them:
/// managers their own team's reps (any teams in a team-vs-team), admins anyone.
/// Returns them sorted, without repeats.
async fn check_participants(
    pool: &PgPool,
    by: &CurrentUser,
    kind: &str,
    participants: &[String],
) -> Result<Vec<String>, ChallengeError> {
    let mut participants = participants.to_vec();
    participants.sort();
    participants.dedup();
    match kind {
        "head_to_head" if participants.len() != 2 => return Err(invalid("err.challenge_head_to_head")),
        "race" | "top_n" | "head_to_head" | "team_vs_team" => {}
        other => return Err(invalid(Message::new("err.challenge_kind").with("kind", other))),
    }
    if participants.len() < 2 {
        return Err(invalid("err.challenge_two_participants"));
    }
    if kind == "team_vs_team" {
        let known = sql::count_teams(pool, &participants).await?;
        if known != participants.len() as i64 {
            return Err(invalid("err.challenge_teams_only"));
        }
    } else {
        let reps = sql::reps_with_teams(pool, &participants).await?;
        if reps.len() != participants.len() {
            let found: Vec<&str> = reps.iter().map(|(id, _)| id.as_str()).collect();
            let missing: Vec<&str> = participants.iter().map(String::as_str).filter(|p| !found.contains(p)).collect();
            return Err(invalid(Message::new("err.challenge_not_reps").with("ids", missing.join(", "))));
        }
        if by.role == Role::Manager && reps.iter().any(|(_, team)| team.is_none() || *team != by.team_id) {
            return Err(ChallengeError::Forbidden("err.challenge_own_team".into()));
        }
    }
    Ok(participants)
}

/// What may change in a challenge: a draft everything here; a running one its
/// name, prize and end (to a later instant than now); a finished one nothing.
#[derive(Debug, Clone, Deserialize)]
pub struct ChallengeEdit {
    pub name: String,
    pub ends_at: DateTime<Utc>,
    pub prize: String,
    /// `None` keeps them.
    pub participants: Option<Vec<String>>,
}

/// Edits challenge `id`: managers their own challenges, admins any.
pub async fn edit(pool: &PgPool, by: &CurrentUser, id: i64, e: &ChallengeEdit) -> Result<(), ChallengeError> {
    if by.role == Role::Rep {
        return Err(ChallengeError::Forbidden("err.challenge_rep_edits".into()));
    }
    let c = get(pool, by, id).await?;
    if by.role == Role::Manager && c.created_by != by.id {
        return Err(ChallengeError::Forbidden("err.challenge_own_only".into()));
    }
    if e.name.trim().is_empty() {
        return Err(invalid("err.challenge_edit_name"));
    }
    if e.ends_at <= c.starts_at {
        return Err(invalid("err.challenge_edit_ends"));
    }
    let participants = match c.status.as_str() {
        "finished" => return Err(invalid("err.challenge_finished")),
        "live" => {
            if e.ends_at != c.ends_at && e.ends_at <= domain::clock::now() {
                return Err(invalid("err.challenge_new_end"));
            }
            let mut same = c.participants.clone();
            same.sort();
            if e.participants.as_ref().is_some_and(|p| {
                let mut p = p.clone();
                p.sort();
                p.dedup();
                p != same
            }) {
                return Err(invalid("err.challenge_keeps_participants"));
            }
            c.participants
        }
        _ => match &e.participants {
            Some(p) => check_participants(pool, by, &c.kind, p).await?,
            None => c.participants,
        },
    };
    let edited = Challenge {
        name: e.name.trim().to_string(),
        ends_at: e.ends_at,
        prize: e.prize.trim().to_string(),
        participants,
        ..c
    };
    if !sql::update(pool, &edited).await? {
        return Err(invalid("err.challenge_changed"));
    }
    notify(pool, &LiveEvent::Changed).await?;
    Ok(())
}

/// Launches a draft: from now on reps see it.
pub async fn launch(pool: &PgPool, user: &CurrentUser, id: i64) -> Result<(), ChallengeError> {
    if user.role == Role::Rep {
        return Err(ChallengeError::Forbidden("err.challenge_rep_launches".into()));
    }
    let c = get(pool, user, id).await?;
    if user.role == Role::Manager && c.created_by != user.id {
        return Err(ChallengeError::Forbidden("err.challenge_launch_own".into()));
    }
    if c.status != "draft" {
        return Err(invalid(Message::new("err.challenge_not_draft").with("status", &c.status)));
    }
    let mut tx = pool.begin().await?;
    if sql::launch_in(&mut tx, id).await? {
        launched_in(&mut tx, pool, &c).await?;
    }
    tx.commit().await?;
    finish_due(pool).await?;
    notify(pool, &LiveEvent::Changed).await?;
    Ok(())
}
