//! `kpi-arena bench-ingest`: the ingest path measured end to end. Starts the
//! real app (with its scoring worker) on a fresh database, sends won deals
//! through `POST /api/v1/records` in NDJSON batches over HTTP, and compares the
//! rate with binary `COPY` of the same rows into a table shaped like `deals`
//! (same columns and indexes; no triggers, no foreign keys) in the same run.
//! Then the scoring lag of one more batch of new deals, and the latency of
//! 1,000-record batches of new deals. A command that prints figures, not a test.

use app::auth::Role;
use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::PgPool;
use std::net::SocketAddr;
use std::time::Instant;

/// The backfill's deals close over the last 60 days (a first CRM sync); the
/// lag batch and the small batches in the last hour (a CRM sending new deals).
const BACKFILL: i64 = 60 * 86_400;
const LIVE: i64 = 3_600;

pub struct IngestOptions {
    pub reps: usize,
    pub deals: usize,
    pub batch: usize,
    pub small_batches: usize,
    /// On `kpi_arena_bench` (loaded by `kpi-arena bench`): the lag and the small batches only.
    pub on_bench_database: bool,
}

struct Deal {
    id: String,
    owner: String,
    cents: i64,
    created_at: DateTime<Utc>,
    closed_at: DateTime<Utc>,
}

impl Deal {
    fn json(&self) -> String {
        format!(
            r#"{{"kind":"deal","id":"{}","owner":"{}","amount":"{}.{:02}","status":"won","created_at":"{}","closed_at":"{}"}}"#,
            self.id,
            self.owner,
            self.cents / 100,
            self.cents % 100,
            self.created_at.to_rfc3339(),
            self.closed_at.to_rfc3339()
        )
    }
}

/// `count` won deals of `reps` reps closed in the `seconds` before now, ids `prefix-N`.
fn deals(rng: &mut StdRng, prefix: &str, count: usize, reps: usize, seconds: i64) -> Vec<Deal> {
    let now = app::clock::now();
    (0..count)
        .map(|n| {
            let closed_at = now - Duration::seconds(rng.gen_range(1..seconds));
            Deal {
                id: format!("{prefix}-{n}"),
                owner: format!("u{}", rng.gen_range(0..reps)),
                cents: rng.gen_range(10_000..10_000_000),
                created_at: closed_at - Duration::hours(rng.gen_range(1..500)),
                closed_at,
            }
        })
        .collect()
}

pub async fn run(server_url: &str, mut o: IngestOptions) -> anyhow::Result<()> {
    let (base, _) = server_url.rsplit_once('/').expect("database URL has a path");
    let url = if o.on_bench_database {
        format!("{base}/kpi_arena_bench")
    } else {
        crate::recreate_database(server_url, "kpi_arena_bench_ingest").await?;
        format!("{base}/kpi_arena_bench_ingest")
    };
    let pool = crate::prepare_pool(&url).await?;
    if o.on_bench_database {
        let records: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM deals) + (SELECT count(*) FROM leads) + (SELECT count(*) FROM activities)
                  + (SELECT count(*) FROM customers) + (SELECT count(*) FROM meeting_requests) + (SELECT count(*) FROM feedback)",
        )
        .fetch_one(&pool)
        .await?;
        anyhow::ensure!(records > 0, "kpi_arena_bench is empty: run `kpi-arena bench` first");
        o.reps = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM users WHERE role = 'rep' AND id ~ '^u[0-9]+$'")
            .fetch_one(&pool)
            .await? as usize;
        println!("on kpi_arena_bench: {records} records, {} reps", o.reps);
        // The bench's earlier runs leave their own user and deals; the ids below are new each run.
        sqlx::query("DELETE FROM users WHERE email = 'bench@bench.local'").execute(&pool).await?;
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr: SocketAddr = listener.local_addr()?;
    let app = crate::build_app(pool.clone(), crate::leptos_options(addr));
    tokio::spawn(crate::serve_until(app, listener, std::future::pending()));
    let base = format!("http://{addr}");
    store::users::create_user(
        &pool,
        store::users::NewUser {
            email: "bench@bench.local".into(),
            name: "Bench".into(),
            role: Role::Admin,
            team: None,
            password: "bench-password-long".into(),
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let token =
        store::users::create_token(&pool, "bench@bench.local", "bench").await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let client = reqwest::Client::new();
    let post = |body: String, wait: bool| {
        let url = format!("{base}/api/v1/records{}", if wait { "?wait=scores" } else { "" });
        client.post(url).bearer_auth(&token).header("content-type", "application/x-ndjson").body(body).send()
    };

    let mut people = String::new();
    for t in 0..o.reps.div_ceil(10) {
        people += &format!("{{\"kind\":\"team\",\"id\":\"t{t}\",\"name\":\"Team {t}\",\"region\":\"R{}\"}}\n", t % 8);
    }
    for u in 0..o.reps {
        people += &format!(
            "{{\"kind\":\"user\",\"id\":\"u{u}\",\"name\":\"Rep {u}\",\"email\":\"u{u}@bench.local\",\"role\":\"rep\",\"team\":\"t{}\"}}\n",
            u / 10
        );
    }
    let mut rng = StdRng::seed_from_u64(11);
    if o.on_bench_database {
        // Let the worker's start-up pass (every badge for everyone) finish before timing anything.
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        while store::work::pending(&pool).await? > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let run = chrono::Utc::now().timestamp();
        let live = live_batches(&pool, &post, &mut rng, &o, &format!("r{run}")).await?;
        println!("ingest on the benchmark database (kpi_arena_bench)");
        live.print(&o);
        pool.close().await;
        return Ok(());
    }
    anyhow::ensure!(post(people, true).await?.status() == 200, "storing the reps failed");

    let all = deals(&mut rng, "d", o.deals, o.reps, BACKFILL);
    let bodies: Vec<String> =
        all.chunks(o.batch).map(|c| c.iter().map(|d| d.json() + "\n").collect::<String>()).collect();

    // 1. The API: every batch answered once committed; the worker scores beside it.
    let started = Instant::now();
    let mut batch_ms = Vec::new();
    for body in bodies {
        let t = Instant::now();
        let res = post(body, false).await?;
        anyhow::ensure!(res.status() == 200, "a batch failed: {}", res.text().await?);
        batch_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let api_secs = started.elapsed().as_secs_f64();
    let t = Instant::now();
    while store::work::pending(&pool).await? > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let drain_secs = t.elapsed().as_secs_f64();

    // 2. Binary COPY of the same rows into a table shaped like `deals`.
    let copy_secs = copy_same_rows(&pool, &all).await?;

    // 3 and 4: the scoring lag of one more batch, then 1,000-record batches.
    let live = live_batches(&pool, &post, &mut rng, &o, "").await?;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM deals").fetch_one(&pool).await?;
    let points: i64 = sqlx::query_scalar("SELECT count(*) FROM points_entries").fetch_one(&pool).await?;
    let api_rate = o.deals as f64 / api_secs;
    let copy_rate = o.deals as f64 / copy_secs;
    println!("ingest benchmark: {} reps, {} won deals in NDJSON batches of {}", o.reps, o.deals, o.batch);
    println!(
        "  API (HTTP, committed):   {api_secs:8.1} s  {api_rate:9.0} deals/s  batch p50 {:.0} ms, p95 {:.0} ms",
        percentile(&mut batch_ms, 0.5),
        percentile(&mut batch_ms, 0.95)
    );
    println!("  binary COPY, same rows:  {copy_secs:8.1} s  {copy_rate:9.0} rows/s");
    println!("  API / COPY:              {:8.1} %  (goal >= 30 %)", 100.0 * api_rate / copy_rate);
    println!("  scoring caught up:       {drain_secs:8.1} s after the last batch's answer");
    live.print(&o);
    println!("  stored: {stored} deals, {points} ledger rows");
    pool.close().await;
    Ok(())
}

/// What the live batches measured: the lag of one batch, and 1,000-record batches.
struct Live {
    lag_ms: f64,
    plain: Vec<f64>,
    scored: Vec<f64>,
    late: usize,
}

impl Live {
    fn print(mut self, o: &IngestOptions) {
        println!("  scoring lag, {}-record batch: {:.0} ms from commit to scores current", o.batch, self.lag_ms);
        println!(
            "  1,000-record batch:      p50 {:.0} ms, p95 {:.0} ms (answer); with ?wait=scores p50 {:.0} ms, p95 {:.0} ms",
            percentile(&mut self.plain, 0.5),
            percentile(&mut self.plain, 0.95),
            percentile(&mut self.scored, 0.5),
            percentile(&mut self.scored, 0.95)
        );
        println!("  ?wait=scores answered 202 (scores still pending after 10 s): {} of {}", self.late, o.small_batches);
    }
}

/// One batch of `o.batch` new deals (the lag: from the committed answer to no
/// work pending), then `o.small_batches` of 1,000 new deals, each sent plain
/// and with `?wait=scores`, the work drained between them. Ids start with `prefix`.
async fn live_batches<F, Fut>(
    pool: &PgPool,
    post: &F,
    rng: &mut StdRng,
    o: &IngestOptions,
    prefix: &str,
) -> anyhow::Result<Live>
where
    F: Fn(String, bool) -> Fut,
    Fut: std::future::Future<Output = reqwest::Result<reqwest::Response>>,
{
    // 3. Scoring lag of one more batch: from the API's answer (commit) to "scores current".
    let extra = deals(rng, &format!("{prefix}lag"), o.batch, o.reps, LIVE);
    let body: String = extra.iter().map(|d| d.json() + "\n").collect();
    let res = post(body, false).await?;
    anyhow::ensure!(res.status() == 200, "the lag batch failed");
    let t = Instant::now();
    while store::work::pending(pool).await? > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let lag_ms = t.elapsed().as_secs_f64() * 1000.0;

    // 4. 1,000-record batches: the answer, and the answer with `?wait=scores`.
    let (mut plain, mut scored, mut late) = (Vec::new(), Vec::new(), 0);
    for i in 0..o.small_batches {
        for (wait, into) in [(false, &mut plain), (true, &mut scored)] {
            let small = deals(rng, &format!("{prefix}s{i}{wait}"), 1000, o.reps, LIVE);
            let body: String = small.iter().map(|d| d.json() + "\n").collect();
            let t = Instant::now();
            let res = post(body, wait).await?;
            anyhow::ensure!(res.status().is_success(), "a small batch failed: {}", res.status());
            late += usize::from(res.status() == 202);
            into.push(t.elapsed().as_secs_f64() * 1000.0);
            while store::work::pending(pool).await? > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
    }

    Ok(Live { lag_ms, plain, scored, late })
}

fn percentile(samples: &mut [f64], q: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1]
}

/// Seconds for `COPY … FROM STDIN (FORMAT binary)` of the deals into a copy of `deals`' shape.
async fn copy_same_rows(pool: &PgPool, all: &[Deal]) -> anyhow::Result<f64> {
    sqlx::query("DROP TABLE IF EXISTS bench_copy").execute(pool).await?;
    sqlx::query("CREATE TABLE bench_copy (LIKE deals INCLUDING DEFAULTS INCLUDING INDEXES)").execute(pool).await?;
    let mut data = Vec::with_capacity(all.len() * 120);
    data.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
    data.extend_from_slice(&0i32.to_be_bytes());
    data.extend_from_slice(&0i32.to_be_bytes());
    let epoch = DateTime::parse_from_rfc3339("2000-01-01T00:00:00Z").expect("the PostgreSQL epoch").with_timezone(&Utc);
    let micros = |t: DateTime<Utc>| (t - epoch).num_microseconds().expect("in range");
    for d in all {
        data.extend_from_slice(&7i16.to_be_bytes());
        for text in [d.id.as_str(), d.owner.as_str()] {
            data.extend_from_slice(&(text.len() as i32).to_be_bytes());
            data.extend_from_slice(text.as_bytes());
        }
        let amount = numeric(d.cents);
        data.extend_from_slice(&(amount.len() as i32).to_be_bytes());
        data.extend_from_slice(&amount);
        for text in ["new", "won"] {
            data.extend_from_slice(&(text.len() as i32).to_be_bytes());
            data.extend_from_slice(text.as_bytes());
        }
        for t in [d.created_at, d.closed_at] {
            data.extend_from_slice(&8i32.to_be_bytes());
            data.extend_from_slice(&micros(t).to_be_bytes());
        }
    }
    data.extend_from_slice(&(-1i16).to_be_bytes());
    let started = Instant::now();
    let mut conn = pool.acquire().await?;
    let mut copy = conn
        .copy_in_raw("COPY bench_copy (id, owner_id, amount, deal_type, status, created_at, closed_at) FROM STDIN (FORMAT binary)")
        .await?;
    copy.send(data).await?;
    let rows = copy.finish().await?;
    anyhow::ensure!(rows as usize == all.len(), "COPY stored {rows} rows");
    Ok(started.elapsed().as_secs_f64())
}

/// PostgreSQL's binary NUMERIC for `cents` / 100 (non-negative): base-10000 digits.
fn numeric(cents: i64) -> Vec<u8> {
    // Scale to 4 decimal digits so the fraction is exactly one base-10000 digit.
    let mut value = cents as u128 * 100;
    let mut digits = Vec::new();
    while value > 0 {
        digits.push((value % 10_000) as i16);
        value /= 10_000;
    }
    digits.reverse();
    // The last digit is the fraction: weight of the first is (count - 2).
    let weight = digits.len() as i16 - 2;
    while digits.last() == Some(&0) {
        digits.pop();
    }
    let mut out = Vec::new();
    out.extend_from_slice(&(digits.len() as i16).to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&0i16.to_be_bytes()); // positive
    out.extend_from_slice(&2i16.to_be_bytes()); // dscale
    for d in digits {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn numeric_digits() {
        // 1234.56 = 1234 | 5600 (weight 0)
        assert_eq!(super::numeric(123_456), [0, 2, 0, 0, 0, 0, 0, 2, 0x04, 0xd2, 0x15, 0xe0]);
        // 100.00 = 100 (weight 0), trailing zero digit dropped
        assert_eq!(super::numeric(10_000), [0, 1, 0, 0, 0, 0, 0, 2, 0, 100]);
    }
}
