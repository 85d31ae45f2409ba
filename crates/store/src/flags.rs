//! Anti-gaming signals for a manager to judge, each with the records behind it:
//! wins logged late (after their month closed, or days late during a running
//! challenge), deals won then lost or reopened within 7 days, and days with far
//! more activities than the rep's own norm.

use chrono::{DateTime, Utc};
use domain::scoring::RecordRef;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Flag {
    /// `late_record`, `won_then_undone` or `activity_spike`.
    pub kind: String,
    pub user_id: String,
    pub user_name: String,
    pub at: DateTime<Utc>,
    pub detail: String,
    pub records: Vec<RecordRef>,
}

/// A day counts as a spike at this many activities and above this multiple of the rep's
/// mean over the 28 days before (a rep with no activity in those days has no norm yet).
pub const SPIKE_MIN: i64 = 15;
pub const SPIKE_FACTOR: f64 = 3.0;

/// The flags of the reps of `team` (everyone when `None`), newest first.
pub async fn flags(pool: &PgPool, team: Option<&str>) -> Result<Vec<Flag>, sqlx::Error> {
    let tz = crate::settings::load(pool).await?.time_zone;
    let rows: Vec<(String, String, String, DateTime<Utc>, String, serde_json::Value)> = sqlx::query_as(
        "WITH people AS (SELECT id, name FROM users WHERE $2::text IS NULL OR team_id = $2),
         won AS (SELECT DISTINCT ON (l.deal_id) l.deal_id, l.owner_id, l.closed_at, l.changed_at
                 FROM deal_status_log l WHERE l.status = 'won' ORDER BY l.deal_id, l.changed_at DESC),
         late AS (
           SELECT 'late_record' kind, w.owner_id uid, w.changed_at at,
             'deal ' || w.deal_id || ' closed ' || to_char(w.closed_at AT TIME ZONE $1, 'YYYY-MM-DD') ||
             ' was logged as won ' || to_char(w.changed_at AT TIME ZONE $1, 'YYYY-MM-DD HH24:MI') ||
             CASE WHEN w.changed_at >= (date_trunc('month', w.closed_at AT TIME ZONE $1) + interval '1 month') AT TIME ZONE $1
                  THEN ', after its month had closed'
                  ELSE ', more than 2 days late during the running challenge “' || ch.name || '”' END detail,
             jsonb_build_array(jsonb_build_object('kind', 'deal', 'id', w.deal_id)) recs
           FROM won w
           LEFT JOIN LATERAL (SELECT c.name FROM challenges c WHERE c.status <> 'draft'
               AND w.closed_at >= c.starts_at AND w.closed_at < c.ends_at AND w.changed_at >= c.starts_at
               AND (w.owner_id = ANY(c.participants) OR EXISTS (SELECT 1 FROM users u
                    WHERE u.id = w.owner_id AND u.team_id = ANY(c.participants))) LIMIT 1) ch ON TRUE
           WHERE w.changed_at >= (date_trunc('month', w.closed_at AT TIME ZONE $1) + interval '1 month') AT TIME ZONE $1
              OR (ch.name IS NOT NULL AND w.changed_at > w.closed_at + interval '2 days')),
         undone AS (
           SELECT 'won_then_undone', a.owner_id, b.changed_at,
             'deal ' || a.deal_id || ' was won ' || to_char(a.changed_at AT TIME ZONE $1, 'YYYY-MM-DD HH24:MI') ||
             ' and ' || CASE b.status WHEN 'lost' THEN 'lost' ELSE 'reopened' END || ' ' ||
             to_char(b.changed_at AT TIME ZONE $1, 'YYYY-MM-DD HH24:MI'),
             jsonb_build_array(jsonb_build_object('kind', 'deal', 'id', a.deal_id))
           FROM deal_status_log a
           JOIN LATERAL (SELECT * FROM deal_status_log n WHERE n.deal_id = a.deal_id AND n.id > a.id
                         ORDER BY n.id LIMIT 1) b ON TRUE
           WHERE a.status = 'won' AND b.status <> 'won' AND b.changed_at <= a.changed_at + interval '7 days'),
         daily AS (
           SELECT owner_id, (at AT TIME ZONE $1)::date d, count(*) n,
             jsonb_agg(jsonb_build_object('kind', 'activity', 'id', id) ORDER BY at) recs
           FROM activities GROUP BY owner_id, (at AT TIME ZONE $1)::date),
         spikes AS (
           SELECT 'activity_spike', x.owner_id, (x.d::timestamp AT TIME ZONE $1),
             x.n || ' activities on ' || x.d || ' against a 28-day mean of ' || round(x.norm, 1) || ' a day',
             x.recs
           FROM (SELECT d1.*, coalesce((SELECT sum(d2.n) FROM daily d2 WHERE d2.owner_id = d1.owner_id
                   AND d2.d >= d1.d - 28 AND d2.d < d1.d), 0) / 28.0 norm FROM daily d1) x
           WHERE x.n >= $3 AND x.norm > 0 AND x.n > $4 * x.norm),
         all_flags AS (SELECT * FROM late UNION ALL SELECT * FROM undone UNION ALL SELECT * FROM spikes)
         SELECT f.kind, f.uid, p.name, f.at, f.detail, f.recs FROM all_flags f JOIN people p ON p.id = f.uid
         ORDER BY f.at DESC, f.kind",
    )
    .bind(tz.name())
    .bind(team)
    .bind(SPIKE_MIN)
    .bind(SPIKE_FACTOR)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(kind, user_id, user_name, at, detail, records)| Flag {
            kind,
            user_id,
            user_name,
            at,
            detail,
            records: serde_json::from_value(records).unwrap_or_default(),
        })
        .collect())
}
