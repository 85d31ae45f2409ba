//! `kpi-arena bench-live`: a whole sales floor watching one instance. Starts the
//! instance as a child process (`kpi-arena serve`) on its own database (the demo
//! organisation, or the 10M-record database of `kpi-arena bench`), opens N event
//! streams against it over real HTTP, sends won deals through the records API one
//! at a time, and prints:
//!
//! - the instance's memory per open stream (its resident set, before and after);
//! - record → event: from sending the deal to its `won` event on every stream;
//! - record → fresh data: from sending the deal to the moment every re-reading
//!   stream holds a leaderboard with the deal in it. A re-reading stream does what
//!   a leaderboard page does: after each `changed` event it calls the `leaderboard`
//!   server function. The other streams only listen, as idle pages do.
//! - how many views the instance computed per deal (its `/api/v1/live` figures).
//!
//! It measures once the instance has settled (its scoring worker past the pass it makes at
//! start). A command that prints figures, not a test.

use crate::bench::percentile;
use anyhow::{bail, Context};
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

pub struct LiveOptions {
    pub streams: usize,
    pub deals: usize,
    /// Streams that re-read after each change (the rest only listen).
    pub readers: usize,
    pub on_bench_database: bool,
    /// HTTP/2 without TLS (prior knowledge), as a proxy would speak it: streams share connections.
    pub http2: bool,
}

/// What a stream tells the collector.
enum Heard {
    Opened,
    Won(usize, String, Instant),
    /// A re-read answered: the value of the deal's owner on the leaderboard.
    Read(usize, f64, Instant),
    Failed(String),
}

const PASSWORD: &str = "bench-live-password";
const REP_EMAIL: &str = "bench-live-rep@example.com";
const ADMIN_EMAIL: &str = "bench-live-admin@example.com";

pub async fn run(cluster_url: &str, options: LiveOptions) -> anyhow::Result<()> {
    // Each side (this process and the instance, which inherits the limit) holds a socket per
    // stream and per re-read in flight.
    let wanted_files = (options.streams + options.readers + 1024) as u64;
    let files = crate::raise_open_files(wanted_files);
    if files < wanted_files {
        bail!("{} streams need about {wanted_files} open files; this process may open {files}", options.streams);
    }
    let (base, _) = cluster_url.rsplit_once('/').expect("database URL has a path");
    let db_url = if options.on_bench_database {
        format!("{base}/kpi_arena_bench")
    } else {
        crate::recreate_database(cluster_url, "kpi_arena_live_bench").await?;
        format!("{base}/kpi_arena_live_bench")
    };
    let pool = crate::prepare_pool(&db_url).await.context("the benchmark database (run `kpi-arena bench` first?)")?;
    if !options.on_bench_database {
        let n = services::demo::load_demo(&pool, services::demo::DEMO_TIME_ZONE).await?;
        println!("demo organisation loaded ({n} records)");
    }
    let (owner, token) = accounts(&pool).await?;
    let reps: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE role = 'rep'").fetch_one(&pool).await?;
    let records: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM deals) + (SELECT count(*) FROM activities) + (SELECT count(*) FROM leads)",
    )
    .fetch_one(&pool)
    .await
    .unwrap_or(0);
    println!("database: {reps} reps, about {records} records");

    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .args(["serve", "--addr", &addr])
        .env("DATABASE_URL", &db_url)
        .env("KPI_ARENA_LOG", "warn")
        // Every stream on the bench's one HTTP/2 connection (a proxy would open more connections).
        .env("KPI_ARENA_HTTP2_MAX_STREAMS", (options.streams + options.readers + 100).to_string())
        .env_remove("KPI_ARENA_TEST_NOW")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting the instance")?;
    let result = measure(&format!("http://{addr}"), &owner, &token, &options).await;
    let _ = child.kill().await;
    pool.close().await;
    result
}

/// A rep who signs in (the deals' owner, the streams' user) and an admin's API token.
async fn accounts(pool: &PgPool) -> anyhow::Result<(String, String)> {
    use app::auth::Role;
    use store::users::{create_token, create_user, NewUser};
    let team: Option<String> =
        sqlx::query_scalar("SELECT id FROM teams ORDER BY id LIMIT 1").fetch_optional(pool).await?;
    for (email, name, role) in [(REP_EMAIL, "Bench Rep", Role::Rep), (ADMIN_EMAIL, "Bench Admin", Role::Admin)] {
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE email = $1)")
            .bind(email)
            .fetch_one(pool)
            .await?;
        if !exists {
            let team = (role == Role::Rep).then(|| team.clone()).flatten();
            let new = NewUser { email: email.into(), name: name.into(), role, team, password: PASSWORD.into() };
            create_user(pool, new).await?;
        }
    }
    let owner: String =
        sqlx::query_scalar("SELECT id FROM users WHERE email = $1").bind(REP_EMAIL).fetch_one(pool).await?;
    Ok((owner, create_token(pool, ADMIN_EMAIL, "bench-live").await?))
}

async fn measure(base: &str, owner: &str, token: &str, o: &LiveOptions) -> anyhow::Result<()> {
    // As a browser: Russian first (the pages' language comes from it, not from the database).
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::ACCEPT_LANGUAGE, reqwest::header::HeaderValue::from_static("ru-RU,ru;q=0.9"));
    let mut http = reqwest::Client::builder()
        .default_headers(headers)
        .cookie_store(true)
        .pool_max_idle_per_host(usize::MAX)
        .timeout(Duration::from_secs(120));
    if o.http2 {
        http = http.http2_prior_knowledge();
    }
    let http = http.build()?;
    let started = Instant::now();
    loop {
        if http.get(format!("{base}/login")).send().await.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("the instance did not start within a minute");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let res = http
        .post(format!("{base}/api/login"))
        .form(&[("email", REP_EMAIL), ("password", PASSWORD), ("next", "/leaderboard")])
        .send()
        .await?;
    if !res.status().is_success() && !res.status().is_redirection() {
        bail!("signing in failed: {}", res.status());
    }
    settled(&http, base).await?;
    let before = read(&http, base, owner).await.context("reading the leaderboard")?;
    let idle = figures(&http, base, token).await?;

    // Open the streams, a few hundred at a time. Readers re-read only once the first deal is
    // sent: a `changed` the instance tells while it starts (its first scoring pass over a large
    // database) would otherwise put 2,000 answers in flight while idle memory is measured.
    let (tx, mut rx) = mpsc::unbounded_channel();
    let armed = Arc::new(AtomicBool::new(false));
    let opening = Instant::now();
    for i in 0..o.streams {
        let reader = (i < o.readers).then(|| armed.clone());
        tokio::spawn(stream(i, http.clone(), base.to_string(), owner.to_string(), reader, tx.clone()));
        if i % 200 == 199 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let mut opened = 0;
    while opened < o.streams {
        match tokio::time::timeout(Duration::from_secs(60), rx.recv()).await {
            Ok(Some(Heard::Opened)) => opened += 1,
            Ok(Some(Heard::Failed(e))) => bail!("a stream failed to open ({opened} open): {e}"),
            Ok(Some(_)) => {}
            _ => bail!("only {opened} of {} streams opened within a minute", o.streams),
        }
    }
    let open_took = opening.elapsed();
    // Let the instance settle, then read its memory with every stream open.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let full = figures(&http, base, token).await?;
    let open_streams = full["open_streams"].as_u64().unwrap_or(0);
    let per_stream = |f: &serde_json::Value| f["resident_bytes"].as_f64().unwrap_or(0.0);
    let bytes_per_stream = (per_stream(&full) - per_stream(&idle)) / o.streams as f64;

    let mut events = Vec::new();
    let mut fresh = Vec::new();
    let mut all_fresh = Vec::new();
    let mut expected = before;
    let computed_before = full["views_computed"].as_u64().unwrap_or(0);
    armed.store(true, Ordering::Relaxed);
    for d in 0..o.deals {
        let id = format!("bench-live-{}-{d}", std::process::id());
        let amount = 1000.0 + d as f64;
        expected += amount;
        let at = app::clock::now().to_rfc3339();
        let body = serde_json::json!([{
            "kind": "deal", "id": id, "owner": owner, "amount": amount, "status": "won",
            "created_at": at, "closed_at": at,
        }]);
        let sent = Instant::now();
        let res = http.post(format!("{base}/api/v1/records")).bearer_auth(token).json(&body).send().await?;
        if !res.status().is_success() {
            bail!("sending deal {id} failed: {} {}", res.status(), res.text().await.unwrap_or_default());
        }
        let mut won_at: HashMap<usize, Instant> = HashMap::new();
        let mut fresh_at: HashMap<usize, Instant> = HashMap::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while won_at.len() < o.streams || fresh_at.len() < o.readers {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, rx.recv()).await {
                Ok(Some(Heard::Won(i, deals, t))) if deals.split(',').any(|x| x == id) => {
                    won_at.entry(i).or_insert(t);
                }
                Ok(Some(Heard::Read(i, value, t))) if (value - expected).abs() < 0.5 => {
                    fresh_at.entry(i).or_insert(t);
                }
                Ok(Some(Heard::Failed(e))) => bail!("a stream failed: {e}"),
                Ok(Some(_)) => {}
                _ => bail!(
                    "deal {d}: after 60 s, {} of {} streams heard it and {} of {} readers saw it",
                    won_at.len(),
                    o.streams,
                    fresh_at.len(),
                    o.readers
                ),
            }
        }
        let ms = |t: &Instant| t.duration_since(sent).as_secs_f64() * 1000.0;
        events.extend(won_at.values().map(ms));
        fresh.extend(fresh_at.values().map(ms));
        let last = fresh_at.values().map(ms).fold(0.0, f64::max);
        all_fresh.push(last);
        // Quiet between deals: the next one starts from a settled floor.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let after = figures(&http, base, token).await?;
    let computed = after["views_computed"].as_u64().unwrap_or(0).saturating_sub(computed_before);

    println!(
        "streams: {} asked, {open_streams} open on the instance (opened in {:.1} s, over {}); {} of them re-read after each change",
        o.streams,
        open_took.as_secs_f64(),
        if o.http2 { "HTTP/2 without TLS, shared connections" } else { "HTTP/1.1, a connection each" },
        o.readers
    );
    println!(
        "memory: {:.1} KB per open stream (instance resident set {:.1} MB idle, {:.1} MB with every stream open)",
        bytes_per_stream / 1024.0,
        per_stream(&idle) / 1048576.0,
        per_stream(&full) / 1048576.0
    );
    let line = |name: &str, samples: &mut Vec<f64>| {
        println!(
            "{name}: p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms ({} samples)",
            percentile(samples, 0.5),
            percentile(samples, 0.95),
            samples.iter().copied().fold(0.0, f64::max),
            samples.len()
        )
    };
    line("record → won event, every stream", &mut events);
    line("record → fresh leaderboard, every re-reading stream", &mut fresh);
    line("record → fresh leaderboard on the last re-reading stream, per deal", &mut all_fresh);
    println!(
        "views computed by the instance: {computed} for {} deals ({:.1} per deal, {} re-reads per deal); \
         instance lag from commit to the streams: p50 {} ms, p95 {} ms",
        o.deals,
        computed as f64 / o.deals.max(1) as f64,
        o.readers,
        after["lag_p50_ms"],
        after["lag_p95_ms"]
    );
    Ok(())
}

/// Waits until the instance's scoring worker is past its start: it re-evaluates every badge
/// then, which on 10,000,000 records keeps a core of the database busy for half a minute. A
/// floor's instance has been running for hours; the floor's figures are measured on such a one.
/// Settled: the worker came round within the last second at two looks 1.5 s apart (it beats at
/// least every second while it waits, and not at all during a long pass).
async fn settled(http: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut quiet = 0;
    while quiet < 2 {
        if started.elapsed() > Duration::from_secs(600) {
            bail!("the instance's scoring worker did not settle within 10 minutes");
        }
        let ready: serde_json::Value = http.get(format!("{base}/readyz")).send().await?.json().await?;
        let silent = ready["worker_silent_ms"].as_u64().unwrap_or(u64::MAX);
        quiet = if silent < 1_000 { quiet + 1 } else { 0 };
        tokio::time::sleep(Duration::from_millis(1_500)).await;
    }
    Ok(())
}

/// The owner's value on the default leaderboard (revenue, everyone, this month), as a page reads it.
async fn read(http: &reqwest::Client, base: &str, owner: &str) -> anyhow::Result<f64> {
    let res = http
        .post(format!("{base}/api/leaderboard"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await?;
    if !res.status().is_success() {
        bail!("leaderboard: {}", res.status());
    }
    // Every byte is read and parsed, as a page does; only the fields checked are kept.
    #[derive(serde::Deserialize)]
    struct Board {
        entries: Vec<Row>,
    }
    #[derive(serde::Deserialize)]
    struct Row {
        user_id: String,
        value: Option<f64>,
    }
    let board: Board = res.json().await.context("leaderboard without entries")?;
    Ok(board.entries.iter().find(|e| e.user_id == owner).and_then(|e| e.value).unwrap_or(0.0))
}

async fn figures(http: &reqwest::Client, base: &str, token: &str) -> anyhow::Result<serde_json::Value> {
    let res = http.get(format!("{base}/api/v1/live")).bearer_auth(token).send().await?;
    if !res.status().is_success() {
        bail!("/api/v1/live: {}", res.status());
    }
    Ok(res.json().await?)
}

/// One open page: its event stream, and (a reader) a re-read after each `changed`.
async fn stream(
    i: usize,
    http: reqwest::Client,
    base: String,
    owner: String,
    reader: Option<Arc<AtomicBool>>,
    tx: mpsc::UnboundedSender<Heard>,
) {
    let mut res = match http.get(format!("{base}/api/live")).timeout(Duration::from_secs(3600)).send().await {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => {
            let _ = tx.send(Heard::Failed(format!("stream {i}: {}", r.status())));
            return;
        }
        Err(e) => {
            let _ = tx.send(Heard::Failed(format!("stream {i}: {e}")));
            return;
        }
    };
    let mut buffer = String::new();
    let mut told_open = false;
    loop {
        let chunk = match res.chunk().await {
            Ok(Some(c)) => c,
            _ => return,
        };
        let now = Instant::now();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let field = |name: &str| {
                block.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim_start().to_string()).unwrap_or_default()
            };
            let (event, data) = (field("event:"), field("data:"));
            if !told_open {
                told_open = true;
                let _ = tx.send(Heard::Opened);
            }
            match event.as_str() {
                "won" => {
                    let _ = tx.send(Heard::Won(i, data, now));
                }
                "changed" if reader.as_ref().is_some_and(|armed| armed.load(Ordering::Relaxed)) => {
                    let heard = tx.clone();
                    let (http, base, owner) = (http.clone(), base.clone(), owner.clone());
                    tokio::spawn(async move {
                        match read(&http, &base, &owner).await {
                            Ok(value) => heard.send(Heard::Read(i, value, Instant::now())),
                            Err(e) => heard.send(Heard::Failed(format!("re-read {i}: {e}"))),
                        }
                    });
                }
                _ => {}
            }
        }
    }
}
