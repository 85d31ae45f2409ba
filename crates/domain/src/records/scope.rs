//! What a manager may send: records of their own team only. Teams and users
//! are an admin's (a CRM sync runs with an admin's token); every owned record
//! must be owned by a member of the manager's team, before and after the
//! change (a manager can neither log a deal for another team's rep nor move
//! one away from it); a cost must name the manager's team. Products and
//! competitor prices are the organisation's catalogue and stay open to managers.
//! Pure: the services read who holds what, this decides.

use super::{Kind, Record, RecordError};
use crate::access::{CurrentUser, Role};
use std::collections::HashMap;

/// Who holds a record: a rep (its owner; feedback without one: its customer's
/// owner) or, for a cost, a team (`None`: the whole organisation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    Rep(Option<String>),
    Team(Option<String>),
}

/// What the check needs to know of the database, read for one batch.
#[derive(Debug, Default)]
pub struct Stored {
    /// The team of each user the batch or its stored versions name (a user not here does not exist).
    pub teams: HashMap<String, Option<String>>,
    /// Who holds the stored version of each record the batch replaces.
    pub holders: HashMap<(Kind, String), Holder>,
    /// The owners of stored customers that ownerless feedback names.
    pub customer_owners: HashMap<String, String>,
}

/// The users whose team the check needs: the owners the batch names.
pub fn owners_named(records: &[Record]) -> Vec<String> {
    let mut owners: Vec<String> = records
        .iter()
        .flat_map(|r| r.references())
        .filter(|(_, kind, _)| *kind == Kind::User)
        .map(|(_, _, id)| id.to_string())
        .collect();
    owners.sort();
    owners.dedup();
    owners
}

/// The customers whose owner the check needs: those named by feedback without an owner.
pub fn customers_of_ownerless_feedback(records: &[Record]) -> Vec<String> {
    let mut ids: Vec<String> = records
        .iter()
        .filter_map(|r| match r {
            Record::Feedback(f) if f.owner.is_none() => f.customer.clone(),
            _ => None,
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// One error for each record of a (valid) batch that `user` may not send, by
/// its index in the batch. Empty: the whole batch is theirs to send. Admins
/// send anything; managers their team's records; reps only their own (the deal
/// form; the records API refuses reps at the door).
pub fn outside_scope(records: &[Record], user: &CurrentUser, stored: &Stored) -> Vec<RecordError> {
    if user.role == Role::Admin {
        return Vec::new();
    }
    let mut batch_customers: HashMap<&str, &str> = HashMap::new();
    let mut errors = Vec::new();
    for (index, record) in records.iter().enumerate() {
        if let Some(message) = problem(record, user, stored, &batch_customers) {
            errors.push(RecordError { index, id: Some(record.id().to_string()), message });
        }
        if let Record::Customer(c) = record {
            batch_customers.insert(&c.id, &c.owner);
        }
    }
    errors
}

fn problem(record: &Record, user: &CurrentUser, stored: &Stored, customers: &HashMap<&str, &str>) -> Option<String> {
    let kind = record.kind().name();
    let now = match record {
        Record::Team(_) | Record::User(_) => return Some(format!("only an admin may send {kind} records")),
        Record::Product(_) | Record::CompetitorPrice(_) if user.role == Role::Manager => return None,
        Record::Product(_) | Record::CompetitorPrice(_) => return Some(format!("a rep may not send {kind} records")),
        Record::Cost(c) => Holder::Team(c.team.clone()),
        Record::Feedback(f) => Holder::Rep(f.owner.clone().or_else(|| {
            let customer = f.customer.as_deref()?;
            customers.get(customer).map(|o| o.to_string()).or_else(|| stored.customer_owners.get(customer).cloned())
        })),
        Record::Customer(r) => Holder::Rep(Some(r.owner.clone())),
        Record::Lead(r) => Holder::Rep(Some(r.owner.clone())),
        Record::Deal(r) => Holder::Rep(Some(r.owner.clone())),
        Record::Activity(r) => Holder::Rep(Some(r.owner.clone())),
        Record::MeetingRequest(r) => Holder::Rep(Some(r.owner.clone())),
    };
    let (mine, scope): (Box<dyn Fn(&Holder) -> bool>, String) = match (user.role, user.team_id.as_deref()) {
        (Role::Rep, _) => (
            Box::new(|h: &Holder| matches!(h, Holder::Rep(Some(rep)) if *rep == user.id)),
            format!("you (`{}`)", user.id),
        ),
        (_, Some(team)) => (
            Box::new(move |h: &Holder| match h {
                Holder::Team(t) => t.as_deref() == Some(team),
                Holder::Rep(Some(rep)) => stored.teams.get(rep).is_some_and(|t| t.as_deref() == Some(team)),
                Holder::Rep(None) => false,
            }),
            format!("your team `{team}`"),
        ),
        (_, None) => return Some(format!("a manager without a team may not send {kind} records")),
    };
    if !mine(&now) {
        return Some(match now {
            Holder::Team(_) if user.role == Role::Rep => format!("a rep may not send {kind} records"),
            Holder::Team(_) => format!("a cost must name {scope}"),
            Holder::Rep(Some(rep)) if user.role == Role::Rep => format!("owner `{rep}` is not {scope}"),
            Holder::Rep(Some(rep)) => format!("owner `{rep}` is not a member of {scope}"),
            Holder::Rep(None) => format!("feedback must name an owner or a customer of {scope}"),
        });
    }
    match stored.holders.get(&(record.kind(), record.id().to_string())) {
        Some(before) if !mine(before) && user.role == Role::Rep => {
            Some(format!("the stored {kind} `{}` is not yours", record.id()))
        }
        Some(before) if !mine(before) => Some(format!("the stored {kind} `{}` belongs outside {scope}", record.id())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::parse_batch;
    use serde_json::json;

    fn records(values: &[serde_json::Value]) -> Vec<Record> {
        let (records, errors) = parse_batch(values);
        assert!(errors.is_empty(), "{errors:?}");
        records.into_iter().map(|(_, r)| r).collect()
    }

    #[test]
    fn a_manager_sends_only_their_own_teams_records() {
        let batch = records(&[
            json!({"kind": "deal", "id": "d1", "owner": "a1", "amount": 10, "status": "open", "created_at": "2026-10-01T09:00:00Z"}),
            json!({"kind": "user", "id": "m1", "name": "M", "email": "m@x.io", "role": "admin", "team": "A"}),
            json!({"kind": "deal", "id": "d2", "owner": "b1", "amount": 10, "status": "open", "created_at": "2026-10-01T09:00:00Z"}),
            json!({"kind": "deal", "id": "d3", "owner": "a1", "amount": 10, "status": "open", "created_at": "2026-10-01T09:00:00Z"}),
            json!({"kind": "cost", "id": "c1", "at": "2026-10-01", "category": "sales", "amount": 5, "team": "A"}),
            json!({"kind": "cost", "id": "c2", "at": "2026-10-01", "category": "sales", "amount": 5}),
            json!({"kind": "customer", "id": "k1", "name": "K", "region": "N", "owner": "a1", "acquired_at": "2026-10-01T09:00:00Z"}),
            json!({"kind": "feedback", "id": "f1", "customer": "k1", "at": "2026-10-02T09:00:00Z", "sentiment": "positive"}),
            json!({"kind": "feedback", "id": "f2", "customer": "k9", "at": "2026-10-02T09:00:00Z", "sentiment": "positive"}),
            json!({"kind": "product", "id": "p1", "name": "P", "price": 3}),
            json!({"kind": "team", "id": "A", "name": "A", "region": "N"}),
        ]);
        let mut stored = Stored::default();
        stored.teams.insert("a1".into(), Some("A".into()));
        stored.teams.insert("b1".into(), Some("B".into()));
        // d3 is stored as b1's: re-owning it to a1 would take it from team B.
        stored.holders.insert((Kind::Deal, "d3".into()), Holder::Rep(Some("b1".into())));
        stored.customer_owners.insert("k9".into(), "b1".into());
        let manager = |team: Option<&str>| CurrentUser {
            id: "m1".into(),
            name: "M".into(),
            email: "m@x.io".into(),
            role: Role::Manager,
            team_id: team.map(str::to_string),
        };
        let errors = outside_scope(&batch, &manager(Some("A")), &stored);
        let found: Vec<(usize, &str)> = errors.iter().map(|e| (e.index, e.message.as_str())).collect();
        assert_eq!(
            found,
            vec![
                (1, "only an admin may send user records"),
                (2, "owner `b1` is not a member of your team `A`"),
                (3, "the stored deal `d3` belongs outside your team `A`"),
                (5, "a cost must name your team `A`"),
                (8, "owner `b1` is not a member of your team `A`"),
                (10, "only an admin may send team records"),
            ]
        );
        assert_eq!(errors[2].id.as_deref(), Some("d3"));
        // Without a team a manager may send only the catalogue.
        let errors = outside_scope(&batch, &manager(None), &stored);
        assert_eq!(errors.len(), batch.len() - 1, "all but the product");
        let admin = CurrentUser { role: Role::Admin, ..manager(None) };
        assert!(outside_scope(&batch, &admin, &stored).is_empty());
        // A rep (the deal form) sends only their own records.
        let rep = CurrentUser { id: "a1".into(), role: Role::Rep, ..manager(Some("A")) };
        let errors = outside_scope(&batch[..4], &rep, &stored);
        let found: Vec<(usize, &str)> = errors.iter().map(|e| (e.index, e.message.as_str())).collect();
        assert_eq!(
            found,
            vec![
                (1, "only an admin may send user records"),
                (2, "owner `b1` is not you (`a1`)"),
                (3, "the stored deal `d3` is not yours"),
            ]
        );
        assert_eq!(owners_named(&batch), vec!["a1".to_string(), "b1".to_string()]);
        assert_eq!(customers_of_ownerless_feedback(&batch), vec!["k1".to_string(), "k9".to_string()]);
    }
}
