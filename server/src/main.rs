//! `kpi-arena`: the commands of docs/API.md.

use anyhow::Context;
use app::auth::Role;
use clap::{Parser, Subcommand};
use kpi_arena_server::{build_app_on, leptos_options, prepare_pools, serve, Database, Urls, Worker};
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use store::users::{self, NewUser};

#[derive(Parser)]
#[command(name = "kpi-arena", version, about = "KPI Arena: a self-hosted, gamified sales-KPI leaderboard")]
struct Cli {
    /// Where the embedded PostgreSQL keeps its files when DATABASE_URL is unset.
    #[arg(long, env = "KPI_ARENA_DATA", default_value = "./data", global = true)]
    data: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run migrations, then serve the web app and the API (the default).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "KPI_ARENA_ADDR", default_value = "127.0.0.1:3000")]
        addr: SocketAddr,
        /// Load the demo organisation first when the database has no users yet
        /// (its accounts share a published password: for trying KPI Arena on this machine).
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending migrations and exit.
    Migrate,
    /// Write the whole database to FILE (pg_dump's custom format) and exit.
    Backup { file: PathBuf },
    /// Replace the database's contents with the backup in FILE (one transaction), migrate it, and exit.
    /// Stop every instance on the database first.
    Restore {
        file: PathBuf,
        /// Restore even while other sessions (running instances) are connected to the database.
        #[arg(long)]
        force: bool,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Load the demo organisation (idempotent) and exit; with --remove, delete it.
    Demo {
        /// The organisation's time zone (IANA name); the history is dated up to today there.
        #[arg(long, default_value = "Europe/Moscow", value_parser = parse_zone)]
        time_zone: chrono_tz::Tz,
        /// Delete the demo organisation completely: its accounts, teams and records.
        #[arg(long)]
        remove: bool,
    },
    /// Build a synthetic organisation in database `kpi_arena_bench` and print KPI latencies.
    Bench {
        #[arg(long, default_value_t = 1000)]
        reps: usize,
        #[arg(long, default_value_t = 10_000_000)]
        records: usize,
        /// Measurements per case (after one untimed call); p95 is the 19th of 20.
        #[arg(long, default_value_t = 20)]
        iterations: usize,
        /// Reuse the data of the previous run.
        #[arg(long)]
        skip_load: bool,
    },
    /// Measure the ingest path: won deals through the records API against binary COPY, the scoring lag.
    BenchIngest {
        #[arg(long, default_value_t = 120)]
        reps: usize,
        #[arg(long, default_value_t = 200_000)]
        deals: usize,
        #[arg(long, default_value_t = 10_000)]
        batch: usize,
        /// How many 1,000-record batches to time (each plain and with ?wait=scores).
        #[arg(long, default_value_t = 20)]
        small_batches: usize,
        /// Measure on the benchmark database `kpi-arena bench` loaded (10,000,000 records, 1,000
        /// reps): only the scoring lag of one batch and the 1,000-record batches, no backfill or COPY.
        #[arg(long)]
        on_bench_database: bool,
    },
    /// Measure live updates for a whole floor: N event streams on one instance, won deals through
    /// the API; prints memory per stream, record → event and record → fresh data on every screen.
    BenchLive {
        /// Event streams to open.
        #[arg(long, default_value_t = 2000)]
        streams: usize,
        /// Won deals to send, one at a time.
        #[arg(long, default_value_t = 5)]
        deals: usize,
        /// How many streams re-read the leaderboard after each change, as open pages do (the
        /// rest only listen); at most 2,000 unless given.
        #[arg(long)]
        readers: Option<usize>,
        /// Run on the benchmark database of `kpi-arena bench` (10,000,000 records) instead of the demo.
        #[arg(long)]
        on_bench_database: bool,
        /// Speak HTTP/2 without TLS (h2c) to the instance, as a reverse proxy in front of it
        /// may: the streams share connections instead of holding one each.
        #[arg(long)]
        http2: bool,
    },
    /// Measure one API route of a running instance: requests per second and latencies from
    /// N clients at once (scripts/scaleout.sh compares PgBouncer, the replica and direct).
    BenchHttp {
        /// The instance's base URL.
        #[arg(long)]
        url: String,
        /// The path and query to GET.
        #[arg(long, default_value = "/api/v1/kpis?scope=org&period=2025-03")]
        path: String,
        /// An API token (sent as the bearer token); read from KPI_ARENA_BENCH_TOKEN when not given.
        #[arg(long, env = "KPI_ARENA_BENCH_TOKEN", hide_env_values = true)]
        token: String,
        /// Clients requesting at once.
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// How long to measure.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Manage the embedded PostgreSQL cluster.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user who can sign in; the password is read from standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["admin", "manager", "rep"])]
        role: String,
        /// The team's id.
        #[arg(long)]
        team: Option<String>,
        /// Read the password from standard input (required).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Print a new API token for the user, alone on one line.
    Create {
        #[arg(long)]
        email: String,
        /// A label for the token (what uses it).
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Print the database URL (starting the embedded cluster if needed).
    Url,
    /// Start the embedded cluster, leave it running, and print its URL.
    Start,
    /// Stop the embedded cluster.
    Stop,
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Err(e) = kpi_arena_server::telemetry::init() {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
    if let Err(e) = app::clock::init() {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
    if app::clock::is_pinned() {
        tracing::warn!("the clock is pinned by {} (test-only): now is {}", app::clock::TEST_NOW, app::clock::now());
    }
    let result = run(cli).await;
    kpi_arena_server::telemetry::shutdown();
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Serve {
        addr: std::env::var("KPI_ARENA_ADDR")
            .ok()
            .map(|a| a.parse().context("KPI_ARENA_ADDR is not HOST:PORT"))
            .transpose()?
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3000))),
        demo: false,
    });
    if let Command::BenchHttp { url, path, token, clients, seconds } = command {
        // Measures a running instance: no database of its own.
        let options = kpi_arena_server::bench_http::HttpOptions { url, path, token, clients, seconds };
        return kpi_arena_server::bench_http::run(options).await;
    }
    let db = Database::from_env(cli.data.clone()).context("starting the database")?;
    if let Command::Db { command: DbCommand::Start } = command {
        // Left running on purpose: `db stop` stops it.
        println!("{}", db.url());
        return Ok(());
    }
    let result = run_command(command, &db, &cli.data).await;
    db.shutdown();
    result
}

async fn run_command(command: Command, db: &Database, data: &std::path::Path) -> anyhow::Result<()> {
    if let Command::Db { command } = &command {
        match command {
            DbCommand::Url | DbCommand::Start => println!("{}", db.url()),
            DbCommand::Stop => {
                if let Database::Embedded(cluster) = db {
                    cluster.stop();
                }
            }
        }
        return Ok(());
    }
    if let Command::Bench { reps, records, iterations, skip_load } = command {
        let options = kpi_arena_server::bench::BenchOptions { reps, records, iterations, skip_load };
        return kpi_arena_server::bench::run(&db.url(), options).await;
    }
    if let Command::BenchIngest { reps, deals, batch, small_batches, on_bench_database } = command {
        let options =
            kpi_arena_server::bench_ingest::IngestOptions { reps, deals, batch, small_batches, on_bench_database };
        return kpi_arena_server::bench_ingest::run(&db.url(), options).await;
    }
    if let Command::BenchLive { streams, deals, readers, on_bench_database, http2 } = command {
        let readers = readers.unwrap_or(streams.min(2000)).min(streams);
        let options = kpi_arena_server::bench_live::LiveOptions { streams, deals, readers, on_bench_database, http2 };
        return kpi_arena_server::bench_live::run(&db.url(), options).await;
    }
    let urls = Urls::from_env(db.url());
    if let Command::Backup { file } = &command {
        let bytes = kpi_arena_server::backup::backup(&pg_tools(db), urls.direct(), file)?;
        println!("backup written to {} ({bytes} bytes)", file.display());
        return Ok(());
    }
    if let Command::Restore { file, force } = &command {
        kpi_arena_server::backup::restore(&pg_tools(db), urls.direct(), file, *force).await?;
        prepare_pools(&urls).await.context("migrating the restored database")?.main.close().await;
        println!("restored {}", file.display());
        return Ok(());
    }
    let pools = prepare_pools(&urls).await.context("preparing the database")?;
    let pool = pools.main.clone();
    match command {
        Command::Serve { addr, demo } => {
            app::state::Config::from_env().map_err(anyhow::Error::msg)?;
            secret_key(db, data)?;
            if demo {
                if !store::settings::has_users(&pool).await? {
                    load_demo(&pool, services::demo::DEMO_TIME_ZONE).await?;
                } else if !store::demo::accounts_exist(&pool).await? {
                    println!("--demo: this database has users of its own; the demo is not loaded into it");
                }
            }
            if !addr.ip().is_loopback() && services::demo::published_password_in_use(&pool).await? {
                anyhow::bail!(
                    "refusing to listen on {addr}: demo accounts with the published password exist; \
                     remove them with `kpi-arena demo --remove`, or listen on 127.0.0.1"
                );
            }
            // Every open page and TV holds a connection: allow as many as the system lets this process.
            kpi_arena_server::raise_open_files(u64::MAX);
            let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("listening on {addr}"))?;
            let app = build_app_on(pools, leptos_options(addr), Worker::On);
            println!("KPI Arena is running at http://{addr}/");
            print_demo_logins(&pool).await;
            serve(app, listener).await?;
            // A request still running past the shutdown's grace may hold a connection: do not wait on it.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), pool.close()).await;
        }
        Command::Migrate => println!("migrations applied"),
        Command::User { command: UserCommand::Create { email, name, role, team, password_stdin: _ } } => {
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password).context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\n', '\r']).to_string();
            let role = Role::parse(&role).expect("clap checked the role");
            let id = users::create_user(&pool, NewUser { email: email.clone(), name, role, team, password }).await?;
            println!("created user {id} <{email}>");
        }
        Command::Token { command: TokenCommand::Create { email, name } } => {
            println!("{}", users::create_token(&pool, &email, &name).await?);
        }
        Command::Demo { remove: true, .. } => {
            let removed = services::demo::remove_demo(&pool).await.context("removing the demo organisation")?;
            println!(
                "demo organisation removed: {} users, {} teams, {} records",
                removed.users, removed.teams, removed.records
            );
        }
        Command::Demo { time_zone, remove: false } => {
            load_demo(&pool, time_zone).await?;
            print_demo_logins(&pool).await;
        }
        Command::Db { .. }
        | Command::Bench { .. }
        | Command::BenchIngest { .. }
        | Command::BenchLive { .. }
        | Command::BenchHttp { .. }
        | Command::Backup { .. }
        | Command::Restore { .. } => {
            unreachable!("handled above")
        }
    }
    Ok(())
}

/// The key that seals CRM tokens (`KPI_ARENA_SECRET_KEY`). With the embedded database and no
/// key set, one is made on first start and kept beside the cluster (`$KPI_ARENA_DATA/secret.key`,
/// 0600), so the two-command start can connect a CRM; with `DATABASE_URL`, the operator sets it.
fn secret_key(db: &Database, data: &std::path::Path) -> anyhow::Result<()> {
    use connectors::secret::{KeyError, Keyring, KEY_VAR};
    match Keyring::from_env() {
        Ok(_) => Ok(()),
        Err(KeyError::Missing) => {
            if !matches!(db, Database::Embedded(_)) {
                println!("{KEY_VAR} is not set: CRM connectors cannot be saved until it is (`openssl rand -hex 32`)");
                return Ok(());
            }
            let file = data.join("secret.key");
            let key = match std::fs::read_to_string(&file) {
                Ok(key) => key.trim().to_string(),
                Err(_) => {
                    use std::io::Write;
                    use std::os::unix::fs::OpenOptionsExt;
                    let key = Keyring::generate();
                    let mut out = std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(0o600)
                        .open(&file)
                        .with_context(|| format!("writing {}", file.display()))?;
                    writeln!(out, "{key}")?;
                    key
                }
            };
            Keyring::parse(&key).with_context(|| format!("reading {}", file.display()))?;
            // Read by `build_app_on` below, before any other thread reads the environment.
            std::env::set_var(KEY_VAR, key);
            Ok(())
        }
        Err(e) => Err(anyhow::anyhow!(e)),
    }
}

/// The embedded cluster's own client programs (their version matches its server), else the installed ones.
fn pg_tools(db: &Database) -> kpi_arena_server::backup::Tools {
    match db {
        Database::Embedded(cluster) => kpi_arena_server::backup::Tools::in_dir(cluster.bin_dir()),
        Database::Url(_) => kpi_arena_server::backup::Tools::installed(),
    }
}

fn parse_zone(name: &str) -> Result<chrono_tz::Tz, String> {
    name.parse().map_err(|_| format!("`{name}` is not an IANA time zone (e.g. Europe/Moscow, Europe/London)"))
}

async fn load_demo(pool: &sqlx::PgPool, zone: chrono_tz::Tz) -> anyhow::Result<()> {
    let count = services::demo::load_demo(pool, zone).await.context("loading the demo organisation")?;
    println!("demo organisation loaded ({count} records)");
    Ok(())
}

async fn print_demo_logins(pool: &sqlx::PgPool) {
    let demo: bool = sqlx::query_scalar("SELECT demo_loaded FROM org_settings").fetch_one(pool).await.unwrap_or(false);
    if demo {
        println!("Demo logins (password: {}):", services::demo::DEMO_PASSWORD);
        for login in services::demo::DEMO_LOGINS {
            println!("  {:<8} {}", login.role, login.email);
        }
    }
}
