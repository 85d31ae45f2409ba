//! The app's one clock. Every "now" of the domain (periods, asof, challenges,
//! badges, points, the demo's history) reads `now()`, and SQL reads
//! `arena_now()`, which follows the same offset (set per connection by
//! `store::connect`).
//!
//! `KPI_ARENA_TEST_NOW` (test-only; an RFC 3339 instant such as
//! `2027-12-31T23:30:00+03:00`) starts the clock at that instant when the
//! process starts; from there it runs forward in real time. The date-matrix
//! script uses it to run the whole suite on chosen dates. Never set it in
//! production.

use chrono::{DateTime, Duration, Utc};
use std::sync::OnceLock;

/// The test-only variable that pins the clock's start.
pub const TEST_NOW: &str = "KPI_ARENA_TEST_NOW";

fn offset() -> Duration {
    static OFFSET: OnceLock<Duration> = OnceLock::new();
    *OFFSET.get_or_init(|| match pinned_start() {
        Ok(Some(start)) => start - Utc::now(),
        // `init` has reported a bad value where the binary starts; tests fail loudly here.
        Err(e) => panic!("{e}"),
        Ok(None) => Duration::zero(),
    })
}

fn pinned_start() -> Result<Option<DateTime<Utc>>, String> {
    match std::env::var(TEST_NOW) {
        Ok(value) if !value.trim().is_empty() => DateTime::parse_from_rfc3339(value.trim())
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|e| format!("{TEST_NOW}={value:?} is not an RFC 3339 instant ({e})")),
        _ => Ok(None),
    }
}

/// Checks `KPI_ARENA_TEST_NOW` and starts the clock; the binary calls it first.
pub fn init() -> Result<(), String> {
    pinned_start()?;
    offset();
    Ok(())
}

/// Now, on the app's clock.
pub fn now() -> DateTime<Utc> {
    Utc::now() + offset()
}

/// Whether the clock is pinned by `KPI_ARENA_TEST_NOW`.
pub fn is_pinned() -> bool {
    !offset().is_zero()
}

/// The offset from the wall clock in microseconds, for `arena_now()`.
pub fn pg_offset() -> String {
    offset().num_microseconds().unwrap_or(0).to_string()
}
