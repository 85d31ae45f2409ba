//! What every request handler and server function can reach on the server.

use governor::{clock::DefaultClock, state::keyed::DefaultKeyedStateStore, Quota, RateLimiter};
use leptos::config::LeptosOptions;
use sqlx::PgPool;
use std::{num::NonZeroU32, sync::Arc};

pub type KeyedLimiter = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>;

/// Failed-login throttles: one per account (email), one per client address.
pub struct LoginLimits {
    pub per_account: KeyedLimiter,
    pub per_ip: KeyedLimiter,
}

impl LoginLimits {
    /// 5 attempts per account and 20 per address, refilling one every 12 s / 3 s.
    pub fn new() -> Self {
        let per_minute = |n| Quota::per_minute(NonZeroU32::new(n).expect("non-zero quota"));
        LoginLimits {
            per_account: RateLimiter::keyed(per_minute(5)),
            per_ip: RateLimiter::keyed(per_minute(20)),
        }
    }
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Clone, axum::extract::FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    pub login_limits: Arc<LoginLimits>,
}
