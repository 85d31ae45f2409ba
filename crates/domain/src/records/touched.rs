//! What a batch of records changes for scoring: whose points and badges, over
//! which instants, and which deals were just won (for the TV's celebration).
//! Pure: the ingest path turns it into one row of derived work.

use super::Record;
use crate::scoring::RecordRef;
use chrono::{DateTime, Utc};

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Touched {
    /// The reps who own the records (sorted, once each).
    pub owners: Vec<String>,
    /// Customers of feedback without an owner: their owners are the reps to rescore.
    pub customers: Vec<String>,
    /// The scored records, so that whoever held points for them before is rescored too.
    pub refs: Vec<RecordRef>,
    /// The earliest and the latest instant the records carry.
    pub span: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Deals stored as won, in batch order.
    pub won: Vec<String>,
}

impl Touched {
    pub fn of(records: &[Record]) -> Touched {
        let mut t = Touched::default();
        for record in records {
            let (owner, at): (Option<&str>, Vec<Option<DateTime<Utc>>>) = match record {
                Record::Deal(d) => {
                    if d.status == "won" {
                        t.won.push(d.id.clone());
                    }
                    (Some(&d.owner), vec![Some(d.created_at), d.closed_at])
                }
                Record::Activity(a) => (Some(&a.owner), vec![Some(a.at)]),
                Record::MeetingRequest(m) => (Some(&m.owner), vec![Some(m.proposed_at)]),
                Record::Lead(l) => (
                    Some(&l.owner),
                    vec![Some(l.created_at), l.qualified_at, l.first_contact_at, l.followed_up_at, l.converted_at],
                ),
                Record::Customer(c) => (Some(&c.owner), vec![Some(c.acquired_at), c.churned_at]),
                Record::Feedback(f) => {
                    if let (None, Some(c)) = (&f.owner, &f.customer) {
                        t.customers.push(c.clone());
                    }
                    (f.owner.as_deref(), vec![Some(f.at)])
                }
                _ => continue,
            };
            t.owners.extend(owner.map(str::to_string));
            for at in at.into_iter().flatten() {
                t.span = Some(match t.span {
                    Some((from, to)) => (from.min(at), to.max(at)),
                    None => (at, at),
                });
            }
            t.refs.push(RecordRef { kind: record.kind().name().to_string(), id: record.id().to_string() });
        }
        t.owners.sort();
        t.owners.dedup();
        t.customers.sort();
        t.customers.dedup();
        t
    }

    /// Whether anything in the batch is scored at all (teams, users, products alone are not).
    pub fn scores_anything(&self) -> bool {
        !self.refs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::parse_batch;
    use serde_json::json;

    #[test]
    fn a_batch_names_its_owners_span_and_won_deals() {
        let values = [
            json!({"kind": "team", "id": "t1", "name": "T1", "region": "North"}),
            json!({"kind": "deal", "id": "d1", "owner": "r2", "amount": 10, "status": "won",
                   "created_at": "2026-10-01T09:00:00Z", "closed_at": "2026-10-05T10:00:00Z"}),
            json!({"kind": "deal", "id": "d2", "owner": "r1", "amount": 10, "status": "lost",
                   "created_at": "2026-09-20T09:00:00Z", "closed_at": "2026-10-06T10:00:00Z"}),
            json!({"kind": "activity", "id": "a1", "owner": "r2", "activity_type": "call", "at": "2026-10-07T08:00:00Z"}),
            json!({"kind": "feedback", "id": "f1", "customer": "c9", "at": "2026-10-08T08:00:00Z", "sentiment": "positive"}),
        ];
        let (records, errors) = parse_batch(&values);
        assert!(errors.is_empty(), "{errors:?}");
        let records: Vec<Record> = records.into_iter().map(|(_, r)| r).collect();
        let t = Touched::of(&records);
        assert_eq!(t.owners, vec!["r1".to_string(), "r2".to_string()]);
        assert_eq!(t.customers, vec!["c9".to_string()]);
        assert_eq!(t.won, vec!["d1".to_string()]);
        assert_eq!(t.refs.len(), 4, "the team is not scored");
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(t.span, Some((at("2026-09-20T09:00:00Z"), at("2026-10-08T08:00:00Z"))));
        assert!(t.scores_anything());
        assert!(!Touched::of(&records[..1]).scores_anything());
    }
}
