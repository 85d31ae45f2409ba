//! Spawning the app against a fresh database, and fixtures.

use app::auth::Role;
use kpi_arena_server::{build_app_with, embedded_pg::Cluster, leptos_options, prepare_pool, Worker};
use sqlx::{Connection, PgConnection, PgPool};
use std::net::SocketAddr;
use std::sync::OnceLock;
use store::users::{self, NewUser};

/// A server URL for the tests' own databases: `DATABASE_URL` when set, else a
/// private cluster under `target/test-pg` shared by all tests of this run.
fn server_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-pg");
            Cluster::ensure(&dir).expect("starting the test PostgreSQL cluster").url("kpi_arena")
        }
    })
}

fn with_database(url: &str, name: &str) -> String {
    let (base, _) = url.rsplit_once('/').expect("database URL has a path");
    format!("{base}/{name}")
}

/// `KPI_ARENA_SECRET_KEY` in the tests.
pub const TEST_SECRET_KEY: &str = "4b5049204172656e61207465737420736563726574206b657920333220627974";

pub struct TestApp {
    pub base: String,
    pub database_url: String,
    pub pool: PgPool,
    pub client: reqwest::Client,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with_site("target/site").await
    }

    /// The app serving static files from `site_root` as hashed (long-cached) files.
    pub async fn spawn_with_site(site_root: &str) -> TestApp {
        Self::start(&Self::fresh_database().await, site_root, Worker::On).await
    }

    /// An instance on a fresh database whose derived work waits in the queue: no scoring worker.
    pub async fn spawn_without_worker() -> TestApp {
        Self::start(&Self::fresh_database().await, "target/site", Worker::Off).await
    }

    /// An instance on an existing database (migrated forward first, as `serve` does).
    pub async fn on_database(database_url: &str) -> TestApp {
        Self::start(database_url, "target/site", Worker::On).await
    }

    /// Another instance on this one's database (as a second server, or one started after a crash).
    pub async fn another(&self, worker: Worker) -> TestApp {
        Self::start(&self.database_url, "target/site", worker).await
    }

    pub async fn fresh_database() -> String {
        let name = format!("test_{}", rand::random::<u64>());
        let mut admin = PgConnection::connect(server_url()).await.expect("connecting to the test server");
        // The databases of earlier runs go first (runs never overlap on one server): they would pile up.
        static SWEPT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
        SWEPT
            .get_or_init(|| async {
                let mut admin = PgConnection::connect(server_url()).await.expect("connecting to the test server");
                let old: Vec<String> =
                    sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname ~ '^test_[0-9]+$'")
                        .fetch_all(&mut admin)
                        .await
                        .expect("listing test databases");
                for db in old {
                    let _ = kpi_arena_server::drop_database(&mut admin, &db).await;
                }
            })
            .await;
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("creating the test database");
        with_database(server_url(), &name)
    }

    async fn start(database_url: &str, site_root: &str, worker: Worker) -> TestApp {
        // The key that seals CRM tokens: the same for every instance of the run.
        static KEY: std::sync::Once = std::sync::Once::new();
        KEY.call_once(|| {
            std::env::set_var(connectors::secret::KEY_VAR, TEST_SECRET_KEY);
            // The notification tests' fake services listen here.
            std::env::set_var(notify::setup::HOSTS_VAR, "127.0.0.1");
        });
        let database_url = database_url.to_string();
        let pool = prepare_pool(&database_url).await.expect("migrating the test database");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let mut options = leptos_options(addr);
        options.site_root = site_root.into();
        options.hash_files = site_root != "target/site";
        let app = build_app_with(pool.clone(), options, worker);
        tokio::spawn(async move {
            kpi_arena_server::serve_until(app, listener, std::future::pending()).await.unwrap();
        });
        TestApp { base: format!("http://{addr}"), database_url, pool, client: client() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A user with a password, and an API token for them.
    pub async fn user_with_token(&self, email: &str, name: &str, role: Role, team: Option<&str>) -> String {
        users::create_user(
            &self.pool,
            NewUser {
                email: email.into(),
                name: name.into(),
                role,
                team: team.map(Into::into),
                password: PASSWORD.into(),
            },
        )
        .await
        .expect("creating a user");
        users::create_token(&self.pool, email, "tests").await.expect("creating a token")
    }

    /// `GET path` with `token` as the bearer: the JSON of a 200 answer (anything else fails the test).
    pub async fn get_json(&self, token: &str, path: &str) -> serde_json::Value {
        let res = self.client.get(self.url(path)).bearer_auth(token).send().await.unwrap();
        assert_eq!(res.status(), 200, "GET {path}");
        res.json().await.unwrap()
    }

    /// The API token of a CRM sync: an admin's (only admins send teams and users).
    pub async fn sync_token(&self) -> String {
        self.user_with_token("sync@example.com", "CRM sync", Role::Admin, None).await
    }

    pub async fn post_records(&self, token: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let res = self.client.post(self.url("/api/v1/records")).bearer_auth(token).json(body).send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// `post_records` with `?wait=scores`: answers once points and badges are current too.
    pub async fn post_records_scored(&self, token: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let url = self.url("/api/v1/records?wait=scores");
        let res = self.client.post(url).bearer_auth(token).json(body).send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Switches off every points rule (a new database starts with the defaults), as a manager would.
    pub async fn without_default_rules(&self, token: &str) {
        let rules: serde_json::Value = self
            .client
            .get(self.url("/api/v1/points/rules"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let rules = rules["rules"].as_array().cloned().unwrap_or_default();
        assert!(!rules.is_empty(), "a new database has the default rules");
        for rule in rules {
            let id = rule["id"].as_i64().expect("a rule id");
            let res = self.client.delete(self.url(&format!("/api/v1/points/rules/{id}"))).bearer_auth(token).send();
            assert_eq!(res.await.unwrap().status(), 200);
        }
    }

    /// A user's points: the sum of their ledger rows.
    pub async fn points_of(&self, user: &str) -> i64 {
        sqlx::query_scalar("SELECT coalesce(sum(points), 0)::bigint FROM points_entries WHERE user_id = $1")
            .bind(user)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// Derived work for r1 that has waited `minutes` already (by the app's clock).
    pub async fn work_waiting_since(&self, minutes: i32) {
        sqlx::query(
            "INSERT INTO score_work (reason, owners, from_at, to_at, created_at)
             VALUES ('records', ARRAY['r1'], arena_now(), arena_now(), arena_now() - make_interval(mins => $1))",
        )
        .bind(minutes)
        .execute(&self.pool)
        .await
        .unwrap();
    }

    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(&self.pool).await.unwrap()
    }
}

/// Polls `check` until it holds; fails after 30 s (a bound for something broken, not a speed
/// requirement: BENCHMARKS.md measures speed).
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = std::time::Instant::now();
    while !check().await {
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "never happened: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A port nobody listens on now (for a `kpi-arena serve` child).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `kpi-arena serve` as a child process on `database_url` and `port` (with `env` added), once it
/// says it is running; its standard error goes where `stderr` says.
pub fn serve_process(
    database_url: &str,
    port: u16,
    env: &[(&str, &str)],
    stderr: std::process::Stdio,
) -> std::process::Child {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kpi-arena"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", database_url)
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(out.any(|l| l.is_ok_and(|l| l.starts_with("KPI Arena is running"))), "an instance on {port} started");
    child
}

pub const PASSWORD: &str = "correct horse battery";

/// A client that keeps cookies and does not follow redirects (tests look at them).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Teams t1 (North) and t2 (South); reps r1 Анна and r2 Борис in t1, r3 Вера in t2.
pub fn two_teams_three_reps() -> serde_json::Value {
    serde_json::json!([
        {"kind": "team", "id": "t1", "name": "T1", "region": "North"},
        {"kind": "team", "id": "t2", "name": "T2", "region": "South"},
        {"kind": "user", "id": "r1", "name": "Анна", "email": "r1@example.com", "role": "rep", "team": "t1"},
        {"kind": "user", "id": "r2", "name": "Борис", "email": "r2@example.com", "role": "rep", "team": "t1"},
        {"kind": "user", "id": "r3", "name": "Вера", "email": "r3@example.com", "role": "rep", "team": "t2"},
    ])
}
