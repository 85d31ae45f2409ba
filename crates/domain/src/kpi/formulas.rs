//! Each KPI's formula over the aggregates of one scope (or one rep) and period.
//! Every formula reads like its row in KPIS.md; ratios with nothing to divide
//! by are `None` (null), never 0.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// Counts and sums gathered by `store::kpis` for one group (a scope or a rep).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Aggregates {
    // deals
    pub active_deals: i64,
    pub won: i64,
    pub won_sum: Decimal,
    pub lost: i64,
    pub won_upsell_or_cross: i64,
    pub won_new: i64,
    pub won_with_customer_sum: Decimal,
    pub won_distinct_customers: i64,
    pub deals_created: i64,
    pub revenue_by_product: BTreeMap<String, Decimal>,
    pub sales_by_region: BTreeMap<String, Decimal>,
    // leads
    pub leads_created: i64,
    pub leads_created_converted: i64,
    pub leads_qualified: i64,
    pub leads_qualified_converted: i64,
    pub leads_converted: i64,
    pub leads_converted_cost: Decimal,
    pub leads_first_contacted: i64,
    pub leads_first_contacted_followed_up: i64,
    pub response_minutes_median: Option<f64>,
    // customers
    pub customers_acquired: i64,
    pub customers_active_at_asof: i64,
    pub customers_lifetime_count: i64,
    pub customers_lifetime_days_sum: f64,
    pub customers_active_at_start: i64,
    pub customers_retained: i64,
    // activities, meetings, feedback
    pub touchpoints: i64,
    pub activities_with_customer: i64,
    pub meetings_proposed: i64,
    pub meetings_accepted: i64,
    pub feedback: i64,
    pub feedback_positive: i64,
    pub feedback_negative: i64,
    // costs (team and org only)
    pub costs: Decimal,
    pub marketing_costs: Decimal,
    /// product → (our list price, mean competitor price in P)
    pub competitor_prices: BTreeMap<String, (Decimal, Decimal)>,
}

/// One KPI's result: a number or null, and for breakdown KPIs the map behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiValue {
    pub value: Option<f64>,
    pub breakdown: Option<BTreeMap<String, f64>>,
    /// `positive_feedback_rate` only: the negative share, reported beside it.
    pub negative_share: Option<f64>,
}

impl KpiValue {
    fn plain(value: Option<f64>) -> Self {
        KpiValue { value, breakdown: None, negative_share: None }
    }
}

fn money(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(f64::NAN)
}

/// `part / whole × 100`, null when `whole` is 0.
fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole != 0).then(|| part as f64 * 100.0 / whole as f64)
}

fn ratio(a: f64, b: i64) -> Option<f64> {
    (b != 0).then(|| a / b as f64)
}

/// Exact decimal division, then a number.
fn money_ratio(sum: Decimal, count: i64) -> Option<f64> {
    (count != 0).then(|| money(sum / Decimal::from(count)))
}

fn map_sum(map: &BTreeMap<String, Decimal>) -> KpiValue {
    let total: Decimal = map.values().copied().sum();
    KpiValue {
        value: Some(money(total)),
        breakdown: Some(map.iter().map(|(k, v)| (k.clone(), money(*v))).collect()),
        negative_share: None,
    }
}

/// The value of KPI `id` from the aggregates.
pub fn value(id: &str, a: &Aggregates) -> KpiValue {
    match super::KpiId::parse(id) {
        Some(kpi) => value_of(kpi, a),
        None => KpiValue::plain(None),
    }
}

/// KPI `kpi`'s value over these aggregates (every KPI has its arm: no catch-all).
pub fn value_of(kpi: super::KpiId, a: &Aggregates) -> KpiValue {
    use super::KpiId as K;
    match kpi {
        // active_deals: deals created before asof and open, or closed at/after asof.
        K::ActiveDeals => KpiValue::plain(Some(a.active_deals as f64)),
        // avg_deal_size: sum(amount) / count over deals won in P.
        K::AvgDealSize => KpiValue::plain(money_ratio(a.won_sum, a.won)),
        // win_rate: won / (won + lost) × 100.
        K::WinRate => KpiValue::plain(percent(a.won, a.won + a.lost)),
        // cac: costs in P / customers acquired in P.
        K::Cac => KpiValue::plain(money_ratio(a.costs, a.customers_acquired)),
        // revenue_by_product: per product, won amounts; value = sum of entries.
        K::RevenueByProduct => map_sum(&a.revenue_by_product),
        // cost_per_lead: marketing costs in P / leads created in P.
        K::CostPerLead => KpiValue::plain(money_ratio(a.marketing_costs, a.leads_created)),
        // acquisition_cost: sum(cost of leads converted in P) / count(leads converted in P).
        K::AcquisitionCost => KpiValue::plain(money_ratio(a.leads_converted_cost, a.leads_converted)),
        // competitor_price_index: per product, our price / mean competitor price × 100; value = mean.
        K::CompetitorPriceIndex => {
            let breakdown: BTreeMap<String, f64> = a
                .competitor_prices
                .iter()
                .filter(|(_, (_, mean))| !mean.is_zero())
                .map(|(product, (ours, mean))| (product.clone(), money(*ours / *mean * Decimal::ONE_HUNDRED)))
                .collect();
            let value = ratio(breakdown.values().sum(), breakdown.len() as i64);
            KpiValue { value, breakdown: Some(breakdown), negative_share: None }
        }
        // sales_by_region: per region, won amounts; value = sum of entries.
        K::SalesByRegion => map_sum(&a.sales_by_region),
        // new_opportunities: deals created in P.
        K::NewOpportunities => KpiValue::plain(Some(a.deals_created as f64)),
        // customer_engagement: activities in P naming a customer / customers active at asof.
        K::CustomerEngagement => KpiValue::plain(ratio(a.activities_with_customer as f64, a.customers_active_at_asof)),
        // upsell_rate: won upsell or cross-sell / won new × 100.
        K::UpsellRate => KpiValue::plain(percent(a.won_upsell_or_cross, a.won_new)),
        // qualified_lead_conversion: of leads qualified in P, share converted before asof.
        K::QualifiedLeadConversion => KpiValue::plain(percent(a.leads_qualified_converted, a.leads_qualified)),
        // customer_acquisition_rate: of leads created in P, share converted before asof.
        K::CustomerAcquisitionRate => KpiValue::plain(percent(a.leads_created_converted, a.leads_created)),
        // response_time: median minutes from creation to first contact.
        K::ResponseTime => KpiValue::plain(a.response_minutes_median),
        // positive_feedback_rate: positive / all feedback in P × 100 (negative share beside it).
        K::PositiveFeedbackRate => KpiValue {
            value: percent(a.feedback_positive, a.feedback),
            breakdown: None,
            negative_share: percent(a.feedback_negative, a.feedback),
        },
        // lead_follow_up_rate: of leads first contacted in P, share followed up before asof.
        K::LeadFollowUpRate => KpiValue::plain(percent(a.leads_first_contacted_followed_up, a.leads_first_contacted)),
        // meeting_acceptance_rate: of requests proposed in P, share accepted.
        K::MeetingAcceptanceRate => KpiValue::plain(percent(a.meetings_accepted, a.meetings_proposed)),
        // touchpoints: activities in P.
        K::Touchpoints => KpiValue::plain(Some(a.touchpoints as f64)),
        // won_lost_ratio: won in P / lost in P.
        K::WonLostRatio => KpiValue::plain(ratio(a.won as f64, a.lost)),
        // avg_customer_lifetime: mean days from acquisition to churn (or asof).
        K::AvgCustomerLifetime => KpiValue::plain(ratio(a.customers_lifetime_days_sum, a.customers_lifetime_count)),
        // retention_rate: of customers active at start, share still active at asof.
        K::RetentionRate => KpiValue::plain(percent(a.customers_retained, a.customers_active_at_start)),
        // revenue_per_customer: won amounts naming a customer / distinct customers.
        K::RevenuePerCustomer => KpiValue::plain(money_ratio(a.won_with_customer_sum, a.won_distinct_customers)),
        // revenue: won amounts in P (0 when none).
        K::Revenue => KpiValue::plain(Some(money(a.won_sum))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(cents: i64) -> Decimal {
        Decimal::new(cents, 2)
    }

    #[test]
    fn ratios_with_nothing_to_divide_by_are_null_and_counts_are_zero() {
        let a = Aggregates::default();
        for id in [
            "avg_deal_size",
            "win_rate",
            "cac",
            "cost_per_lead",
            "acquisition_cost",
            "customer_engagement",
            "upsell_rate",
            "qualified_lead_conversion",
            "customer_acquisition_rate",
            "response_time",
            "positive_feedback_rate",
            "lead_follow_up_rate",
            "meeting_acceptance_rate",
            "won_lost_ratio",
            "avg_customer_lifetime",
            "retention_rate",
            "revenue_per_customer",
            "competitor_price_index",
        ] {
            assert_eq!(value(id, &a).value, None, "{id}");
        }
        for id in
            ["active_deals", "new_opportunities", "touchpoints", "revenue", "revenue_by_product", "sales_by_region"]
        {
            assert_eq!(value(id, &a).value, Some(0.0), "{id}");
        }
    }

    #[test]
    fn deal_ratios_from_hand_counts() {
        // 3 won (100.10 + 200.20 + 300.30), 1 lost; 1 won upsell, 2 won new.
        let a =
            Aggregates { won: 3, won_sum: d(60060), lost: 1, won_upsell_or_cross: 1, won_new: 2, ..Default::default() };
        assert_eq!(value("avg_deal_size", &a).value, Some(200.2));
        assert_eq!(value("win_rate", &a).value, Some(75.0));
        assert_eq!(value("won_lost_ratio", &a).value, Some(3.0));
        assert_eq!(value("upsell_rate", &a).value, Some(50.0));
        assert_eq!(value("revenue", &a).value, Some(600.6));
    }

    #[test]
    fn competitor_index_is_the_mean_of_the_products_indexes() {
        let mut a = Aggregates::default();
        a.competitor_prices.insert("p1".into(), (d(11000), d(10000))); // 110 %
        a.competitor_prices.insert("p2".into(), (d(9000), d(10000))); //  90 %
        a.competitor_prices.insert("p3".into(), (d(5000), d(4000))); // 125 %
        let v = value("competitor_price_index", &a);
        assert_eq!(v.breakdown.unwrap()["p3"], 125.0);
        assert_eq!(v.value, Some(325.0 / 3.0));
    }

    #[test]
    fn feedback_reports_the_negative_share_beside_the_positive() {
        let a = Aggregates { feedback: 8, feedback_positive: 5, feedback_negative: 2, ..Default::default() };
        let v = value("positive_feedback_rate", &a);
        assert_eq!((v.value, v.negative_share), (Some(62.5), Some(25.0)));
    }
}
