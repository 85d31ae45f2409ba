//! What every open page and TV hears when something changes. The JSON form
//! (`{"kind":"won","deals":[…]}`) is what travels on PostgreSQL's channel.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LiveEvent {
    /// Something changed: re-read.
    Changed,
    /// Deals just won: celebrate them (then re-read).
    Won { deals: Vec<String> },
    /// A display was revoked: that TV goes blank.
    Revoked { display: i64 },
    /// A user's sessions ended (deactivated, role changed): their open pages stop listening.
    SignedOut { user: String },
}

impl LiveEvent {
    /// Deals just won; at most 50 ids fit comfortably in one notification.
    pub fn won(mut deals: Vec<String>) -> Self {
        deals.truncate(50);
        LiveEvent::Won { deals }
    }

    /// The server-sent event's name.
    pub fn name(&self) -> &'static str {
        match self {
            LiveEvent::Changed => "changed",
            LiveEvent::Won { .. } => "won",
            LiveEvent::Revoked { .. } => "revoked",
            LiveEvent::SignedOut { .. } => "signed_out",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_travel_as_tagged_json() {
        assert_eq!(serde_json::to_string(&LiveEvent::Changed).unwrap(), r#"{"kind":"changed"}"#);
        assert_eq!(
            serde_json::to_string(&LiveEvent::won(vec!["d1".into()])).unwrap(),
            r#"{"kind":"won","deals":["d1"]}"#
        );
        let back: LiveEvent = serde_json::from_str(r#"{"kind":"revoked","display":7}"#).unwrap();
        assert_eq!(back, LiveEvent::Revoked { display: 7 });
        assert_eq!(LiveEvent::won((0..60).map(|i| i.to_string()).collect()).name(), "won");
    }
}
