//! `kpi-arena bench-http`: requests per second and latencies of one API route on a running
//! instance, from N clients at once for a fixed time. `scripts/scaleout.sh` runs it against
//! instances through PgBouncer, with and without the read replica, and direct.

use crate::bench::percentile;
use std::time::{Duration, Instant};

pub struct HttpOptions {
    /// The instance's base URL (`http://127.0.0.1:3000`).
    pub url: String,
    /// What to request: a path with its query (`/api/v1/kpis?scope=org&period=2025-03`).
    pub path: String,
    /// An API token to send as the bearer token.
    pub token: String,
    pub clients: usize,
    pub seconds: u64,
}

/// What a run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub requests: usize,
    pub failures: usize,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
}

pub async fn run(options: HttpOptions) -> anyhow::Result<()> {
    let figures = measure(&options).await?;
    println!(
        "{} {} clients {} s: {:.0} requests/s, p50 {:.1} ms, p95 {:.1} ms ({} requests, {} failed)",
        options.url,
        options.clients,
        options.seconds,
        figures.per_second,
        figures.p50_ms,
        figures.p95_ms,
        figures.requests,
        figures.failures
    );
    anyhow::ensure!(figures.failures == 0, "{} of {} requests failed", figures.failures, figures.requests);
    Ok(())
}

pub async fn measure(options: &HttpOptions) -> anyhow::Result<Figures> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(options.clients).build()?;
    let target = format!("{}{}", options.url.trim_end_matches('/'), options.path);
    // One request first: a wrong URL or token is an error, not a figure.
    let first = client.get(&target).bearer_auth(&options.token).send().await?;
    anyhow::ensure!(first.status().is_success(), "GET {target} answered {}", first.status());
    let end = Instant::now() + Duration::from_secs(options.seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..options.clients)
        .map(|_| {
            let (client, target, token) = (client.clone(), target.clone(), options.token.clone());
            tokio::spawn(async move {
                let (mut took, mut failures) = (Vec::new(), 0usize);
                while Instant::now() < end {
                    let at = Instant::now();
                    let ok = match client.get(&target).bearer_auth(&token).send().await {
                        Ok(res) => res.status().is_success() && res.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    took.push(at.elapsed().as_secs_f64() * 1000.0);
                    failures += usize::from(!ok);
                }
                (took, failures)
            })
        })
        .collect();
    let (mut took, mut failures) = (Vec::new(), 0);
    for task in tasks {
        let (t, f) = task.await?;
        took.extend(t);
        failures += f;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let requests = took.len();
    let (p50_ms, p95_ms) = (percentile(&mut took, 0.5), percentile(&mut took, 0.95));
    Ok(Figures { requests, failures, per_second: requests as f64 / elapsed, p50_ms, p95_ms })
}
