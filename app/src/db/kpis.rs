//! Gathers the aggregates behind the KPIs with a handful of set-based queries:
//! either for a whole scope, or per rep (for leaderboards) in one pass.

use crate::kpi::formulas::Aggregates;
use crate::kpi::Scope;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::PgPool;
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum KpiError {
    #[error("{0}")]
    UnknownScope(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

/// The instants a computation is measured over: `[start, end)` and `asof = min(end, now)`.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub asof: DateTime<Utc>,
    /// The organisation's time zone, for cost dates.
    pub tz: chrono_tz::Tz,
}

impl Window {
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>, tz: chrono_tz::Tz) -> Window {
        Window { start, end, asof: end.min(Utc::now()), tz }
    }
}

/// Whose records count: everyone's (org) or these owners'.
#[derive(Debug, Clone)]
pub struct Owners(pub Option<Vec<String>>);

/// The owners behind a scope; an unknown team, region or rep is an error.
pub async fn owners_of(pool: &PgPool, scope: &Scope) -> Result<Owners, KpiError> {
    let (sql, arg, what) = match scope {
        Scope::Org => return Ok(Owners(None)),
        Scope::Team(id) => ("SELECT id FROM users WHERE team_id = $1", id, "team"),
        Scope::Region(name) => {
            ("SELECT u.id FROM users u JOIN teams t ON t.id = u.team_id WHERE t.region = $1", name, "region")
        }
        Scope::Rep(id) => ("SELECT id FROM users WHERE id = $1", id, "user"),
    };
    let exists_sql = match scope {
        Scope::Team(_) => "SELECT EXISTS (SELECT 1 FROM teams WHERE id = $1)",
        Scope::Region(_) => "SELECT EXISTS (SELECT 1 FROM teams WHERE region = $1)",
        _ => "SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)",
    };
    let exists: bool = sqlx::query_scalar(exists_sql).bind(arg).fetch_one(pool).await?;
    if !exists {
        return Err(KpiError::UnknownScope(format!("no {what} `{arg}`")));
    }
    Ok(Owners(Some(sqlx::query_scalar(sql).bind(arg).fetch_all(pool).await?)))
}

/// The active reps of a scope, as (id, name, team name), for leaderboards.
pub async fn reps_of(pool: &PgPool, scope: &Scope) -> Result<Vec<(String, String, Option<String>)>, KpiError> {
    let owners = owners_of(pool, scope).await?;
    Ok(sqlx::query_as(
        "SELECT u.id, u.name, t.name FROM users u LEFT JOIN teams t ON t.id = u.team_id
         WHERE u.role = 'rep' AND u.active AND ($1::text[] IS NULL OR u.id = ANY($1))
         ORDER BY u.name, u.id",
    )
    .bind(owners.0)
    .fetch_all(pool)
    .await?)
}

/// How results are grouped: one group for the whole scope (key ""), or one per owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    Whole,
    PerOwner,
}

fn key(grouping: Grouping, owner: &str) -> String {
    match grouping {
        Grouping::Whole => "''::text".into(),
        Grouping::PerOwner => format!("coalesce({owner}, '')"),
    }
}

/// Aggregates per group key. Costs and competitor prices (team/org KPIs) are
/// added by `add_costs` and `add_competitor_prices`.
pub async fn gather(
    pool: &PgPool,
    owners: &Owners,
    window: Window,
    grouping: Grouping,
) -> Result<HashMap<String, Aggregates>, sqlx::Error> {
    let (deals, products, regions, leads, customers, activities, meetings, feedback) = tokio::try_join!(
        deal_rows(pool, owners, window, grouping),
        breakdown_rows(pool, owners, window, grouping, "d.product_id", "d.product_id IS NOT NULL"),
        breakdown_rows(
            pool,
            owners,
            window,
            grouping,
            "coalesce(c.region, t.region)",
            "coalesce(c.region, t.region) IS NOT NULL"
        ),
        lead_rows(pool, owners, window, grouping),
        customer_rows(pool, owners, window, grouping),
        activity_rows(pool, owners, window, grouping),
        meeting_rows(pool, owners, window, grouping),
        feedback_rows(pool, owners, window, grouping),
    )?;
    let mut groups: HashMap<String, Aggregates> = HashMap::new();
    for (k, r) in deals {
        let a = groups.entry(k).or_default();
        (a.active_deals, a.won, a.won_sum, a.lost, a.won_upsell_or_cross, a.won_new) = (r.0, r.1, r.2, r.3, r.4, r.5);
        (a.won_with_customer_sum, a.won_distinct_customers, a.deals_created) = (r.6, r.7, r.8);
    }
    for (k, product, sum) in products {
        groups.entry(k).or_default().revenue_by_product.insert(product, sum);
    }
    for (k, region, sum) in regions {
        groups.entry(k).or_default().sales_by_region.insert(region, sum);
    }
    for (k, r) in leads {
        let a = groups.entry(k).or_default();
        (a.leads_created, a.leads_created_converted, a.leads_qualified, a.leads_qualified_converted) =
            (r.0, r.1, r.2, r.3);
        (a.leads_converted, a.leads_converted_cost, a.leads_first_contacted) = (r.4, r.5, r.6);
        (a.leads_first_contacted_followed_up, a.response_minutes_median) = (r.7, r.8);
    }
    for (k, r) in customers {
        let a = groups.entry(k).or_default();
        (a.customers_acquired, a.customers_active_at_asof, a.customers_lifetime_count) = (r.0, r.1, r.2);
        a.customers_lifetime_days_sum = r.3.unwrap_or(0.0) / 86_400.0;
        (a.customers_active_at_start, a.customers_retained) = (r.4, r.5);
    }
    for (k, touchpoints, with_customer) in activities {
        let a = groups.entry(k).or_default();
        (a.touchpoints, a.activities_with_customer) = (touchpoints, with_customer);
    }
    for (k, proposed, accepted) in meetings {
        let a = groups.entry(k).or_default();
        (a.meetings_proposed, a.meetings_accepted) = (proposed, accepted);
    }
    for (k, all, positive, negative) in feedback {
        let a = groups.entry(k).or_default();
        (a.feedback, a.feedback_positive, a.feedback_negative) = (all, positive, negative);
    }
    Ok(groups)
}

type DealRow = (String, (i64, i64, Decimal, i64, i64, i64, Decimal, i64, i64));

async fn deal_rows(pool: &PgPool, owners: &Owners, w: Window, g: Grouping) -> Result<Vec<DealRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {k} AS k,
           count(*) FILTER (WHERE created_at < $4 AND (status = 'open' OR closed_at >= $4)),
           count(*) FILTER (WHERE won),
           coalesce(sum(amount) FILTER (WHERE won), 0),
           count(*) FILTER (WHERE status = 'lost' AND closed_at >= $2 AND closed_at < $3),
           count(*) FILTER (WHERE won AND deal_type IN ('upsell', 'cross_sell')),
           count(*) FILTER (WHERE won AND deal_type = 'new'),
           coalesce(sum(amount) FILTER (WHERE won AND customer_id IS NOT NULL), 0),
           count(DISTINCT customer_id) FILTER (WHERE won AND customer_id IS NOT NULL),
           count(*) FILTER (WHERE created_at >= $2 AND created_at < $3)
         FROM (SELECT *, status = 'won' AND closed_at >= $2 AND closed_at < $3 AS won FROM deals
               WHERE $1::text[] IS NULL OR owner_id = ANY($1)) d
         GROUP BY 1",
        k = key(g, "owner_id")
    );
    let rows: Vec<(String, i64, i64, Decimal, i64, i64, i64, Decimal, i64, i64)> =
        bind_window(&sql, owners, w).fetch_all(pool).await?;
    Ok(rows.into_iter().map(|r| (r.0, (r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9))).collect())
}

/// Won revenue in P per (group, label) where label is a product id or a region.
async fn breakdown_rows(
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
         WHERE ($1::text[] IS NULL OR d.owner_id = ANY($1))
           AND d.status = 'won' AND d.closed_at >= $2 AND d.closed_at < $3 AND {has_label} AND $4 = $4
         GROUP BY 1, 2",
        k = key(g, "d.owner_id")
    );
    sqlx::query_as(&sql).bind(&owners.0).bind(w.start).bind(w.end).bind(w.asof).fetch_all(pool).await
}

type LeadRow = (String, (i64, i64, i64, i64, i64, Decimal, i64, i64, Option<f64>));

async fn lead_rows(pool: &PgPool, owners: &Owners, w: Window, g: Grouping) -> Result<Vec<LeadRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {k},
           count(*) FILTER (WHERE created),
           count(*) FILTER (WHERE created AND converted_at < $4),
           count(*) FILTER (WHERE qualified_at >= $2 AND qualified_at < $3),
           count(*) FILTER (WHERE qualified_at >= $2 AND qualified_at < $3 AND converted_at < $4),
           count(*) FILTER (WHERE converted_at >= $2 AND converted_at < $3),
           coalesce(sum(cost) FILTER (WHERE converted_at >= $2 AND converted_at < $3), 0),
           count(*) FILTER (WHERE first_contact_at >= $2 AND first_contact_at < $3),
           count(*) FILTER (WHERE first_contact_at >= $2 AND first_contact_at < $3 AND followed_up_at < $4),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM first_contact_at - created_at)::float8 / 60)
             FILTER (WHERE created AND first_contact_at < $4)
         FROM (SELECT *, created_at >= $2 AND created_at < $3 AS created FROM leads
               WHERE $1::text[] IS NULL OR owner_id = ANY($1)) l
         GROUP BY 1",
        k = key(g, "owner_id")
    );
    let rows: Vec<(String, i64, i64, i64, i64, i64, Decimal, i64, i64, Option<f64>)> =
        bind_window(&sql, owners, w).fetch_all(pool).await?;
    Ok(rows.into_iter().map(|r| (r.0, (r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9))).collect())
}

type CustomerRow = (String, (i64, i64, i64, Option<f64>, i64, i64));

async fn customer_rows(
    pool: &PgPool,
    owners: &Owners,
    w: Window,
    g: Grouping,
) -> Result<Vec<CustomerRow>, sqlx::Error> {
    // Active at t: acquired_at < t and (churned_at absent or churned_at >= t).
    let sql = format!(
        "SELECT {k},
           count(*) FILTER (WHERE acquired_at >= $2 AND acquired_at < $3),
           count(*) FILTER (WHERE acquired_at < $4 AND (churned_at IS NULL OR churned_at >= $4)),
           count(*) FILTER (WHERE acquired_at < $4),
           sum(extract(epoch FROM least(coalesce(churned_at, $4), $4) - acquired_at)::float8) FILTER (WHERE acquired_at < $4),
           count(*) FILTER (WHERE acquired_at < $2 AND (churned_at IS NULL OR churned_at >= $2)),
           count(*) FILTER (WHERE acquired_at < $2 AND (churned_at IS NULL OR churned_at >= $2)
                              AND acquired_at < $4 AND (churned_at IS NULL OR churned_at >= $4))
         FROM customers WHERE $1::text[] IS NULL OR owner_id = ANY($1)
         GROUP BY 1",
        k = key(g, "owner_id")
    );
    let rows: Vec<(String, i64, i64, i64, Option<f64>, i64, i64)> =
        bind_window(&sql, owners, w).fetch_all(pool).await?;
    Ok(rows.into_iter().map(|r| (r.0, (r.1, r.2, r.3, r.4, r.5, r.6))).collect())
}

async fn activity_rows(
    pool: &PgPool,
    owners: &Owners,
    w: Window,
    g: Grouping,
) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
    let sql = format!(
        "SELECT {k}, count(*), count(*) FILTER (WHERE customer_id IS NOT NULL)
         FROM activities WHERE ($1::text[] IS NULL OR owner_id = ANY($1)) AND at >= $2 AND at < $3 AND $4 = $4
         GROUP BY 1",
        k = key(g, "owner_id")
    );
    bind_window(&sql, owners, w).fetch_all(pool).await
}

async fn meeting_rows(
    pool: &PgPool,
    owners: &Owners,
    w: Window,
    g: Grouping,
) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
    let sql = format!(
        "SELECT {k}, count(*), count(*) FILTER (WHERE outcome = 'accepted')
         FROM meeting_requests
         WHERE ($1::text[] IS NULL OR owner_id = ANY($1)) AND proposed_at >= $2 AND proposed_at < $3 AND $4 = $4
         GROUP BY 1",
        k = key(g, "owner_id")
    );
    bind_window(&sql, owners, w).fetch_all(pool).await
}

async fn feedback_rows(
    pool: &PgPool,
    owners: &Owners,
    w: Window,
    g: Grouping,
) -> Result<Vec<(String, i64, i64, i64)>, sqlx::Error> {
    // A feedback with no owner belongs to its customer's owner.
    let owner = "coalesce(f.owner_id, c.owner_id)";
    let sql = format!(
        "SELECT {k}, count(*), count(*) FILTER (WHERE f.sentiment = 'positive'),
                count(*) FILTER (WHERE f.sentiment = 'negative')
         FROM feedback f LEFT JOIN customers c ON c.id = f.customer_id
         WHERE ($1::text[] IS NULL OR {owner} = ANY($1)) AND f.at >= $2 AND f.at < $3 AND $4 = $4
         GROUP BY 1",
        k = key(g, owner)
    );
    bind_window(&sql, owners, w).fetch_all(pool).await
}

fn bind_window<'q, O>(
    sql: &'q str,
    owners: &'q Owners,
    w: Window,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>
where
    O: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    sqlx::query_as(sql).bind(&owners.0).bind(w.start).bind(w.end).bind(w.asof)
}

/// Costs dated in P (a date is in P when its local midnight is), of one team or of the whole organisation.
pub async fn add_costs(pool: &PgPool, team: Option<&str>, w: Window, a: &mut Aggregates) -> Result<(), sqlx::Error> {
    let (all, marketing): (Decimal, Decimal) = sqlx::query_as(
        "SELECT coalesce(sum(amount), 0), coalesce(sum(amount) FILTER (WHERE category = 'marketing'), 0)
         FROM costs
         WHERE (at::timestamp AT TIME ZONE $3) >= $1 AND (at::timestamp AT TIME ZONE $3) < $2
           AND ($4::text IS NULL OR team_id = $4)",
    )
    .bind(w.start)
    .bind(w.end)
    .bind(w.tz.name())
    .bind(team)
    .fetch_one(pool)
    .await?;
    (a.costs, a.marketing_costs) = (all, marketing);
    Ok(())
}

/// Per product with competitor prices observed in P: our list price and their mean price.
pub async fn add_competitor_prices(pool: &PgPool, w: Window, a: &mut Aggregates) -> Result<(), sqlx::Error> {
    let rows: Vec<(String, Decimal, Decimal)> = sqlx::query_as(
        "SELECT p.id, p.price, avg(cp.price)
         FROM competitor_prices cp JOIN products p ON p.id = cp.product_id
         WHERE cp.at >= $1 AND cp.at < $2
         GROUP BY p.id, p.price",
    )
    .bind(w.start)
    .bind(w.end)
    .fetch_all(pool)
    .await?;
    a.competitor_prices = rows.into_iter().map(|(id, ours, mean)| (id, (ours, mean))).collect();
    Ok(())
}

/// One KPI as the API and the pages show it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KpiEntry {
    pub id: &'static str,
    pub value: Option<f64>,
    pub unit: crate::kpi::Unit,
    pub better: crate::kpi::Better,
    pub target: Option<f64>,
    pub attainment: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breakdown: Option<std::collections::BTreeMap<String, f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negative_share: Option<f64>,
}

/// Every KPI that applies to `scope`, over `window`, with targets for `period` (a calendar period's text).
pub async fn card(
    pool: &PgPool,
    scope: &Scope,
    window: Window,
    period: Option<&str>,
) -> Result<Vec<KpiEntry>, KpiError> {
    let owners = owners_of(pool, scope).await?;
    let mut groups = gather(pool, &owners, window, Grouping::Whole).await?;
    let mut a = groups.remove("").unwrap_or_default();
    match scope {
        Scope::Org => {
            add_costs(pool, None, window, &mut a).await?;
            add_competitor_prices(pool, window, &mut a).await?;
        }
        Scope::Team(id) => add_costs(pool, Some(id), window, &mut a).await?,
        _ => {}
    }
    let targets = match period {
        Some(p) => crate::db::targets::for_scope(pool, &scope.to_string(), p).await?,
        None => HashMap::new(),
    };
    Ok(crate::kpi::KPIS
        .iter()
        .filter(|k| k.applies_to(scope.kind()))
        .map(|k| {
            let v = crate::kpi::formulas::value(k.id, &a);
            let target = targets.get(k.id).copied();
            KpiEntry {
                id: k.id,
                value: v.value,
                unit: k.unit,
                better: k.better,
                target,
                attainment: crate::kpi::attainment(k.better, v.value, target),
                breakdown: v.breakdown,
                negative_share: v.negative_share,
            }
        })
        .collect())
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RankedRep {
    pub rank: usize,
    pub id: String,
    pub name: String,
    pub team: Option<String>,
    pub value: Option<f64>,
}

/// The scope's reps ranked by KPI `kpi`: best first, equal values share a rank
/// (1, 2, 2, 4), nulls last sharing one rank. With `attainment_of` (a calendar
/// period's text) the value is each rep's attainment % of their own target for
/// that period instead: it levels large and small territories.
pub async fn leaderboard(
    pool: &PgPool,
    scope: &Scope,
    window: Window,
    kpi: &crate::kpi::KpiDef,
    attainment_of: Option<&str>,
) -> Result<Vec<RankedRep>, KpiError> {
    let reps = reps_of(pool, scope).await?;
    let owners = Owners(Some(reps.iter().map(|(id, _, _)| id.clone()).collect()));
    let groups = gather(pool, &owners, window, Grouping::PerOwner).await?;
    let empty = Aggregates::default();
    let teams: HashMap<String, Option<String>> = reps.iter().map(|(id, _, team)| (id.clone(), team.clone())).collect();
    let values: Vec<(String, String, Option<f64>)> = reps
        .into_iter()
        .map(|(id, name, _)| {
            let value = crate::kpi::formulas::value(kpi.id, groups.get(&id).unwrap_or(&empty)).value;
            (id, name, value)
        })
        .collect();
    let mut ranked = match attainment_of {
        None => rank(values, kpi.better),
        Some(period) => {
            let scopes: Vec<String> = values.iter().map(|(id, _, _)| format!("rep:{id}")).collect();
            let targets: HashMap<String, f64> = sqlx::query_as::<_, (String, f64)>(
                "SELECT substr(scope, 5), value FROM targets WHERE kpi = $1 AND period = $2 AND scope = ANY($3)",
            )
            .bind(kpi.id)
            .bind(period)
            .bind(&scopes)
            .fetch_all(pool)
            .await?
            .into_iter()
            .collect();
            let attained = values
                .into_iter()
                .map(|(id, name, actual)| {
                    let reached = crate::kpi::attainment(kpi.better, actual, targets.get(&id).copied());
                    (id, name, reached)
                })
                .collect();
            rank(attained, crate::kpi::Better::Higher)
        }
    };
    for r in &mut ranked {
        r.team = teams.get(&r.id).cloned().flatten();
    }
    Ok(ranked)
}

/// The scope's reps ranked by points earned in `[start, end)` (the same sums as the ledger).
pub async fn points_leaderboard(
    pool: &PgPool,
    scope: &Scope,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<RankedRep>, KpiError> {
    let reps = reps_of(pool, scope).await?;
    let ids: Vec<String> = reps.iter().map(|(id, _, _)| id.clone()).collect();
    let totals = crate::db::points::totals(pool, &ids, start, end).await?;
    let teams: HashMap<String, Option<String>> = reps.iter().map(|(id, _, team)| (id.clone(), team.clone())).collect();
    let values = reps
        .into_iter()
        .map(|(id, name, _)| {
            let points = *totals.get(&id).unwrap_or(&0) as f64;
            (id, name, Some(points))
        })
        .collect();
    let mut ranked = rank(values, crate::kpi::Better::Higher);
    for r in &mut ranked {
        r.team = teams.get(&r.id).cloned().flatten();
    }
    Ok(ranked)
}

/// Competition ranking of (id, name, value); ties keep name order.
pub fn rank(mut values: Vec<(String, String, Option<f64>)>, better: crate::kpi::Better) -> Vec<RankedRep> {
    use std::cmp::Ordering;
    let order = |a: &Option<f64>, b: &Option<f64>| match (a, b) {
        (Some(x), Some(y)) => match better {
            crate::kpi::Better::Lower => x.partial_cmp(y).unwrap_or(Ordering::Equal),
            _ => y.partial_cmp(x).unwrap_or(Ordering::Equal),
        },
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    values.sort_by(|a, b| order(&a.2, &b.2).then_with(|| a.1.cmp(&b.1)).then_with(|| a.0.cmp(&b.0)));
    let mut ranked: Vec<RankedRep> = Vec::with_capacity(values.len());
    for (i, (id, name, value)) in values.into_iter().enumerate() {
        let rank = match ranked.last() {
            Some(prev) if prev.value == value => prev.rank,
            _ => i + 1,
        };
        ranked.push(RankedRep { rank, id, name, team: None, value });
    }
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kpi::Better;

    fn v(name: &str, value: Option<f64>) -> (String, String, Option<f64>) {
        (name.to_lowercase(), name.to_string(), value)
    }

    #[test]
    fn equal_values_share_a_rank_and_nulls_come_last_together() {
        let ranked = rank(
            vec![v("D", None), v("A", Some(5.0)), v("B", Some(7.0)), v("C", Some(5.0)), v("E", None)],
            Better::Higher,
        );
        let got: Vec<(usize, &str)> = ranked.iter().map(|r| (r.rank, r.name.as_str())).collect();
        assert_eq!(got, vec![(1, "B"), (2, "A"), (2, "C"), (4, "D"), (4, "E")]);
    }

    #[test]
    fn lower_is_better_ranks_ascending() {
        let ranked = rank(vec![v("A", Some(30.0)), v("B", Some(12.5)), v("C", None)], Better::Lower);
        let got: Vec<(usize, &str)> = ranked.iter().map(|r| (r.rank, r.name.as_str())).collect();
        assert_eq!(got, vec![(1, "B"), (2, "A"), (3, "C")]);
    }
}
