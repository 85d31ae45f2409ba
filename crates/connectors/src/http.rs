//! Calls to a CRM: within its request budget, pausing when its rate-limit headers say the budget
//! is spent, and waiting out its "too many requests" answers.

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

/// Why a call to the CRM failed, in words an admin can act on.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CrmError {
    #[error("the CRM refused the token (HTTP {0}): it is wrong, expired or lacks access")]
    Unauthorized(u16),
    #[error("the CRM cannot be reached at {0}: {1}")]
    Unreachable(String, String),
    #[error("the CRM kept answering \"too many requests\" after {0} attempts")]
    RateLimited(u32),
    #[error("the CRM answered HTTP {0}: {1}")]
    Status(u16, String),
    #[error("the CRM's answer is not what its API documents: {0}")]
    Unexpected(String),
    #[error("the webhook is refused: {0}")]
    Refused(String),
    /// An OAuth authorization the CRM would not give.
    #[error("{0}")]
    Authorization(String),
}

/// Attempts of one call before a rate-limit answer is given up on.
const ATTEMPTS: u32 = 6;

/// One limiter per connector (its id and address: an unsaved one's previews are told apart by the
/// address) and process, shared by every task calling that CRM.
static LIMITERS: LazyLock<Mutex<HashMap<String, Arc<DefaultDirectRateLimiter>>>> = LazyLock::new(Default::default);

/// Until when each connector's CRM said its budget is spent (its rate-limit headers).
static PAUSES: LazyLock<Mutex<HashMap<String, Instant>>> = LazyLock::new(Default::default);

/// How long a CRM's answer asks the next call to wait: its budget is spent (`remaining` 0) until
/// it resets. Pipedrive (and the common convention): `x-ratelimit-remaining` and
/// `x-ratelimit-reset` (seconds); HubSpot: `x-hubspot-ratelimit-remaining` with its interval
/// (`…-interval-milliseconds`), and `x-hubspot-ratelimit-secondly-remaining` (a second).
pub fn spent(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    // Clamped to a minute before it becomes a duration (`inf` or `1e30` would not fit one).
    let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<f64>().ok().map(|n| n.clamp(0.0, 60.0));
    let zero = |name: &str| number(name).is_some_and(|n| n <= 0.0);
    let wait = if zero("x-ratelimit-remaining") {
        Duration::from_secs_f64(number("x-ratelimit-reset").unwrap_or(1.0))
    } else if zero("x-hubspot-ratelimit-remaining") {
        Duration::from_millis(
            headers
                .get("x-hubspot-ratelimit-interval-milliseconds")
                .and_then(|v| v.to_str().ok()?.trim().parse::<f64>().ok())
                .map_or(1000, |ms| ms.clamp(0.0, 60_000.0) as u64),
        )
    } else if zero("x-hubspot-ratelimit-secondly-remaining") {
        Duration::from_secs(1)
    } else {
        return None;
    };
    Some(wait.min(Duration::from_secs(60)))
}

fn limiter(key: &str, per_second: u32) -> Arc<DefaultDirectRateLimiter> {
    let mut all = LIMITERS.lock().expect("limiters lock");
    all.entry(key.to_string())
        .or_insert_with(|| {
            let rate = NonZeroU32::new(per_second.max(1)).expect("non-zero");
            Arc::new(RateLimiter::direct(Quota::per_second(rate).allow_burst(NonZeroU32::MIN)))
        })
        .clone()
}

/// How a CRM's API is told who calls.
#[derive(Clone)]
pub enum Auth {
    /// Nothing beyond the address (Bitrix24's inbound webhook holds its secret).
    None,
    /// `Authorization: Bearer <token>` (amoCRM, HubSpot).
    Bearer(String),
    /// A header of the CRM's own (Pipedrive's `x-api-token`).
    Header(&'static str, String),
}

/// A CRM's HTTP API: a base address, how to authenticate, a budget.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    pub base: String,
    /// `base` without its path (Bitrix24's holds the secret): what logs and errors show.
    shown: String,
    auth: Auth,
    limiter: Arc<DefaultDirectRateLimiter>,
    /// The connector's id and address: what its budget is kept under.
    key: String,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("kpi-arena/", env!("CARGO_PKG_VERSION")))
        // A redirect elsewhere would carry the token (a custom header survives a change of host).
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

impl Api {
    /// `connector` keys the budget (0 for a connector not saved yet); `per_second` is the CRM's limit.
    pub fn new(base: &str, auth: Auth, connector: i64, per_second: u32) -> Api {
        let base = base.trim_end_matches('/').to_string();
        let shown = match base.split_once("://") {
            Some((scheme, rest)) => format!("{scheme}://{}", rest.split('/').next().unwrap_or("")),
            None => String::new(),
        };
        let key = format!("{connector} {shown}");
        Api { client: client(), base, shown, auth, limiter: limiter(&key, per_second), key }
    }

    /// GETs `path` (with its query) and returns the JSON, or `None` for 204 No Content.
    pub async fn get(&self, path: &str) -> Result<Option<serde_json::Value>, CrmError> {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// POSTs `body` as JSON to `path` (a search) and returns the JSON answer.
    pub async fn post(&self, path: &str, body: &serde_json::Value) -> Result<Option<serde_json::Value>, CrmError> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Option<serde_json::Value>, CrmError> {
        let url = format!("{}{path}", self.base);
        let mut wait = Duration::from_millis(500);
        for attempt in 1..=ATTEMPTS {
            let paused = PAUSES.lock().expect("pauses lock").get(&self.key).copied();
            if let Some(until) = paused.filter(|until| *until > Instant::now()) {
                tracing::info!(crm = %self.shown, pause_ms = (until - Instant::now()).as_millis() as u64, "the CRM's budget is spent until it resets");
                tokio::time::sleep_until(until.into()).await;
            }
            self.limiter.until_ready().await;
            let mut request = self.client.request(method.clone(), &url);
            request = match &self.auth {
                Auth::None => request,
                Auth::Bearer(token) => request.bearer_auth(token),
                Auth::Header(name, token) => request.header(*name, token),
            };
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request
                .send()
                .await
                .map_err(|e| CrmError::Unreachable(self.shown.clone(), e.without_url().to_string()))?;
            let status = response.status().as_u16();
            if let Some(wait) = spent(response.headers()) {
                PAUSES.lock().expect("pauses lock").insert(self.key.clone(), Instant::now() + wait);
            }
            match status {
                204 => return Ok(None),
                200..=299 => {
                    let text = response.text().await.map_err(|e| CrmError::Unexpected(e.to_string()))?;
                    if text.trim().is_empty() {
                        return Ok(None);
                    }
                    return serde_json::from_str(&text).map(Some).map_err(|e| CrmError::Unexpected(e.to_string()));
                }
                401 | 403 => return Err(CrmError::Unauthorized(status)),
                429 | 503 => {
                    if attempt == ATTEMPTS {
                        return Err(CrmError::RateLimited(ATTEMPTS));
                    }
                    let asked = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let pause = asked.unwrap_or(wait).min(Duration::from_secs(60));
                    tracing::info!(crm = %self.shown, status, pause_ms = pause.as_millis() as u64, "the CRM asks to slow down");
                    tokio::time::sleep(pause).await;
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
                _ => {
                    let text = response.text().await.unwrap_or_default();
                    return Err(CrmError::Status(status, text.chars().take(300).collect()));
                }
            }
        }
        Err(CrmError::RateLimited(ATTEMPTS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (reqwest::header::HeaderName::from_static(k), HeaderValue::from_static(v))).collect()
    }

    #[test]
    fn a_spent_budget_pauses_until_the_crm_says_it_resets() {
        assert_eq!(
            spent(&headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "2")])),
            Some(Duration::from_secs(2))
        );
        assert_eq!(spent(&headers(&[("x-ratelimit-remaining", "3"), ("x-ratelimit-reset", "2")])), None);
        assert_eq!(
            spent(&headers(&[
                ("x-hubspot-ratelimit-remaining", "0"),
                ("x-hubspot-ratelimit-interval-milliseconds", "10000")
            ])),
            Some(Duration::from_secs(10))
        );
        assert_eq!(spent(&headers(&[("x-hubspot-ratelimit-secondly-remaining", "0")])), Some(Duration::from_secs(1)));
        // A reset far away is capped at a minute; no headers, no pause.
        assert_eq!(
            spent(&headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "86400")])),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            spent(&headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "inf")])),
            Some(Duration::from_secs(60))
        );
        assert_eq!(spent(&HeaderMap::new()), None);
    }
}
