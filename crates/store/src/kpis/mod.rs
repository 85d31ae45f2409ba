//! Gathers the aggregates behind the KPIs with a handful of set-based queries:
//! either for a whole scope, or per rep (for leaderboards) in one pass.

mod org;
mod ranking;
mod raw;

pub use ranking::{leaderboard, rank, RankedRep};

use super::rollups;
use chrono::{DateTime, Utc};
use domain::kpi::formulas::Aggregates;
use domain::kpi::Scope;
use raw::{
    breakdown_rows, churned_late_rows, distinct_customer_rows, lead_late_rows, median_rows, unlabelled_rows,
    unowned_feedback_rows, Label,
};
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
        Window::at(start, end, tz, domain::clock::now())
    }

    /// The window as seen at `now`: `asof = min(end, now)`.
    pub fn at(start: DateTime<Utc>, end: DateTime<Utc>, tz: chrono_tz::Tz, now: DateTime<Utc>) -> Window {
        Window { start, end, asof: end.min(now), tz }
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

/// The one entry of a breakdown that ranking reads (only its total counts).
const ALL_LABELS: &str = "*";

fn key(grouping: Grouping, owner: &str) -> String {
    match grouping {
        Grouping::Whole => "''::text".into(),
        // Byte order: grouping by a thousand owners needs no locale-aware comparison.
        Grouping::PerOwner => format!("coalesce({owner}, '') COLLATE \"C\""),
    }
}

/// Which groups of aggregates a computation reads; a leaderboard by one KPI
/// reads only what that KPI's formula uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Needs {
    pub deals: bool,
    pub active_deals: bool,
    pub distinct_customers: bool,
    pub products: bool,
    pub regions: bool,
    /// Only the total of the region breakdown (for ranking): won revenue less
    /// the few won deals that have no region at all.
    pub region_total: bool,
    /// Only the total of the product breakdown (for ranking): won revenue less
    /// the won deals that name no product.
    pub product_total: bool,
    pub leads: bool,
    pub median: bool,
    /// Customers acquired in P (cac).
    pub customers_acquired: bool,
    /// Customers active at asof and their lifetimes.
    pub customers_at_asof: bool,
    /// Customers active at the start, and of those, retained at asof.
    pub customers_at_start: bool,
    pub activities: bool,
    pub meetings: bool,
    pub feedback: bool,
}

impl Needs {
    pub const ALL: Needs = Needs {
        deals: true,
        active_deals: true,
        distinct_customers: true,
        products: true,
        regions: true,
        region_total: false,
        product_total: false,
        leads: true,
        median: true,
        customers_acquired: true,
        customers_at_asof: true,
        customers_at_start: true,
        activities: true,
        meetings: true,
        feedback: true,
    };

    /// What KPI `id`'s formula (`kpi::formulas::value`) reads.
    pub fn of(id: &str) -> Needs {
        domain::kpi::KpiId::parse(id).map_or(Needs::default(), Needs::of_kpi)
    }

    /// What KPI `kpi`'s formula reads (every KPI has its arm: no catch-all).
    pub fn of_kpi(kpi: domain::kpi::KpiId) -> Needs {
        use domain::kpi::KpiId as K;
        let none = Needs::default();
        match kpi {
            K::ActiveDeals => Needs { active_deals: true, ..none },
            K::AvgDealSize | K::WinRate | K::UpsellRate | K::WonLostRatio | K::Revenue | K::NewOpportunities => {
                Needs { deals: true, ..none }
            }
            K::RevenuePerCustomer => Needs { deals: true, distinct_customers: true, ..none },
            K::RevenueByProduct => Needs { products: true, ..none },
            K::SalesByRegion => Needs { regions: true, ..none },
            K::CostPerLead
            | K::AcquisitionCost
            | K::QualifiedLeadConversion
            | K::CustomerAcquisitionRate
            | K::LeadFollowUpRate => Needs { leads: true, ..none },
            K::ResponseTime => Needs { median: true, ..none },
            K::Cac => Needs { customers_acquired: true, ..none },
            K::AvgCustomerLifetime => Needs { customers_at_asof: true, ..none },
            K::RetentionRate => Needs { customers_at_start: true, ..none },
            K::CustomerEngagement => Needs { customers_at_asof: true, activities: true, ..none },
            K::Touchpoints => Needs { activities: true, ..none },
            K::MeetingAcceptanceRate => Needs { meetings: true, ..none },
            K::PositiveFeedbackRate => Needs { feedback: true, ..none },
            // Costs and competitor prices are read by `card` for the scopes that have them.
            K::CompetitorPriceIndex => none,
        }
    }

    /// What ranking by KPI `id` reads: only the value, never a breakdown.
    pub fn ranking(id: &str) -> Needs {
        match id {
            "sales_by_region" => Needs { deals: true, region_total: true, ..Needs::default() },
            "revenue_by_product" => Needs { deals: true, product_total: true, ..Needs::default() },
            _ => Needs::of(id),
        }
    }
}

/// Aggregates per group key. Costs and competitor prices (team/org KPIs) are
/// read by `card`.
pub async fn gather(
    pool: &PgPool,
    owners: &Owners,
    window: Window,
    grouping: Grouping,
) -> Result<HashMap<String, Aggregates>, sqlx::Error> {
    gather_only(pool, owners, window, grouping, Needs::ALL).await
}

type Sums = HashMap<String, Vec<Decimal>>;

/// Sums of `table` over `span` when `wanted`, else nothing.
async fn sums_if(
    wanted: bool,
    pool: &PgPool,
    table: &'static rollups::Table,
    owners: &Owners,
    grouping: Grouping,
    span: rollups::Span,
    tz: chrono_tz::Tz,
) -> Result<Sums, sqlx::Error> {
    if !wanted {
        return Ok(HashMap::new());
    }
    rollups::sums(pool, table, owners, grouping, span, tz).await
}

/// Runs `query` when `wanted`, else gives nothing.
async fn rows_if<T, F>(wanted: bool, query: F) -> Result<Vec<T>, sqlx::Error>
where
    F: std::future::Future<Output = Result<Vec<T>, sqlx::Error>>,
{
    if wanted {
        query.await
    } else {
        Ok(Vec::new())
    }
}

fn int(d: Decimal) -> i64 {
    use rust_decimal::prelude::ToPrimitive;
    d.to_i64().unwrap_or(0)
}

/// Aggregates per group key, gathering only what `needs` asks for: additive
/// counts and sums from the day rollups, the rest (the median, distinct
/// customers, breakdowns, whatever depends on `asof` as well as on P) from
/// the records, restricted to the rows the window can touch.
pub async fn gather_only(
    pool: &PgPool,
    owners: &Owners,
    window: Window,
    grouping: Grouping,
    needs: Needs,
) -> Result<HashMap<String, Aggregates>, sqlx::Error> {
    use rollups::{measure, Span, CUSTOMERS, DEALS, FEEDBACK, LEADS};
    let w = window;
    let period = Span { from: Some(w.start), to: w.end };
    let until_asof = Span { from: None, to: w.asof };
    // Retention compares the customers of min(start, asof) with those still active at max(start, asof).
    let (early, late) = (w.start.min(w.asof), w.start.max(w.asof));
    let until_early = Span { from: None, to: early };
    let (g, o, tz) = (grouping, owners, w.tz);
    // The whole organisation reads its breakdowns and median from its own rollups.
    let org_wide = o.0.is_none() && g == Grouping::Whole;
    let products = async {
        match org_wide {
            true => org::products(pool, w).await,
            false => breakdown_rows(pool, o, w, g, "d.product_id", "d.product_id IS NOT NULL").await,
        }
    };
    let regions = async {
        match org_wide {
            true => org::regions(pool, w).await,
            false => {
                let region = "coalesce(c.region, t.region)";
                breakdown_rows(pool, o, w, g, region, &format!("{region} IS NOT NULL")).await
            }
        }
    };
    let median = async {
        match org_wide && org::median_from_histogram(w) {
            true => Ok(vec![(String::new(), org::median(pool, w).await?)]),
            false => median_rows(pool, o, w, g).await,
        }
    };
    let distinct = async {
        match org_wide {
            true => org::distinct_customers(pool, w).await,
            false => distinct_customer_rows(pool, o, w, g).await,
        }
    };
    let active = async {
        match needs.active_deals {
            true => rollups::active_deals(pool, o, g, w.asof, tz).await,
            false => Ok(HashMap::new()),
        }
    };
    // Every read at once: the pool runs them side by side.
    let (
        (deals, active, leads, cust_period, cust_asof, cust_early, activities, meetings, feedback),
        (distinct, products, regions, no_region, no_product, lead_late, median, retained_late, unowned_feedback),
    ) = tokio::try_join!(
        async {
            tokio::try_join!(
                sums_if(needs.deals, pool, &DEALS, o, g, period, tz),
                active,
                sums_if(needs.leads, pool, &LEADS, o, g, period, tz),
                sums_if(needs.customers_acquired, pool, &CUSTOMERS, o, g, period, tz),
                sums_if(needs.customers_at_asof, pool, &CUSTOMERS, o, g, until_asof, tz),
                sums_if(needs.customers_at_start, pool, &CUSTOMERS, o, g, until_early, tz),
                sums_if(needs.activities, pool, &rollups::ACTIVITIES, o, g, period, tz),
                sums_if(needs.meetings, pool, &rollups::MEETINGS, o, g, period, tz),
                sums_if(needs.feedback, pool, &FEEDBACK, o, g, period, tz),
            )
        },
        async {
            tokio::try_join!(
                rows_if(needs.distinct_customers, distinct),
                rows_if(needs.products, products),
                rows_if(needs.regions, regions),
                rows_if(needs.region_total, unlabelled_rows(pool, o, w, g, Label::Region)),
                rows_if(needs.product_total, unlabelled_rows(pool, o, w, g, Label::Product)),
                rows_if(needs.leads, lead_late_rows(pool, o, w, g)),
                rows_if(needs.median, median),
                rows_if(needs.customers_at_start, churned_late_rows(pool, o, g, early, late)),
                rows_if(needs.feedback, unowned_feedback_rows(pool, o, w, g)),
            )
        },
    )?;

    let mut groups: HashMap<String, Aggregates> = HashMap::new();
    for (k, v) in &deals {
        let a = groups.entry(k.clone()).or_default();
        let m = |name| measure(&DEALS, Some(v), name);
        (a.won, a.won_sum, a.lost) = (int(m("won")), m("won_sum"), int(m("lost")));
        (a.won_upsell_or_cross, a.won_new) = (int(m("won_upsell")), int(m("won_new")));
        (a.won_with_customer_sum, a.deals_created) = (m("won_cust_sum"), int(m("created")));
    }
    for (k, n) in active {
        groups.entry(k).or_default().active_deals = n;
    }
    for (k, n) in distinct {
        groups.entry(k).or_default().won_distinct_customers = n;
    }
    for (k, product, sum) in products {
        groups.entry(k).or_default().revenue_by_product.insert(product, sum);
    }
    for (k, region, sum) in regions {
        groups.entry(k).or_default().sales_by_region.insert(region, sum);
    }
    // Ranking reads only a breakdown's total: the won revenue less the deals without a label.
    let total_less = |groups: &HashMap<String, Aggregates>, without: Vec<(String, Decimal)>| {
        let without: HashMap<String, Decimal> = without.into_iter().collect();
        groups.iter().map(|(k, a)| (k.clone(), a.won_sum - without.get(k).copied().unwrap_or_default())).collect()
    };
    if needs.region_total {
        let totals: Vec<(String, Decimal)> = total_less(&groups, no_region);
        for (k, total) in totals {
            groups.entry(k).or_default().sales_by_region = [(ALL_LABELS.to_string(), total)].into();
        }
    }
    if needs.product_total {
        let totals: Vec<(String, Decimal)> = total_less(&groups, no_product);
        for (k, total) in totals {
            groups.entry(k).or_default().revenue_by_product = [(ALL_LABELS.to_string(), total)].into();
        }
    }
    for (k, v) in &leads {
        let a = groups.entry(k.clone()).or_default();
        let m = |name| int(measure(&LEADS, Some(v), name));
        (a.leads_created, a.leads_created_converted) = (m("created"), m("created_conv"));
        (a.leads_qualified, a.leads_qualified_converted) = (m("qualified"), m("qualified_conv"));
        (a.leads_converted, a.leads_converted_cost) = (m("converted"), measure(&LEADS, Some(v), "converted_cost"));
        (a.leads_first_contacted, a.leads_first_contacted_followed_up) = (m("contacted"), m("contacted_fu"));
    }
    // The rollup counts conversions and follow-ups at any time; take away those at or after asof.
    for (k, created_late, qualified_late, followed_late) in lead_late {
        let a = groups.entry(k).or_default();
        a.leads_created_converted -= created_late;
        a.leads_qualified_converted -= qualified_late;
        a.leads_first_contacted_followed_up -= followed_late;
    }
    for (k, minutes) in median {
        groups.entry(k).or_default().response_minutes_median = minutes;
    }
    // Each customer figure reads only its own sums; the others come out as zeros and go unused.
    if needs.customers_acquired || needs.customers_at_asof || needs.customers_at_start {
        let asof_epoch = Decimal::from(w.asof.timestamp_micros()) / Decimal::from(1_000_000);
        let keys: std::collections::BTreeSet<&String> =
            cust_period.keys().chain(cust_asof.keys()).chain(cust_early.keys()).collect();
        let late: HashMap<String, i64> = retained_late.into_iter().collect();
        for k in keys {
            let at_asof = |name| measure(&CUSTOMERS, cust_asof.get(k), name);
            let at_early = |name| measure(&CUSTOMERS, cust_early.get(k), name);
            let a = groups.entry(k.clone()).or_default();
            a.customers_acquired = int(measure(&CUSTOMERS, cust_period.get(k), "acquired"));
            let (acquired, ended) = (at_asof("acquired"), at_asof("ended"));
            a.customers_active_at_asof = int(acquired - ended);
            a.customers_lifetime_count = int(acquired);
            // Churned before asof: their lifetime; the others: asof − acquired_at.
            let seconds = at_asof("ended_life") + (acquired - ended) * asof_epoch
                - (at_asof("acquired_epoch") - at_asof("ended_epoch"));
            a.customers_lifetime_days_sum =
                rust_decimal::prelude::ToPrimitive::to_f64(&seconds).unwrap_or(0.0) / 86_400.0;
            // Active at start: acquired before it, less those churned (and acquired) before it.
            let (before_start, ended_start) = if w.start <= w.asof {
                let s = |name| measure(&CUSTOMERS, cust_early.get(k), name);
                (s("acquired"), s("ended"))
            } else {
                (Decimal::ZERO, Decimal::ZERO)
            };
            a.customers_active_at_start = int(before_start - ended_start);
            // Retained: acquired before min(start, asof), not churned before max(start, asof).
            let churned_by_late = at_early("acquired_churned") - Decimal::from(*late.get(k).unwrap_or(&0));
            a.customers_retained = int(at_early("acquired") - churned_by_late);
        }
        if w.start > w.asof && needs.customers_at_start {
            // A period that has not begun: active at its start is counted up to its start.
            let at_start = sums_if(true, pool, &CUSTOMERS, o, g, Span { from: None, to: w.start }, tz).await?;
            for (k, v) in &at_start {
                let m = |name| measure(&CUSTOMERS, Some(v), name);
                groups.entry(k.clone()).or_default().customers_active_at_start = int(m("acquired") - m("ended"));
            }
        }
    }
    for (k, v) in &activities {
        let a = groups.entry(k.clone()).or_default();
        let m = |name| int(measure(&rollups::ACTIVITIES, Some(v), name));
        (a.touchpoints, a.activities_with_customer) = (m("touchpoints"), m("with_customer"));
    }
    for (k, v) in &meetings {
        let a = groups.entry(k.clone()).or_default();
        let m = |name| int(measure(&rollups::MEETINGS, Some(v), name));
        (a.meetings_proposed, a.meetings_accepted) = (m("proposed"), m("accepted"));
    }
    for (k, v) in &feedback {
        let a = groups.entry(k.clone()).or_default();
        let m = |name| int(measure(&FEEDBACK, Some(v), name));
        (a.feedback, a.feedback_positive, a.feedback_negative) = (m("total"), m("positive"), m("negative"));
    }
    for (k, all, positive, negative) in unowned_feedback {
        let a = groups.entry(k).or_default();
        (a.feedback, a.feedback_positive, a.feedback_negative) =
            (a.feedback + all, a.feedback_positive + positive, a.feedback_negative + negative);
    }
    Ok(groups)
}

/// Costs dated in P (a date is in P when its local midnight is), of one team
/// or of the whole organisation: (all, marketing).
async fn costs(pool: &PgPool, team: Option<&str>, w: Window) -> Result<(Decimal, Decimal), sqlx::Error> {
    let (first, end) = (first_date_from(w.start, w.tz), first_date_from(w.end, w.tz));
    sqlx::query_as(
        "SELECT coalesce(sum(amount), 0), coalesce(sum(amount) FILTER (WHERE category = 'marketing'), 0)
         FROM costs WHERE at >= $1 AND at < $2 AND ($3::text IS NULL OR team_id = $3)",
    )
    .bind(first)
    .bind(end)
    .bind(team)
    .fetch_one(pool)
    .await
}

/// The first date whose local midnight is at or after `at`: the dates in
/// `[start, end)` are those from `first_date_from(start)` up to, not
/// including, `first_date_from(end)` (local midnights only increase).
fn first_date_from(at: DateTime<Utc>, tz: chrono_tz::Tz) -> chrono::NaiveDate {
    let mut day = at.with_timezone(&tz).date_naive() - chrono::Days::new(1);
    while domain::period::local_midnight(day, tz) < at {
        day = day.succ_opt().expect("a representable day");
    }
    day
}

/// Per product with competitor prices observed in P: our list price and their mean price.
async fn competitor_prices(
    pool: &PgPool,
    w: Window,
) -> Result<std::collections::BTreeMap<String, (Decimal, Decimal)>, sqlx::Error> {
    let rows: Vec<(String, Decimal, Decimal)> = sqlx::query_as(
        "SELECT p.id, p.price, cp.mean
         FROM (SELECT product_id, avg(price) AS mean FROM competitor_prices
               WHERE at >= $1 AND at < $2 GROUP BY product_id) cp
         JOIN products p ON p.id = cp.product_id",
    )
    .bind(w.start)
    .bind(w.end)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(id, ours, mean)| (id, (ours, mean))).collect())
}

/// One KPI as the API and the pages show it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KpiEntry {
    pub id: &'static str,
    pub value: Option<f64>,
    pub unit: domain::kpi::Unit,
    pub better: domain::kpi::Better,
    pub target: Option<f64>,
    pub attainment: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breakdown: Option<std::collections::BTreeMap<String, f64>>,
    /// `positive_feedback_rate` only: the negative share beside it (`null` without feedback).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negative_share: Option<Option<f64>>,
}

/// Every KPI that applies to `scope`, over `window`, with targets for `period` (a calendar period's text).
pub async fn card(
    pool: &PgPool,
    scope: &Scope,
    window: Window,
    period: Option<&str>,
) -> Result<Vec<KpiEntry>, KpiError> {
    let owners = owners_of(pool, scope).await?;
    // Costs belong to teams and the organisation, competitor prices to the organisation.
    let team_costs = match scope {
        Scope::Org => Some(None),
        Scope::Team(id) => Some(Some(id.as_str())),
        _ => None,
    };
    let costs = async {
        match team_costs {
            Some(team) => costs(pool, team, window).await.map(Some),
            None => Ok(None),
        }
    };
    let prices = async {
        match scope {
            Scope::Org => competitor_prices(pool, window).await,
            _ => Ok(Default::default()),
        }
    };
    let targets = async {
        match period {
            Some(p) => crate::targets::for_scope(pool, &scope.to_string(), p).await,
            None => Ok(HashMap::new()),
        }
    };
    let (mut groups, costs, prices, targets) =
        tokio::try_join!(gather(pool, &owners, window, Grouping::Whole), costs, prices, targets)?;
    let mut a = groups.remove("").unwrap_or_default();
    if let Some((all, marketing)) = costs {
        (a.costs, a.marketing_costs) = (all, marketing);
    }
    a.competitor_prices = prices;
    Ok(domain::kpi::KPIS
        .iter()
        .filter(|k| k.applies_to(scope.kind()))
        .map(|k| {
            let v = domain::kpi::formulas::value(k.id, &a);
            let target = targets.get(k.id).copied();
            KpiEntry {
                id: k.id,
                value: v.value,
                unit: k.unit,
                better: k.better,
                target,
                attainment: domain::kpi::attainment(k.better, v.value, target),
                breakdown: v.breakdown,
                negative_share: (k.id == "positive_feedback_rate").then_some(v.negative_share),
            }
        })
        .collect())
}

/// The cards of `period` and of the periods just before it, `count` in all,
/// oldest first, each with its own period's targets: a KPI's trend.
pub async fn cards_through(
    pool: &PgPool,
    scope: &Scope,
    period: domain::period::Period,
    tz: chrono_tz::Tz,
    count: usize,
) -> Result<Vec<Vec<KpiEntry>>, KpiError> {
    let mut periods = vec![period];
    while periods.len() < count {
        let earlier = periods.last().expect("non-empty").previous();
        periods.push(earlier);
    }
    periods.reverse();
    let mut cards = Vec::with_capacity(periods.len());
    for p in periods {
        let (start, end) = p.bounds(tz);
        cards.push(card(pool, scope, Window::new(start, end, tz), Some(&p.to_string())).await?);
    }
    Ok(cards)
}

/// A calendar period's KPI card with what the pages compare it with.
#[derive(Debug, Clone)]
pub struct CardHistory {
    /// The cards of the period and of the ones before it, oldest first, each
    /// over its whole period (a running period's card is "so far").
    pub cards: Vec<Vec<KpiEntry>>,
    /// The previous period over the span that compares with this one, like with
    /// like (`Period::comparable_previous`): up to the same point while this one
    /// runs, all of it once this one has closed.
    pub previous: Vec<KpiEntry>,
    /// The share of the period passed when it is running (its figures are so far), else `None`.
    pub running: Option<f64>,
}

/// `period`'s card and the ones before it, `count` in all (at least 2; see
/// `cards_through`), and the previous period's card over the span that
/// compares with it at `now`.
pub async fn card_history(
    pool: &PgPool,
    scope: &Scope,
    period: domain::period::Period,
    tz: chrono_tz::Tz,
    count: usize,
    now: DateTime<Utc>,
) -> Result<CardHistory, KpiError> {
    let cards = cards_through(pool, scope, period, tz, count.max(2)).await?;
    let running = period.is_running(tz, now).then(|| period.elapsed_share(tz, now));
    let previous = match running {
        Some(_) => {
            let (start, cut) = period.comparable_previous(tz, now);
            let so_far = Window { start, end: cut, asof: cut, tz };
            card(pool, scope, so_far, Some(&period.previous().to_string())).await?
        }
        None => cards[cards.len() - 2].clone(),
    };
    Ok(CardHistory { cards, previous, running })
}

#[cfg(test)]
mod tests;
