//! Awarding badges: each catalogue badge is one query, over the whole history
//! (at start and once a day, so awards are retroactive and dated when the rep
//! first qualified) or, after a change, over the reps and the window that
//! change can move. An award whose records no longer qualify (a won deal
//! re-sent as lost) is withdrawn. A won deal at 0 counts toward no badge.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgPool, Postgres, Transaction};
use std::collections::HashSet;

/// One query per badge: rows of (user id, earned at, detail, records as JSON).
/// `$1` the reps (all when null), `$2` the time zone, `$3` the first instant to
/// read (`domain::badges::window_start`) for badges whose evidence lies in a
/// local day, week or month.
fn rule_sql(badge: &str) -> Option<&'static str> {
    Some(match badge {
        "first_win" => {
            // Per rep, its first won deal by the won-deals index: a probe, not a sort of the history.
            "SELECT u.id, d.closed_at, 'first won deal ' || d.id,
               jsonb_build_array(jsonb_build_object('kind', 'deal', 'id', d.id))
             FROM users u CROSS JOIN LATERAL (SELECT id, closed_at FROM deals
               WHERE owner_id = u.id AND status = 'won' AND amount > 0 AND closed_at <= arena_now() ORDER BY closed_at, id LIMIT 1) d
             WHERE $1::text[] IS NULL OR u.id = ANY($1)"
        }
        "ten_wins" => {
            "SELECT u.id, max(d.closed_at), '10 won deals',
               jsonb_agg(jsonb_build_object('kind', 'deal', 'id', d.id) ORDER BY d.closed_at, d.id)
             FROM users u CROSS JOIN LATERAL (SELECT id, closed_at FROM deals
               WHERE owner_id = u.id AND status = 'won' AND amount > 0 AND closed_at <= arena_now() ORDER BY closed_at, id LIMIT 10) d
             WHERE $1::text[] IS NULL OR u.id = ANY($1)
             GROUP BY u.id HAVING count(*) = 10"
        }
        "hat_trick" => {
            // The local days with three won deals, found in the daily rollup, then each day's
            // first three deals above 0 by one probe of the rep's won-deals index (a day still
            // running counts once three of them are closed); the first such day earns it. The
            // rollup counts wins at 0 too, so a candidate day may come up short.
            "WITH days AS (SELECT k.owner_id, k.day FROM kpi_deals_day k
                 WHERE k.won >= 3 AND k.owner_id <> '' AND k.day >= ($3 AT TIME ZONE $2)::date
                   AND ($1::text[] IS NULL OR k.owner_id = ANY($1))),
             w AS (SELECT d.owner_id, d.day, x.id, x.closed_at,
                 row_number() OVER (PARTITION BY d.owner_id, d.day ORDER BY x.closed_at, x.id) n
               FROM days d CROSS JOIN LATERAL (SELECT id, closed_at FROM deals
                 WHERE owner_id = d.owner_id AND status = 'won' AND amount > 0
                   AND closed_at >= d.day::timestamp AT TIME ZONE $2
                   AND closed_at < (d.day + 1)::timestamp AT TIME ZONE $2 AND closed_at <= arena_now()
                 ORDER BY closed_at, id LIMIT 3) x),
             full_days AS (SELECT owner_id, day, max(closed_at) at,
                 jsonb_agg(jsonb_build_object('kind', 'deal', 'id', id) ORDER BY n) recs
               FROM w GROUP BY owner_id, day HAVING count(*) = 3)
             SELECT DISTINCT ON (owner_id) owner_id, at, '3 deals won on ' || day, recs
             FROM full_days ORDER BY owner_id, day"
        }
        "streak_4w" => {
            // The local weeks with a won deal (from the daily rollup), each week's first won
            // deal by one index probe, then the first run of four weeks in a row.
            "WITH candidates AS (SELECT DISTINCT k.owner_id, date_trunc('week', k.day::timestamp) wk FROM kpi_deals_day k
                 WHERE k.won > 0 AND k.owner_id <> '' AND k.day >= ($3 AT TIME ZONE $2)::date
                   AND ($1::text[] IS NULL OR k.owner_id = ANY($1))),
             weeks AS (SELECT c.owner_id, c.wk, d.id, d.closed_at FROM candidates c CROSS JOIN LATERAL (
                 SELECT id, closed_at FROM deals WHERE owner_id = c.owner_id AND status = 'won' AND amount > 0
                   AND closed_at >= c.wk AT TIME ZONE $2 AND closed_at < (c.wk + interval '7 days') AT TIME ZONE $2
                   AND closed_at <= arena_now()
                 ORDER BY closed_at, id LIMIT 1) d),
             runs AS (SELECT *, wk - (row_number() OVER (PARTITION BY owner_id ORDER BY wk)) * interval '7 days' grp
               FROM weeks),
             numbered AS (SELECT *, row_number() OVER (PARTITION BY owner_id, grp ORDER BY wk) n FROM runs),
             first_run AS (SELECT DISTINCT ON (owner_id) owner_id, grp FROM numbered WHERE n = 4 ORDER BY owner_id, wk)
             SELECT n.owner_id, max(n.closed_at), 'won deals in 4 weeks in a row',
               jsonb_agg(jsonb_build_object('kind', 'deal', 'id', n.id) ORDER BY n.wk)
             FROM numbered n JOIN first_run f ON f.owner_id = n.owner_id AND f.grp = n.grp
             WHERE n.n <= 4 GROUP BY n.owner_id"
        }
        "target_100" | "club_150" => return None, // computed from targets in Rust, see `target_rows`
        "response_ace" => {
            "WITH m AS (SELECT owner_id, date_trunc('month', created_at AT TIME ZONE $2) mo,
                 percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM first_contact_at - created_at) / 60) med,
                 count(*) n, jsonb_agg(jsonb_build_object('kind', 'lead', 'id', id) ORDER BY created_at) recs
               FROM leads WHERE first_contact_at IS NOT NULL AND created_at >= $3 AND ($1::text[] IS NULL OR owner_id = ANY($1))
               GROUP BY owner_id, date_trunc('month', created_at AT TIME ZONE $2))
             SELECT DISTINCT ON (owner_id) owner_id, (mo + interval '1 month') AT TIME ZONE $2,
               'median first response ' || round(med::numeric, 1) || ' min in ' || to_char(mo, 'YYYY-MM'), recs
             FROM m WHERE n >= 5 AND med <= 15 AND (mo + interval '1 month') AT TIME ZONE $2 <= arena_now()
             ORDER BY owner_id, mo"
        }
        "follow_up_master" => {
            "WITH f AS (SELECT owner_id, id, followed_up_at,
                 row_number() OVER (PARTITION BY owner_id ORDER BY followed_up_at, id) n
               FROM leads WHERE followed_up_at IS NOT NULL AND first_contact_at IS NOT NULL
                 AND followed_up_at <= first_contact_at + interval '24 hours' AND followed_up_at <= arena_now()
                 AND ($1::text[] IS NULL OR owner_id = ANY($1)))
             SELECT owner_id, max(followed_up_at), '20 leads followed up within 24 hours',
               jsonb_agg(jsonb_build_object('kind', 'lead', 'id', id) ORDER BY n)
             FROM f WHERE n <= 20 GROUP BY owner_id HAVING count(*) = 20"
        }
        "comeback" => {
            // Revenue per rep and closed month from the monthly rollup (the organisation's months).
            "WITH months AS (SELECT DISTINCT day::timestamp mo FROM kpi_deals_month
                 WHERE owner_id <> '' AND won > 0 AND (day + interval '1 month')::timestamp AT TIME ZONE $2 <= arena_now()),
             reps AS (SELECT id FROM users WHERE role = 'rep' AND active),
             rev AS (SELECT r.id owner_id, m.mo, coalesce(k.won_sum, 0) revenue
               FROM reps r CROSS JOIN months m
               LEFT JOIN kpi_deals_month k ON k.owner_id = r.id AND k.day = m.mo::date),
             ranked AS (SELECT *, rank() OVER (PARTITION BY mo ORDER BY revenue DESC) rk,
                 count(*) OVER (PARTITION BY mo) total FROM rev),
             hits AS (SELECT DISTINCT ON (b.owner_id) b.owner_id, b.mo
               FROM ranked a JOIN ranked b ON b.owner_id = a.owner_id AND b.mo = a.mo + interval '1 month'
               WHERE a.rk > a.total / 2.0 AND b.rk <= 3 AND b.revenue > 0 ORDER BY b.owner_id, b.mo)
             SELECT h.owner_id, (h.mo + interval '1 month') AT TIME ZONE $2,
               'from the bottom half to the top 3 in ' || to_char(h.mo, 'YYYY-MM'),
               coalesce((SELECT jsonb_agg(jsonb_build_object('kind', 'deal', 'id', d.id) ORDER BY d.closed_at)
                 FROM deals d WHERE d.owner_id = h.owner_id AND d.status = 'won'
                   AND d.closed_at >= h.mo AT TIME ZONE $2 AND d.closed_at < (h.mo + interval '1 month') AT TIME ZONE $2), '[]')
             FROM hits h WHERE ($1::text[] IS NULL OR h.owner_id = ANY($1))"
        }
        "deal_of_the_month" => {
            // The closed months with a won deal (from the organisation's monthly rollup), then
            // each month's largest deal by one probe of the won-deals index over that month.
            "WITH months AS (SELECT day::timestamp mo FROM kpi_deals_month
                 WHERE owner_id = '' AND won > 0 AND day >= date_trunc('month', $3 AT TIME ZONE $2)::date
                   AND (day + interval '1 month')::timestamp AT TIME ZONE $2 <= arena_now()),
             best AS (SELECT m.mo, d.* FROM months m CROSS JOIN LATERAL (SELECT owner_id, id, amount FROM deals
                 WHERE status = 'won' AND amount > 0 AND closed_at >= m.mo AT TIME ZONE $2
                   AND closed_at < (m.mo + interval '1 month') AT TIME ZONE $2
                 ORDER BY amount DESC, closed_at, id LIMIT 1) d)
             SELECT DISTINCT ON (owner_id) owner_id, (mo + interval '1 month') AT TIME ZONE $2,
               'largest deal of ' || to_char(mo, 'YYYY-MM') || ': ' || amount,
               jsonb_build_array(jsonb_build_object('kind', 'deal', 'id', id))
             FROM best WHERE $1::text[] IS NULL OR owner_id = ANY($1)
             ORDER BY owner_id, mo"
        }
        "marathon" => {
            "WITH a AS (SELECT owner_id, id, at, date_trunc('week', at AT TIME ZONE $2) wk,
                 row_number() OVER (PARTITION BY owner_id, date_trunc('week', at AT TIME ZONE $2) ORDER BY at, id) n
               FROM activities WHERE at >= $3 AND at <= arena_now() AND ($1::text[] IS NULL OR owner_id = ANY($1))),
             first_week AS (SELECT owner_id, min(wk) wk FROM a WHERE n = 50 GROUP BY owner_id)
             SELECT a.owner_id, max(a.at), '50 touchpoints in the week of ' || to_char(f.wk, 'YYYY-MM-DD'),
               jsonb_agg(jsonb_build_object('kind', 'activity', 'id', a.id) ORDER BY a.n)
             FROM a JOIN first_week f ON f.owner_id = a.owner_id AND f.wk = a.wk
             WHERE a.n <= 50 GROUP BY a.owner_id, f.wk"
        }
        "meeting_maker" => {
            "WITH m AS (SELECT owner_id, id, proposed_at, date_trunc('month', proposed_at AT TIME ZONE $2) mo,
                 row_number() OVER (PARTITION BY owner_id, date_trunc('month', proposed_at AT TIME ZONE $2)
                   ORDER BY proposed_at, id) n
               FROM meeting_requests WHERE outcome = 'accepted' AND proposed_at >= $3 AND proposed_at <= arena_now()
                 AND ($1::text[] IS NULL OR owner_id = ANY($1))),
             first_month AS (SELECT owner_id, min(mo) mo FROM m WHERE n = 10 GROUP BY owner_id)
             SELECT m.owner_id, max(m.proposed_at), '10 accepted meetings in ' || to_char(f.mo, 'YYYY-MM'),
               jsonb_agg(jsonb_build_object('kind', 'meeting_request', 'id', m.id) ORDER BY m.n)
             FROM m JOIN first_month f ON f.owner_id = m.owner_id AND f.mo = m.mo
             WHERE m.n <= 10 GROUP BY m.owner_id, f.mo"
        }
        "upseller" => {
            // Only reps the monthly rollup credits with five such wins, then their first five by one probe.
            "SELECT u.id, max(d.closed_at), '5 upsell or cross-sell deals won',
               jsonb_agg(jsonb_build_object('kind', 'deal', 'id', d.id) ORDER BY d.closed_at, d.id)
             FROM users u CROSS JOIN LATERAL (SELECT id, closed_at FROM deals
               WHERE owner_id = u.id AND status = 'won' AND amount > 0 AND deal_type IN ('upsell', 'cross_sell')
                 AND closed_at <= arena_now()
               ORDER BY closed_at, id LIMIT 5) d
             WHERE ($1::text[] IS NULL OR u.id = ANY($1))
               AND (SELECT sum(won_upsell) FROM kpi_deals_month k WHERE k.owner_id = u.id) >= 5
             GROUP BY u.id HAVING count(*) = 5"
        }
        "customer_favourite" => {
            "WITH f AS (SELECT coalesce(f.owner_id, c.owner_id) owner_id, f.id, f.at,
                 row_number() OVER (PARTITION BY coalesce(f.owner_id, c.owner_id) ORDER BY f.at, f.id) n
               FROM feedback f LEFT JOIN customers c ON c.id = f.customer_id
               WHERE f.sentiment = 'positive' AND f.at <= arena_now()
                 AND ($1::text[] IS NULL OR coalesce(f.owner_id, c.owner_id) = ANY($1)))
             SELECT owner_id, max(at), '10 positive feedbacks',
               jsonb_agg(jsonb_build_object('kind', 'feedback', 'id', id) ORDER BY n)
             FROM f WHERE n <= 10 AND owner_id IS NOT NULL GROUP BY owner_id HAVING count(*) = 10"
        }
        _ => return None,
    })
}

type AwardRow = (String, DateTime<Utc>, String, serde_json::Value);

/// Badges that compare reps with each other: a change to anyone's records in a
/// month can move them, so they are evaluated for everyone, and only when a
/// closed month changed (they are awarded for closed months only).
pub const COMPARATIVE: [&str; 2] = ["comeback", "deal_of_the_month"];

/// Revenue targets reached (100 % or 150 %): the deal that crossed the line earns it.
async fn target_rows(
    pool: &PgPool,
    tz: chrono_tz::Tz,
    share: f64,
    owners: Option<&[String]>,
) -> Result<Vec<AwardRow>, sqlx::Error> {
    let targets: Vec<(String, String, f64)> = sqlx::query_as(
        "SELECT substr(scope, 5), period, value FROM targets WHERE kpi = 'revenue' AND scope LIKE 'rep:%' AND value > 0
           AND ($1::text[] IS NULL OR substr(scope, 5) = ANY($1))",
    )
    .bind(owners)
    .fetch_all(pool)
    .await?;
    let mut cols: (Vec<String>, Vec<String>, Vec<DateTime<Utc>>, Vec<DateTime<Utc>>, Vec<f64>) = Default::default();
    for (owner, period, value) in targets {
        let Ok(p) = domain::period::Period::parse(&period) else { continue };
        let (start, end) = p.bounds(tz);
        cols.0.push(owner);
        cols.1.push(period);
        cols.2.push(start);
        cols.3.push(end);
        cols.4.push(value * share);
    }
    sqlx::query_as(
        "WITH t AS (SELECT * FROM UNNEST($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::float8[])
                    AS t(owner_id, period, s, e, goal)),
         c AS (SELECT t.owner_id, t.period, t.goal, d.id, d.closed_at,
                 sum(d.amount) OVER (PARTITION BY t.owner_id, t.period ORDER BY d.closed_at, d.id) cum
               FROM t JOIN deals d ON d.owner_id = t.owner_id AND d.status = 'won'
                 AND d.closed_at >= t.s AND d.closed_at < t.e AND d.closed_at <= arena_now())
         SELECT DISTINCT ON (owner_id) owner_id, closed_at, 'revenue target of ' || period || ' reached by deal ' || id,
           jsonb_build_array(jsonb_build_object('kind', 'deal', 'id', id))
         FROM c WHERE cum >= goal ORDER BY owner_id, closed_at, id",
    )
    .bind(cols.0)
    .bind(cols.1)
    .bind(cols.2)
    .bind(cols.3)
    .bind(cols.4)
    .fetch_all(pool)
    .await
}

/// Every catalogue badge over the whole history, for every rep: at start (a
/// badge new in this version goes to everyone whose past qualifies) and once a
/// day (awards that depend on time passing, such as a month closing).
pub async fn evaluate(pool: &PgPool) -> Result<usize, sqlx::Error> {
    let tz = crate::settings::load(pool).await?.time_zone;
    let mut tx = pool.begin().await?;
    let added = evaluate_in(&mut tx, pool, tz, None, None).await?;
    tx.commit().await?;
    Ok(added)
}

/// Re-evaluates the catalogue badges of `owners` (everyone when `None`) in the
/// caller's transaction: new awards are added (dated when earned), awards that
/// no longer qualify are withdrawn. Challenge badges are left alone.
///
/// `since` is the earliest instant of any record the change touched (`None`:
/// the whole history, every badge). Then only what that change can move is
/// read: an award earned before `since` rests on records it did not touch and
/// stays; for everyone else a badge whose evidence lies within a day, week or
/// month is read from the window `domain::badges::window_start` gives. The
/// comparative badges (for everyone) only when `since` is before `month` (the
/// current month's start): they are given for closed months.
/// Returns how many awards were added.
pub async fn evaluate_in(
    tx: &mut Transaction<'_, Postgres>,
    pool: &PgPool,
    tz: chrono_tz::Tz,
    owners: Option<&[String]>,
    since: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Result<usize, sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(7140002)").execute(&mut **tx).await?;
    let mut added = 0;
    for badge in domain::badges::CATALOGUE {
        let compares = COMPARATIVE.contains(&badge.id);
        if compares && since.is_some_and(|(from, month)| from >= month) {
            continue;
        }
        let scope = if compares { None } else { owners };
        // Holders whose award predates the change keep it untouched.
        let kept: Vec<String> = match since {
            None => Vec::new(),
            Some((from, _)) => {
                sqlx::query_scalar(
                    "SELECT user_id FROM badge_awards WHERE badge = $1 AND earned_at < $2
                       AND ($3::text[] IS NULL OR user_id = ANY($3))",
                )
                .bind(badge.id)
                .bind(from)
                .bind(scope)
                .fetch_all(&mut **tx)
                .await?
            }
        };
        let start = since
            .and_then(|(from, _)| domain::badges::window_start(badge.id, from, tz))
            .unwrap_or_else(domain::badges::history_start);
        let mut rows: Vec<AwardRow> = match badge.id {
            "target_100" => target_rows(pool, tz, 1.0, scope).await?,
            "club_150" => target_rows(pool, tz, 1.5, scope).await?,
            id => match rule_sql(id) {
                // Only the queries that work in local days, weeks or months take the time zone and a window.
                Some(sql) if sql.contains("$3") => {
                    sqlx::query_as(sql).bind(scope).bind(tz.name()).bind(start).fetch_all(&mut **tx).await?
                }
                Some(sql) if sql.contains("$2") => {
                    sqlx::query_as(sql).bind(scope).bind(tz.name()).fetch_all(&mut **tx).await?
                }
                Some(sql) => sqlx::query_as(sql).bind(scope).fetch_all(&mut **tx).await?,
                None => continue,
            },
        };
        let kept_set: HashSet<&String> = kept.iter().collect();
        rows.retain(|r| !kept_set.contains(&r.0));
        let users: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        sqlx::query(
            "DELETE FROM badge_awards WHERE badge = $1 AND NOT (user_id = ANY($2)) AND NOT (user_id = ANY($4))
               AND ($3::text[] IS NULL OR user_id = ANY($3))",
        )
        .bind(badge.id)
        .bind(&users)
        .bind(scope)
        .bind(&kept)
        .execute(&mut **tx)
        .await?;
        let before: HashSet<String> =
            sqlx::query_scalar::<_, String>("SELECT user_id FROM badge_awards WHERE badge = $1 AND user_id = ANY($2)")
                .bind(badge.id)
                .bind(&users)
                .fetch_all(&mut **tx)
                .await?
                .into_iter()
                .collect();
        added += users.iter().filter(|u| !before.contains(*u)).count();
        let (mut at, mut detail, mut records) = (Vec::new(), Vec::new(), Vec::new());
        for (_, earned, d, r) in &rows {
            at.push(*earned);
            detail.push(d.clone());
            records.push(r.to_string());
        }
        sqlx::query(
            "INSERT INTO badge_awards (user_id, badge, earned_at, detail, records)
             SELECT u, $2, a, d, r::jsonb FROM UNNEST($1::text[], $3::timestamptz[], $4::text[], $5::text[]) AS x(u, a, d, r)
             ON CONFLICT (user_id, badge) DO UPDATE SET earned_at = EXCLUDED.earned_at, detail = EXCLUDED.detail,
               records = EXCLUDED.records
             WHERE (badge_awards.earned_at, badge_awards.detail, badge_awards.records)
               IS DISTINCT FROM (EXCLUDED.earned_at, EXCLUDED.detail, EXCLUDED.records)",
        )
        .bind(&users)
        .bind(badge.id)
        .bind(at)
        .bind(detail)
        .bind(records)
        .execute(&mut **tx)
        .await?;
    }
    Ok(added)
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Award {
    pub badge: String,
    pub icon: String,
    pub name_en: String,
    pub name_ru: String,
    pub description_en: String,
    pub earned_at: DateTime<Utc>,
    pub detail: String,
    pub records: Vec<domain::scoring::RecordRef>,
}

/// A user's badges, earliest first.
pub async fn of_user(pool: &PgPool, user: &str) -> Result<Vec<Award>, sqlx::Error> {
    let rows: Vec<(String, DateTime<Utc>, String, serde_json::Value)> = sqlx::query_as(
        "SELECT badge, earned_at, detail, records FROM badge_awards WHERE user_id = $1 ORDER BY earned_at, badge",
    )
    .bind(user)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(badge, earned_at, detail, records)| {
            let b = domain::badges::find(&badge)?;
            Some(Award {
                badge,
                icon: b.icon.into(),
                name_en: b.name_en.into(),
                name_ru: b.name_ru.into(),
                description_en: b.description_en.into(),
                earned_at,
                detail,
                records: serde_json::from_value(records).unwrap_or_default(),
            })
        })
        .collect())
}

/// Badges earned since `since`, newest first, with who earned them (for the TV and the home page).
pub async fn recent(pool: &PgPool, since: DateTime<Utc>) -> Result<Vec<(String, String, Award)>, sqlx::Error> {
    let users: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT b.user_id, u.name FROM badge_awards b JOIN users u ON u.id = b.user_id WHERE b.earned_at >= $1",
    )
    .bind(since)
    .fetch_all(pool)
    .await?;
    let mut out = Vec::new();
    for (id, name) in users {
        for award in of_user(pool, &id).await? {
            if award.earned_at >= since {
                out.push((id.clone(), name.clone(), award));
            }
        }
    }
    out.sort_by(|a, b| b.2.earned_at.cmp(&a.2.earned_at));
    Ok(out)
}
