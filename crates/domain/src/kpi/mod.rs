//! The 24 KPIs of KPIS.md: their ids, names, units, direction and the scopes
//! they exist for, plus targets' attainment. The formulas live in
//! `formulas.rs` (pure, over aggregates) and the SQL that gathers the
//! aggregates in `store::kpis`.

pub mod formulas;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Count,
    Money,
    Percent,
    PerCustomer,
    Minutes,
    Ratio,
    Days,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    Higher,
    Lower,
    /// Informational: no direction, no attainment.
    None,
}

/// Which kinds of scope a KPI exists for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    All,
    /// Built on costs, which reps do not own: team and org only.
    TeamAndOrg,
    OrgOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    Rep,
    Team,
    Region,
    Org,
}

/// Defines `KpiId` from (variant, id) pairs.
macro_rules! kpi_ids {
    ($($variant:ident = $id:literal),* $(,)?) => {
        /// The 24 KPIs of KPIS.md by id. A formula or a query matches on it
        /// without a catch-all, so a KPI cannot be added without both.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum KpiId {
            $(#[serde(rename = $id)] $variant),*
        }

        impl KpiId {
            pub const ALL: [KpiId; 24] = [$(KpiId::$variant),*];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(KpiId::$variant => $id),*
                }
            }

            pub fn parse(text: &str) -> Option<KpiId> {
                match text {
                    $($id => Some(KpiId::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

kpi_ids! {
    ActiveDeals = "active_deals",
    AvgDealSize = "avg_deal_size",
    WinRate = "win_rate",
    Cac = "cac",
    RevenueByProduct = "revenue_by_product",
    CostPerLead = "cost_per_lead",
    AcquisitionCost = "acquisition_cost",
    CompetitorPriceIndex = "competitor_price_index",
    SalesByRegion = "sales_by_region",
    NewOpportunities = "new_opportunities",
    CustomerEngagement = "customer_engagement",
    UpsellRate = "upsell_rate",
    QualifiedLeadConversion = "qualified_lead_conversion",
    CustomerAcquisitionRate = "customer_acquisition_rate",
    ResponseTime = "response_time",
    PositiveFeedbackRate = "positive_feedback_rate",
    LeadFollowUpRate = "lead_follow_up_rate",
    MeetingAcceptanceRate = "meeting_acceptance_rate",
    Touchpoints = "touchpoints",
    WonLostRatio = "won_lost_ratio",
    AvgCustomerLifetime = "avg_customer_lifetime",
    RetentionRate = "retention_rate",
    RevenuePerCustomer = "revenue_per_customer",
    Revenue = "revenue",
}

impl std::fmt::Display for KpiId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy)]
pub struct KpiDef {
    pub id: &'static str,
    pub name_ru: &'static str,
    pub name_en: &'static str,
    pub unit: Unit,
    pub better: Better,
    pub applies: Applies,
    /// A map of product ids or region names to values (the value sums or averages it).
    pub breakdown: bool,
}

impl KpiDef {
    /// The KPI's id as the enum (`id` is its text).
    pub fn key(&self) -> KpiId {
        KpiId::parse(self.id).expect("every KPIS id is a KpiId (tested)")
    }

    /// The KPI's name in the reader's language.
    pub fn name(&self, lang: crate::lang::Lang) -> &'static str {
        lang.pick(self.name_ru, self.name_en)
    }

    /// Whether the KPI sums or counts what happens in P, so that it grows as the
    /// period runs and a target for the whole period can be prorated to its
    /// elapsed part: revenue, its breakdowns, new opportunities, touchpoints.
    /// Ratios, means, medians and states are not prorated.
    pub fn accumulates(&self) -> bool {
        use KpiId as K;
        match self.key() {
            K::Revenue | K::RevenueByProduct | K::SalesByRegion | K::NewOpportunities | K::Touchpoints => true,
            K::ActiveDeals
            | K::AvgDealSize
            | K::WinRate
            | K::Cac
            | K::CostPerLead
            | K::AcquisitionCost
            | K::CompetitorPriceIndex
            | K::CustomerEngagement
            | K::UpsellRate
            | K::QualifiedLeadConversion
            | K::CustomerAcquisitionRate
            | K::ResponseTime
            | K::PositiveFeedbackRate
            | K::LeadFollowUpRate
            | K::MeetingAcceptanceRate
            | K::WonLostRatio
            | K::AvgCustomerLifetime
            | K::RetentionRate
            | K::RevenuePerCustomer => false,
        }
    }

    pub fn applies_to(&self, scope: ScopeKind) -> bool {
        match self.applies {
            Applies::All => true,
            Applies::TeamAndOrg => matches!(scope, ScopeKind::Team | ScopeKind::Org),
            Applies::OrgOnly => scope == ScopeKind::Org,
        }
    }
}

const fn kpi(
    id: &'static str,
    name_ru: &'static str,
    name_en: &'static str,
    unit: Unit,
    better: Better,
    applies: Applies,
    breakdown: bool,
) -> KpiDef {
    KpiDef { id, name_ru, name_en, unit, better, applies, breakdown }
}

use Applies::*;
use Better::{Higher, Lower};
use Unit::*;

/// The KPIs in KPIS.md's order.
pub const KPIS: [KpiDef; 24] = [
    kpi("active_deals", "Число активных продаж", "Active deals", Count, Higher, All, false),
    kpi("avg_deal_size", "Средний размер сделки", "Average deal size", Money, Higher, All, false),
    kpi("win_rate", "Процент выигранных сделок", "Win rate", Percent, Higher, All, false),
    kpi("cac", "Стоимость привлечения клиента", "Customer acquisition cost", Money, Lower, TeamAndOrg, false),
    kpi("revenue_by_product", "Доход от продукта", "Revenue by product", Money, Higher, All, true),
    kpi("cost_per_lead", "Стоимость лида", "Cost per lead", Money, Lower, TeamAndOrg, false),
    kpi("acquisition_cost", "Стоимость привлечения", "Cost per acquired buyer", Money, Lower, All, false),
    kpi(
        "competitor_price_index",
        "Ценовая политика конкурентов",
        "Competitor price index",
        Percent,
        Better::None,
        OrgOnly,
        true,
    ),
    kpi("sales_by_region", "Объем продаж по регионам", "Sales by region", Money, Higher, All, true),
    kpi("new_opportunities", "Количество новых возможностей", "New opportunities", Count, Higher, All, false),
    kpi("customer_engagement", "Вовлеченность клиентов", "Customer engagement", PerCustomer, Higher, All, false),
    kpi(
        "upsell_rate",
        "Процент допродаж и перекрестных продаж",
        "Upsell & cross-sell rate",
        Percent,
        Higher,
        All,
        false,
    ),
    kpi(
        "qualified_lead_conversion",
        "Конверсия квалифицированных лидов",
        "Qualified lead conversion",
        Percent,
        Higher,
        All,
        false,
    ),
    kpi(
        "customer_acquisition_rate",
        "Процент привлечения клиентов",
        "Customer acquisition rate",
        Percent,
        Higher,
        All,
        false,
    ),
    kpi("response_time", "Время отклика", "Response time", Minutes, Lower, All, false),
    kpi(
        "positive_feedback_rate",
        "Процент положительных/отрицательных ответов",
        "Positive feedback rate",
        Percent,
        Higher,
        All,
        false,
    ),
    kpi("lead_follow_up_rate", "Процент отслеживания лидов", "Lead follow-up rate", Percent, Higher, All, false),
    kpi("meeting_acceptance_rate", "Процент принятия встреч", "Meeting acceptance rate", Percent, Higher, All, false),
    kpi("touchpoints", "Количество точек контакта", "Touchpoints", Count, Higher, All, false),
    kpi(
        "won_lost_ratio",
        "Соотношение выигранных и проигранных сделок",
        "Won-to-lost ratio",
        Ratio,
        Higher,
        All,
        false,
    ),
    kpi(
        "avg_customer_lifetime",
        "Средний жизненный цикл клиента",
        "Average customer lifetime",
        Days,
        Higher,
        All,
        false,
    ),
    kpi("retention_rate", "Процент удержания клиентов", "Customer retention rate", Percent, Higher, All, false),
    kpi("revenue_per_customer", "Доход на клиента", "Revenue per customer", Money, Higher, All, false),
    kpi("revenue", "Выручка", "Revenue", Money, Higher, All, false),
];

pub fn find(id: &str) -> Option<&'static KpiDef> {
    KPIS.iter().find(|k| k.id == id)
}

/// Attainment of `actual` against `target` in percent (KPIS.md "Targets and attainment").
pub fn attainment(better: Better, actual: Option<f64>, target: Option<f64>) -> Option<f64> {
    let (actual, target) = (actual?, target?);
    if actual == 0.0 || target == 0.0 {
        return None;
    }
    match better {
        // Multiplying first keeps results such as 41.5 / 40 exact (103.75).
        Better::Higher => Some(actual * 100.0 / target),
        Better::Lower => Some(target * 100.0 / actual),
        Better::None => None,
    }
}

/// How a running period is going against its target: the value so far against
/// the part of the target the elapsed time asks for. Attainment itself stays
/// against the whole period's target (KPIS.md); this is the pace beside it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Pace {
    /// What the elapsed part asks for: the target × the elapsed share for a KPI
    /// that accumulates, the target itself for a ratio, mean, median or state.
    pub expected: f64,
    /// The value so far against `expected`, in % (by the KPI's direction);
    /// `None` for a lower-is-better KPI at 0 (nothing spent or waited).
    pub attainment: Option<f64>,
    /// At or ahead of `expected`.
    pub on_pace: bool,
}

/// The pace of `actual` against `target` with `elapsed` (0–1) of the period
/// passed; `None` without a value, a target, a direction, or elapsed time.
pub fn pace(def: &KpiDef, actual: Option<f64>, target: Option<f64>, elapsed: f64) -> Option<Pace> {
    let (actual, target) = (actual?, target?);
    if target == 0.0 || elapsed <= 0.0 {
        return None;
    }
    let expected = if def.accumulates() { target * elapsed.min(1.0) } else { target };
    let attainment = match def.better {
        // Nothing yet is 0 % of the pace (unlike attainment, which is null at 0).
        Better::Higher => Some(actual * 100.0 / expected),
        Better::Lower if actual == 0.0 => None,
        Better::Lower => Some(expected * 100.0 / actual),
        Better::None => return None,
    };
    Some(Pace { expected, attainment, on_pace: attainment.is_none_or(|a| a >= 100.0) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pace_prorates_what_accumulates_and_keeps_ratio_targets_whole() {
        let revenue = find("revenue").unwrap();
        // A week into February (7 of 28 days): a quarter of a 1 000 000 target is 250 000.
        let p = pace(revenue, Some(200_000.0), Some(1_000_000.0), 0.25).unwrap();
        assert_eq!((p.expected, p.attainment, p.on_pace), (250_000.0, Some(80.0), false));
        let ahead = pace(revenue, Some(250_000.0), Some(1_000_000.0), 0.25).unwrap();
        assert_eq!((ahead.attainment, ahead.on_pace), (Some(100.0), true));
        // Nothing won yet is behind pace at 0 %.
        assert_eq!(pace(revenue, Some(0.0), Some(1000.0), 0.5).unwrap().attainment, Some(0.0));
        // A win rate's target is a rate: no proration.
        let win_rate = pace(find("win_rate").unwrap(), Some(30.0), Some(40.0), 0.1).unwrap();
        assert_eq!((win_rate.expected, win_rate.attainment, win_rate.on_pace), (40.0, Some(75.0), false));
        // Lower is better: 100 minutes against 120 is ahead; 0 minutes is met.
        let response = find("response_time").unwrap();
        assert_eq!(pace(response, Some(100.0), Some(120.0), 0.3).unwrap().attainment, Some(120.0));
        assert_eq!(
            pace(response, Some(0.0), Some(120.0), 0.3).unwrap(),
            Pace { expected: 120.0, attainment: None, on_pace: true }
        );
        // No value, no target, no time passed, no direction: no pace.
        assert_eq!(pace(revenue, None, Some(1.0), 0.5), None);
        assert_eq!(pace(revenue, Some(1.0), None, 0.5), None);
        assert_eq!(pace(revenue, Some(1.0), Some(1.0), 0.0), None);
        assert_eq!(pace(find("competitor_price_index").unwrap(), Some(1.0), Some(1.0), 0.5), None);
    }

    #[test]
    fn only_sums_and_counts_of_the_period_accumulate() {
        let accumulating: Vec<&str> = KPIS.iter().filter(|k| k.accumulates()).map(|k| k.id).collect();
        assert_eq!(
            accumulating,
            ["revenue_by_product", "sales_by_region", "new_opportunities", "touchpoints", "revenue"]
        );
    }

    #[test]
    fn every_kpi_has_its_id_in_the_enum_in_the_same_order() {
        let ids: Vec<&str> = KPIS.iter().map(|k| k.id).collect();
        let keys: Vec<&str> = KpiId::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(ids, keys);
        assert_eq!(KpiId::parse("win_rate"), Some(KpiId::WinRate));
        assert_eq!(KpiId::parse("winrate"), None);
        assert_eq!(serde_json::to_string(&KpiId::RevenueByProduct).unwrap(), r#""revenue_by_product""#);
    }

    #[test]
    fn there_are_24_kpis_with_unique_ids() {
        let mut ids: Vec<_> = KPIS.iter().map(|k| k.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 24);
    }

    #[test]
    fn attainment_follows_the_direction_and_refuses_zero() {
        assert_eq!(attainment(Better::Higher, Some(41.5), Some(40.0)), Some(103.75));
        assert_eq!(attainment(Better::Lower, Some(50.0), Some(40.0)), Some(80.0));
        assert_eq!(attainment(Better::Higher, Some(0.0), Some(40.0)), None);
        assert_eq!(attainment(Better::Higher, Some(10.0), Some(0.0)), None);
        assert_eq!(attainment(Better::Higher, None, Some(1.0)), None);
        assert_eq!(attainment(Better::None, Some(1.0), Some(1.0)), None);
    }

    #[test]
    fn cost_kpis_exist_for_team_and_org_only() {
        let cac = find("cac").unwrap();
        assert!(cac.applies_to(ScopeKind::Team) && cac.applies_to(ScopeKind::Org));
        assert!(!cac.applies_to(ScopeKind::Rep) && !cac.applies_to(ScopeKind::Region));
        assert!(find("competitor_price_index").unwrap().applies_to(ScopeKind::Org));
        assert!(!find("competitor_price_index").unwrap().applies_to(ScopeKind::Team));
    }
}

/// Who a KPI is measured for (`org`, `team:<id>`, `region:<name>`, `rep:<user id>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    Org,
    Team(String),
    Region(String),
    Rep(String),
}

impl Scope {
    pub fn parse(text: &str) -> Result<Scope, String> {
        let bad = || format!("`{text}` is not a scope: use org, team:<id>, region:<name> or rep:<user id>");
        if text == "org" {
            return Ok(Scope::Org);
        }
        let (kind, id) = text.split_once(':').ok_or_else(bad)?;
        if id.is_empty() {
            return Err(bad());
        }
        match kind {
            "team" => Ok(Scope::Team(id.to_string())),
            "region" => Ok(Scope::Region(id.to_string())),
            "rep" => Ok(Scope::Rep(id.to_string())),
            _ => Err(bad()),
        }
    }

    pub fn kind(&self) -> ScopeKind {
        match self {
            Scope::Org => ScopeKind::Org,
            Scope::Team(_) => ScopeKind::Team,
            Scope::Region(_) => ScopeKind::Region,
            Scope::Rep(_) => ScopeKind::Rep,
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Org => write!(f, "org"),
            Scope::Team(id) => write!(f, "team:{id}"),
            Scope::Region(name) => write!(f, "region:{name}"),
            Scope::Rep(id) => write!(f, "rep:{id}"),
        }
    }
}
