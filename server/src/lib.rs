//! The `kpi-arena` binary's library half: configuration, database start, the
//! router. Integration tests build the same app through `build_app`.

pub mod backup;
pub mod bench;
pub mod bench_http;
pub mod bench_ingest;
pub mod bench_live;
pub mod embedded_pg;
pub mod telemetry;

use app::state::{AppState, LoginLimits};
use axum::http::{header, HeaderValue, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Router;
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use sqlx::PgPool;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_sessions::cookie::{time::Duration as CookieDuration, SameSite};
use tower_sessions::{Expiry, Session, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

/// Where the database comes from: `DATABASE_URL`, or the embedded cluster.
pub enum Database {
    Url(String),
    Embedded(embedded_pg::Cluster),
}

impl Database {
    /// `DATABASE_URL` when set, else the private cluster under `data_dir` (started if needed).
    pub fn from_env(data_dir: PathBuf) -> anyhow::Result<Database> {
        match std::env::var("DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => Ok(Database::Url(url)),
            _ => Ok(Database::Embedded(embedded_pg::Cluster::ensure(&data_dir)?)),
        }
    }

    pub fn url(&self) -> String {
        match self {
            Database::Url(url) => url.clone(),
            Database::Embedded(cluster) => cluster.url("kpi_arena"),
        }
    }

    pub fn is_embedded(&self) -> bool {
        matches!(self, Database::Embedded(_))
    }

    /// Stops the embedded cluster if this process started it.
    pub fn shutdown(&self) {
        if let Database::Embedded(cluster) = self {
            cluster.stop_if_started_here();
        }
    }
}

/// How the app reaches its database: `DATABASE_URL` (or the embedded cluster's), and for
/// scale-out a direct URL for LISTEN and migrations when that one goes through a pooler in
/// transaction mode (`KPI_ARENA_LISTEN_DATABASE_URL`), and a streaming read replica's
/// (`KPI_ARENA_READ_DATABASE_URL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Urls {
    pub main: String,
    pub listen: Option<String>,
    pub read: Option<String>,
}

impl Urls {
    /// One database, reached directly.
    pub fn single(main: impl Into<String>) -> Urls {
        Urls { main: main.into(), listen: None, read: None }
    }

    /// `main`, with the scale-out URLs the environment sets.
    pub fn from_env(main: impl Into<String>) -> Urls {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Urls {
            main: main.into(),
            listen: var("KPI_ARENA_LISTEN_DATABASE_URL"),
            read: var("KPI_ARENA_READ_DATABASE_URL"),
        }
    }

    /// A separate direct URL means the main one goes through a pooler.
    pub fn route(&self) -> store::Route {
        if self.listen.is_some() {
            store::Route::Pooler
        } else {
            store::Route::Direct
        }
    }

    /// Where programs that need a session of their own (pg_dump, pg_restore) connect.
    pub fn direct(&self) -> &str {
        self.listen.as_deref().unwrap_or(&self.main)
    }
}

/// The app's pools: `main` for everything; `listen` holds the live listener's own
/// connection (the same pool as `main` without a pooler); `read`, the replica's.
#[derive(Clone)]
pub struct Pools {
    pub main: PgPool,
    pub listen: PgPool,
    pub read: Option<PgPool>,
}

impl Pools {
    pub fn single(pool: PgPool) -> Pools {
        Pools { listen: pool.clone(), main: pool, read: None }
    }
}

/// Drops a database (the tests' and the benchmarks'), ending the connections to it. A role that is
/// no superuser may not end an autovacuum worker there (PostgreSQL refuses with "must be a member
/// of the role whose process is being terminated"), so a drop that meets one waits for it to finish.
pub async fn drop_database(admin: &mut sqlx::PgConnection, name: &str) -> anyhow::Result<()> {
    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    let mut tries = 0;
    loop {
        match sqlx::query(&sql).execute(&mut *admin).await {
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42501") && tries < 120 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            result => {
                result.map_err(|e| anyhow::anyhow!("dropping the database {name}: {e}"))?;
                return Ok(());
            }
        }
    }
}

/// A new, empty database `name` on the server at `server_url`, in place of any of that name (the
/// benchmarks').
pub async fn recreate_database(server_url: &str, name: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(server_url).await?;
    drop_database(&mut admin, name).await?;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
    Ok(())
}

/// Connects and brings the schema (ours and the session store's) up to date.
pub async fn prepare_pool(url: &str) -> anyhow::Result<PgPool> {
    Ok(prepare_pools(&Urls::single(url)).await?.main)
}

/// Connects to each URL and brings the schema up to date (see [`migrate`]).
pub async fn prepare_pools(urls: &Urls) -> anyhow::Result<Pools> {
    use anyhow::Context;
    let direct = match &urls.listen {
        Some(url) => Some(store::connect(url, 2).await.context("connecting to KPI_ARENA_LISTEN_DATABASE_URL")?),
        None => None,
    };
    let main = store::connect_by(&urls.main, 16, urls.route()).await.map_err(|e| {
        let refused = e.to_string().contains("unsupported startup parameter");
        let error = anyhow::Error::new(e);
        if refused {
            error.context(
                "DATABASE_URL goes through a pooler that refuses the app's connection settings (PgBouncer): set \
                 KPI_ARENA_LISTEN_DATABASE_URL to a direct URL of the same database, and the app sends none \
                 through the pooler",
            )
        } else {
            error
        }
    })?;
    migrate(direct.as_ref().unwrap_or(&main), urls.route()).await?;
    let read = match &urls.read {
        Some(url) => Some(
            store::connect_lazy_by(url, 16, urls.route())
                .context("KPI_ARENA_READ_DATABASE_URL is not a database URL")?,
        ),
        None => None,
    };
    Ok(Pools { listen: direct.unwrap_or_else(|| main.clone()), main, read })
}

/// The migration lock's key: a number nothing else locks.
const MIGRATION_LOCK: i64 = 7_140_010;

/// Brings the schema up to date: ours in one transaction that holds a transaction-level
/// advisory lock, so instances starting together take turns, and it works through a pooler
/// in transaction mode too (sqlx's own lock is a session's, which a pooler's shared server
/// connections would keep). Behind a pooler (`route`), the app's settings go on its role in
/// the same transaction. Then the session store's table.
async fn migrate(pool: &PgPool, route: store::Route) -> anyhow::Result<()> {
    let migrator = sqlx::migrate::Migrator {
        migrations: store::MIGRATOR.migrations.clone(),
        locking: false,
        ..sqlx::migrate::Migrator::DEFAULT
    };
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(MIGRATION_LOCK).execute(&mut *tx).await?;
    migrator.run_direct(&mut *tx).await?;
    if route == store::Route::Pooler {
        store::settings_on_role(&mut tx).await?;
    }
    tx.commit().await?;
    PostgresStore::new(pool.clone()).migrate().await?;
    Ok(())
}

/// Leptos settings: from cargo-leptos's environment when it runs us, else
/// the layout `cargo leptos build --release` leaves behind.
pub fn leptos_options(addr: SocketAddr) -> LeptosOptions {
    if std::env::var("LEPTOS_OUTPUT_NAME").is_ok() {
        if let Ok(conf) = leptos::config::get_configuration(None) {
            let mut options = conf.leptos_options;
            options.site_addr = addr;
            return options;
        }
    }
    let hash_files = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("hash.txt").exists()))
        .unwrap_or(false);
    LeptosOptions::builder()
        .output_name("kpi-arena")
        .site_root(std::env::var("LEPTOS_SITE_ROOT").unwrap_or_else(|_| "target/site".into()))
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .hash_files(hash_files)
        .env(leptos::config::Env::PROD)
        .build()
}

/// The whole HTTP app: pages, server functions, JSON API, static files; and
/// beside it this instance's live listener and scoring worker.
pub fn build_app(pool: PgPool, options: LeptosOptions) -> Router {
    build_app_with(pool, options, Worker::On)
}

/// Whether an instance runs the scoring worker (every real one does; a test may
/// start one without, to see work wait in the queue).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Worker {
    On,
    Off,
}

pub fn build_app_with(pool: PgPool, options: LeptosOptions, worker: Worker) -> Router {
    build_app_on(Pools::single(pool), options, worker)
}

/// `App`'s route table, worked out once per process. Leptos marks a route generation with one
/// process-wide flag that stops every resource from loading, and clears it when a generation ends:
/// two instances of one process (as the tests run them) generating at once would clear it under
/// each other, and one generating while another serves would stall that one's pages.
fn app_routes() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(app::App)).clone()
}

/// The app on `pools`: a pooler, a read replica, or one database for all.
pub fn build_app_on(pools: Pools, options: LeptosOptions, worker: Worker) -> Router {
    let pool = pools.main.clone();
    // Counting starts with the first instance of the process.
    services::metrics::recorder();
    let hub = services::live::Hub::new();
    services::live::spawn_listener(pool.clone(), pools.listen.clone(), hub.clone());
    let reads = match pools.read {
        Some(replica) => services::replica::Reads::with_replica(pool.clone(), replica),
        None => services::replica::Reads::primary_only(pool.clone()),
    };
    let heartbeat = (worker == Worker::On).then(|| services::worker::spawn(pool.clone(), hub.clone()));
    let snapshots = services::snapshots::Snapshots::new(hub.clone());
    let keyring = match connectors::Keyring::from_env() {
        Ok(keyring) => Some(keyring),
        Err(connectors::secret::KeyError::Missing) => None,
        // `kpi-arena serve` checks the key before it gets here, and says what is wrong.
        Err(e) => panic!("{e}"),
    };
    let sender = notify::Sender::new(pool.clone(), keyring.clone());
    let sender = if worker == Worker::On { sender.spawn() } else { sender };
    let runner = connectors::Runner::new(pool.clone(), keyring);
    let runner = if worker == Worker::On { runner.spawn() } else { runner };
    // At shutdown, end the open event streams: a graceful shutdown waits for them otherwise.
    let closing = hub.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        closing.close_streams();
    });
    // `kpi-arena serve` checks the environment before it gets here, and says what is wrong.
    let config = Arc::new(app::state::Config::from_env().unwrap_or_else(|e| panic!("{e}")));
    let state = AppState::new(app::state::Shared {
        leptos_options: options.clone(),
        pool: pool.clone(),
        config: config.clone(),
        login_limits: Arc::new(LoginLimits::new()),
        pairings: Arc::new(app::state::pairing_limiter()),
        hub,
        snapshots,
        worker: heartbeat,
        reads,
        connectors: runner,
        notify: sender,
    });
    let routes = app_routes();
    // One route table: `App`'s routes feed the router and, minus the public ones, the sign-in guard.
    let signed_in: Arc<Vec<String>> = Arc::new(
        routes
            .iter()
            .map(|r| r.path().to_string())
            .filter(|p| !app::is_public(p))
            .chain(app::SIGNED_IN_PATHS.iter().map(|p| p.to_string()))
            .collect(),
    );
    let context_state = state.clone();

    let sessions = SessionManagerLayer::new(PostgresStore::new(pool))
        .with_name("kpi_arena_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies)
        .with_expiry(Expiry::OnInactivity(CookieDuration::days(domain::access::SESSION_IDLE_DAYS)));

    let pkg_dir = format!("{}/{}", options.site_root, options.site_pkg_dir);
    let main_files = format!("/{}/{}.", options.site_pkg_dir, options.output_name);
    let hashed = options.hash_files;
    let static_files = Router::new()
        .nest_service(
            &format!("/{}", options.site_pkg_dir),
            ServeDir::new(pkg_dir).precompressed_br().precompressed_gzip(),
        )
        .layer(middleware::from_fn(move |request: Request<axum::body::Body>, next: Next| {
            // The path as asked (the nested service sees it without `/pkg`).
            let path = request.extensions().get::<axum::extract::OriginalUri>().map(|u| u.path().to_string());
            let value = pkg_cache_control(path.as_deref().unwrap_or(request.uri().path()), &main_files, hashed);
            async move {
                let mut response = next.run(request).await;
                response.headers_mut().insert(header::CACHE_CONTROL, value);
                response
            }
        }));

    // The event streams: a session, nothing else. Outside the compression layer, whose body
    // wrapper every open stream would otherwise carry (events are never compressed).
    let live = Router::new().route(app::paths::LIVE, axum::routing::get(app::live::events)).layer(sessions.clone());

    let pages = Router::new()
        .route(app::paths::TEAM_REPORT_CSV, axum::routing::get(app::reports::team_csv))
        .route(app::paths::LANG, axum::routing::get(switch_language))
        .route(
            app::paths::IMPORT_UPLOAD,
            axum::routing::post(app::import::upload)
                .layer(axum::extract::DefaultBodyLimit::max(app::import::MAX_FILE_BYTES + 1024 * 1024)),
        )
        .route(app::paths::IMPORT_TEMPLATE, axum::routing::get(app::import::template))
        .leptos_routes_with_context(&state, routes, move || leptos::prelude::provide_context(context_state.clone()), {
            let options = options.clone();
            move || app::shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(app::shell))
        .layer(middleware::from_fn(move |session, request, next| {
            require_sign_in(signed_in.clone(), session, request, next)
        }))
        .layer(middleware::from_fn_with_state(state.clone(), app::i18n::middleware))
        .layer(middleware::from_fn(app::origin::same_origin_only))
        .layer(sessions)
        .layer(CompressionLayer::new().br(true).gzip(true));

    // On every response: no MIME sniffing, no referrer beyond this site, no framing; HSTS behind HTTPS.
    let hsts = config.secure_cookies.then(|| HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    Router::new()
        .merge(app::api::router().layer(CompressionLayer::new().br(true).gzip(true)))
        .merge(static_files)
        .merge(live)
        .merge(pages)
        .layer(middleware::from_fn_with_state(state.clone(), app::live::touch_after_changes))
        .layer(middleware::from_fn(count_requests))
        .layer(middleware::from_fn(app::text_guard::refuse_nul))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::STRICT_TRANSPORT_SECURITY, move |_: &Response| {
            hsts.clone()
        }))
        // Outermost: every layer's and handler's log lines carry the request's id.
        .layer(middleware::from_fn_with_state(state.clone(), app::request_id::middleware))
        .with_state(state)
}

/// Counts each request by its route's pattern (never the raw path: ids would make a series
/// each), method and status, with its time to the response's head (`services::metrics`).
async fn count_requests(request: Request<axum::body::Body>, next: Next) -> Response {
    let route = match request.extensions().get::<axum::extract::MatchedPath>() {
        Some(path) => path.as_str().to_string(),
        // The static files are one nested service: one label for all of them.
        None if request.uri().path().starts_with("/pkg/") => "/pkg/{file}".to_string(),
        None => "unmatched".to_string(),
    };
    let method = request.method().clone();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    services::metrics::request(&route, method.as_str(), response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

/// `GET /lang/{code}?back=/path`: remembers the reader's language for a year
/// and goes back to `back` (a path on this site only, never elsewhere).
async fn switch_language(
    axum::extract::State(state): axum::extract::State<AppState>,
    axum::extract::Path(code): axum::extract::Path<String>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let back = app::i18n::local_path(query.get("back").map(String::as_str)).to_string();
    let Some(lang) = app::i18n::Lang::parse(&code).filter(|l| l.code() == code) else {
        return (axum::http::StatusCode::NOT_FOUND, "no such language").into_response();
    };
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    let cookie = format!("{}={}; Path=/; Max-Age=31536000; SameSite=Lax{secure}", app::i18n::COOKIE, lang.code());
    ([(header::SET_COOKIE, cookie)], Redirect::to(&back)).into_response()
}

/// Pages for signed-in users (`signed_in`: route patterns) send a visitor without a session to `/login`.
async fn require_sign_in(
    signed_in: Arc<Vec<String>>,
    session: Session,
    request: Request<axum::body::Body>,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let protected = signed_in.iter().any(|pattern| app::route_matches(pattern, path));
    if protected {
        let signed_in = matches!(session.get::<String>(app::auth::server::SESSION_USER_KEY).await, Ok(Some(_)));
        if !signed_in {
            let next = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let target = format!("/login?next={}", urlencode(next));
            return Redirect::to(&target).into_response();
        }
    }
    next.run(request).await
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// HTTP/2 streams one connection may carry at once, unless `KPI_ARENA_HTTP2_MAX_STREAMS` says
/// otherwise. Behind a reverse proxy that speaks HTTP/2 to the instance (h2c), the floor's
/// pages and TVs are streams on a few connections: a proxy opens another connection when one is
/// full. The bound keeps what one connection can ask of the instance a connection's worth.
pub const HTTP2_STREAMS_PER_CONNECTION: u32 = 1_000;

fn http2_streams_per_connection() -> u32 {
    std::env::var("KPI_ARENA_HTTP2_MAX_STREAMS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(HTTP2_STREAMS_PER_CONNECTION)
}

/// How long a graceful shutdown waits for requests in flight before it lets them go.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves `app` on `listener` until Ctrl-C or SIGTERM.
pub async fn serve(app: Router, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    serve_until(app, listener, shutdown_signal()).await
}

/// Serves `app` on `listener` until `stop` completes, then lets requests in flight finish
/// (at most [`SHUTDOWN_GRACE`]). HTTP/1.1 and HTTP/2 share the port: a browser speaks
/// HTTP/1.1 to it directly; a proxy may speak HTTP/2 without TLS (prior knowledge), so many
/// event streams share one connection and each costs the instance a stream, not a
/// connection with its buffers.
pub async fn serve_until(
    app: Router,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto;
    use tower::ServiceExt;

    let mut http = auto::Builder::new(TokioExecutor::new());
    http.http2().max_concurrent_streams(http2_streams_per_connection());
    let connections = hyper_util::server::graceful::GracefulShutdown::new();
    let mut stop = std::pin::pin!(stop);
    loop {
        let (socket, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // A client that gave up is nothing; anything else (out of file descriptors,
                    // say): wait a second for some to close rather than spin.
                    if !matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionAborted
                            | std::io::ErrorKind::ConnectionReset
                            | std::io::ErrorKind::ConnectionRefused
                    ) {
                        tracing::error!("accepting a connection: {e}");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                    continue;
                }
            },
            () = &mut stop => break,
        };
        // Events are small and must leave at once.
        let _ = socket.set_nodelay(true);
        let router = app.clone();
        let service = hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            router.clone().oneshot(request.map(axum::body::Body::new))
        });
        let connection = connections.watch(http.serve_connection(TokioIo::new(socket), service).into_owned());
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("connection from {peer}: {e}");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, connections.shutdown()).await.is_err() {
        tracing::warn!("requests still in flight after {} s; stopping anyway", SHUTDOWN_GRACE.as_secs());
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

/// Raises this process's open-file limit (children inherit it) towards `wanted`; returns the limit now.
pub fn raise_open_files(wanted: u64) -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else { return 0 };
    if soft >= wanted {
        return soft;
    }
    let target = wanted.min(hard);
    match setrlimit(Resource::RLIMIT_NOFILE, target, hard) {
        Ok(()) => target,
        Err(_) => soft,
    }
}

/// How long a browser may keep a file of the site's `/pkg/`. Hashed names never change content,
/// so for a year, except the main script and WASM (`/pkg/<output name>.<hash>.js|wasm`): a split
/// build names them before it writes the chunk loader's name into them, so a release that changes
/// only lazily loaded pages keeps their names. They are checked on every load (a 304 when unchanged).
fn pkg_cache_control(path: &str, main_files: &str, hashed: bool) -> HeaderValue {
    let main = path.starts_with(main_files) && (path.ends_with(".js") || path.ends_with(".wasm"));
    HeaderValue::from_static(if hashed && !main { "public, max-age=31536000, immutable" } else { "no-cache" })
}
