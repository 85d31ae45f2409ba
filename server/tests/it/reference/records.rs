//! The records of a reference organisation, as plain values (money in cents), and how they are sent.

use super::*;

// ---------------------------------------------------------------------------------------------------
// The records, as plain values (money in cents).

#[derive(Clone)]
pub(super) struct Team {
    pub(super) name: String,
    pub(super) region: String,
}

#[derive(Clone)]
pub(super) struct User {
    pub(super) name: String,
    pub(super) role: &'static str,
    pub(super) team: Option<String>,
}

#[derive(Clone)]
pub(super) struct Product {
    pub(super) name: String,
    pub(super) price: i64,
}

#[derive(Clone)]
pub(super) struct Customer {
    pub(super) region: String,
    pub(super) owner: String,
    pub(super) acquired_at: Time,
    pub(super) churned_at: Option<Time>,
}

#[derive(Clone)]
pub(super) struct Lead {
    pub(super) owner: String,
    pub(super) created_at: Time,
    pub(super) source: Option<String>,
    pub(super) cost: Option<i64>,
    pub(super) qualified_at: Option<Time>,
    pub(super) first_contact_at: Option<Time>,
    pub(super) followed_up_at: Option<Time>,
    pub(super) converted_at: Option<Time>,
    pub(super) customer: Option<String>,
}

#[derive(Clone)]
pub(super) struct Deal {
    pub(super) owner: String,
    pub(super) customer: Option<String>,
    pub(super) product: Option<String>,
    pub(super) amount: i64,
    /// `None` is sent without the field: the default, `new`.
    pub(super) deal_type: Option<&'static str>,
    pub(super) created_at: Time,
    pub(super) status: &'static str,
    pub(super) closed_at: Option<Time>,
}

impl Deal {
    pub(super) fn kind_of_sale(&self) -> &'static str {
        self.deal_type.unwrap_or("new")
    }
}

#[derive(Clone)]
pub(super) struct Activity {
    pub(super) owner: String,
    pub(super) activity_type: &'static str,
    pub(super) at: Time,
    pub(super) customer: Option<String>,
    pub(super) lead: Option<String>,
}

#[derive(Clone)]
pub(super) struct Meeting {
    pub(super) owner: String,
    pub(super) proposed_at: Time,
    pub(super) outcome: &'static str,
    pub(super) customer: Option<String>,
    pub(super) lead: Option<String>,
}

#[derive(Clone)]
pub(super) struct Feedback {
    pub(super) owner: Option<String>,
    pub(super) customer: Option<String>,
    pub(super) at: Time,
    pub(super) sentiment: &'static str,
}

#[derive(Clone)]
pub(super) struct Cost {
    pub(super) at: NaiveDate,
    pub(super) category: &'static str,
    pub(super) amount: i64,
    pub(super) team: Option<String>,
}

#[derive(Clone)]
pub(super) struct CompetitorPrice {
    pub(super) competitor: String,
    pub(super) product: String,
    pub(super) price: i64,
    pub(super) at: Time,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(super) enum Kind {
    Team,
    User,
    Product,
    Customer,
    Lead,
    Deal,
    Activity,
    Meeting,
    Feedback,
    Cost,
    Price,
}

#[derive(Default)]
pub(super) struct Org {
    pub(super) teams: BTreeMap<String, Team>,
    pub(super) users: BTreeMap<String, User>,
    pub(super) products: BTreeMap<String, Product>,
    pub(super) customers: BTreeMap<String, Customer>,
    pub(super) leads: BTreeMap<String, Lead>,
    pub(super) deals: BTreeMap<String, Deal>,
    pub(super) activities: BTreeMap<String, Activity>,
    pub(super) meetings: BTreeMap<String, Meeting>,
    pub(super) feedback: BTreeMap<String, Feedback>,
    pub(super) costs: BTreeMap<String, Cost>,
    pub(super) prices: BTreeMap<String, CompetitorPrice>,
    /// Every record in the order it was made (references point backwards).
    pub(super) order: Vec<(Kind, String)>,
}

/// Cents as the JSON number the sender would write (its shortest text is the exact decimal).
pub(super) fn money(cents: i64) -> Value {
    json!(cents as f64 / 100.0)
}

impl Org {
    pub(super) fn add_team(&mut self, id: &str, t: Team) {
        self.teams.insert(id.into(), t);
        self.order.push((Kind::Team, id.into()));
    }
    pub(super) fn add_user(&mut self, id: &str, u: User) {
        self.users.insert(id.into(), u);
        self.order.push((Kind::User, id.into()));
    }
    pub(super) fn add_product(&mut self, id: &str, p: Product) {
        self.products.insert(id.into(), p);
        self.order.push((Kind::Product, id.into()));
    }
    pub(super) fn add_customer(&mut self, id: &str, c: Customer) {
        self.customers.insert(id.into(), c);
        self.order.push((Kind::Customer, id.into()));
    }
    pub(super) fn add_lead(&mut self, id: &str, l: Lead) {
        self.leads.insert(id.into(), l);
        self.order.push((Kind::Lead, id.into()));
    }
    pub(super) fn add_deal(&mut self, id: &str, d: Deal) {
        self.deals.insert(id.into(), d);
        self.order.push((Kind::Deal, id.into()));
    }
    pub(super) fn add_activity(&mut self, id: &str, a: Activity) {
        self.activities.insert(id.into(), a);
        self.order.push((Kind::Activity, id.into()));
    }
    pub(super) fn add_meeting(&mut self, id: &str, m: Meeting) {
        self.meetings.insert(id.into(), m);
        self.order.push((Kind::Meeting, id.into()));
    }
    pub(super) fn add_feedback(&mut self, id: &str, f: Feedback) {
        self.feedback.insert(id.into(), f);
        self.order.push((Kind::Feedback, id.into()));
    }
    pub(super) fn add_cost(&mut self, id: &str, c: Cost) {
        self.costs.insert(id.into(), c);
        self.order.push((Kind::Cost, id.into()));
    }
    pub(super) fn add_price(&mut self, id: &str, p: CompetitorPrice) {
        self.prices.insert(id.into(), p);
        self.order.push((Kind::Price, id.into()));
    }
}
