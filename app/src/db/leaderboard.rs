//! Leaderboard by revenue: one set-based query for all reps of the organisation.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::PgPool;

#[derive(Debug, Clone)]
pub struct RevenueRow {
    pub rank: i64,
    pub user_id: String,
    pub name: String,
    pub team: Option<String>,
    pub revenue: Decimal,
}

/// Reps ranked by the sum of won deal amounts closed in `[start, end)`:
/// competition ranking (1, 2, 2, 4), ties listed by name.
pub async fn revenue(
    pool: &PgPool,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<RevenueRow>, sqlx::Error> {
    let rows: Vec<(i64, String, String, Option<String>, Decimal)> = sqlx::query_as(
        "WITH won AS (
             SELECT owner_id, sum(amount) AS revenue FROM deals
             WHERE status = 'won' AND closed_at >= $1 AND closed_at < $2
             GROUP BY owner_id)
         SELECT rank() OVER (ORDER BY coalesce(w.revenue, 0) DESC), u.id, u.name, t.name,
                coalesce(w.revenue, 0)
         FROM users u
         LEFT JOIN teams t ON t.id = u.team_id
         LEFT JOIN won w ON w.owner_id = u.id
         WHERE u.role = 'rep' AND u.active
         ORDER BY 1, u.name, u.id",
    )
    .bind(start)
    .bind(end)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(rank, user_id, name, team, revenue)| RevenueRow {
            rank,
            user_id,
            name,
            team,
            revenue,
        })
        .collect())
}
