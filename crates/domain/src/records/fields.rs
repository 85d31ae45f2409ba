//! The fields of each record kind as KPIS.md lists them: what a CSV file's
//! columns may be, which are required, and an example of each for templates.

use super::Kind;

impl Kind {
    /// The fields of this kind as KPIS.md lists them (besides `kind`), in the
    /// order a CSV template shows them, with an example value each.
    pub fn fields(self) -> &'static [Field] {
        // A struct literal of constants, so each list is a static.
        macro_rules! f {
            ($name:literal, $ty:ident, $required:literal, $example:literal) => {
                Field { name: $name, ty: FieldType::$ty, required: $required, example: $example }
            };
        }
        match self {
            Kind::Team => {
                &[f!("id", Text, true, "t-north"), f!("name", Text, true, "North"), f!("region", Text, true, "Moscow")]
            }
            Kind::User => &[
                f!("id", Text, true, "u-anna"),
                f!("name", Text, true, "Anna Petrova"),
                f!("email", Text, true, "anna@example.com"),
                f!("role", Choice, true, "rep"),
                f!("team", Text, false, "t-north"),
            ],
            Kind::Product => &[
                f!("id", Text, true, "p-crm"),
                f!("name", Text, true, "CRM licence"),
                f!("price", Money, true, "1200.00"),
            ],
            Kind::Customer => &[
                f!("id", Text, true, "c-1"),
                f!("name", Text, true, "OOO Romashka"),
                f!("region", Text, true, "Moscow"),
                f!("owner", Text, true, "u-anna"),
                f!("acquired_at", Time, true, "2026-11-02T10:00:00+03:00"),
                f!("churned_at", Time, false, ""),
            ],
            Kind::Lead => &[
                f!("id", Text, true, "l-1"),
                f!("owner", Text, true, "u-anna"),
                f!("created_at", Time, true, "2026-11-02T10:00:00+03:00"),
                f!("source", Text, false, "webinar"),
                f!("cost", Money, false, "15.50"),
                f!("qualified_at", Time, false, "2026-11-03T10:00:00+03:00"),
                f!("first_contact_at", Time, false, "2026-11-02T11:30:00+03:00"),
                f!("followed_up_at", Time, false, ""),
                f!("converted_at", Time, false, ""),
                f!("customer", Text, false, ""),
            ],
            Kind::Deal => &[
                f!("id", Text, true, "d-1"),
                f!("owner", Text, true, "u-anna"),
                f!("customer", Text, false, "c-1"),
                f!("product", Text, false, "p-crm"),
                f!("amount", Money, true, "125000.00"),
                f!("deal_type", Choice, false, "new"),
                f!("created_at", Time, true, "2026-11-02T10:00:00+03:00"),
                f!("status", Choice, true, "won"),
                f!("closed_at", Time, false, "2026-11-20T16:45:00+03:00"),
            ],
            Kind::Activity => &[
                f!("id", Text, true, "a-1"),
                f!("owner", Text, true, "u-anna"),
                f!("activity_type", Choice, true, "call"),
                f!("at", Time, true, "2026-11-02T12:00:00+03:00"),
                f!("customer", Text, false, "c-1"),
                f!("lead", Text, false, ""),
            ],
            Kind::MeetingRequest => &[
                f!("id", Text, true, "m-1"),
                f!("owner", Text, true, "u-anna"),
                f!("proposed_at", Time, true, "2026-11-04T15:00:00+03:00"),
                f!("outcome", Choice, true, "accepted"),
                f!("customer", Text, false, "c-1"),
                f!("lead", Text, false, ""),
            ],
            Kind::Feedback => &[
                f!("id", Text, true, "f-1"),
                f!("owner", Text, false, "u-anna"),
                f!("customer", Text, false, "c-1"),
                f!("at", Time, true, "2026-11-21T09:00:00+03:00"),
                f!("sentiment", Choice, true, "positive"),
            ],
            Kind::Cost => &[
                f!("id", Text, true, "cost-1"),
                f!("at", Date, true, "2026-11-01"),
                f!("category", Choice, true, "marketing"),
                f!("amount", Money, true, "50000.00"),
                f!("team", Text, false, "t-north"),
            ],
            Kind::CompetitorPrice => &[
                f!("id", Text, true, "cp-1"),
                f!("competitor", Text, true, "Rival"),
                f!("product", Text, true, "p-crm"),
                f!("price", Money, true, "1100.00"),
                f!("at", Time, true, "2026-11-10T10:00:00+03:00"),
            ],
        }
    }
}

/// How a field's value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Text,
    /// A decimal amount with at most 2 places.
    Money,
    /// An instant (RFC 3339 in the API).
    Time,
    /// A calendar date.
    Date,
    /// One of a fixed set of words.
    Choice,
}

/// One field of a record kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub ty: FieldType,
    /// Required on every record of the kind (`closed_at` is required only on closed deals).
    pub required: bool,
    pub example: &'static str,
}
