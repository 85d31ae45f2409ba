//! Sums over the per-owner, per-day rollups (`kpi_<table>_day`, see the
//! rollups migration), exact for any span of instants: whole local days come
//! from the rollup, the partial days at either end from the records through
//! the same facts function the rollup is built with.

use super::kpis::{Grouping, Owners};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use domain::period::local_midnight;
use rust_decimal::Decimal;
use sqlx::{PgPool, Row};
use std::collections::HashMap;

/// A record table with a rollup: its name, the rollup's measure columns (in
/// table order) and the record timestamps its facts are counted at.
pub struct Table {
    pub name: &'static str,
    pub measures: &'static [&'static str],
    pub instants: &'static [&'static str],
}

pub const DEALS: Table = Table {
    name: "deals",
    measures: &["created", "ended", "won", "won_sum", "lost", "won_upsell", "won_new", "won_cust_sum"],
    instants: &["created_at", "closed_at"],
};
pub const LEADS: Table = Table {
    name: "leads",
    measures: &[
        "created",
        "created_conv",
        "qualified",
        "qualified_conv",
        "converted",
        "converted_cost",
        "contacted",
        "contacted_fu",
    ],
    instants: &["created_at", "qualified_at", "converted_at", "first_contact_at"],
};
pub const CUSTOMERS: Table = Table {
    name: "customers",
    measures: &["acquired", "acquired_epoch", "acquired_churned", "ended", "ended_epoch", "ended_life"],
    instants: &["acquired_at", "churned_at"],
};
pub const ACTIVITIES: Table =
    Table { name: "activities", measures: &["touchpoints", "with_customer"], instants: &["at"] };
pub const MEETINGS: Table =
    Table { name: "meeting_requests", measures: &["proposed", "accepted"], instants: &["proposed_at"] };
pub const FEEDBACK: Table = Table { name: "feedback", measures: &["total", "positive", "negative"], instants: &["at"] };

/// Instants `[from, to)`; `from = None` reaches back to the first record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    pub from: Option<DateTime<Utc>>,
    pub to: DateTime<Utc>,
}

/// A span cut into whole local days `[first, end)` read from the rollup, and
/// raw instants added (+1) or taken away (−1): a partial day is either read
/// raw, or as its whole day less the part outside the span, whichever reads
/// fewer records (the rest of today is in the future and usually empty).
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub days: Option<(Option<NaiveDate>, NaiveDate)>,
    pub raw: Vec<(DateTime<Utc>, DateTime<Utc>, i32)>,
}

pub fn split(span: Span, tz: Tz) -> Split {
    split_at(span, tz, domain::clock::now())
}

fn split_at(span: Span, tz: Tz, now: DateTime<Utc>) -> Split {
    if let Some(from) = span.from {
        if from >= span.to {
            return Split { days: None, raw: vec![] };
        }
    }
    let next = |d: NaiveDate| d.succ_opt().expect("a representable day");
    let end_day = span.to.with_timezone(&tz).date_naive();
    let first_day = span.from.map(|from| {
        let day = from.with_timezone(&tz).date_naive();
        if local_midnight(day, tz) == from {
            day
        } else {
            next(day)
        }
    });
    if let (Some(from), Some(first)) = (span.from, first_day) {
        if first >= end_day {
            return Split { days: None, raw: vec![(from, span.to, 1)] };
        }
    }
    let mut raw = Vec::new();
    let mut first_day = first_day;
    if let (Some(from), Some(first)) = (span.from, first_day) {
        let (day_start, day_end) = (local_midnight(first.pred_opt().expect("a day"), tz), local_midnight(first, tz));
        if from - day_start < day_end - from {
            first_day = first.pred_opt();
            raw.push((day_start, from, -1));
        } else if from < day_end {
            raw.push((from, day_end, 1));
        }
    }
    let mut end = end_day;
    let (day_start, day_end) = (local_midnight(end_day, tz), local_midnight(next(end_day), tz));
    if day_start < span.to {
        if span.to >= now - chrono::Duration::minutes(1) || day_end - span.to < span.to - day_start {
            end = next(end_day);
            raw.push((span.to, day_end, -1));
        } else {
            raw.push((day_start, span.to, 1));
        }
    }
    Split { days: Some((first_day, end)), raw }
}

/// Whole days `[first, end)` as rollup reads: the whole months inside from the
/// monthly rollup (its rows are keyed by their first day), the days around them from the daily one.
pub fn grains(first: Option<NaiveDate>, end: NaiveDate) -> Vec<(&'static str, Option<NaiveDate>, NaiveDate)> {
    let month_start = |d: NaiveDate| d.with_day(1).expect("day 1 exists");
    let months_from = first.map(|d| if d.day() == 1 { d } else { month_start(d) + chrono::Months::new(1) });
    let months_to = month_start(end);
    match months_from {
        Some(from) if from >= months_to => vec![("day", first, end)],
        _ => {
            let mut reads = Vec::new();
            if let (Some(first), Some(from)) = (first, months_from) {
                if first < from {
                    reads.push(("day", Some(first), from));
                }
            }
            reads.push(("month", months_from, months_to));
            if months_to < end {
                reads.push(("day", Some(months_to), end));
            }
            reads
        }
    }
}

/// The measures of `table` summed over `span`, per group key ("" for the whole scope).
pub async fn sums(
    pool: &PgPool,
    table: &Table,
    owners: &Owners,
    grouping: Grouping,
    span: Span,
    tz: Tz,
) -> Result<HashMap<String, Vec<Decimal>>, sqlx::Error> {
    let cut = split(span, tz);
    let per_owner = grouping == Grouping::PerOwner;
    // Whose rows: the organisation row, every owner's rows, or the listed owners' rows ($1).
    let (rollup_owner, raw_owner) = match (&owners.0, per_owner) {
        (None, false) => ("r.owner_id = ''", "TRUE"),
        (None, true) => ("r.owner_id <> ''", "TRUE"),
        (Some(_), _) => ("r.owner_id = ANY($1)", "t.owner_id = ANY($1)"),
    };
    let (rollup_key, raw_key) = if per_owner { ("r.owner_id", "f.owner_id") } else { ("''::text", "''::text") };
    let columns = |prefix: &str| table.measures.iter().map(|m| format!("{prefix}.{m}")).collect::<Vec<_>>().join(", ");
    let mut parts = Vec::new();
    if let Some((first, end)) = cut.days {
        for (grain, from, to) in grains(first, end) {
            let from = from.map(|d| format!(" AND r.day >= '{d}'")).unwrap_or_default();
            parts.push(format!(
                "SELECT {rollup_key} AS k, {cols} FROM kpi_{t}_{grain} r WHERE {rollup_owner}{from} AND r.day < '{to}'",
                cols = columns("r"),
                t = table.name,
            ));
        }
    }
    // Raw intervals are bound in pairs after the owners.
    let base = if owners.0.is_some() { 2 } else { 1 };
    let mut instants = Vec::new();
    for (i, &(from, to, sign)) in cut.raw.iter().enumerate() {
        let (a, b) = (base + 2 * i, base + 1 + 2 * i);
        let near = table.instants.iter().map(|c| format!("(t.{c} >= ${a} AND t.{c} < ${b})")).collect::<Vec<_>>();
        parts.push(format!(
            "SELECT {raw_key} AS k, {cols} FROM {t} t, LATERAL kpi_facts_{t}(t) f
             WHERE {raw_owner} AND ({near}) AND f.at >= ${a} AND f.at < ${b}",
            // Named, as the union takes its column names from its first part.
            cols = table.measures.iter().map(|m| format!("{sign} * f.{m} AS {m}")).collect::<Vec<_>>().join(", "),
            t = table.name,
            near = near.join(" OR "),
        ));
        instants.push((from, to));
    }
    if parts.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT k, {sums} FROM ({union}) x GROUP BY k",
        sums = table.measures.iter().map(|m| format!("sum({m})::numeric")).collect::<Vec<_>>().join(", "),
        union = parts.join(" UNION ALL "),
    );
    let mut query = sqlx::query(&sql);
    if let Some(ids) = &owners.0 {
        query = query.bind(ids);
    }
    for (a, b) in instants {
        query = query.bind(a).bind(b);
    }
    let mut out = HashMap::new();
    for row in query.fetch_all(pool).await? {
        let key: String = row.try_get(0)?;
        let values = (1..=table.measures.len()).map(|i| row.try_get::<Decimal, _>(i)).collect::<Result<Vec<_>, _>>()?;
        out.insert(key, values);
    }
    Ok(out)
}

/// Deals open at `asof` per group key: those created before it less those
/// ended (closed, and created) before it. Whole days are the deals rollup's
/// `created − ended`; the partial day at `asof` is counted from two indexes
/// alone (`deals_created_idx` or `deals_owner_created_idx`, and
/// `deals_ended_idx`), the same instants the facts function counts at. Deals
/// dated later today (a close recorded ahead of time) are never fetched.
pub async fn active_deals(
    pool: &PgPool,
    owners: &Owners,
    grouping: Grouping,
    asof: DateTime<Utc>,
    tz: Tz,
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let cut = split(Span { from: None, to: asof }, tz);
    let per_owner = grouping == Grouping::PerOwner;
    let (rollup_owner, raw_owner) = match (&owners.0, per_owner) {
        (None, false) => ("r.owner_id = ''", "TRUE"),
        (None, true) => ("r.owner_id <> ''", "TRUE"),
        (Some(_), _) => ("r.owner_id = ANY($1)", "owner_id = ANY($1)"),
    };
    let (rollup_key, raw_key) = if per_owner { ("r.owner_id", "owner_id") } else { ("''::text", "''::text") };
    let mut parts = Vec::new();
    if let Some((first, end)) = cut.days {
        for (grain, from, to) in grains(first, end) {
            let from = from.map(|d| format!(" AND r.day >= '{d}'")).unwrap_or_default();
            parts.push(format!(
                "SELECT {rollup_key} AS k, sum(r.created - r.ended) AS n FROM kpi_deals_{grain} r
                 WHERE {rollup_owner}{from} AND r.day < '{to}' GROUP BY 1"
            ));
        }
    }
    let base = if owners.0.is_some() { 2 } else { 1 };
    for (i, &(_, _, sign)) in cut.raw.iter().enumerate() {
        let (a, b) = (base + 2 * i, base + 1 + 2 * i);
        let ended = "greatest(created_at, closed_at)";
        parts.push(format!(
            "SELECT {raw_key} AS k, {sign} * count(*) AS n FROM deals
             WHERE {raw_owner} AND created_at >= ${a} AND created_at < ${b} GROUP BY 1
             UNION ALL
             SELECT {raw_key}, {minus} * count(*) FROM deals
             WHERE {raw_owner} AND status <> 'open' AND {ended} >= ${a} AND {ended} < ${b} GROUP BY 1",
            minus = -sign,
        ));
    }
    if parts.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!("SELECT k, sum(n)::int8 FROM ({}) x GROUP BY k", parts.join(" UNION ALL "));
    let mut query = sqlx::query_as::<_, (String, i64)>(&sql);
    if let Some(ids) = &owners.0 {
        query = query.bind(ids);
    }
    for &(from, to, _) in &cut.raw {
        query = query.bind(from).bind(to);
    }
    Ok(query.fetch_all(pool).await?.into_iter().collect())
}

/// A measure of `sums` by name (0 when the group has no rows).
pub fn measure(table: &Table, values: Option<&Vec<Decimal>>, name: &str) -> Decimal {
    let i = table.measures.iter().position(|m| *m == name).expect("a measure of the table");
    values.map(|v| v[i]).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn now() -> DateTime<Utc> {
        utc(2026, 11, 27, 21, 0)
    }

    #[test]
    fn a_calendar_month_is_whole_days_only() {
        let moscow: Tz = "Europe/Moscow".parse().unwrap();
        // November 2026 in Moscow (+03:00) starts 2026-10-31T21:00Z.
        let cut = split_at(Span { from: Some(utc(2026, 10, 31, 21, 0)), to: utc(2026, 11, 30, 21, 0) }, moscow, now());
        assert_eq!(cut, Split { days: Some((Some(day(2026, 11, 1)), day(2026, 12, 1))), raw: vec![] });
    }

    #[test]
    fn partial_days_are_read_raw_or_as_the_whole_day_less_the_rest_whichever_is_shorter() {
        let cut = split_at(Span { from: Some(utc(2026, 11, 3, 10, 0)), to: utc(2026, 11, 20, 8, 30) }, Tz::UTC, now());
        assert_eq!(
            cut,
            Split {
                days: Some((Some(day(2026, 11, 3)), day(2026, 11, 20))),
                raw: vec![
                    (utc(2026, 11, 3, 0, 0), utc(2026, 11, 3, 10, 0), -1),
                    (utc(2026, 11, 20, 0, 0), utc(2026, 11, 20, 8, 30), 1)
                ],
            }
        );
        let late = split_at(Span { from: Some(utc(2026, 11, 3, 14, 0)), to: utc(2026, 11, 20, 20, 0) }, Tz::UTC, now());
        assert_eq!(
            late,
            Split {
                days: Some((Some(day(2026, 11, 4)), day(2026, 11, 21))),
                raw: vec![
                    (utc(2026, 11, 3, 14, 0), utc(2026, 11, 4, 0, 0), 1),
                    (utc(2026, 11, 20, 20, 0), utc(2026, 11, 21, 0, 0), -1)
                ],
            }
        );
    }

    #[test]
    fn up_to_now_is_every_day_through_today_less_the_rest_of_today() {
        let cut = split_at(Span { from: None, to: utc(2026, 11, 27, 8, 0) }, Tz::UTC, utc(2026, 11, 27, 8, 0));
        assert_eq!(
            cut,
            Split {
                days: Some((None, day(2026, 11, 28))),
                raw: vec![(utc(2026, 11, 27, 8, 0), utc(2026, 11, 28, 0, 0), -1)]
            }
        );
    }

    #[test]
    fn whole_months_are_read_from_the_monthly_rollup_and_the_days_around_them_from_the_daily_one() {
        assert_eq!(
            grains(Some(day(2026, 11, 1)), day(2026, 12, 1)),
            vec![("month", Some(day(2026, 11, 1)), day(2026, 12, 1))]
        );
        assert_eq!(
            grains(Some(day(2026, 10, 4)), day(2026, 12, 15)),
            vec![
                ("day", Some(day(2026, 10, 4)), day(2026, 11, 1)),
                ("month", Some(day(2026, 11, 1)), day(2026, 12, 1)),
                ("day", Some(day(2026, 12, 1)), day(2026, 12, 15))
            ]
        );
        assert_eq!(
            grains(None, day(2026, 11, 28)),
            vec![("month", None, day(2026, 11, 1)), ("day", Some(day(2026, 11, 1)), day(2026, 11, 28))]
        );
        assert_eq!(
            grains(Some(day(2026, 10, 4)), day(2026, 10, 21)),
            vec![("day", Some(day(2026, 10, 4)), day(2026, 10, 21))]
        );
    }

    #[test]
    fn a_span_inside_one_day_or_empty_is_raw_or_nothing() {
        let inside =
            split_at(Span { from: Some(utc(2026, 11, 3, 10, 0)), to: utc(2026, 11, 3, 12, 0) }, Tz::UTC, now());
        assert_eq!(inside, Split { days: None, raw: vec![(utc(2026, 11, 3, 10, 0), utc(2026, 11, 3, 12, 0), 1)] });
        let empty = split_at(Span { from: Some(utc(2026, 11, 3, 10, 0)), to: utc(2026, 11, 3, 10, 0) }, Tz::UTC, now());
        assert_eq!(empty, Split { days: None, raw: vec![] });
    }
}
