//! Sales records as KPIS.md defines them, and the validation of an incoming
//! batch: every problem of every record is found before anything is stored.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;

mod fields;
mod problems;
pub mod scope;
pub mod sheet;
mod touched;
pub use fields::{Field, FieldType};
pub use problems::problems_in;
pub use touched::Touched;

/// The record kinds, in the order a batch is applied (references point backwards).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Team,
    User,
    Product,
    Customer,
    Lead,
    Deal,
    Activity,
    MeetingRequest,
    Feedback,
    Cost,
    CompetitorPrice,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::Team,
        Kind::User,
        Kind::Product,
        Kind::Customer,
        Kind::Lead,
        Kind::Deal,
        Kind::Activity,
        Kind::MeetingRequest,
        Kind::Feedback,
        Kind::Cost,
        Kind::CompetitorPrice,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Team => "team",
            Kind::User => "user",
            Kind::Product => "product",
            Kind::Customer => "customer",
            Kind::Lead => "lead",
            Kind::Deal => "deal",
            Kind::Activity => "activity",
            Kind::MeetingRequest => "meeting_request",
            Kind::Feedback => "feedback",
            Kind::Cost => "cost",
            Kind::CompetitorPrice => "competitor_price",
        }
    }

    pub fn table(self) -> &'static str {
        match self {
            Kind::Team => "teams",
            Kind::User => "users",
            Kind::Product => "products",
            Kind::Customer => "customers",
            Kind::Lead => "leads",
            Kind::Deal => "deals",
            Kind::Activity => "activities",
            Kind::MeetingRequest => "meeting_requests",
            Kind::Feedback => "feedback",
            Kind::Cost => "costs",
            Kind::CompetitorPrice => "competitor_prices",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Team {
    pub id: String,
    pub name: String,
    pub region: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub team: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub id: String,
    pub name: String,
    pub price: Decimal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    pub id: String,
    pub name: String,
    pub region: String,
    pub owner: String,
    pub acquired_at: DateTime<Utc>,
    pub churned_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Lead {
    pub id: String,
    pub owner: String,
    pub created_at: DateTime<Utc>,
    pub source: Option<String>,
    pub cost: Option<Decimal>,
    pub qualified_at: Option<DateTime<Utc>>,
    pub first_contact_at: Option<DateTime<Utc>>,
    pub followed_up_at: Option<DateTime<Utc>>,
    pub converted_at: Option<DateTime<Utc>>,
    pub customer: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Deal {
    pub id: String,
    pub owner: String,
    pub customer: Option<String>,
    pub product: Option<String>,
    pub amount: Decimal,
    pub deal_type: String,
    pub created_at: DateTime<Utc>,
    pub status: String,
    pub closed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    pub id: String,
    pub owner: String,
    pub activity_type: String,
    pub at: DateTime<Utc>,
    pub customer: Option<String>,
    pub lead: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MeetingRequest {
    pub id: String,
    pub owner: String,
    pub proposed_at: DateTime<Utc>,
    pub outcome: String,
    pub customer: Option<String>,
    pub lead: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Feedback {
    pub id: String,
    pub owner: Option<String>,
    pub customer: Option<String>,
    pub at: DateTime<Utc>,
    pub sentiment: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cost {
    pub id: String,
    pub at: NaiveDate,
    pub category: String,
    pub amount: Decimal,
    pub team: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CompetitorPrice {
    pub id: String,
    pub competitor: String,
    pub product: String,
    pub price: Decimal,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Team(Team),
    User(User),
    Product(Product),
    Customer(Customer),
    Lead(Lead),
    Deal(Deal),
    Activity(Activity),
    MeetingRequest(MeetingRequest),
    Feedback(Feedback),
    Cost(Cost),
    CompetitorPrice(CompetitorPrice),
}

impl Record {
    pub fn kind(&self) -> Kind {
        match self {
            Record::Team(_) => Kind::Team,
            Record::User(_) => Kind::User,
            Record::Product(_) => Kind::Product,
            Record::Customer(_) => Kind::Customer,
            Record::Lead(_) => Kind::Lead,
            Record::Deal(_) => Kind::Deal,
            Record::Activity(_) => Kind::Activity,
            Record::MeetingRequest(_) => Kind::MeetingRequest,
            Record::Feedback(_) => Kind::Feedback,
            Record::Cost(_) => Kind::Cost,
            Record::CompetitorPrice(_) => Kind::CompetitorPrice,
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Record::Team(r) => &r.id,
            Record::User(r) => &r.id,
            Record::Product(r) => &r.id,
            Record::Customer(r) => &r.id,
            Record::Lead(r) => &r.id,
            Record::Deal(r) => &r.id,
            Record::Activity(r) => &r.id,
            Record::MeetingRequest(r) => &r.id,
            Record::Feedback(r) => &r.id,
            Record::Cost(r) => &r.id,
            Record::CompetitorPrice(r) => &r.id,
        }
    }

    /// The references this record makes: (field, kind referred to, id).
    pub fn references(&self) -> Vec<(&'static str, Kind, &str)> {
        fn owner(id: &str) -> Option<(&'static str, Kind, &str)> {
            Some(("owner", Kind::User, id))
        }
        fn opt<'a>(field: &'static str, kind: Kind, id: &'a Option<String>) -> Option<(&'static str, Kind, &'a str)> {
            id.as_deref().map(|id| (field, kind, id))
        }
        let refs = match self {
            Record::Team(_) | Record::Product(_) => vec![],
            Record::User(r) => vec![opt("team", Kind::Team, &r.team)],
            Record::Customer(r) => vec![owner(&r.owner)],
            Record::Lead(r) => vec![owner(&r.owner), opt("customer", Kind::Customer, &r.customer)],
            Record::Deal(r) => vec![
                owner(&r.owner),
                opt("customer", Kind::Customer, &r.customer),
                opt("product", Kind::Product, &r.product),
            ],
            Record::Activity(r) => {
                vec![owner(&r.owner), opt("customer", Kind::Customer, &r.customer), opt("lead", Kind::Lead, &r.lead)]
            }
            Record::MeetingRequest(r) => {
                vec![owner(&r.owner), opt("customer", Kind::Customer, &r.customer), opt("lead", Kind::Lead, &r.lead)]
            }
            Record::Feedback(r) => {
                vec![opt("owner", Kind::User, &r.owner), opt("customer", Kind::Customer, &r.customer)]
            }
            Record::Cost(r) => vec![opt("team", Kind::Team, &r.team)],
            Record::CompetitorPrice(r) => {
                vec![Some(("product", Kind::Product, r.product.as_str()))]
            }
        };
        refs.into_iter().flatten().collect()
    }
}

/// One bad record of a batch, as the API reports it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RecordError {
    pub index: usize,
    pub id: Option<String>,
    pub message: String,
}

/// Reads every record of a batch; returns the records that parsed and an
/// error for each that did not (index and id of the original position).
pub fn parse_batch(values: &[Value]) -> (Vec<(usize, Record)>, Vec<RecordError>) {
    let mut records = Vec::with_capacity(values.len());
    let mut errors = Vec::new();
    for (index, value) in values.iter().enumerate() {
        match parse_record(value) {
            Ok(record) => records.push((index, record)),
            Err(message) => errors.push(RecordError {
                index,
                id: value.get("id").and_then(Value::as_str).map(str::to_string),
                message,
            }),
        }
    }
    (records, errors)
}

/// What the database already holds that a batch may refer to.
#[derive(Debug, Default)]
pub struct Existing {
    /// Ids per kind (only those the batch names need be present).
    pub ids: HashMap<Kind, HashSet<String>>,
    /// Lower-cased email → user id, for the emails the batch names.
    pub emails: HashMap<String, String>,
}

/// Checks references and user emails in batch order: a reference must name a
/// record already stored or one earlier in the same batch.
pub fn check_batch(records: &[(usize, Record)], existing: &Existing) -> Vec<RecordError> {
    let mut seen: HashMap<Kind, HashSet<&str>> = HashMap::new();
    let mut emails: HashMap<String, &str> = HashMap::new();
    let mut errors = Vec::new();
    for (index, record) in records {
        let mut problems = Vec::new();
        for (field, kind, id) in record.references() {
            let stored = existing.ids.get(&kind).is_some_and(|ids| ids.contains(id));
            let earlier = seen.get(&kind).is_some_and(|ids| ids.contains(id));
            if !stored && !earlier {
                problems.push(format!(
                    "{field} `{id}` is not a known {} (send it first, or earlier in the same batch)",
                    kind.name()
                ));
            }
        }
        if let Record::User(user) = record {
            let email = user.email.to_lowercase();
            let holder = emails.get(&email).copied().or_else(|| existing.emails.get(&email).map(String::as_str));
            match holder {
                Some(other) if other != user.id => {
                    problems.push(format!("email `{}` already belongs to user `{other}`", user.email))
                }
                _ => {}
            }
            emails.insert(email, &user.id);
        }
        seen.entry(record.kind()).or_default().insert(record.id());
        if !problems.is_empty() {
            errors.push(RecordError { index: *index, id: Some(record.id().to_string()), message: problems.join("; ") });
        }
    }
    errors
}

/// Reads one record; the error names every problem found in it.
pub fn parse_record(value: &Value) -> Result<Record, String> {
    let Some(obj) = value.as_object() else {
        return Err("a record must be a JSON object".into());
    };
    let mut f = Fields { obj, problems: Vec::new() };
    let kind = match obj.get("kind") {
        None | Some(Value::Null) => return Err("missing required field `kind`".into()),
        Some(Value::String(k)) => Kind::from_name(k)
            .ok_or_else(|| format!("unknown kind `{k}` (expected one of: {})", Kind::ALL.map(Kind::name).join(", ")))?,
        Some(_) => return Err("`kind` must be a string".into()),
    };
    let id = f.text("id");
    let record = match kind {
        Kind::Team => Record::Team(Team { id, name: f.text("name"), region: f.text("region") }),
        Kind::User => {
            let email = f.text("email");
            if !email.is_empty() && !email.contains('@') {
                f.problems.push(format!("`email` `{email}` is not an email address"));
            }
            Record::User(User {
                id,
                name: f.text("name"),
                email,
                role: f.choice("role", &["rep", "manager", "admin"], None),
                team: f.opt_text("team"),
            })
        }
        Kind::Product => Record::Product(Product { id, name: f.text("name"), price: f.money("price") }),
        Kind::Customer => Record::Customer(Customer {
            id,
            name: f.text("name"),
            region: f.text("region"),
            owner: f.text("owner"),
            acquired_at: f.time("acquired_at"),
            churned_at: f.opt_time("churned_at"),
        }),
        Kind::Lead => Record::Lead(Lead {
            id,
            owner: f.text("owner"),
            created_at: f.time("created_at"),
            source: f.opt_text("source"),
            cost: f.opt_money("cost"),
            qualified_at: f.opt_time("qualified_at"),
            first_contact_at: f.opt_time("first_contact_at"),
            followed_up_at: f.opt_time("followed_up_at"),
            converted_at: f.opt_time("converted_at"),
            customer: f.opt_text("customer"),
        }),
        Kind::Deal => {
            let status = f.choice("status", &["open", "won", "lost"], None);
            let closed_at = f.opt_time("closed_at");
            let has_closed_at = obj.get("closed_at").is_some_and(|v| !v.is_null());
            match status.as_str() {
                "won" | "lost" if !has_closed_at => {
                    f.problems.push(format!("`closed_at` is required on a {status} deal"))
                }
                "open" if has_closed_at => f.problems.push("`closed_at` must be absent on an open deal".into()),
                _ => {}
            }
            Record::Deal(Deal {
                id,
                owner: f.text("owner"),
                customer: f.opt_text("customer"),
                product: f.opt_text("product"),
                amount: f.money("amount"),
                deal_type: f.choice("deal_type", &["new", "upsell", "cross_sell"], Some("new")),
                created_at: f.time("created_at"),
                status,
                closed_at,
            })
        }
        Kind::Activity => Record::Activity(Activity {
            id,
            owner: f.text("owner"),
            activity_type: f.choice("activity_type", &["call", "email", "meeting", "demo", "message", "other"], None),
            at: f.time("at"),
            customer: f.opt_text("customer"),
            lead: f.opt_text("lead"),
        }),
        Kind::MeetingRequest => Record::MeetingRequest(MeetingRequest {
            id,
            owner: f.text("owner"),
            proposed_at: f.time("proposed_at"),
            outcome: f.choice("outcome", &["pending", "accepted", "declined"], None),
            customer: f.opt_text("customer"),
            lead: f.opt_text("lead"),
        }),
        Kind::Feedback => Record::Feedback(Feedback {
            id,
            owner: f.opt_text("owner"),
            customer: f.opt_text("customer"),
            at: f.time("at"),
            sentiment: f.choice("sentiment", &["positive", "neutral", "negative"], None),
        }),
        Kind::Cost => Record::Cost(Cost {
            id,
            at: f.date("at"),
            category: f.choice("category", &["marketing", "sales"], None),
            amount: f.money("amount"),
            team: f.opt_text("team"),
        }),
        Kind::CompetitorPrice => Record::CompetitorPrice(CompetitorPrice {
            id,
            competitor: f.text("competitor"),
            product: f.text("product"),
            price: f.money("price"),
            at: f.time("at"),
        }),
    };
    if f.problems.is_empty() {
        Ok(record)
    } else {
        Err(f.problems.join("; "))
    }
}

/// Reads fields of one record, remembering every problem instead of stopping at the first.
struct Fields<'a> {
    obj: &'a Map<String, Value>,
    problems: Vec<String>,
}

impl Fields<'_> {
    fn present(&self, name: &str) -> Option<&Value> {
        self.obj.get(name).filter(|v| !v.is_null())
    }

    fn missing(&mut self, name: &str) {
        self.problems.push(format!("missing required field `{name}`"));
    }

    fn text(&mut self, name: &str) -> String {
        match self.opt_text(name) {
            Some(t) => t,
            None => {
                if self.present(name).is_none() {
                    self.missing(name);
                }
                String::new()
            }
        }
    }

    fn opt_text(&mut self, name: &str) -> Option<String> {
        match self.present(name)? {
            Value::String(s) if s.contains('\0') => {
                self.problems.push(format!("`{name}` must not contain the NUL character (\\u0000)"));
                None
            }
            Value::String(s) if s.chars().count() > text_limit(name) => {
                let limit = text_limit(name);
                self.problems.push(format!("`{name}` is longer than {limit} characters ({})", s.chars().count()));
                None
            }
            Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
            Value::String(_) => {
                self.problems.push(format!("`{name}` must not be empty"));
                None
            }
            other => {
                self.problems.push(format!("`{name}` must be a string, not {}", json_type(other)));
                None
            }
        }
    }

    fn choice(&mut self, name: &str, allowed: &[&str], default: Option<&str>) -> String {
        match (self.present(name), default) {
            (None, Some(d)) => d.to_string(),
            (None, None) => {
                self.missing(name);
                String::new()
            }
            (Some(Value::String(s)), _) if allowed.contains(&s.as_str()) => s.clone(),
            (Some(other), _) => {
                let shown = other.as_str().map(|s| format!("`{s}`")).unwrap_or_else(|| json_type(other).to_string());
                self.problems.push(format!("`{name}` must be one of {}, not {shown}", allowed.join(", ")));
                String::new()
            }
        }
    }

    fn money(&mut self, name: &str) -> Decimal {
        match self.opt_money(name) {
            Some(m) => m,
            None => {
                if self.present(name).is_none() {
                    self.missing(name);
                }
                Decimal::ZERO
            }
        }
    }

    fn opt_money(&mut self, name: &str) -> Option<Decimal> {
        let value = self.present(name)?;
        let parsed = match value {
            // A JSON number's shortest round-trip text is exactly what the sender wrote
            // for any amount with up to 15 significant digits.
            Value::Number(n) => n.as_f64().and_then(|f| Decimal::from_str(&f.to_string()).ok()),
            Value::String(s) => Decimal::from_str(s.trim()).ok(),
            _ => None,
        };
        match parsed {
            None => {
                self.problems.push(format!("`{name}` must be a decimal number, not {value}"));
                None
            }
            Some(d) if d.is_sign_negative() && !d.is_zero() => {
                self.problems.push(format!("`{name}` must not be negative (got {d})"));
                None
            }
            Some(d) if d.normalize().scale() > 2 => {
                self.problems.push(format!("`{name}` has more than 2 decimal places (got {d})"));
                None
            }
            Some(d) if d.abs() >= Decimal::from(100_000_000_000_000i64) => {
                self.problems.push(format!("`{name}` is too large (got {d})"));
                None
            }
            Some(d) => Some(d.normalize()),
        }
    }

    fn time(&mut self, name: &str) -> DateTime<Utc> {
        match self.opt_time(name) {
            Some(t) => t,
            None => {
                if self.present(name).is_none() {
                    self.missing(name);
                }
                DateTime::UNIX_EPOCH
            }
        }
    }

    fn opt_time(&mut self, name: &str) -> Option<DateTime<Utc>> {
        let value = self.present(name)?;
        match value.as_str().map(DateTime::parse_from_rfc3339) {
            Some(Ok(t)) => Some(t.with_timezone(&Utc)),
            _ => {
                self.problems.push(format!(
                    "`{name}` must be an RFC 3339 timestamp such as 2026-11-27T14:30:00+03:00, not {value}"
                ));
                None
            }
        }
    }

    /// A calendar date; a full RFC 3339 timestamp is accepted and its own date taken.
    fn date(&mut self, name: &str) -> NaiveDate {
        let Some(value) = self.present(name).cloned() else {
            self.missing(name);
            return NaiveDate::MIN;
        };
        let text = value.as_str().unwrap_or_default();
        let parsed = NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .or_else(|| DateTime::parse_from_rfc3339(text).ok().map(|t| t.date_naive()));
        parsed.unwrap_or_else(|| {
            self.problems.push(format!("`{name}` must be a date such as 2026-11-27, not {value}"));
            NaiveDate::MIN
        })
    }
}

/// The longest a text field may be: 200 characters for names, 255 for ids,
/// references and emails.
pub fn text_limit(field: &str) -> usize {
    match field {
        "name" | "region" | "competitor" | "source" => 200,
        _ => 255,
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests;
