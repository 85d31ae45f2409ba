//! The points ledger: rules, recomputing entries when records, targets or
//! rules change, and reading the ledger back (per rep, or totals for a leaderboard).

use crate::kpis::{gather, Grouping, Owners, Window};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use domain::lang::Message;
use domain::period::{Period, PeriodKind};
use domain::scoring::{self, Entry, Event, Held, PeriodResult, Reason, RecordRef, Rule, RuleKind};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::{PgConnection, PgPool, Postgres, Row, Transaction};
use std::collections::HashMap;

/// Serialises recomputations, so two batches never award the same entry twice.
const LEDGER_LOCK: i64 = 0x6b70_695f_6c65_64; // "kpi_led"

/// A stored rule, with whether it is active.
#[derive(Debug, Clone)]
pub struct StoredRule {
    pub rule: Rule,
    pub active: bool,
}

pub async fn rules(pool: &PgPool, only_active: bool) -> Result<Vec<StoredRule>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, kind, basis, points, per, threshold, attainment_cap, period_kind, cap_points, cap_per, min_deal_amount,
           label, active
         FROM points_rules WHERE active OR NOT $1 ORDER BY active DESC, id",
    )
    .bind(only_active)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| StoredRule {
            rule: Rule {
                id: r.get("id"),
                kind: RuleKind::parse(r.get("kind")).unwrap_or(RuleKind::PerUnit),
                basis: r.get("basis"),
                points: r.get("points"),
                per: r.get("per"),
                threshold: r.get("threshold"),
                attainment_cap: r.get("attainment_cap"),
                period_kind: r.get::<Option<&str>, _>("period_kind").and_then(PeriodKind::parse),
                cap_points: r.get("cap_points"),
                cap_per: r.get::<Option<&str>, _>("cap_per").and_then(PeriodKind::parse),
                min_deal_amount: r.get("min_deal_amount"),
                label: r.get("label"),
            },
            active: r.get("active"),
        })
        .collect())
}

/// Checks a rule as a manager typed it; the message names what is wrong.
pub fn check_rule(rule: &Rule) -> Result<(), Message> {
    if rule.label.trim().is_empty() {
        return Err("err.rule_label".into());
    }
    if rule.points <= 0 {
        return Err("err.rule_points".into());
    }
    if let Some(min) = rule.min_deal_amount {
        if !(rule.kind == RuleKind::PerUnit && scoring::measure(&rule.basis).is_some_and(|m| m.counts_won_deals())) {
            return Err("err.rule_min_amount_measure".into());
        }
        if min < Decimal::ZERO {
            return Err("err.rule_min_amount".into());
        }
    }
    match rule.kind {
        RuleKind::PerUnit => {
            let m = scoring::measure(&rule.basis).ok_or_else(|| {
                Message::new("err.rule_measure")
                    .with("basis", &rule.basis)
                    .with("measures", scoring::MEASURES.iter().map(|m| m.id).collect::<Vec<_>>().join(", "))
            })?;
            if rule.per <= Decimal::ZERO {
                return Err("err.rule_per".into());
            }
            if !m.money && rule.per != Decimal::ONE {
                return Err(Message::new("err.rule_per_money").with("measure", m.id));
            }
            if rule.period_kind.is_some() {
                return Err("err.rule_unit_period".into());
            }
            if rule.cap_points.is_some() != rule.cap_per.is_some() {
                return Err("err.rule_cap_both".into());
            }
            if matches!(rule.cap_per, Some(PeriodKind::Quarter | PeriodKind::Year)) {
                return Err("err.rule_cap_per".into());
            }
        }
        RuleKind::Attainment | RuleKind::Threshold => {
            let k =
                domain::kpi::find(&rule.basis).ok_or_else(|| Message::new("err.rule_kpi").with("kpi", &rule.basis))?;
            if !k.applies_to(domain::kpi::ScopeKind::Rep) || k.better == domain::kpi::Better::None {
                return Err(Message::new("err.rule_kpi_target").with("kpi", k.id));
            }
            if matches!(rule.period_kind, None | Some(PeriodKind::Day)) {
                return Err("err.rule_period".into());
            }
            if rule.kind == RuleKind::Threshold && !rule.threshold.is_some_and(|t| t > 0.0 && t.is_finite()) {
                return Err("err.rule_threshold".into());
            }
            if rule.attainment_cap.is_some_and(|c| c <= 0.0 || !c.is_finite()) {
                return Err("err.rule_attainment_cap".into());
            }
            if rule.cap_per.is_some() {
                return Err("err.rule_period_cap".into());
            }
        }
    }
    Ok(())
}

/// Inserts (id 0) or replaces a rule. Returns the rule id.
pub async fn save_rule(conn: &mut PgConnection, rule: &Rule, by: &str) -> Result<i64, sqlx::Error> {
    let kind_text = |k: Option<PeriodKind>| k.map(PeriodKind::as_str);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO points_rules (id, kind, basis, points, per, threshold, attainment_cap, period_kind, cap_points,
           cap_per, label, updated_by, min_deal_amount)
         VALUES (CASE WHEN $1 = 0 THEN nextval('points_rules_id_seq') ELSE $1 END, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
           $13)
         ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, basis = EXCLUDED.basis, points = EXCLUDED.points,
           per = EXCLUDED.per, threshold = EXCLUDED.threshold, attainment_cap = EXCLUDED.attainment_cap,
           period_kind = EXCLUDED.period_kind, cap_points = EXCLUDED.cap_points, cap_per = EXCLUDED.cap_per,
           min_deal_amount = EXCLUDED.min_deal_amount, label = EXCLUDED.label, active = TRUE, updated_by = EXCLUDED.updated_by, updated_at = arena_now()
         RETURNING id",
    )
    .bind(rule.id)
    .bind(rule.kind.as_str())
    .bind(&rule.basis)
    .bind(rule.points)
    .bind(rule.per)
    .bind(rule.threshold)
    .bind(rule.attainment_cap)
    .bind(kind_text(rule.period_kind))
    .bind(rule.cap_points)
    .bind(kind_text(rule.cap_per))
    .bind(rule.label.trim())
    .bind(by)
    .bind(rule.min_deal_amount)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// Deactivates a rule (the ledger keeps naming it); false when there is no such rule.
pub async fn deactivate_rule(conn: &mut PgConnection, id: i64, by: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("UPDATE points_rules SET active = FALSE, updated_by = $2, updated_at = arena_now() WHERE id = $1")
        .bind(id)
        .bind(by)
        .execute(conn)
        .await?
        .rows_affected()
        > 0)
}

/// Everything: used after the demo loads.
pub async fn recompute_all(pool: &PgPool) -> Result<usize, sqlx::Error> {
    let first: Option<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT min(t) FROM (SELECT min(created_at) t FROM deals UNION ALL SELECT min(at) FROM activities
           UNION ALL SELECT min(created_at) FROM leads UNION ALL SELECT min(proposed_at) FROM meeting_requests
           UNION ALL SELECT min(at) FROM feedback) x",
    )
    .fetch_one(pool)
    .await?;
    match first {
        Some(from) => recompute(pool, None, from, domain::clock::now() + Duration::days(1)).await,
        None => Ok(0),
    }
}

/// Makes the ledger of `owners` (all when `None`) agree with the rules over
/// `[from, to)`, widened to whole weeks and months so caps see whole buckets.
/// Returns how many rows were appended.
pub async fn recompute(
    pool: &PgPool,
    owners: Option<Vec<String>>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<usize, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let appended = recompute_in(&mut tx, pool, owners.as_deref(), from, to).await?;
    tx.commit().await?;
    Ok(appended)
}

/// `recompute` in the caller's transaction, which holds the ledger lock until it ends;
/// `pool` serves the reads of committed records (targets, the KPI aggregates).
pub async fn recompute_in(
    tx: &mut Transaction<'_, Postgres>,
    pool: &PgPool,
    owners: Option<&[String]>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<usize, sqlx::Error> {
    let tz = crate::settings::load(pool).await?.time_zone;
    let (from, to) = widen(from, to, tz);
    let rules: Vec<Rule> = rules(pool, true).await?.into_iter().map(|r| r.rule).collect();
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(LEDGER_LOCK).execute(&mut **tx).await?;
    let events = events(tx, &rules, owners, from, to).await?;
    let results = period_results(pool, &rules, owners, from, to, tz).await?;
    let wanted = scoring::score(&rules, &events, &results, tz);
    let held = held(tx, owners, from, to).await?;
    let mut rows = scoring::reconcile(&held, &wanted);
    explain_reversals(tx, &mut rows).await?;
    insert_rows(tx, &rows).await?;
    Ok(rows.len())
}

/// `[from, to)` widened to the whole ISO weeks and months it touches.
fn widen(from: DateTime<Utc>, to: DateTime<Utc>, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let first = from.with_timezone(&tz).date_naive();
    let last = (to - Duration::seconds(1)).with_timezone(&tz).date_naive();
    let starts = [PeriodKind::Week, PeriodKind::Month].map(|k| Period::containing(k, first).bounds(tz).0);
    let ends = [PeriodKind::Week, PeriodKind::Month].map(|k| Period::containing(k, last).bounds(tz).1);
    (starts[0].min(starts[1]), ends[0].max(ends[1]))
}

/// The events per-unit rules count, in `[from, to)` and not in the future.
async fn events(
    tx: &mut Transaction<'_, Postgres>,
    rules: &[Rule],
    owners: Option<&[String]>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Event>, sqlx::Error> {
    let mut measures: Vec<&'static str> = rules
        .iter()
        .filter(|r| r.kind == RuleKind::PerUnit)
        .filter_map(|r| scoring::measure(&r.basis).map(|m| m.id))
        .collect();
    measures.sort();
    measures.dedup();
    if measures.is_empty() {
        return Ok(Vec::new());
    }
    // One branch per measure: (measure, owner, record kind, record id, instant, amount).
    let rows: Vec<(String, String, String, String, DateTime<Utc>, Decimal)> = sqlx::query_as(
        "WITH ev AS (
           SELECT 'won_deals' m, owner_id o, 'deal' k, id, closed_at t, amount a FROM deals WHERE status = 'won'
           UNION ALL SELECT 'revenue', owner_id, 'deal', id, closed_at, amount FROM deals WHERE status = 'won'
           UNION ALL SELECT 'upsells', owner_id, 'deal', id, closed_at, amount FROM deals
             WHERE status = 'won' AND deal_type IN ('upsell', 'cross_sell')
           UNION ALL SELECT 'new_opportunities', owner_id, 'deal', id, created_at, amount FROM deals
           UNION ALL SELECT 'touchpoints', owner_id, 'activity', id, at, 0 FROM activities
           UNION ALL SELECT 'accepted_meetings', owner_id, 'meeting_request', id, proposed_at, 0 FROM meeting_requests
             WHERE outcome = 'accepted'
           UNION ALL SELECT 'converted_leads', owner_id, 'lead', id, converted_at, 0 FROM leads WHERE converted_at IS NOT NULL
           UNION ALL SELECT 'followed_up_leads', owner_id, 'lead', id, followed_up_at, 0 FROM leads
             WHERE followed_up_at IS NOT NULL
           UNION ALL SELECT 'qualified_leads', owner_id, 'lead', id, qualified_at, 0 FROM leads WHERE qualified_at IS NOT NULL
           UNION ALL SELECT 'positive_feedback', coalesce(f.owner_id, c.owner_id), 'feedback', f.id, f.at, 0
             FROM feedback f LEFT JOIN customers c ON c.id = f.customer_id WHERE f.sentiment = 'positive'
         )
         SELECT m, o, k, id, t, a FROM ev
         WHERE m = ANY($1) AND t >= $2 AND t < $3 AND t <= arena_now() AND o IS NOT NULL
           AND ($4::text[] IS NULL OR o = ANY($4))",
    )
    .bind(&measures)
    .bind(from)
    .bind(to)
    .bind(owners)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(m, owner, kind, id, at, amount)| {
            let measure = scoring::measure(&m)?.id;
            Some(Event { owner, measure, record: RecordRef { kind, id }, at, amount })
        })
        .collect())
}

/// Each rep's attainment on each period rule's KPI, for the periods of the rule's
/// kind that overlap `[from, to)` and have started; only reps with a target count.
async fn period_results(
    pool: &PgPool,
    rules: &[Rule],
    owners: Option<&[String]>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    tz: Tz,
) -> Result<Vec<PeriodResult>, sqlx::Error> {
    let mut results = Vec::new();
    let now = domain::clock::now();
    for rule in rules.iter().filter(|r| r.kind != RuleKind::PerUnit) {
        let (Some(kind), Some(def)) = (rule.period_kind, domain::kpi::find(&rule.basis)) else { continue };
        for period in scoring::periods_overlapping(kind, from, to, tz) {
            let (start, end) = period.bounds(tz);
            if start > now {
                continue;
            }
            let targets: Vec<(String, f64)> = sqlx::query_as(
                "SELECT substr(scope, 5), value FROM targets
                 WHERE kpi = $1 AND period = $2 AND scope LIKE 'rep:%' AND ($3::text[] IS NULL OR substr(scope, 5) = ANY($3))",
            )
            .bind(def.id)
            .bind(period.to_string())
            .bind(owners)
            .fetch_all(pool)
            .await?;
            if targets.is_empty() {
                continue;
            }
            let who = Owners(Some(targets.iter().map(|(o, _)| o.clone()).collect()));
            let groups = gather(pool, &who, Window::new(start, end, tz), Grouping::PerOwner).await?;
            let empty = Default::default();
            for (owner, target) in targets {
                let actual = domain::kpi::formulas::value(def.id, groups.get(&owner).unwrap_or(&empty)).value;
                let attainment = domain::kpi::attainment(def.better, actual, Some(target));
                results.push(PeriodResult { owner, rule_id: rule.id, period, start, end, target, attainment });
            }
        }
    }
    Ok(results)
}

/// What the ledger holds per entry identity, for the entries a recompute over
/// `[from, to)` owns: the net points only. What a reversal needs besides (the
/// reason and records of what it reverses) is read for the few reversed
/// (`explain_reversals`), not for the thousands of entries that stay.
async fn held(
    tx: &mut Transaction<'_, Postgres>,
    owners: Option<&[String]>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Held>, sqlx::Error> {
    let rows: Vec<(String, i64, String, DateTime<Utc>, Option<DateTime<Utc>>, i64)> = sqlx::query_as(
        "SELECT user_id, rule_id, key, at, max(period_end), sum(points)::bigint
         FROM points_entries
         WHERE ($1::text[] IS NULL OR user_id = ANY($1))
           AND ((period_end IS NULL AND at >= $2 AND at < $3)
             OR (period_end IS NOT NULL AND at < $3 AND period_end > $2 AND at <= arena_now()))
         GROUP BY user_id, rule_id, key, at",
    )
    .bind(owners)
    .bind(from)
    .bind(to)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(owner, rule_id, key, at, period_end, net)| Held {
            owner,
            rule_id,
            key,
            at,
            period_end,
            net,
            last_reason: Reason::Text { text: String::new() },
            records: Vec::new(),
        })
        .collect())
}

/// Gives each reversal among `rows` the reason of the latest award or
/// adjustment it reverses, and that entry's records.
async fn explain_reversals(
    tx: &mut Transaction<'_, Postgres>,
    rows: &mut [(scoring::RowKind, Entry)],
) -> Result<(), sqlx::Error> {
    let reversals: Vec<usize> =
        rows.iter().enumerate().filter(|(_, (kind, _))| *kind == scoring::RowKind::Reversal).map(|(i, _)| i).collect();
    if reversals.is_empty() {
        return Ok(());
    }
    let mut ids: (Vec<String>, Vec<i64>, Vec<String>, Vec<DateTime<Utc>>) = Default::default();
    for &i in &reversals {
        let e = &rows[i].1;
        ids.0.push(e.owner.clone());
        ids.1.push(e.rule_id);
        ids.2.push(e.key.clone());
        ids.3.push(e.at);
    }
    let found = sqlx::query(
        "SELECT DISTINCT ON (x.n) x.n, e.reason, e.reason_data, e.records
         FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::timestamptz[]) WITH ORDINALITY AS x(u, r, k, a, n)
         JOIN points_entries e ON e.user_id = x.u AND e.rule_id = x.r AND e.key = x.k AND e.at = x.a
                              AND e.kind <> 'reversal'
         ORDER BY x.n, e.id DESC",
    )
    .bind(&ids.0)
    .bind(&ids.1)
    .bind(&ids.2)
    .bind(&ids.3)
    .fetch_all(&mut **tx)
    .await?;
    for r in found {
        let n: i64 = r.get("n");
        let Some(&i) = reversals.get(n as usize - 1) else { continue };
        let entry = &mut rows[i].1;
        entry.reason = Reason::Reversed { of: Box::new(reason_of(r.get("reason_data"), r.get("reason"))) };
        entry.records = serde_json::from_value(r.get("records")).unwrap_or_default();
    }
    Ok(())
}

/// A stored reason: its data, else (a row from before reasons were data) its text.
fn reason_of(data: Option<serde_json::Value>, text: Option<String>) -> Reason {
    data.and_then(|d| serde_json::from_value(d).ok()).unwrap_or_else(|| Reason::Text { text: text.unwrap_or_default() })
}

async fn insert_rows(
    tx: &mut Transaction<'_, Postgres>,
    rows: &[(scoring::RowKind, Entry)],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut cols: (Vec<String>, Vec<i64>, Vec<String>, Vec<DateTime<Utc>>, Vec<Option<DateTime<Utc>>>) =
        Default::default();
    let mut more: (Vec<i64>, Vec<&str>, Vec<String>, Vec<String>, Vec<String>) = Default::default();
    for (kind, e) in rows {
        cols.0.push(e.owner.clone());
        cols.1.push(e.rule_id);
        cols.2.push(e.key.clone());
        cols.3.push(e.at);
        cols.4.push(e.period_end);
        more.0.push(e.points);
        more.1.push(kind.as_str());
        more.2.push(e.reason.english());
        more.3.push(serde_json::to_string(&e.records).unwrap_or_else(|_| "[]".into()));
        more.4.push(serde_json::to_string(&e.reason).unwrap_or_else(|_| "null".into()));
    }
    sqlx::query(
        "INSERT INTO points_entries (user_id, rule_id, key, at, period_end, points, kind, reason, records, reason_data)
         SELECT u, r, k, a, p, pts, kd, rs, rc::jsonb, rd::jsonb
         FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::bigint[],
                     $7::text[], $8::text[], $9::text[], $10::text[]) AS x(u, r, k, a, p, pts, kd, rs, rc, rd)",
    )
    .bind(cols.0)
    .bind(cols.1)
    .bind(cols.2)
    .bind(cols.3)
    .bind(cols.4)
    .bind(more.0)
    .bind(more.1)
    .bind(more.2)
    .bind(more.3)
    .bind(more.4)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The filter that puts an entry in `[start, end)`: an event entry when its
/// instant is in it; a period entry when its whole period is.
const IN_WINDOW: &str = "at >= $2 AND at < $3 AND (period_end IS NULL OR period_end <= $3)";

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct LedgerEntry {
    pub id: i64,
    pub points: i64,
    pub rule: String,
    pub rule_id: i64,
    pub kind: String,
    /// The English text, as stored (what the API returns).
    pub reason: String,
    /// The same as data, for the pages to word.
    pub why: Reason,
    pub at: DateTime<Utc>,
    /// What is scored: `deal:D1`, or the calendar period (`2026-11`) of a period rule.
    pub key: String,
    /// Set for entries of period rules: they cover `[at, period_end)`.
    pub period_end: Option<DateTime<Utc>>,
    pub records: Vec<RecordRef>,
}

impl LedgerEntry {
    /// The period an entry belongs to: its calendar period, or the local day of its event.
    pub fn period(&self, tz: Tz) -> String {
        match self.period_end {
            Some(_) => self.key.clone(),
            None => self.at.with_timezone(&tz).date_naive().to_string(),
        }
    }
}

/// A user's ledger over `[start, end)`: its entries in order, and their sum.
pub async fn ledger(
    pool: &PgPool,
    user: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<(i64, Vec<LedgerEntry>), sqlx::Error> {
    let sql = format!(
        "SELECT e.id, e.points, r.label, e.rule_id, e.kind, e.reason, e.reason_data, e.at, e.key, e.period_end, e.records
         FROM points_entries e JOIN points_rules r ON r.id = e.rule_id
         WHERE e.user_id = $1 AND {} ORDER BY e.at, e.id",
        IN_WINDOW.replace("at ", "e.at ").replace("period_end", "e.period_end")
    );
    let rows = sqlx::query(&sql).bind(user).bind(start).bind(end).fetch_all(pool).await?;
    let entries: Vec<LedgerEntry> = rows
        .into_iter()
        .map(|r| LedgerEntry {
            id: r.get("id"),
            points: r.get("points"),
            rule: r.get("label"),
            rule_id: r.get("rule_id"),
            kind: r.get("kind"),
            reason: r.get("reason"),
            why: reason_of(r.get("reason_data"), r.get("reason")),
            at: r.get("at"),
            key: r.get("key"),
            period_end: r.get("period_end"),
            records: serde_json::from_value(r.get("records")).unwrap_or_default(),
        })
        .collect();
    Ok((entries.iter().map(|e| e.points).sum(), entries))
}

/// Points per user over `[start, end)`, by the same filter as `ledger`.
pub async fn totals(
    pool: &PgPool,
    users: &[String],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let sql = format!(
        "SELECT user_id, sum(points)::bigint FROM points_entries WHERE user_id = ANY($1) AND {IN_WINDOW} GROUP BY user_id"
    );
    let rows: Vec<(String, i64)> = sqlx::query_as(&sql).bind(users).bind(start).bind(end).fetch_all(pool).await?;
    Ok(rows.into_iter().collect())
}

/// The scope's reps ranked by points earned in `[start, end)` (the same sums as the ledger).
pub async fn points_leaderboard(
    pool: &PgPool,
    scope: &domain::kpi::Scope,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<crate::kpis::RankedRep>, crate::kpis::KpiError> {
    let reps = crate::kpis::reps_of(pool, scope).await?;
    let ids: Vec<String> = reps.iter().map(|(id, _, _)| id.clone()).collect();
    let totals = totals(pool, &ids, start, end).await?;
    let teams: HashMap<String, Option<String>> = reps.iter().map(|(id, _, team)| (id.clone(), team.clone())).collect();
    let values = reps
        .into_iter()
        .map(|(id, name, _)| {
            let points = *totals.get(&id).unwrap_or(&0) as f64;
            (id, name, Some(points))
        })
        .collect();
    let mut ranked = crate::kpis::rank(values, domain::kpi::Better::Higher);
    for r in &mut ranked {
        r.team = teams.get(&r.id).cloned().flatten();
    }
    Ok(ranked)
}

/// A user's lifetime points and the level they reach.
pub async fn level(pool: &PgPool, user: &str) -> Result<scoring::Level, sqlx::Error> {
    let total: i64 =
        sqlx::query_scalar("SELECT coalesce(sum(points), 0)::bigint FROM points_entries WHERE user_id = $1")
            .bind(user)
            .fetch_one(pool)
            .await?;
    Ok(scoring::level(total))
}

pub async fn rule_exists(pool: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM points_rules WHERE id = $1)").bind(id).fetch_one(pool).await
}
