//! Anti-gaming signals for a manager to judge, each with the records behind it:
//! wins logged late (after their month closed, or days late during a running
//! challenge), deals won then lost or reopened within 7 days, days with far
//! more activities than the rep's own norm, wins dated ahead of when they were
//! logged and wins at zero amount. Flags are read from the records; a manager's
//! verdict (`flag_resolutions`, by the flag's key) takes one off the open list.

use chrono::{DateTime, Utc};
use domain::fairness::{FlagDetail, Verdict, CLOCK_SKEW_MINUTES};
use domain::scoring::RecordRef;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Flag {
    /// What identifies it across reads: its kind, rep, subject (a deal, a day) and instant.
    pub key: String,
    /// `late_record`, `won_then_undone`, `activity_spike`, `future_win` or `zero_win`.
    pub kind: String,
    pub user_id: String,
    pub user_name: String,
    pub at: DateTime<Utc>,
    /// In English, as the API has always given it.
    pub detail: String,
    pub records: Vec<RecordRef>,
    /// The verdict, once a manager or an admin gave one.
    pub resolution: Option<Resolution>,
    /// What `detail` says, as data, for a reader's language.
    #[serde(skip)]
    pub about: Option<FlagDetail>,
    /// The rep's team: who may resolve it (`services::flags`).
    #[serde(skip)]
    pub team_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Resolution {
    pub verdict: Verdict,
    pub note: String,
    pub by_name: String,
    pub at: DateTime<Utc>,
}

/// A day counts as a spike at this many activities and above this multiple of the rep's
/// mean over the 28 days before (a rep with no activity in those days has no norm yet).
pub const SPIKE_MIN: i64 = 15;
pub const SPIKE_FACTOR: f64 = 3.0;

/// Which flags to read.
#[derive(Debug, Clone, Copy)]
enum Which<'a> {
    Open,
    Resolved,
    Key(&'a str),
}

/// The open flags of the reps of `team` (everyone when `None`), newest first.
pub async fn flags(pool: &PgPool, team: Option<&str>) -> Result<Vec<Flag>, sqlx::Error> {
    read(pool, team, Which::Open).await
}

/// The flags of `team` (everyone when `None`) that have a verdict, newest verdict first.
pub async fn resolved(pool: &PgPool, team: Option<&str>) -> Result<Vec<Flag>, sqlx::Error> {
    let mut flags = read(pool, team, Which::Resolved).await?;
    flags.sort_by(|a, b| b.resolution.as_ref().map(|r| r.at).cmp(&a.resolution.as_ref().map(|r| r.at)));
    Ok(flags)
}

/// The flag with this key, open or resolved, if its records still raise it.
pub async fn find(pool: &PgPool, key: &str) -> Result<Option<Flag>, sqlx::Error> {
    Ok(read(pool, None, Which::Key(key)).await?.into_iter().next())
}

/// Records a verdict on the flag `key` (a second verdict replaces the first).
pub async fn resolve(pool: &PgPool, key: &str, verdict: Verdict, note: &str, by: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO flag_resolutions (flag_key, verdict, note, resolved_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (flag_key) DO UPDATE SET verdict = EXCLUDED.verdict, note = EXCLUDED.note,
           resolved_by = EXCLUDED.resolved_by, resolved_at = arena_now()",
    )
    .bind(key)
    .bind(verdict.as_str())
    .bind(note)
    .bind(by)
    .execute(pool)
    .await?;
    Ok(())
}

type FlagRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    DateTime<Utc>,
    serde_json::Value,
    serde_json::Value,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<DateTime<Utc>>,
);

async fn read(pool: &PgPool, team: Option<&str>, which: Which<'_>) -> Result<Vec<Flag>, sqlx::Error> {
    let tz = crate::settings::load(pool).await?.time_zone;
    let (resolved, key) = match which {
        Which::Open => (Some(false), None),
        Which::Resolved => (Some(true), None),
        Which::Key(key) => (None, Some(key)),
    };
    // Each kind: (kind, rep, instant, subject, what it says as `FlagDetail`'s JSON, records).
    let rows: Vec<FlagRow> = sqlx::query_as(
        "WITH people AS (SELECT id, name, team_id FROM users WHERE $2::text IS NULL OR team_id = $2),
         won AS (SELECT DISTINCT ON (l.deal_id) l.deal_id, l.owner_id, l.closed_at, l.changed_at
                 FROM deal_status_log l WHERE l.status = 'won' ORDER BY l.deal_id, l.changed_at DESC),
         late AS (
           SELECT 'late_record' kind, w.owner_id uid, w.changed_at at, w.deal_id subject,
             jsonb_build_object('deal', w.deal_id, 'closed', to_char(w.closed_at AT TIME ZONE $1, 'YYYY-MM-DD'),
               'logged', to_char(w.changed_at AT TIME ZONE $1, 'YYYY-MM-DD HH24:MI')) ||
             CASE WHEN w.changed_at >= (date_trunc('month', w.closed_at AT TIME ZONE $1) + interval '1 month') AT TIME ZONE $1
                  THEN jsonb_build_object('about', 'late_month')
                  ELSE jsonb_build_object('about', 'late_challenge', 'challenge', ch.name) END about,
             jsonb_build_array(jsonb_build_object('kind', 'deal', 'id', w.deal_id)) recs
           FROM won w
           LEFT JOIN LATERAL (SELECT c.name FROM challenges c WHERE c.status <> 'draft'
               AND w.closed_at >= c.starts_at AND w.closed_at < c.ends_at AND w.changed_at >= c.starts_at
               AND (w.owner_id = ANY(c.participants) OR EXISTS (SELECT 1 FROM users u
                    WHERE u.id = w.owner_id AND u.team_id = ANY(c.participants))) LIMIT 1) ch ON TRUE
           WHERE w.changed_at >= (date_trunc('month', w.closed_at AT TIME ZONE $1) + interval '1 month') AT TIME ZONE $1
              OR (ch.name IS NOT NULL AND w.changed_at > w.closed_at + interval '2 days')),
         undone AS (
           SELECT 'won_then_undone', a.owner_id, b.changed_at, a.deal_id,
             jsonb_build_object('about', 'undone', 'deal', a.deal_id,
               'won', to_char(a.changed_at AT TIME ZONE $1, 'YYYY-MM-DD HH24:MI'), 'status', b.status,
               'changed', to_char(b.changed_at AT TIME ZONE $1, 'YYYY-MM-DD HH24:MI')),
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
           SELECT 'activity_spike', x.owner_id, (x.d::timestamp AT TIME ZONE $1), x.d::text,
             jsonb_build_object('about', 'spike', 'count', x.n, 'day', x.d::text, 'norm', round(x.norm, 1)),
             x.recs
           FROM (SELECT d1.*, coalesce((SELECT sum(d2.n) FROM daily d2 WHERE d2.owner_id = d1.owner_id
                   AND d2.d >= d1.d - 28 AND d2.d < d1.d), 0) / 28.0 norm FROM daily d1) x
           WHERE x.n >= $3 AND x.norm > 0 AND x.n > $4 * x.norm),
         -- Wins as they stand now, with when they were last logged as won.
         wins AS (SELECT d.id, d.owner_id, d.amount, d.closed_at, w.changed_at
                  FROM deals d JOIN won w ON w.deal_id = d.id WHERE d.status = 'won'),
         ahead AS (
           SELECT 'future_win', owner_id, changed_at, id,
             jsonb_build_object('about', 'future_win', 'deal', id,
               'closed', to_char(closed_at AT TIME ZONE $1, 'YYYY-MM-DD HH24:MI'),
               'logged', to_char(changed_at AT TIME ZONE $1, 'YYYY-MM-DD HH24:MI')),
             jsonb_build_array(jsonb_build_object('kind', 'deal', 'id', id))
           FROM wins WHERE closed_at > changed_at + $5 * interval '1 minute'),
         zero AS (
           SELECT 'zero_win', owner_id, changed_at, id,
             jsonb_build_object('about', 'zero_win', 'deal', id,
               'logged', to_char(changed_at AT TIME ZONE $1, 'YYYY-MM-DD HH24:MI')),
             jsonb_build_array(jsonb_build_object('kind', 'deal', 'id', id))
           FROM wins WHERE amount = 0),
         all_flags AS (SELECT * FROM late UNION ALL SELECT * FROM undone UNION ALL SELECT * FROM spikes
                       UNION ALL SELECT * FROM ahead UNION ALL SELECT * FROM zero),
         keyed AS (SELECT f.*, f.kind || ':' || f.uid || ':' || f.subject || '@'
                     || to_char(f.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') fkey
                   FROM all_flags f)
         SELECT f.fkey, f.kind, f.uid, p.name, p.team_id, f.at, f.about, f.recs,
           r.verdict, r.note, coalesce(rb.name, r.resolved_by), r.resolved_at
         FROM keyed f JOIN people p ON p.id = f.uid
         LEFT JOIN flag_resolutions r ON r.flag_key = f.fkey
         LEFT JOIN users rb ON rb.id = r.resolved_by
         WHERE ($6::boolean IS NULL OR (r.flag_key IS NOT NULL) = $6) AND ($7::text IS NULL OR f.fkey = $7)
         ORDER BY f.at DESC, f.kind",
    )
    .bind(tz.name())
    .bind(team)
    .bind(SPIKE_MIN)
    .bind(SPIKE_FACTOR)
    .bind(CLOCK_SKEW_MINUTES as f64)
    .bind(resolved)
    .bind(key)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(key, kind, user_id, user_name, team_id, at, about, records, verdict, note, by_name, resolved_at)| {
            // The query builds these itself; one it cannot read shows as its JSON rather than vanish.
            let (detail, about) = match serde_json::from_value::<FlagDetail>(about.clone()) {
                Ok(d) => (d.english(), Some(d)),
                Err(_) => (about.to_string(), None),
            };
            let resolution = match (verdict.as_deref().and_then(Verdict::parse), resolved_at) {
                (Some(verdict), Some(at)) => Some(Resolution {
                    verdict,
                    note: note.unwrap_or_default(),
                    by_name: by_name.unwrap_or_default(),
                    at,
                }),
                _ => None,
            };
            Flag {
                key,
                kind,
                user_id,
                user_name,
                at,
                detail,
                records: serde_json::from_value(records).unwrap_or_default(),
                resolution,
                about,
                team_id,
            }
        })
        .collect())
}
