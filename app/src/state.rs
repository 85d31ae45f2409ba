//! What every request handler and server function can reach on the server.

use governor::clock::{Clock, DefaultClock};
use governor::{state::keyed::DefaultKeyedStateStore, Quota, RateLimiter};
use leptos::config::LeptosOptions;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;
use std::{num::NonZeroU32, sync::Arc};

pub type KeyedLimiter = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>;

/// Failed-login throttles: one per account (email), one per client address.
/// Only failures spend the quota; once a failure finds it spent, that account
/// or address is refused until governor says a new attempt is due.
pub struct LoginLimits {
    per_account: KeyedLimiter,
    per_ip: KeyedLimiter,
    blocked_until: Mutex<HashMap<String, Instant>>,
}

impl LoginLimits {
    /// 5 attempts per account and 20 per address, refilling one every 12 s / 3 s.
    pub fn new() -> Self {
        let per_minute = |n| Quota::per_minute(NonZeroU32::new(n).expect("non-zero quota"));
        LoginLimits {
            per_account: RateLimiter::keyed(per_minute(5)),
            per_ip: RateLimiter::keyed(per_minute(20)),
            blocked_until: Mutex::new(HashMap::new()),
        }
    }

    /// Whether attempts for this account or from this address are refused right now.
    pub fn blocked(&self, account: &str, ip: &str) -> bool {
        let now = Instant::now();
        let mut blocked = self.blocked_until.lock().expect("login limits lock");
        blocked.retain(|_, until| *until > now);
        blocked.contains_key(&format!("account:{account}")) || blocked.contains_key(&format!("ip:{ip}"))
    }

    /// Spends one failure; returns true when that exhausted a quota (the account or address is now blocked).
    pub fn record_failure(&self, account: &str, ip: &str) -> bool {
        let clock = DefaultClock::default();
        let mut exhausted = false;
        let mut blocked = self.blocked_until.lock().expect("login limits lock");
        for (limiter, key) in [(&self.per_account, format!("account:{account}")), (&self.per_ip, format!("ip:{ip}"))] {
            if let Err(not_until) = limiter.check_key(&key) {
                blocked.insert(key, Instant::now() + not_until.wait_time_from(clock.now()));
                exhausted = true;
            }
        }
        exhausted
    }
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self::new()
    }
}

/// The instance's own settings, read from its environment once, at start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// Every cookie is marked `Secure` (the app is served behind HTTPS): `KPI_ARENA_SECURE_COOKIES=1` or `true`.
    pub secure_cookies: bool,
}

impl Config {
    pub fn from_env() -> Config {
        Config { secure_cookies: std::env::var("KPI_ARENA_SECURE_COOKIES").is_ok_and(|v| v == "1" || v == "true") }
    }
}

#[derive(Clone, axum::extract::FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub login_limits: Arc<LoginLimits>,
    /// What this instance hears on the live channel, for its open pages and TVs.
    pub live: tokio::sync::broadcast::Sender<services::live::LiveEvent>,
}
