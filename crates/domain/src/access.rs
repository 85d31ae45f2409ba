//! Who acts: a user's role and what a request knows of its user.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Rep,
    Manager,
    Admin,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "rep" => Some(Role::Rep),
            "manager" => Some(Role::Manager),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Rep => "rep",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub team_id: Option<String>,
}

/// A user as the users page lists them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UserRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: String,
    /// The team's name (`team_id` its id).
    pub team: Option<String>,
    pub team_id: Option<String>,
    pub active: bool,
    /// No password yet: the invite has not been used.
    pub invited: bool,
}

/// How long a browser session lasts however active it is: then its user signs
/// in again. (Besides, a session unused for `SESSION_IDLE_DAYS` ends.)
pub const SESSION_ABSOLUTE_DAYS: i64 = 30;
pub const SESSION_IDLE_DAYS: i64 = 14;

/// Whether a session begun at `since` (Unix seconds, wall clock) is over at `now`.
pub fn session_over(since: i64, now: i64) -> bool {
    now - since > SESSION_ABSOLUTE_DAYS * 86_400 || since > now + 300
}

/// `next` when it is a path on this site, to go to after signing in; `None` for
/// anything a browser could take to another site (`//evil`, `/\evil`, a
/// scheme, a backslash, anything but printable ASCII: browsers send paths
/// percent-encoded). The one check every redirect target passes.
pub fn local_path(next: &str) -> Option<&str> {
    let local =
        next.starts_with('/') && !next.starts_with("//") && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    local.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::{local_path, session_over};

    #[test]
    fn a_session_ends_thirty_days_after_sign_in_however_busy() {
        let day = 86_400;
        let since = 1_800_000_000;
        assert!(!session_over(since, since));
        assert!(!session_over(since, since + 30 * day));
        assert!(session_over(since, since + 30 * day + 1));
        assert!(session_over(0, since), "a session without a sign-in time is over");
        assert!(session_over(since + day, since), "one from the future too");
    }

    #[test]
    fn only_local_paths_are_redirect_targets() {
        for good in ["/", "/leaderboard", "/rep/r1?period=2026-11", "/team/t%2F1#top"] {
            assert_eq!(local_path(good), Some(good), "{good}");
        }
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "/\\/evil.example",
            "https://evil.example",
            "evil.example",
            "",
            "/ok\\..\\x",
            "/\t/evil.example",
            "/\n/evil.example",
            " /x",
            "/путь",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
    }
}
