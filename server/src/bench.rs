//! `kpi-arena bench`: builds a large synthetic organisation in its own
//! database and prints p50/p95 latencies of KPI cards and leaderboards, plus
//! the generator's load rate. A command that prints figures, not a test.

use app::kpi::{Scope, ScopeKind, KPIS};
use app::period::{Period, PeriodKind};
use app::records::*;
use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use sqlx::PgPool;
use std::time::Instant;
use store::kpis::{card, leaderboard, Window};
use store::records::upsert_records;

pub struct BenchOptions {
    pub reps: usize,
    pub records: usize,
    pub iterations: usize,
    pub skip_load: bool,
}

/// Runs the benchmark against database `kpi_arena_bench` next to `server_url`'s database.
pub async fn run(server_url: &str, options: BenchOptions) -> anyhow::Result<()> {
    let (base, _) = server_url.rsplit_once('/').expect("database URL has a path");
    let bench_url = format!("{base}/kpi_arena_bench");
    if !options.skip_load {
        crate::recreate_database(server_url, "kpi_arena_bench").await?;
    }
    let pool = crate::prepare_pool(&bench_url).await?;
    if !options.skip_load {
        load(&pool, options.reps, options.records).await?;
    }
    measure(&pool, options.iterations).await
}

const TEAM_SIZE: usize = 10;

async fn load(pool: &PgPool, reps: usize, records: usize) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(7);
    let now = app::clock::now();
    let teams = reps.div_ceil(TEAM_SIZE);
    let mut base = Vec::new();
    for t in 0..teams {
        base.push(Record::Team(Team { id: format!("t{t}"), name: format!("Team {t}"), region: format!("R{}", t % 8) }));
    }
    for u in 0..reps {
        base.push(Record::User(User {
            id: format!("u{u}"),
            name: format!("Rep {u:04}"),
            email: format!("rep{u}@bench.local"),
            role: "rep".into(),
            team: Some(format!("t{}", u / TEAM_SIZE)),
        }));
    }
    for p in 0..20 {
        base.push(Record::Product(Product {
            id: format!("p{p}"),
            name: format!("Product {p}"),
            price: Decimal::new(10_000 + p * 1_000, 0),
        }));
    }
    let customers = (records / 20).max(reps);
    for c in 0..customers {
        let acquired = now - Duration::minutes(rng.gen_range(0..2 * 365 * 24 * 60));
        base.push(Record::Customer(Customer {
            id: format!("c{c}"),
            name: format!("Customer {c}"),
            region: format!("R{}", c % 8),
            owner: format!("u{}", c % reps),
            acquired_at: acquired,
            churned_at: rng.gen_bool(0.1).then(|| acquired + Duration::days(rng.gen_range(1..300))),
        }));
    }
    let started = Instant::now();
    store(pool, &base).await?;
    let mut written = base.len();
    // The rest: leads, deals, activities, meetings, feedback, costs, competitor prices.
    let remaining = records.saturating_sub(written);
    let leads = remaining / 5;
    let mut chunk = Vec::with_capacity(50_000);
    let mut n = 0usize;
    while written < records {
        let owner = format!("u{}", rng.gen_range(0..reps));
        let at: DateTime<Utc> = now - Duration::minutes(rng.gen_range(0..2 * 365 * 24 * 60));
        let roll = rng.gen_range(0..100);
        let record = if n < leads {
            let contacted = at + Duration::minutes(rng.gen_range(1..600));
            Record::Lead(Lead {
                id: format!("l{n}"),
                owner,
                created_at: at,
                source: Some("web".into()),
                cost: Some(Decimal::new(rng.gen_range(100..5_000), 0)),
                qualified_at: rng.gen_bool(0.5).then(|| at + Duration::hours(5)),
                first_contact_at: Some(contacted),
                followed_up_at: rng.gen_bool(0.6).then(|| contacted + Duration::days(1)),
                converted_at: rng.gen_bool(0.2).then(|| at + Duration::days(10)),
                customer: None,
            })
        } else if roll < 30 {
            let status = ["open", "won", "lost"][rng.gen_range(0..3)];
            Record::Deal(Deal {
                id: format!("d{n}"),
                owner,
                customer: Some(format!("c{}", rng.gen_range(0..customers))),
                product: Some(format!("p{}", rng.gen_range(0..20))),
                amount: Decimal::new(rng.gen_range(1_000..1_000_000), 2),
                deal_type: ["new", "upsell", "cross_sell"][rng.gen_range(0..3)].into(),
                created_at: at,
                status: status.into(),
                closed_at: (status != "open").then(|| at + Duration::days(rng.gen_range(1..60))),
            })
        } else if roll < 85 {
            Record::Activity(Activity {
                id: format!("a{n}"),
                owner,
                activity_type: "call".into(),
                at,
                customer: rng.gen_bool(0.5).then(|| format!("c{}", rng.gen_range(0..customers))),
                lead: None,
            })
        } else if roll < 93 {
            Record::MeetingRequest(MeetingRequest {
                id: format!("m{n}"),
                owner,
                proposed_at: at,
                outcome: ["pending", "accepted", "declined"][rng.gen_range(0..3)].into(),
                customer: None,
                lead: None,
            })
        } else if roll < 99 {
            Record::Feedback(Feedback {
                id: format!("f{n}"),
                owner: Some(owner),
                customer: None,
                at,
                sentiment: ["positive", "neutral", "negative"][rng.gen_range(0..3)].into(),
            })
        } else if rng.gen_bool(0.5) {
            Record::Cost(Cost {
                id: format!("k{n}"),
                at: at.date_naive(),
                category: ["marketing", "sales"][rng.gen_range(0..2)].into(),
                amount: Decimal::new(rng.gen_range(1_000..100_000), 0),
                team: Some(format!("t{}", rng.gen_range(0..teams))),
            })
        } else {
            Record::CompetitorPrice(CompetitorPrice {
                id: format!("cp{n}"),
                competitor: format!("C{}", rng.gen_range(0..5)),
                product: format!("p{}", rng.gen_range(0..20)),
                price: Decimal::new(rng.gen_range(5_000..20_000), 0),
                at,
            })
        };
        chunk.push(record);
        n += 1;
        written += 1;
        if chunk.len() == 50_000 {
            store(pool, &chunk).await?;
            chunk.clear();
            eprint!("\r  loaded {written} / {records} records");
        }
    }
    store(pool, &chunk).await?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!();
    // A database in steady state: autovacuum would have done this by the time anyone reads it.
    sqlx::query("VACUUM ANALYZE").execute(pool).await?;
    println!(
        "## Load\n\n{records} records ({reps} reps) in {seconds:.1} s: {:.0} records/s\n",
        records as f64 / seconds
    );
    Ok(())
}

async fn store(pool: &PgPool, records: &[Record]) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    upsert_records(&mut tx, records).await?;
    tx.commit().await?;
    Ok(())
}

/// The `p` quantile (0 to 1) of `samples`, sorting them; 0 when there are none. The
/// benchmarks' one definition (`bench-ingest` keeps its nearest-rank one).
pub(crate) fn percentile(samples: &mut [f64], p: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.sort_by(f64::total_cmp);
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

async fn measure(pool: &PgPool, iterations: usize) -> anyhow::Result<()> {
    let tz = chrono_tz::UTC;
    let today = app::clock::now().date_naive();
    let periods = [
        ("month", Period::containing(PeriodKind::Month, today)),
        ("year", Period::containing(PeriodKind::Year, today)),
    ];
    let scopes = [("org", Scope::Org), ("team", Scope::Team("t0".into())), ("rep", Scope::Rep("u0".into()))];
    println!(
        "## KPI card (all KPIs of the scope, one period)\n\n| scope | period | p50 ms | p95 ms |\n|---|---|---|---|"
    );
    for (scope_name, scope) in &scopes {
        for (period_name, period) in &periods {
            let (start, end) = period.bounds(tz);
            // One untimed call first: a running server's pool is connected and its statements prepared.
            card(pool, scope, Window::new(start, end, tz), Some(&period.to_string())).await?;
            let mut samples = Vec::new();
            for _ in 0..iterations {
                let t = Instant::now();
                card(pool, scope, Window::new(start, end, tz), Some(&period.to_string())).await?;
                samples.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            println!(
                "| {scope_name} | {period_name} | {:.1} | {:.1} |",
                percentile(&mut samples, 0.5),
                percentile(&mut samples, 0.95)
            );
        }
    }
    // A leaderboard gathers only what its KPI reads: measure every KPI a rep has.
    println!("\n## Leaderboard over all reps, this month, by each KPI\n\n| KPI | p50 ms | p95 ms |\n|---|---|---|");
    let (start, end) = periods[0].1.bounds(tz);
    let mut all = Vec::new();
    for kpi in KPIS.iter().filter(|k| k.applies_to(ScopeKind::Rep)) {
        leaderboard(pool, &Scope::Org, Window::new(start, end, tz), kpi, None).await?;
        let mut samples = Vec::new();
        for _ in 0..iterations {
            let t = Instant::now();
            leaderboard(pool, &Scope::Org, Window::new(start, end, tz), kpi, None).await?;
            samples.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        all.extend_from_slice(&samples);
        println!("| {} | {:.1} | {:.1} |", kpi.id, percentile(&mut samples, 0.5), percentile(&mut samples, 0.95));
    }
    let count = all.len();
    println!("| all {count} samples | {:.1} | {:.1} |", percentile(&mut all, 0.5), percentile(&mut all, 0.95));
    Ok(())
}
