//! Challenges: races to a target, top-N, head-to-head and team-vs-team, on a
//! KPI or on points; live standings; winners get a badge when one ends.
//! Drafts are visible to managers and admins only, to check scoring before launch.

use crate::auth::{CurrentUser, Role};
use crate::db::kpis::{gather, owners_of, rank, Grouping, Owners, RankedRep, Window};
use crate::i18n::Message;
use crate::kpi::{Better, Scope};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Row};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Challenge {
    pub id: i64,
    pub name: String,
    /// `race`, `top_n`, `head_to_head` or `team_vs_team`.
    pub kind: String,
    /// A KPI id or `points`.
    pub basis: String,
    pub goal: Option<f64>,
    pub top_n: Option<i32>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// User ids, or team ids for team_vs_team.
    pub participants: Vec<String>,
    pub prize: String,
    /// `draft`, `live` or `finished`.
    pub status: String,
    pub winners: Vec<String>,
    pub created_by: String,
}

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

fn invalid(message: impl Into<Message>) -> ChallengeError {
    ChallengeError::Invalid(message.into())
}

/// The direction a basis ranks in: points and most KPIs higher, some KPIs lower.
fn better_of(basis: &str) -> Better {
    crate::kpi::find(basis).map_or(Better::Higher, |k| k.better)
}

/// Checks a new challenge and who may create it: managers for their own team's
/// reps (any teams in a team-vs-team), admins for anyone.
pub async fn create(pool: &PgPool, by: &CurrentUser, c: &NewChallenge) -> Result<i64, ChallengeError> {
    if c.name.trim().is_empty() {
        return Err(invalid("err.challenge_name"));
    }
    if c.basis != "points" {
        let k = crate::kpi::find(&c.basis)
            .ok_or_else(|| invalid(Message::new("err.challenge_basis").with("basis", &c.basis)))?;
        let scope = if c.kind == "team_vs_team" { crate::kpi::ScopeKind::Team } else { crate::kpi::ScopeKind::Rep };
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
    if by.role == Role::Rep {
        return Err(ChallengeError::Forbidden("err.challenge_rep_creates".into()));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO challenges (name, kind, basis, goal, top_n, starts_at, ends_at, participants, prize, status, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(c.name.trim())
    .bind(&c.kind)
    .bind(&c.basis)
    .bind(c.goal)
    .bind(c.top_n)
    .bind(c.starts_at)
    .bind(c.ends_at)
    .bind(&participants)
    .bind(c.prize.trim())
    .bind(if c.launch { "live" } else { "draft" })
    .bind(&by.id)
    .fetch_one(pool)
    .await?;
    crate::live::notify(pool, &crate::live::LiveEvent::changed()).await?;
    Ok(id)
}

fn from_row(r: sqlx::postgres::PgRow) -> Challenge {
    Challenge {
        id: r.get("id"),
        name: r.get("name"),
        kind: r.get("kind"),
        basis: r.get("basis"),
        goal: r.get("goal"),
        top_n: r.get("top_n"),
        starts_at: r.get("starts_at"),
        ends_at: r.get("ends_at"),
        participants: r.get("participants"),
        prize: r.get("prize"),
        status: r.get("status"),
        winners: r.get("winners"),
        created_by: r.get("created_by"),
    }
}

const COLUMNS: &str =
    "id, name, kind, basis, goal, top_n, starts_at, ends_at, participants, prize, status, winners, created_by";

/// The challenges `user` may see, newest first: drafts only for managers and admins.
pub async fn list(pool: &PgPool, user: &CurrentUser) -> Result<Vec<Challenge>, sqlx::Error> {
    finish_due(pool).await?;
    let sql = format!("SELECT {COLUMNS} FROM challenges WHERE status <> 'draft' OR $1 ORDER BY ends_at DESC, id DESC");
    let rows = sqlx::query(&sql).bind(user.role != Role::Rep).fetch_all(pool).await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// The challenges running now, for the TV.
pub async fn list_live(pool: &PgPool) -> Result<Vec<Challenge>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM challenges WHERE status = 'live' AND starts_at <= arena_now() ORDER BY ends_at, id"
    );
    Ok(sqlx::query(&sql).fetch_all(pool).await?.into_iter().map(from_row).collect())
}

/// One challenge, if `user` may see it (a rep gets `NotFound` for a draft).
pub async fn get(pool: &PgPool, user: &CurrentUser, id: i64) -> Result<Challenge, ChallengeError> {
    finish_due(pool).await?;
    let sql = format!("SELECT {COLUMNS} FROM challenges WHERE id = $1");
    let c = sqlx::query(&sql).bind(id).fetch_optional(pool).await?.map(from_row);
    match c {
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
        let known: i64 = sqlx::query_scalar("SELECT count(*) FROM teams WHERE id = ANY($1)")
            .bind(&participants)
            .fetch_one(pool)
            .await?;
        if known != participants.len() as i64 {
            return Err(invalid("err.challenge_teams_only"));
        }
    } else {
        let reps: Vec<(String, Option<String>)> =
            sqlx::query_as("SELECT id, team_id FROM users WHERE id = ANY($1) AND role = 'rep'")
                .bind(&participants)
                .fetch_all(pool)
                .await?;
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
            if e.ends_at != c.ends_at && e.ends_at <= crate::clock::now() {
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
    // The status guard makes an edit racing the challenge's finish a no-op, not a change to a result.
    let done = sqlx::query(
        "UPDATE challenges SET name = $2, ends_at = $3, prize = $4, participants = $5
         WHERE id = $1 AND status = $6",
    )
    .bind(id)
    .bind(e.name.trim())
    .bind(e.ends_at)
    .bind(e.prize.trim())
    .bind(&participants)
    .bind(&c.status)
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(invalid("err.challenge_changed"));
    }
    crate::live::notify(pool, &crate::live::LiveEvent::changed()).await?;
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
    sqlx::query("UPDATE challenges SET status = 'live' WHERE id = $1 AND status = 'draft'")
        .bind(id)
        .execute(pool)
        .await?;
    finish_due(pool).await?;
    Ok(())
}

/// One row of a challenge's standings: a rep, or a team in a team-vs-team.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Standing {
    pub rank: usize,
    pub id: String,
    pub name: String,
    pub value: Option<f64>,
    /// Race: the goal is reached. Finished challenges: a winner.
    pub winning: bool,
}

/// The standings over `[starts_at, min(ends_at, now))`, best first.
pub async fn standings(pool: &PgPool, c: &Challenge) -> Result<Vec<Standing>, sqlx::Error> {
    let tz = crate::db::settings::load(pool).await?.time_zone;
    let window = Window::new(c.starts_at, c.ends_at, tz);
    let names: Vec<(String, String)> = if c.kind == "team_vs_team" {
        sqlx::query_as("SELECT id, name FROM teams WHERE id = ANY($1)").bind(&c.participants).fetch_all(pool).await?
    } else {
        sqlx::query_as("SELECT id, name FROM users WHERE id = ANY($1)").bind(&c.participants).fetch_all(pool).await?
    };
    let mut values: Vec<(String, String, Option<f64>)> = Vec::new();
    if c.kind == "team_vs_team" {
        for (team, name) in &names {
            let owners = owners_of(pool, &Scope::Team(team.clone())).await.map_err(|e| match e {
                crate::db::kpis::KpiError::Db(e) => e,
                other => sqlx::Error::Protocol(other.to_string()),
            })?;
            let value = if c.basis == "points" {
                let members = owners.0.unwrap_or_default();
                let totals = crate::db::points::totals(pool, &members, c.starts_at, c.ends_at).await?;
                Some(totals.values().sum::<i64>() as f64)
            } else {
                let mut groups = gather(pool, &owners, window, Grouping::Whole).await?;
                let a = groups.remove("").unwrap_or_default();
                crate::kpi::formulas::value(&c.basis, &a).value
            };
            values.push((team.clone(), name.clone(), value));
        }
    } else if c.basis == "points" {
        let totals = crate::db::points::totals(pool, &c.participants, c.starts_at, c.ends_at).await?;
        for (id, name) in &names {
            values.push((id.clone(), name.clone(), Some(*totals.get(id).unwrap_or(&0) as f64)));
        }
    } else {
        let groups = gather(pool, &Owners(Some(c.participants.clone())), window, Grouping::PerOwner).await?;
        let empty = Default::default();
        for (id, name) in &names {
            let value = crate::kpi::formulas::value(&c.basis, groups.get(id).unwrap_or(&empty)).value;
            values.push((id.clone(), name.clone(), value));
        }
    }
    let better = better_of(&c.basis);
    let ranked: Vec<RankedRep> = rank(values, better);
    let winners = winners(c, &ranked, better);
    Ok(ranked
        .into_iter()
        .map(|r| Standing { winning: winners.contains(&r.id), rank: r.rank, id: r.id, name: r.name, value: r.value })
        .collect())
}

/// Who wins on these standings: a race, everyone at the goal; top-N, ranks
/// 1..N; head-to-head and team-vs-team, rank 1 (a tie shares the win).
fn winners(c: &Challenge, ranked: &[RankedRep], better: Better) -> Vec<String> {
    let scored = ranked.iter().filter(|r| r.value.is_some());
    match c.kind.as_str() {
        "race" => {
            let goal = c.goal.unwrap_or(f64::INFINITY);
            scored
                .filter(|r| match (r.value, better) {
                    (Some(v), Better::Lower) => v <= goal,
                    (Some(v), _) => v >= goal,
                    (None, _) => false,
                })
                .map(|r| r.id.clone())
                .collect()
        }
        "top_n" => scored.filter(|r| r.rank <= c.top_n.unwrap_or(0) as usize).map(|r| r.id.clone()).collect(),
        _ => scored.filter(|r| r.rank == 1).map(|r| r.id.clone()).collect(),
    }
}

/// Ends every live challenge whose end has passed: records its winners and
/// gives each a badge (every member of a winning team). Drafts never finish.
pub async fn finish_due(pool: &PgPool) -> Result<usize, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM challenges WHERE status = 'live' AND ends_at <= arena_now() ORDER BY id");
    let due: Vec<Challenge> = sqlx::query(&sql).fetch_all(pool).await?.into_iter().map(from_row).collect();
    for c in &due {
        let standings = standings(pool, c).await?;
        let winners: Vec<String> = standings.iter().filter(|s| s.winning).map(|s| s.id.clone()).collect();
        let people: Vec<String> = if c.kind == "team_vs_team" {
            sqlx::query_scalar("SELECT id FROM users WHERE team_id = ANY($1) AND role = 'rep'")
                .bind(&winners)
                .fetch_all(pool)
                .await?
        } else {
            winners.clone()
        };
        let mut tx = pool.begin().await?;
        let claimed = sqlx::query(
            "UPDATE challenges SET status = 'finished', winners = $2, finished_at = arena_now() WHERE id = $1 AND status = 'live'",
        )
        .bind(c.id)
        .bind(&winners)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 1 {
            let prize = if c.prize.is_empty() { String::new() } else { format!(" (prize: {})", c.prize) };
            sqlx::query(
                "INSERT INTO badge_awards (user_id, badge, earned_at, detail)
                 SELECT u, $2, $3, $4 FROM UNNEST($1::text[]) AS u ON CONFLICT DO NOTHING",
            )
            .bind(&people)
            .bind(format!("challenge:{}", c.id))
            .bind(c.ends_at)
            .bind(format!("won the challenge “{}”{prize}", c.name))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
    }
    if !due.is_empty() {
        crate::live::notify(pool, &crate::live::LiveEvent::changed()).await?;
    }
    Ok(due.len())
}
