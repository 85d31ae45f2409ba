//! KPI Arena's services layer: what happens when something changes, and who
//! may change it. Pages, the JSON API, the CSV import and future connectors
//! call these; they call the store (SQL) and the domain (meaning). No web
//! framework or UI here: a service takes the acting user and plain values.
//!
//! - `ingest`: the one path a change takes: stored with its derived work, in one transaction.
//! - `worker`: the scoring worker every instance runs: does that work, then tells every screen.
//! - `live`: the PostgreSQL channel every instance listens on, and `notify`.
//! - `replica`: where KPI cards, leaderboards and reports are read (a read replica when caught up).
//! - `access`: who may do what beyond a role (targets, imports).
//! - `flags`: verdicts on the anti-gaming flags, and who may give them.
//! - `deals`, `challenges`, `imports`, `screens`: the changes people make, checked, stored, announced.
//! - `demo`: the demo organisation.

pub mod access;
pub mod challenges;
pub mod deals;
pub mod demo;
pub mod flags;
pub mod health;
pub mod imports;
pub mod ingest;
pub mod live;
pub mod metrics;
pub mod notify;
pub mod overview;
pub mod people;
pub mod replica;
pub mod screens;
pub mod snapshots;
pub mod worker;
