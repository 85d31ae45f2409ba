//! KPI Arena's notifications: the channels a team reads (Telegram, Slack, Microsoft Teams,
//! email) and the sender that delivers the outbox the scoring worker writes.
//!
//! - `send`: one message to one service, and what its failure means (try again, and when).
//! - `runner`: the sender every instance runs (`Sender`): folding, pace, 429s, back-off, quiet
//!   hours, Telegram chats bound by `/start CODE`.
//! - `setup`: what `/notifications` does, with who may do it checked.

pub mod runner;
pub mod send;
pub mod setup;

pub use runner::Sender;
