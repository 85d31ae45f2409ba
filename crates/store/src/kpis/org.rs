//! The whole organisation's breakdowns and response-time median, read from
//! the organisation-wide rollups (`kpi_org_labels_day`/`_month`, see the
//! org rollups migration) instead of a year of records: won revenue per
//! product and per region, a histogram of response times whose median
//! bucket is then read exactly from the records, and monthly bitmaps of the
//! customers won.

use super::Window;
use crate::rollups::{grains, split, Span};
use chrono::Utc;
use domain::period::local_midnight;
use rust_decimal::Decimal;
use sqlx::{PgPool, Row};
use std::collections::{BTreeMap, HashMap};

/// Where a measure's records are and which instant its facts are counted at.
fn source(measure: &str) -> (&'static str, &'static str, &'static str) {
    match measure {
        "response" => ("leads t", "created_at", "kpi_org_facts_leads(t)"),
        _ => (
            "deals t LEFT JOIN customers cu ON cu.id = t.customer_id",
            "closed_at",
            "kpi_org_facts_deals(t, cu.region)",
        ),
    }
}

/// Per label of `measure` over P: (records, summed value); labels with no records are left out.
async fn labels(pool: &PgPool, measure: &str, w: Window) -> Result<HashMap<String, (i64, Decimal)>, sqlx::Error> {
    let cut = split(Span { from: Some(w.start), to: w.end }, w.tz);
    let mut parts = Vec::new();
    if let Some((first, end)) = cut.days {
        for (grain, from, to) in grains(first, end) {
            let from = from.map(|d| format!(" AND day >= '{d}'")).unwrap_or_default();
            parts.push(format!(
                "SELECT label, n, value FROM kpi_org_labels_{grain} WHERE measure = $1{from} AND day < '{to}'"
            ));
        }
    }
    let (table, instant, facts) = source(measure);
    for (i, &(_, _, sign)) in cut.raw.iter().enumerate() {
        let (a, b) = (2 + 2 * i, 3 + 2 * i);
        parts.push(format!(
            "SELECT f.label, {sign} * f.n AS n, {sign} * f.value AS value FROM {table}, LATERAL {facts} f
             WHERE t.{instant} >= ${a} AND t.{instant} < ${b} AND f.measure = $1 AND f.at >= ${a} AND f.at < ${b}"
        ));
    }
    if parts.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT label, sum(n)::int8, sum(value) FROM ({}) x GROUP BY label HAVING sum(n) <> 0",
        parts.join(" UNION ALL ")
    );
    let mut query = sqlx::query(&sql).bind(measure);
    for &(from, to, _) in &cut.raw {
        query = query.bind(from).bind(to);
    }
    let mut out = HashMap::new();
    for row in query.fetch_all(pool).await? {
        out.insert(row.try_get(0)?, (row.try_get(1)?, row.try_get(2)?));
    }
    Ok(out)
}

/// Won revenue in P per product.
pub(super) async fn products(pool: &PgPool, w: Window) -> Result<Vec<(String, String, Decimal)>, sqlx::Error> {
    let rows = labels(pool, "product", w).await?;
    Ok(rows.into_iter().map(|(product, (_, sum))| (String::new(), product, sum)).collect())
}

/// Won revenue in P per region: the customer's, or for a deal without one its owner's team's.
pub(super) async fn regions(pool: &PgPool, w: Window) -> Result<Vec<(String, String, Decimal)>, sqlx::Error> {
    let (by_customer, by_team) = tokio::try_join!(
        labels(pool, "region", w),
        sqlx::query_as::<_, (String, Decimal)>(
            "SELECT tm.region, sum(d.amount) FROM deals d
             JOIN users u ON u.id = d.owner_id JOIN teams tm ON tm.id = u.team_id
             WHERE d.status = 'won' AND d.customer_id IS NULL AND d.closed_at >= $1 AND d.closed_at < $2
             GROUP BY 1",
        )
        .bind(w.start)
        .bind(w.end)
        .fetch_all(pool),
    )?;
    let mut sums: BTreeMap<String, Decimal> = by_customer.into_iter().map(|(r, (_, sum))| (r, sum)).collect();
    for (region, sum) in by_team {
        *sums.entry(region).or_default() += sum;
    }
    Ok(sums.into_iter().map(|(region, sum)| (String::new(), region, sum)).collect())
}

/// Whether the median can take the histogram: the leads of P contacted at or
/// after asof are then read from a short stretch of the contact index (for a
/// current period, the future).
pub(super) fn median_from_histogram(w: Window) -> bool {
    domain::clock::now() - w.asof <= chrono::Duration::days(31)
}

/// The median minutes from creation to first contact (before asof) of the
/// leads created in P: the histogram gives the bucket of each middle rank,
/// the records of that bucket give the exact values.
pub(super) async fn median(pool: &PgPool, w: Window) -> Result<Option<f64>, sqlx::Error> {
    let (histogram, late) = tokio::try_join!(
        labels(pool, "response", w),
        sqlx::query_as::<_, (i32, i64)>(
            "SELECT kpi_response_bucket(first_contact_at - created_at), count(*) FROM leads
             WHERE first_contact_at >= $3 AND created_at >= $1 AND created_at < $2 GROUP BY 1",
        )
        .bind(w.start)
        .bind(w.end)
        .bind(w.asof)
        .fetch_all(pool),
    )?;
    let mut counts: BTreeMap<i32, i64> = BTreeMap::new();
    for (bucket, (n, _)) in histogram {
        *counts.entry(bucket.parse().expect("a bucket number")).or_default() += n;
    }
    for (bucket, n) in late {
        *counts.entry(bucket).or_default() -= n;
    }
    let total: i64 = counts.values().sum();
    if total == 0 {
        return Ok(None);
    }
    // 1-based middle ranks: one for an odd count, the two middle ones for an even count.
    let (low, high) = ((total + 1) / 2, total / 2 + 1);
    let at = |rank: i64| {
        let mut before = 0;
        for (&bucket, &n) in &counts {
            if before + n >= rank {
                return (bucket, rank - before - 1);
            }
            before += n;
        }
        unreachable!("rank {rank} within the total")
    };
    let value_at = |(bucket, offset): (i32, i64)| {
        sqlx::query_scalar::<_, f64>(
            "SELECT extract(epoch FROM first_contact_at - created_at)::float8 / 60 FROM leads
             WHERE kpi_response_bucket(first_contact_at - created_at) = $1 AND first_contact_at IS NOT NULL
               AND created_at >= $2 AND created_at < $3 AND first_contact_at < $4
             ORDER BY 1 OFFSET $5 LIMIT 1",
        )
        .bind(bucket)
        .bind(w.start)
        .bind(w.end)
        .bind(w.asof)
        .bind(offset)
        .fetch_one(pool)
    };
    let (lo, hi) = if low == high {
        let v = value_at(at(low)).await?;
        (v, v)
    } else {
        tokio::try_join!(value_at(at(low)), value_at(at(high)))?
    };
    // As percentile_cont interpolates.
    Ok(Some(lo + (hi - lo) * 0.5))
}

/// Distinct customers of the deals won in P: the union of the monthly
/// bitmaps of the whole local months inside P, plus the customers won in the
/// days around them that are not in it.
pub(super) async fn distinct_customers(pool: &PgPool, w: Window) -> Result<Vec<(String, i64)>, sqlx::Error> {
    use chrono::{Datelike, Months};
    let month_of = |t: chrono::DateTime<Utc>| t.with_timezone(&w.tz).date_naive().with_day(1).expect("day 1");
    let mut from = month_of(w.start);
    if local_midnight(from, w.tz) < w.start {
        from = from + Months::new(1);
    }
    let to = month_of(w.end);
    let (months, before, after) = match from < to {
        true => ((from, to), (w.start, local_midnight(from, w.tz)), (local_midnight(to, w.tz), w.end)),
        false => ((from, from), (w.start, w.end), (w.end, w.end)),
    };
    let n: i64 = sqlx::query_scalar(
        "WITH u AS (SELECT chunk, bit_or(bits) AS bits FROM kpi_org_won_customers
                    WHERE month >= $1 AND month < $2 GROUP BY chunk),
              edges AS (SELECT DISTINCT cu.seq FROM deals d JOIN customers cu ON cu.id = d.customer_id
                        WHERE d.status = 'won' AND ((d.closed_at >= $3 AND d.closed_at < $4)
                                                    OR (d.closed_at >= $5 AND d.closed_at < $6)))
         SELECT (SELECT coalesce(sum(bit_count(bits)), 0)::int8 FROM u)
              + (SELECT count(*) FROM edges LEFT JOIN u ON u.chunk = edges.seq / 8192
                 WHERE u.bits IS NULL OR get_bit(u.bits, (edges.seq % 8192)::int) = 0)",
    )
    .bind(months.0)
    .bind(months.1)
    .bind(before.0)
    .bind(before.1)
    .bind(after.0)
    .bind(after.1)
    .fetch_one(pool)
    .await?;
    Ok(vec![(String::new(), n)])
}
