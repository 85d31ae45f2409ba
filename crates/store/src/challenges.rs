//! Challenges: races to a target, top-N, head-to-head and team-vs-team, on a
//! KPI or on points; live standings; winners get a badge when one ends.
//! Drafts are visible to managers and admins only, to check scoring before launch.

use crate::kpis::{gather, owners_of, rank, Grouping, Owners, RankedRep, Window};
use chrono::{DateTime, Utc};
use domain::kpi::{Better, Scope};
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Postgres, Row, Transaction};

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

/// The direction a basis ranks in: points and most KPIs higher, some KPIs lower.
pub fn better_of(basis: &str) -> Better {
    domain::kpi::find(basis).map_or(Better::Higher, |k| k.better)
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

/// The challenges, newest first; drafts only when asked for.
pub async fn list(pool: &PgPool, with_drafts: bool) -> Result<Vec<Challenge>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM challenges WHERE status <> 'draft' OR $1 ORDER BY ends_at DESC, id DESC");
    let rows = sqlx::query(&sql).bind(with_drafts).fetch_all(pool).await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// The challenges running now, for the TV.
pub async fn list_live(pool: &PgPool) -> Result<Vec<Challenge>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM challenges WHERE status = 'live' AND starts_at <= arena_now() ORDER BY ends_at, id"
    );
    Ok(sqlx::query(&sql).fetch_all(pool).await?.into_iter().map(from_row).collect())
}

pub async fn find(pool: &PgPool, id: i64) -> Result<Option<Challenge>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM challenges WHERE id = $1");
    Ok(sqlx::query(&sql).bind(id).fetch_optional(pool).await?.map(from_row))
}

/// A new challenge, checked by the caller (its `id`, `winners` are not read). Returns its id.
pub async fn insert_in(tx: &mut Transaction<'_, Postgres>, c: &Challenge) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO challenges (name, kind, basis, goal, top_n, starts_at, ends_at, participants, prize, status, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(&c.name)
    .bind(&c.kind)
    .bind(&c.basis)
    .bind(c.goal)
    .bind(c.top_n)
    .bind(c.starts_at)
    .bind(c.ends_at)
    .bind(&c.participants)
    .bind(&c.prize)
    .bind(&c.status)
    .bind(&c.created_by)
    .fetch_one(&mut **tx)
    .await
}

/// How many of `ids` are teams.
pub async fn count_teams(pool: &PgPool, ids: &[String]) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM teams WHERE id = ANY($1)").bind(ids).fetch_one(pool).await
}

/// The reps among `ids`, with their teams.
pub async fn reps_with_teams(pool: &PgPool, ids: &[String]) -> Result<Vec<(String, Option<String>)>, sqlx::Error> {
    sqlx::query_as("SELECT id, team_id FROM users WHERE id = ANY($1) AND role = 'rep'").bind(ids).fetch_all(pool).await
}

/// Writes what may change of challenge `c.id` (name, end, prize, participants),
/// unless its status is no longer `c.status`: an edit racing the finish is a
/// no-op, not a change to a result. True when written.
pub async fn update(pool: &PgPool, c: &Challenge) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE challenges SET name = $2, ends_at = $3, prize = $4, participants = $5
         WHERE id = $1 AND status = $6",
    )
    .bind(c.id)
    .bind(&c.name)
    .bind(c.ends_at)
    .bind(&c.prize)
    .bind(&c.participants)
    .bind(&c.status)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Makes draft `id` live; `false` when it was no longer a draft.
pub async fn launch_in(tx: &mut Transaction<'_, Postgres>, id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE challenges SET status = 'live' WHERE id = $1 AND status = 'draft'")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
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
    let tz = crate::settings::load(pool).await?.time_zone;
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
                crate::kpis::KpiError::Db(e) => e,
                other => sqlx::Error::Protocol(other.to_string()),
            })?;
            let value = if c.basis == "points" {
                let members = owners.0.unwrap_or_default();
                let totals = crate::points::totals(pool, &members, c.starts_at, c.ends_at).await?;
                Some(totals.values().sum::<i64>() as f64)
            } else {
                let mut groups = gather(pool, &owners, window, Grouping::Whole).await?;
                let a = groups.remove("").unwrap_or_default();
                domain::kpi::formulas::value(&c.basis, &a).value
            };
            values.push((team.clone(), name.clone(), value));
        }
    } else if c.basis == "points" {
        let totals = crate::points::totals(pool, &c.participants, c.starts_at, c.ends_at).await?;
        for (id, name) in &names {
            values.push((id.clone(), name.clone(), Some(*totals.get(id).unwrap_or(&0) as f64)));
        }
    } else {
        let groups = gather(pool, &Owners(Some(c.participants.clone())), window, Grouping::PerOwner).await?;
        let empty = Default::default();
        for (id, name) in &names {
            let value = domain::kpi::formulas::value(&c.basis, groups.get(id).unwrap_or(&empty)).value;
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

/// The live challenges whose end has passed, oldest first.
pub async fn due(pool: &PgPool) -> Result<Vec<Challenge>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM challenges WHERE status = 'live' AND ends_at <= arena_now() ORDER BY id");
    Ok(sqlx::query(&sql).fetch_all(pool).await?.into_iter().map(from_row).collect())
}

/// The reps of the winning teams, or the winning reps themselves.
pub async fn winning_people(pool: &PgPool, c: &Challenge, winners: &[String]) -> Result<Vec<String>, sqlx::Error> {
    if c.kind == "team_vs_team" {
        sqlx::query_scalar("SELECT id FROM users WHERE team_id = ANY($1) AND role = 'rep'")
            .bind(winners)
            .fetch_all(pool)
            .await
    } else {
        Ok(winners.to_vec())
    }
}

/// Ends live challenge `c` in `tx`: records its winners and gives each of `people` a badge.
/// `false` when it was no longer live (another instance ended it).
pub async fn finish_in(
    tx: &mut Transaction<'_, Postgres>,
    c: &Challenge,
    winners: &[String],
    people: &[String],
) -> Result<bool, sqlx::Error> {
    let claimed = sqlx::query(
        "UPDATE challenges SET status = 'finished', winners = $2, finished_at = arena_now() WHERE id = $1 AND status = 'live'",
    )
    .bind(c.id)
    .bind(winners)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if claimed == 1 {
        let prize = if c.prize.is_empty() { String::new() } else { format!(" (prize: {})", c.prize) };
        sqlx::query(
            "INSERT INTO badge_awards (user_id, badge, earned_at, detail)
             SELECT u, $2, $3, $4 FROM UNNEST($1::text[]) AS u ON CONFLICT DO NOTHING",
        )
        .bind(people)
        .bind(format!("challenge:{}", c.id))
        .bind(c.ends_at)
        .bind(format!("won the challenge “{}”{prize}", c.name))
        .execute(&mut **tx)
        .await?;
    }
    Ok(claimed == 1)
}
