//! Who and what exists, as the pages' pickers and checks need them: reps,
//! teams, a user's name. (Rows, not words: the pages label them.)

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::PgPool;

/// Which reps a picker offers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reps<'a> {
    /// Only this team's.
    pub team: Option<&'a str>,
    /// Only those who can still sign in.
    pub active_only: bool,
}

/// Reps as (id, name), by name.
pub async fn reps(pool: &PgPool, which: Reps<'_>) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, name FROM users WHERE role = 'rep' AND (active OR NOT $1)
           AND ($2::text IS NULL OR team_id = $2) ORDER BY name, id",
    )
    .bind(which.active_only)
    .bind(which.team)
    .fetch_all(pool)
    .await
}

/// Every team as (id, name, region), by name.
pub async fn teams(pool: &PgPool) -> Result<Vec<(String, String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, name, region FROM teams ORDER BY name, id").fetch_all(pool).await
}

/// Teams as (id, name), by name: every team, or only `only`.
pub async fn team_names(pool: &PgPool, only: Option<&str>) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, name FROM teams WHERE $1::text IS NULL OR id = $1 ORDER BY name, id")
        .bind(only)
        .fetch_all(pool)
        .await
}

/// The first team by name, if there is any.
pub async fn first_team(pool: &PgPool) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM teams ORDER BY name, id LIMIT 1").fetch_optional(pool).await
}

/// The name of user `id`, if there is one.
pub async fn user_name(pool: &PgPool, id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT name FROM users WHERE id = $1").bind(id).fetch_optional(pool).await
}

pub async fn user_exists(pool: &PgPool, id: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)").bind(id).fetch_one(pool).await
}

/// The `rep:<id>` scope of every member of `team`.
pub async fn member_scopes(pool: &PgPool, team: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT 'rep:' || id FROM users WHERE team_id = $1").bind(team).fetch_all(pool).await
}

/// A won deal as the TV lists it: (id, owner's name, amount, closed, to celebrate).
pub type Win = (String, String, Decimal, DateTime<Utc>, bool);

/// The latest won deals of `owners` (everyone when `None`) within 30 days,
/// plus any of `celebrate` however old: at most 12, newest first. A win at 0 is
/// not celebrated (it is flagged instead: `flags`).
pub async fn recent_wins(
    pool: &PgPool,
    owners: &Option<Vec<String>>,
    celebrate: &[String],
) -> Result<Vec<Win>, sqlx::Error> {
    sqlx::query_as(
        "SELECT d.id, u.name, d.amount, d.closed_at, d.id = ANY($2)
         FROM deals d JOIN users u ON u.id = d.owner_id
         WHERE d.status = 'won' AND d.amount > 0 AND d.closed_at <= arena_now()
           AND ($1::text[] IS NULL OR d.owner_id = ANY($1))
           AND (d.id = ANY($2) OR d.closed_at >= arena_now() - interval '30 days')
         ORDER BY d.closed_at DESC, d.id LIMIT 12",
    )
    .bind(owners)
    .bind(celebrate)
    .fetch_all(pool)
    .await
}

/// Badges earned since `since` by `owners` (everyone when `None`): (name, badge), newest first, at most 12.
pub async fn badges_since(
    pool: &PgPool,
    since: DateTime<Utc>,
    owners: &Option<Vec<String>>,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.name, b.badge FROM badge_awards b JOIN users u ON u.id = b.user_id
         WHERE b.earned_at >= $1 AND ($2::text[] IS NULL OR b.user_id = ANY($2)) ORDER BY b.earned_at DESC LIMIT 12",
    )
    .bind(since)
    .bind(owners)
    .fetch_all(pool)
    .await
}

/// An active user's role and team, by id.
pub async fn active_role_and_team(pool: &PgPool, id: &str) -> Result<Option<(String, Option<String>)>, sqlx::Error> {
    sqlx::query_as("SELECT role, team_id FROM users WHERE id = $1 AND active").bind(id).fetch_optional(pool).await
}

/// Active users as (id, name) by name: everyone, or only `id`, or the reps of `team`.
pub async fn active_users(pool: &PgPool, which: Who<'_>) -> Result<Vec<(String, String)>, sqlx::Error> {
    let (everyone, id, team) = match which {
        Who::Everyone => (true, None, None),
        Who::Only(id) => (false, Some(id), None),
        Who::RepsOf(team) => (false, None, Some(team)),
    };
    sqlx::query_as(
        "SELECT id, name FROM users WHERE active AND ($1 OR id = $2 OR (role = 'rep' AND team_id = $3))
         ORDER BY name, id",
    )
    .bind(everyone)
    .bind(id)
    .bind(team)
    .fetch_all(pool)
    .await
}

/// Whose names `active_users` lists.
#[derive(Debug, Clone, Copy)]
pub enum Who<'a> {
    Everyone,
    Only(&'a str),
    RepsOf(&'a str),
}
