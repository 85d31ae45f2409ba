//! Scopes, periods and the reference KPIs, straight from KPIS.md.

use super::*;

// ---------------------------------------------------------------------------------------------------
// Scopes, periods and the reference KPIs, straight from KPIS.md.

#[derive(Clone, Debug)]
pub(super) enum Scope {
    Org,
    Team(String),
    Region(String),
    Rep(String),
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Org => write!(f, "org"),
            Scope::Team(t) => write!(f, "team:{t}"),
            Scope::Region(r) => write!(f, "region:{r}"),
            Scope::Rep(u) => write!(f, "rep:{u}"),
        }
    }
}

#[derive(Clone)]
pub(super) struct Period {
    /// `2026-11` or `from=…&to=…`, for messages.
    pub(super) label: String,
    pub(super) query: Vec<(&'static str, String)>,
    /// The target period key, for calendar periods that can have targets (week, month, quarter, year).
    pub(super) target_key: Option<String>,
    pub(super) start: Time,
    pub(super) end: Time,
}

pub(super) fn named_period(tz: Tz, label: &str) -> Period {
    let (start_day, end_day, targets) = if let Some((y, w)) = label.split_once("-W") {
        let monday = NaiveDate::from_isoywd_opt(y.parse().unwrap(), w.parse().unwrap(), chrono::Weekday::Mon).unwrap();
        (monday, monday + Duration::days(7), true)
    } else if let Some((y, q)) = label.split_once("-Q") {
        let y: i32 = y.parse().unwrap();
        let q: u32 = q.parse().unwrap();
        let first = NaiveDate::from_ymd_opt(y, 3 * q - 2, 1).unwrap();
        let next = if q == 4 { NaiveDate::from_ymd_opt(y + 1, 1, 1) } else { NaiveDate::from_ymd_opt(y, 3 * q + 1, 1) };
        (first, next.unwrap(), true)
    } else if label.len() == 4 {
        let y: i32 = label.parse().unwrap();
        (NaiveDate::from_ymd_opt(y, 1, 1).unwrap(), NaiveDate::from_ymd_opt(y + 1, 1, 1).unwrap(), true)
    } else if label.len() == 7 {
        let first = date(&format!("{label}-01"));
        let next = if first.month() == 12 {
            NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
        };
        (first, next.unwrap(), true)
    } else {
        let day = date(label);
        (day, day + Duration::days(1), false)
    };
    Period {
        label: label.into(),
        query: vec![("period", label.into())],
        target_key: targets.then(|| label.to_string()),
        start: midnight(tz, start_day),
        end: midnight(tz, end_day),
    }
}

pub(super) fn custom_period(from: &str, to: &str) -> Period {
    Period {
        label: format!("from={from}&to={to}"),
        query: vec![("from", from.into()), ("to", to.into())],
        target_key: None,
        start: DateTime::parse_from_rfc3339(from).unwrap().to_utc(),
        end: DateTime::parse_from_rfc3339(to).unwrap().to_utc(),
    }
}

/// A value the API must return.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Want {
    Null,
    Count(i64),
    /// Money summed: exact to the cent.
    Cents(i64),
    /// A ratio, mean or median: relative tolerance 1e-9.
    Real(f64),
    /// A state KPI that grows with asof while the request runs (`avg_customer_lifetime` at now): a number
    /// between its values at the request's send and receive instants.
    Between(f64, f64),
}

impl Want {
    pub(super) fn number(&self) -> Option<f64> {
        match *self {
            Want::Null => None,
            Want::Count(n) => Some(n as f64),
            Want::Cents(c) => Some(c as f64 / 100.0),
            Want::Real(x) | Want::Between(x, _) => Some(x),
        }
    }

    pub(super) fn matches(&self, got: &Value) -> bool {
        match (self, got.as_f64()) {
            (Want::Null, _) => got.is_null(),
            (_, None) => false,
            (Want::Count(n), Some(g)) => g == *n as f64,
            (Want::Cents(c), Some(g)) => (g * 100.0 - *c as f64).abs() < 1e-3,
            (Want::Real(x), Some(g)) => close(*x, g),
            (Want::Between(lo, hi), Some(g)) => close(*lo, g) || close(*hi, g) || (*lo <= g && g <= *hi),
        }
    }
}

impl fmt::Display for Want {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Want::Null => write!(f, "null"),
            Want::Count(n) => write!(f, "{n}"),
            Want::Cents(c) => write!(f, "{}.{:02}", c / 100, c % 100),
            Want::Real(x) => write!(f, "{x}"),
            Want::Between(lo, hi) => write!(f, "between {lo} and {hi}"),
        }
    }
}

pub(super) fn close(want: f64, got: f64) -> bool {
    (got - want).abs() <= 1e-9 * want.abs().max(got.abs()).max(1e-12)
}

/// What to expect of a value read at some asof between two instants: itself when it does not move.
pub(super) fn either(lo: &Want, hi: &Want) -> Want {
    match (lo.number(), hi.number()) {
        (Some(a), Some(b)) if lo != hi => Want::Between(a.min(b), a.max(b)),
        _ => lo.clone(),
    }
}

/// `num / den`, null when `den` is 0.
pub(super) fn ratio(num: f64, den: f64) -> Want {
    if den == 0.0 {
        Want::Null
    } else {
        Want::Real(num / den)
    }
}

/// `part / all × 100` (multiplied first, so equal shares give equal numbers), null when `all` is 0.
pub(super) fn percent(part: usize, all: usize) -> Want {
    ratio((part * 100) as f64, all as f64)
}

/// A money mean: `cents / n`, in money.
pub(super) fn money_mean(cents: i64, n: usize) -> Want {
    ratio(cents as f64, n as f64 * 100.0)
}

pub(super) struct Expected {
    pub(super) value: Want,
    pub(super) breakdown: Option<BTreeMap<String, Want>>,
    pub(super) negative_share: Option<Want>,
}

impl From<Want> for Expected {
    fn from(value: Want) -> Expected {
        Expected { value, breakdown: None, negative_share: None }
    }
}

pub(super) const KPI_IDS: [&str; 24] = [
    "active_deals",
    "avg_deal_size",
    "win_rate",
    "cac",
    "revenue_by_product",
    "cost_per_lead",
    "acquisition_cost",
    "competitor_price_index",
    "sales_by_region",
    "new_opportunities",
    "customer_engagement",
    "upsell_rate",
    "qualified_lead_conversion",
    "customer_acquisition_rate",
    "response_time",
    "positive_feedback_rate",
    "lead_follow_up_rate",
    "meeting_acceptance_rate",
    "touchpoints",
    "won_lost_ratio",
    "avg_customer_lifetime",
    "retention_rate",
    "revenue_per_customer",
    "revenue",
];

pub(super) fn better(kpi: &str) -> &'static str {
    match kpi {
        "cac" | "cost_per_lead" | "acquisition_cost" | "response_time" => "lower",
        "competitor_price_index" => "none",
        _ => "higher",
    }
}

/// Whether a KPI exists for a scope: costs only for team and org, competitor prices only for org.
pub(super) fn applies(kpi: &str, scope: &Scope) -> bool {
    match kpi {
        "cac" | "cost_per_lead" => matches!(scope, Scope::Org | Scope::Team(_)),
        "competitor_price_index" => matches!(scope, Scope::Org),
        _ => true,
    }
}

pub(super) struct Reference<'a> {
    pub(super) org: &'a Org,
    pub(super) tz: Tz,
}

impl Reference<'_> {
    /// Whether records owned by `user` are in `scope` (team and region by the user's current team).
    pub(super) fn owns(&self, scope: &Scope, user: &str) -> bool {
        let team = || self.org.users.get(user).and_then(|u| u.team.clone());
        match scope {
            Scope::Org => true,
            Scope::Rep(u) => u == user,
            Scope::Team(t) => team().as_deref() == Some(t.as_str()),
            Scope::Region(r) => team().is_some_and(|t| &self.org.teams[&t].region == r),
        }
    }

    pub(super) fn customer_in(&self, scope: &Scope, customer: &Customer) -> bool {
        self.owns(scope, &customer.owner)
    }

    /// A feedback with no owner belongs to its customer's owner; with neither, to the organisation only.
    pub(super) fn feedback_in(&self, scope: &Scope, f: &Feedback) -> bool {
        let owner = f.owner.clone().or_else(|| f.customer.as_ref().map(|c| self.org.customers[c].owner.clone()));
        match owner {
            Some(u) => self.owns(scope, &u),
            None => matches!(scope, Scope::Org),
        }
    }

    pub(super) fn cost_in(&self, scope: &Scope, c: &Cost) -> bool {
        match scope {
            Scope::Org => true,
            Scope::Team(t) => c.team.as_deref() == Some(t.as_str()),
            _ => unreachable!("costs exist for team and org only"),
        }
    }

    pub(super) fn kpis(&self, scope: &Scope, start: Time, end: Time, now: Time) -> BTreeMap<&'static str, Expected> {
        let org = self.org;
        let asof = end.min(now);
        let in_p = |t: Time| start <= t && t < end;
        let in_p_opt = |t: Option<Time>| t.is_some_and(in_p);
        let before_asof = |t: Option<Time>| t.is_some_and(|t| t < asof);
        let active = |c: &Customer, t: Time| c.acquired_at < t && c.churned_at.map_or(true, |ch| ch >= t);

        let deals: Vec<&Deal> = org.deals.values().filter(|d| self.owns(scope, &d.owner)).collect();
        let won: Vec<&Deal> = deals.iter().copied().filter(|d| d.status == "won" && in_p_opt(d.closed_at)).collect();
        let lost = deals.iter().filter(|d| d.status == "lost" && in_p_opt(d.closed_at)).count();
        let won_cents: i64 = won.iter().map(|d| d.amount).sum();
        let leads: Vec<&Lead> = org.leads.values().filter(|l| self.owns(scope, &l.owner)).collect();
        let created: Vec<&Lead> = leads.iter().copied().filter(|l| in_p(l.created_at)).collect();
        let customers: Vec<&Customer> = org.customers.values().filter(|c| self.customer_in(scope, c)).collect();
        let activities: Vec<&Activity> =
            org.activities.values().filter(|a| self.owns(scope, &a.owner) && in_p(a.at)).collect();

        let mut k: BTreeMap<&'static str, Expected> = BTreeMap::new();

        // 1
        let active_deals = deals
            .iter()
            .filter(|d| d.created_at < asof && (d.status == "open" || d.closed_at.is_some_and(|c| c >= asof)))
            .count();
        k.insert("active_deals", Want::Count(active_deals as i64).into());
        // 2
        k.insert("avg_deal_size", money_mean(won_cents, won.len()).into());
        // 3
        k.insert("win_rate", percent(won.len(), won.len() + lost).into());
        // 4, 6
        if applies("cac", scope) {
            let costs: Vec<&Cost> =
                org.costs.values().filter(|c| self.cost_in(scope, c) && in_p(midnight(self.tz, c.at))).collect();
            let all: i64 = costs.iter().map(|c| c.amount).sum();
            let marketing: i64 = costs.iter().filter(|c| c.category == "marketing").map(|c| c.amount).sum();
            let acquired = customers.iter().filter(|c| in_p(c.acquired_at)).count();
            k.insert("cac", money_mean(all, acquired).into());
            k.insert("cost_per_lead", money_mean(marketing, created.len()).into());
        }
        // 5
        let mut by_product: BTreeMap<String, i64> = BTreeMap::new();
        for d in &won {
            if let Some(p) = &d.product {
                *by_product.entry(p.clone()).or_default() += d.amount;
            }
        }
        k.insert("revenue_by_product", money_breakdown(by_product));
        // 7
        let converted: Vec<&Lead> = leads.iter().copied().filter(|l| in_p_opt(l.converted_at)).collect();
        let converted_cost: i64 = converted.iter().map(|l| l.cost.unwrap_or(0)).sum();
        k.insert("acquisition_cost", money_mean(converted_cost, converted.len()).into());
        // 8
        if applies("competitor_price_index", scope) {
            let mut breakdown = BTreeMap::new();
            for (id, product) in &org.products {
                let seen: Vec<i64> =
                    org.prices.values().filter(|p| &p.product == id && in_p(p.at)).map(|p| p.price).collect();
                let sum: i64 = seen.iter().sum();
                if !seen.is_empty() && sum != 0 {
                    // price / (sum / n) × 100
                    let index = (product.price as f64 * 100.0 * seen.len() as f64) / sum as f64;
                    breakdown.insert(id.clone(), Want::Real(index));
                }
            }
            let total: f64 = breakdown.values().filter_map(Want::number).sum();
            let value = ratio(total, breakdown.len() as f64);
            k.insert("competitor_price_index", Expected { value, breakdown: Some(breakdown), negative_share: None });
        }
        // 9
        let mut by_region: BTreeMap<String, i64> = BTreeMap::new();
        for d in &won {
            let region = match &d.customer {
                Some(c) => Some(org.customers[c].region.clone()),
                None => org.users[&d.owner].team.as_ref().map(|t| org.teams[t].region.clone()),
            };
            if let Some(region) = region {
                *by_region.entry(region).or_default() += d.amount;
            }
        }
        k.insert("sales_by_region", money_breakdown(by_region));
        // 10
        let new_deals = deals.iter().filter(|d| in_p(d.created_at)).count();
        k.insert("new_opportunities", Want::Count(new_deals as i64).into());
        // 11
        let naming = activities.iter().filter(|a| a.customer.is_some()).count();
        let active_at_asof = customers.iter().filter(|c| active(c, asof)).count();
        k.insert("customer_engagement", ratio(naming as f64, active_at_asof as f64).into());
        // 12
        let more = won.iter().filter(|d| matches!(d.kind_of_sale(), "upsell" | "cross_sell")).count();
        let new = won.iter().filter(|d| d.kind_of_sale() == "new").count();
        k.insert("upsell_rate", percent(more, new).into());
        // 13
        let qualified: Vec<&Lead> = leads.iter().copied().filter(|l| in_p_opt(l.qualified_at)).collect();
        let qualified_converted = qualified.iter().filter(|l| before_asof(l.converted_at)).count();
        k.insert("qualified_lead_conversion", percent(qualified_converted, qualified.len()).into());
        // 14
        let created_converted = created.iter().filter(|l| before_asof(l.converted_at)).count();
        k.insert("customer_acquisition_rate", percent(created_converted, created.len()).into());
        // 15
        let mut waits: Vec<i64> = created
            .iter()
            .filter(|l| before_asof(l.first_contact_at))
            .map(|l| (l.first_contact_at.unwrap() - l.created_at).num_milliseconds())
            .collect();
        waits.sort();
        let median = match waits.len() {
            0 => Want::Null,
            n if n % 2 == 1 => Want::Real(waits[n / 2] as f64 / 60_000.0),
            n => Want::Real((waits[n / 2 - 1] + waits[n / 2]) as f64 / 2.0 / 60_000.0),
        };
        k.insert("response_time", median.into());
        // 16
        let feedback: Vec<&Feedback> =
            org.feedback.values().filter(|f| self.feedback_in(scope, f) && in_p(f.at)).collect();
        let positive = feedback.iter().filter(|f| f.sentiment == "positive").count();
        let negative = feedback.iter().filter(|f| f.sentiment == "negative").count();
        k.insert(
            "positive_feedback_rate",
            Expected {
                value: percent(positive, feedback.len()),
                breakdown: None,
                negative_share: Some(percent(negative, feedback.len())),
            },
        );
        // 17
        let contacted: Vec<&Lead> = leads.iter().copied().filter(|l| in_p_opt(l.first_contact_at)).collect();
        let followed = contacted.iter().filter(|l| before_asof(l.followed_up_at)).count();
        k.insert("lead_follow_up_rate", percent(followed, contacted.len()).into());
        // 18
        let proposed: Vec<&Meeting> =
            org.meetings.values().filter(|m| self.owns(scope, &m.owner) && in_p(m.proposed_at)).collect();
        let accepted = proposed.iter().filter(|m| m.outcome == "accepted").count();
        k.insert("meeting_acceptance_rate", percent(accepted, proposed.len()).into());
        // 19
        k.insert("touchpoints", Want::Count(activities.len() as i64).into());
        // 20
        k.insert("won_lost_ratio", ratio(won.len() as f64, lost as f64).into());
        // 21
        let lives: Vec<i64> = customers
            .iter()
            .filter(|c| c.acquired_at < asof)
            .map(|c| (c.churned_at.map_or(asof, |ch| ch.min(asof)) - c.acquired_at).num_milliseconds())
            .collect();
        let lives_ms: i64 = lives.iter().sum();
        k.insert("avg_customer_lifetime", ratio(lives_ms as f64, lives.len() as f64 * 86_400_000.0).into());
        // 22
        let at_start: Vec<&&Customer> = customers.iter().filter(|c| active(c, start)).collect();
        let still = at_start.iter().filter(|c| active(c, asof)).count();
        k.insert("retention_rate", percent(still, at_start.len()).into());
        // 23
        let named: Vec<&&Deal> = won.iter().filter(|d| d.customer.is_some()).collect();
        let distinct: BTreeSet<&String> = named.iter().filter_map(|d| d.customer.as_ref()).collect();
        let named_cents: i64 = named.iter().map(|d| d.amount).sum();
        k.insert("revenue_per_customer", money_mean(named_cents, distinct.len()).into());
        // 24
        k.insert("revenue", Want::Cents(won_cents).into());
        k
    }
}

/// A money breakdown whose value is the sum of its entries (0 when it has none).
pub(super) fn money_breakdown(entries: BTreeMap<String, i64>) -> Expected {
    let total = entries.values().sum();
    Expected {
        value: Want::Cents(total),
        breakdown: Some(entries.into_iter().map(|(k, v)| (k, Want::Cents(v))).collect()),
        negative_share: None,
    }
}

/// Attainment per KPIS.md: null when actual or target is null or 0.
pub(super) fn attainment(kpi: &str, actual: &Want, target: Option<f64>) -> Want {
    match (actual.number(), target) {
        (Some(a), Some(t)) if a != 0.0 && t != 0.0 => match better(kpi) {
            "lower" => Want::Real(t * 100.0 / a),
            _ => Want::Real(a * 100.0 / t),
        },
        _ => Want::Null,
    }
}
