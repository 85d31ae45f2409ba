//! Teams: id, name, region and manager. A team's manager is also placed in
//! the team, since a manager's rights follow their own team.

use domain::lang::Message;
use sqlx::PgPool;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Team {
    pub id: String,
    pub name: String,
    pub region: String,
    /// The manager the team names (`teams.manager_id`), else the one manager in it.
    pub manager: Option<String>,
    /// The names of its active managers: the one it names and the managers in
    /// it (their rights follow their team), by name.
    pub managers: Vec<String>,
    pub reps: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    #[error("{0}")]
    Invalid(Message),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

fn invalid(message: impl Into<Message>) -> TeamError {
    TeamError::Invalid(message.into())
}

/// Every team with its managers and how many active reps it has.
pub async fn list(pool: &PgPool) -> Result<Vec<Team>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.id, t.name, t.region,
                coalesce(t.manager_id, (SELECT min(m.id) FROM users m WHERE m.team_id = t.id AND m.role = 'manager'
                                          AND m.active HAVING count(*) = 1)) AS manager,
                array(SELECT m.name FROM users m
                      WHERE m.active AND (m.id = t.manager_id OR (m.team_id = t.id AND m.role = 'manager'))
                      ORDER BY m.name, m.id) AS managers,
                (SELECT count(*) FROM users r WHERE r.team_id = t.id AND r.role = 'rep' AND r.active) AS reps
         FROM teams t ORDER BY t.region, t.name, t.id",
    )
    .fetch_all(pool)
    .await
}

/// Creates a team (`create`) or changes one's name, region and manager.
pub async fn save(
    pool: &PgPool,
    create: bool,
    id: &str,
    name: &str,
    region: &str,
    manager: Option<&str>,
) -> Result<(), TeamError> {
    let (id, name, region) = (id.trim(), name.trim(), region.trim());
    if id.is_empty() || id.chars().any(char::is_whitespace) {
        return Err(invalid("err.team_id"));
    }
    if name.is_empty() {
        return Err(invalid("err.team_name"));
    }
    if region.is_empty() {
        return Err(invalid("err.team_region"));
    }
    let manager = manager.map(str::trim).filter(|m| !m.is_empty());
    if let Some(m) = manager {
        let role: Option<String> =
            sqlx::query_scalar("SELECT role FROM users WHERE id = $1 AND active").bind(m).fetch_optional(pool).await?;
        if role.as_deref() != Some("manager") {
            return Err(invalid(Message::new("err.team_manager").with("id", m)));
        }
    }
    let mut tx = pool.begin().await?;
    let done = if create {
        sqlx::query("INSERT INTO teams (id, name, region, manager_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
    } else {
        sqlx::query("UPDATE teams SET name = $2, region = $3, manager_id = $4, updated_at = arena_now() WHERE id = $1")
    }
    .bind(id)
    .bind(name)
    .bind(region)
    .bind(manager)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if done == 0 {
        return Err(invalid(Message::new(if create { "err.team_exists" } else { "err.no_team" }).with("id", id)));
    }
    if let Some(m) = manager {
        sqlx::query("UPDATE users SET team_id = $2, updated_at = arena_now() WHERE id = $1")
            .bind(m)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The active managers, as (id, name), to choose a team's manager from.
pub async fn managers(pool: &PgPool) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, name FROM users WHERE role = 'manager' AND active ORDER BY name, id")
        .fetch_all(pool)
        .await
}
