//! The services layer: what happens when something changes. Pages, the JSON
//! API, the CSV import and future connectors call these; they call the store
//! (`db`) and the pure domain (`records`, `scoring`, `badges`, `kpi`).
//!
//! - `ingest`: the one path a change takes: stored with its derived work, in one transaction.
//! - `deals`: who may log a won deal for whom, then `ingest`.
//! - `worker`: the scoring worker every instance runs: does that work, then tells every screen.

pub mod deals;
pub mod ingest;
pub mod worker;
