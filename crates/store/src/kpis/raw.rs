//! The part of the aggregates read from the records rather than the rollups:
//! what cannot be summed by day (the median, distinct customers, breakdowns)
//! and the corrections for counts that depend on `asof` as well as on P.
//! Each query reads only the rows the window can touch.

use super::{key, Grouping, Owners, Window};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::PgPool;
use std::collections::HashMap;

/// `$1` filters owners when the scope lists them; `$2`.. follow.
fn owner_filter(owners: &Owners, column: &str) -> String {
    match owners.0 {
        Some(_) => format!("{column} = ANY($1)"),
        None => "TRUE".into(),
    }
}

fn bind_owners<'q, O>(
    sql: &'q str,
    owners: &'q Owners,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>
where
    O: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    let query = sqlx::query_as(sql);
    match &owners.0 {
        Some(ids) => query.bind(ids),
        None => query,
    }
}

/// `$n` for the i-th (0-based) argument after the owners.
fn arg(owners: &Owners, i: usize) -> String {
    format!("${}", i + if owners.0.is_some() { 2 } else { 1 })
}

/// Distinct customers of the deals won in P.
pub(super) async fn distinct_customer_rows(
    pool: &PgPool,
    owners: &Owners,
    w: Window,
    g: Grouping,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let filter = format!(
        "{o} AND status = 'won' AND closed_at >= {s} AND closed_at < {e} AND customer_id IS NOT NULL",
        o = owner_filter(owners, "owner_id"),
        s = arg(owners, 0),
        e = arg(owners, 1),
    );
    if g == Grouping::Whole {
        let sql = format!("SELECT ''::text, count(DISTINCT customer_id) FROM deals WHERE {filter}");
        return bind_owners(&sql, owners).bind(w.start).bind(w.end).fetch_all(pool).await;
    }
    // Per owner, counted here from the plain rows (cheaper than a sort per owner).
    let sql = format!("SELECT coalesce(owner_id, ''), customer_id FROM deals WHERE {filter}");
    let rows: Vec<(String, String)> = bind_owners(&sql, owners).bind(w.start).bind(w.end).fetch_all(pool).await?;
    let mut per_owner: HashMap<String, std::collections::HashSet<String>> = HashMap::new();
    for (id, customer) in rows {
        per_owner.entry(id).or_default().insert(customer);
    }
    Ok(per_owner.into_iter().map(|(id, customers)| (id, customers.len() as i64)).collect())
}

/// Per group, leads counted by the rollup as converted or followed up whose
/// conversion or follow-up is at or after asof: (created in P, qualified in P, first contacted in P).
pub(super) async fn lead_late_rows(
    pool: &PgPool,
    owners: &Owners,
    w: Window,
    g: Grouping,
) -> Result<Vec<(String, i64, i64, i64)>, sqlx::Error> {
    let (s, e, asof) = (arg(owners, 0), arg(owners, 1), arg(owners, 2));
    let sql = format!(
        "SELECT k, sum(created)::int8, sum(qualified)::int8, sum(contacted)::int8 FROM (
           SELECT {k} AS k, count(*) FILTER (WHERE created_at >= {s} AND created_at < {e}) AS created,
                  count(*) FILTER (WHERE qualified_at >= {s} AND qualified_at < {e}) AS qualified, 0 AS contacted
           FROM leads WHERE {o} AND converted_at >= {asof} GROUP BY 1
           UNION ALL
           SELECT {k}, 0, 0, count(*) FILTER (WHERE first_contact_at >= {s} AND first_contact_at < {e})
           FROM leads WHERE {o} AND followed_up_at >= {asof} GROUP BY 1
         ) x GROUP BY k",
        k = key(g, "owner_id"),
        o = owner_filter(owners, "owner_id"),
    );
    bind_owners(&sql, owners).bind(w.start).bind(w.end).bind(w.asof).fetch_all(pool).await
}

/// The median minutes from creation to first contact (before asof) of the leads created in P.
pub(super) async fn median_rows(
    pool: &PgPool,
    owners: &Owners,
    w: Window,
    g: Grouping,
) -> Result<Vec<(String, Option<f64>)>, sqlx::Error> {
    let (s, e, asof) = (arg(owners, 0), arg(owners, 1), arg(owners, 2));
    let (o, minutes) =
        (owner_filter(owners, "owner_id"), "extract(epoch FROM first_contact_at - created_at)::float8 / 60");
    let filter = format!("{o} AND created_at >= {s} AND created_at < {e} AND first_contact_at < {asof}");
    if g == Grouping::Whole {
        let sql = format!(
            "SELECT ''::text, percentile_cont(0.5) WITHIN GROUP (ORDER BY {minutes}) FROM leads WHERE {filter}"
        );
        return bind_owners(&sql, owners).bind(w.start).bind(w.end).bind(w.asof).fetch_all(pool).await;
    }
    // Per owner, the medians are found here from the plain rows: a thousand
    // small sorts, and turning intervals into numeric seconds, cost
    // PostgreSQL more than sending the rows.
    let sql = format!("SELECT coalesce(owner_id, ''), created_at, first_contact_at FROM leads WHERE {filter}");
    let rows: Vec<(String, DateTime<Utc>, DateTime<Utc>)> =
        bind_owners(&sql, owners).bind(w.start).bind(w.end).bind(w.asof).fetch_all(pool).await?;
    let mut per_owner: HashMap<String, Vec<f64>> = HashMap::new();
    for (id, created, contacted) in rows {
        per_owner.entry(id).or_default().push(minutes_between(created, contacted));
    }
    Ok(per_owner.into_iter().map(|(id, mut minutes)| (id, median(&mut minutes))).collect())
}

/// Minutes from `from` to `to` as `extract(epoch FROM to - from)::float8 / 60`
/// gives them: whole microseconds are exact in an f64, and one division
/// rounds as the conversion from numeric seconds does.
pub(super) fn minutes_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    let micros = (to - from).num_microseconds().expect("an interval of under 290,000 years");
    micros as f64 / 1_000_000.0 / 60.0
}

/// The median as `percentile_cont(0.5)` gives it: the middle value, or for an
/// even count the lower middle value plus half the distance to the upper one.
pub(super) fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => {
            let (lo, hi) = (values[n / 2 - 1], values[n / 2]);
            Some(lo + (hi - lo) * 0.5)
        }
    }
}

/// Customers acquired before `early` who churned at or after `late` (the rollup counts every churn).
pub(super) async fn churned_late_rows(
    pool: &PgPool,
    owners: &Owners,
    g: Grouping,
    early: DateTime<Utc>,
    late: DateTime<Utc>,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let sql = format!(
        "SELECT {k}, count(*) FROM customers
         WHERE {o} AND churned_at IS NOT NULL AND churned_at >= {late} AND acquired_at < {early}
         GROUP BY 1",
        k = key(g, "owner_id"),
        o = owner_filter(owners, "owner_id"),
        early = arg(owners, 0),
        late = arg(owners, 1),
    );
    bind_owners(&sql, owners).bind(early).bind(late).fetch_all(pool).await
}

/// Feedback in P that names no owner: it belongs to its customer's owner (the
/// rollup holds only feedback that names its owner).
pub(super) async fn unowned_feedback_rows(
    pool: &PgPool,
    owners: &Owners,
    w: Window,
    g: Grouping,
) -> Result<Vec<(String, i64, i64, i64)>, sqlx::Error> {
    let sql = format!(
        "SELECT {k}, count(*), count(*) FILTER (WHERE f.sentiment = 'positive'),
                count(*) FILTER (WHERE f.sentiment = 'negative')
         FROM feedback f LEFT JOIN customers c ON c.id = f.customer_id
         WHERE f.owner_id IS NULL AND {o} AND f.at >= {s} AND f.at < {e}
         GROUP BY 1",
        k = key(g, "c.owner_id"),
        o = owner_filter(owners, "c.owner_id"),
        s = arg(owners, 0),
        e = arg(owners, 1),
    );
    bind_owners(&sql, owners).bind(w.start).bind(w.end).fetch_all(pool).await
}

/// Won revenue in P per (group, label) where label is a product id or a region.
pub(super) async fn breakdown_rows(
    pool: &PgPool,
    owners: &Owners,
    w: Window,
    g: Grouping,
    label: &str,
    has_label: &str,
) -> Result<Vec<(String, String, Decimal)>, sqlx::Error> {
    let sql = format!(
        "SELECT {k}, {label}, sum(d.amount)
         FROM deals d
         LEFT JOIN customers c ON c.id = d.customer_id
         LEFT JOIN users u ON u.id = d.owner_id
         LEFT JOIN teams t ON t.id = u.team_id
         WHERE {o} AND d.status <> 'open' AND d.status = 'won' AND d.closed_at >= {s} AND d.closed_at < {e}
           AND {has_label}
         GROUP BY 1, 2",
        k = key(g, "d.owner_id"),
        o = owner_filter(owners, "d.owner_id"),
        s = arg(owners, 0),
        e = arg(owners, 1),
    );
    bind_owners(&sql, owners).bind(w.start).bind(w.end).fetch_all(pool).await
}

/// A breakdown's label, for the won deals that have none.
#[derive(Debug, Clone, Copy)]
pub(super) enum Label {
    /// No product named.
    Product,
    /// No customer, and an owner in no team (a customer's and a team's region are never null).
    Region,
}

/// Won revenue in P per group of the deals without a `label`.
pub(super) async fn unlabelled_rows(
    pool: &PgPool,
    owners: &Owners,
    w: Window,
    g: Grouping,
    label: Label,
) -> Result<Vec<(String, Decimal)>, sqlx::Error> {
    let (joins, without) = match label {
        Label::Product => ("", "d.product_id IS NULL"),
        Label::Region => (
            "JOIN users u ON u.id = d.owner_id AND u.team_id IS NULL LEFT JOIN customers c ON c.id = d.customer_id",
            "c.id IS NULL",
        ),
    };
    let sql = format!(
        "SELECT {k}, sum(d.amount) FROM deals d {joins}
         WHERE {o} AND d.status = 'won' AND d.closed_at >= {s} AND d.closed_at < {e} AND {without}
         GROUP BY 1",
        k = key(g, "d.owner_id"),
        o = owner_filter(owners, "d.owner_id"),
        s = arg(owners, 0),
        e = arg(owners, 1),
    );
    bind_owners(&sql, owners).bind(w.start).bind(w.end).fetch_all(pool).await
}

#[cfg(test)]
mod tests {
    use super::{median, minutes_between};

    #[test]
    fn the_median_of_an_even_count_is_halfway_between_the_two_middle_values() {
        assert_eq!(median(&mut [30.0, 10.0, 20.0, 45.5]), Some(25.0));
        assert_eq!(median(&mut [7.0, -3.0, 12.0]), Some(7.0));
        assert_eq!(median(&mut [2.5]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }

    #[test]
    fn minutes_between_two_instants_keep_their_microseconds() {
        use chrono::{Duration, TimeZone, Utc};
        let at = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
        assert_eq!(minutes_between(at, at + Duration::seconds(90)), 1.5);
        assert_eq!(minutes_between(at, at - Duration::minutes(3)), -3.0);
        assert_eq!(minutes_between(at, at + Duration::microseconds(6)), 0.000006 / 60.0);
    }
}
