//! What every request handler and server function can reach on the server.

use governor::clock::{Clock, DefaultClock};
use governor::{state::keyed::DefaultKeyedStateStore, Quota, RateLimiter};
use leptos::config::LeptosOptions;
use sqlx::PgPool;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;
use std::{num::NonZeroU32, sync::Arc};

pub type KeyedLimiter = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>;

/// Failed sign-ins per client address, on this instance (the per-account
/// budget is in the database: `store::users::login_attempt`). Only failures
/// spend the quota; once a failure finds it spent, that address is refused
/// until governor says a new attempt is due.
pub struct LoginLimits {
    per_ip: KeyedLimiter,
    blocked_until: Mutex<HashMap<String, Instant>>,
}

impl LoginLimits {
    /// 20 failures per address, refilling one every 3 s.
    pub fn new() -> Self {
        LoginLimits {
            per_ip: RateLimiter::keyed(Quota::per_minute(NonZeroU32::new(20).expect("non-zero quota"))),
            blocked_until: Mutex::new(HashMap::new()),
        }
    }

    /// Whether attempts from this address are refused right now.
    pub fn blocked(&self, ip: &str) -> bool {
        let now = Instant::now();
        let mut blocked = self.blocked_until.lock().expect("login limits lock");
        blocked.retain(|_, until| *until > now);
        blocked.contains_key(ip)
    }

    /// Spends one failure; returns true when that exhausted the quota (the address is now blocked).
    pub fn record_failure(&self, ip: &str) -> bool {
        let clock = DefaultClock::default();
        match self.per_ip.check_key(&ip.to_string()) {
            Ok(()) => false,
            Err(not_until) => {
                let mut blocked = self.blocked_until.lock().expect("login limits lock");
                blocked.insert(ip.to_string(), Instant::now() + not_until.wait_time_from(clock.now()));
                true
            }
        }
    }
}

/// 10 new TV pairings a minute per address: a TV asks once, then polls with its cookie.
pub fn pairing_limiter() -> KeyedLimiter {
    RateLimiter::keyed(Quota::per_minute(NonZeroU32::new(10).expect("non-zero quota")))
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
    /// Reverse proxies whose `X-Forwarded-For` is believed: `KPI_ARENA_TRUSTED_PROXIES`,
    /// comma-separated addresses or CIDR blocks (`10.0.0.0/8, ::1`). Empty: none is.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Config {
    pub fn from_env() -> Result<Config, String> {
        let proxies = std::env::var("KPI_ARENA_TRUSTED_PROXIES").unwrap_or_default();
        Ok(Config {
            secure_cookies: std::env::var("KPI_ARENA_SECURE_COOKIES").is_ok_and(|v| v == "1" || v == "true"),
            trusted_proxies: parse_proxies(&proxies)?,
        })
    }

    /// Whether `KPI_ARENA_TRUSTED_PROXIES` names this peer.
    pub fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy;
    /// then the last address in `X-Forwarded-For` that is not a trusted proxy
    /// (each proxy appends the address it heard from; the ones before the
    /// first untrusted hop could be made up by the client).
    pub fn client_ip(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        let trusted = |ip: &IpAddr| self.is_trusted_proxy(*ip);
        if !trusted(&peer) {
            return peer;
        }
        let hops: Vec<IpAddr> =
            forwarded_for.unwrap_or_default().split(',').filter_map(|hop| hop.trim().parse().ok()).collect();
        hops.iter().rev().find(|ip| !trusted(ip)).or(hops.first()).copied().unwrap_or(peer)
    }
}

/// `KPI_ARENA_TRUSTED_PROXIES`'s value: addresses (a single host) or CIDR blocks.
pub fn parse_proxies(text: &str) -> Result<Vec<ipnet::IpNet>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<ipnet::IpNet>()
                .or_else(|_| p.parse::<IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("KPI_ARENA_TRUSTED_PROXIES: `{p}` is not an IP address or CIDR block"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_address_comes_from_forwarded_for_only_behind_a_trusted_proxy() {
        let config = Config { trusted_proxies: parse_proxies("10.0.0.0/8, ::1").unwrap(), ..Config::default() };
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // Straight from the internet: the header is the client's own claim, ignored.
        assert_eq!(config.client_ip(ip("203.0.113.9"), Some("1.2.3.4")), ip("203.0.113.9"));
        // Through the proxy: the hop the proxy heard from.
        assert_eq!(config.client_ip(ip("10.0.0.2"), Some("198.51.100.7")), ip("198.51.100.7"));
        // A made-up first hop stays unbelieved; two trusted proxies are skipped.
        assert_eq!(config.client_ip(ip("10.0.0.2"), Some("1.2.3.4, 198.51.100.7, 10.0.0.5")), ip("198.51.100.7"));
        assert_eq!(config.client_ip(ip("::1"), None), ip("::1"));
        assert!(parse_proxies("10.0.0.0/33").is_err() && parse_proxies("proxy.local").is_err());
        assert_eq!(parse_proxies("").unwrap(), vec![]);
    }
}

/// What every request of an instance shares. Cloned per request by every layer and server
/// function that asks for it, so a clone is one reference count ([`Shared`] holds the parts).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// Leptos's file and error handler reads the options from the state.
impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> LeptosOptions {
        state.leptos_options.clone()
    }
}

pub struct Shared {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub login_limits: Arc<LoginLimits>,
    /// New TV pairings per client address (`pairing_limiter`).
    pub pairings: Arc<KeyedLimiter>,
    /// What this instance hears on the live channel, folded, for its open pages and TVs.
    pub hub: Arc<services::live::Hub>,
    /// The views screens re-read, computed once per data version (`services::snapshots`).
    pub snapshots: Arc<services::snapshots::Snapshots>,
    /// This instance's scoring worker, if it runs one (every real instance does): `/readyz` asks it.
    pub worker: Option<Arc<services::worker::Heartbeat>>,
    /// Where KPI cards, leaderboards and reports are read: a caught-up read replica, else `pool`.
    pub reads: Arc<services::replica::Reads>,
    /// This instance's CRM connector runner: webhooks wake it; it holds the key that opens tokens.
    pub connectors: connectors::Runner,
    /// This instance's notification sender: it holds the key that opens channel secrets.
    pub notify: notify::Sender,
}
