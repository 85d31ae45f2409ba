//! Live fan-out. Every instance LISTENs on one PostgreSQL channel; its [`Hub`]
//! folds what it hears and hands it to the instance's open pages and TVs.
//!
//! - A won deal is passed on at once: TVs celebrate it.
//! - Every other change (and a won deal too) marks the data changed. Changes
//!   arriving within [`COALESCE`] of the first fold into one: the hub then moves
//!   its `version` on and tells every stream `changed` once. A burst of 100
//!   batches a second costs a handful of re-reads, not 100.
//! - Pages re-read through [`crate::snapshots`], keyed by that version, so each
//!   distinct view is computed once per change however many screens show it.
//! - A notification is only a wake-up: after it (and after any reconnect) a page
//!   re-reads, so a lost notification costs nothing. The hub's [`sweep`] (one
//!   query per instance, not one per stream) catches a revoked TV or an ended
//!   session whose notification was lost.

pub use domain::live::LiveEvent;
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, watch, Notify};

pub const CHANNEL: &str = "kpi_arena_live";
/// The channel an instance sends itself a probe on after LISTEN, to learn that notifications reach it.
const PROBE_CHANNEL: &str = "kpi_arena_probe";
/// How long a probe may take before the listener is judged deaf.
const PROBE_WAIT: Duration = Duration::from_secs(5);
/// Changes heard within this span of the first are told to the screens as one.
pub const COALESCE: Duration = Duration::from_millis(100);
/// How often every open stream hears from the server, and the sweep runs.
pub const PING: Duration = Duration::from_secs(10);
/// How many commit-to-delivery lags the hub keeps for its figures.
const LAG_SAMPLES: usize = 1000;

/// Tells every instance (this one too) that something changed.
/// On a transaction's connection, PostgreSQL delivers it when that transaction commits.
/// The payload carries when it was sent (`at`, ms since the epoch), for the lag figures.
pub async fn notify<'e>(executor: impl sqlx::PgExecutor<'e>, event: &LiveEvent) -> Result<(), sqlx::Error> {
    let mut payload = serde_json::to_value(event).unwrap_or_else(|_| serde_json::json!({ "kind": "changed" }));
    payload["at"] = serde_json::json!(epoch_ms());
    sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(payload.to_string()).execute(executor).await?;
    Ok(())
}

fn epoch_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// What an open stream is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// The data changed (folded): re-read. Carries the new version.
    Changed(u64),
    /// Deals just won: celebrate them.
    Won(Vec<String>),
    /// This display was revoked: blank the screen and close.
    Revoked(i64),
    /// The sessions of this user ended (deactivated, role changed, signed out everywhere).
    SignedOut(String),
    /// The sweep's findings, in one message however many: displays revoked and streams whose
    /// session ended (signed out, expired) while their notification was lost.
    Swept { displays: Arc<Vec<i64>>, streams: Arc<Vec<u64>> },
    /// Still here (every [`PING`]); the server's time.
    Ping(String),
    /// The instance is shutting down: every stream ends (browsers reconnect, spread out, elsewhere or later).
    Closing,
}

/// Who an open stream shows data to, as the sweep checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Display(i64),
    /// A user's page: the user, the session epoch it was opened with, its session id, and
    /// when that session was signed in (its absolute lifetime runs from there).
    User {
        id: String,
        epoch: i64,
        session: String,
        since: i64,
    },
}

/// One instance's live state: its open streams and what it has heard.
pub struct Hub {
    signals: broadcast::Sender<Signal>,
    /// Changes heard or made (notifications, this instance's touches), before folding.
    heard: AtomicU64,
    /// Notifications heard on the channel.
    notifications: AtomicU64,
    /// The version screens were last told: `heard` at the last fold.
    told: watch::Sender<u64>,
    /// Wakes the scoring worker at every notification (unfolded: points follow at once).
    pub work: Notify,
    streams: Mutex<HashMap<u64, Subject>>,
    next_stream: AtomicU64,
    opened: AtomicUsize,
    /// Set for good once the instance stops: no stream opens after that.
    closing: std::sync::atomic::AtomicBool,
    lags: Mutex<VecDeque<u64>>,
    delivered: AtomicU64,
    /// Set when the listener's own probe did not come back (see [`Hub::deaf`]).
    deaf: std::sync::atomic::AtomicBool,
    /// The latest probe sent to this instance's listener, and whether it came back.
    probe: Mutex<Option<(String, bool)>>,
}

/// The hub's figures, for `/api/v1/live` and the benchmark.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct Figures {
    /// Event streams open on this instance now.
    pub open_streams: usize,
    /// Notifications heard on the channel since start.
    pub notifications: u64,
    /// The data version screens were last told.
    pub version: u64,
    /// Events handed to the streams since start: won deals, folded changes, revocations and
    /// sign-outs (not pings).
    pub delivered: u64,
    /// From a notification's sending (just before its commit) to its event reaching the streams,
    /// over the last 1,000 events: p50, p95 and the longest, in ms.
    pub lag_p50_ms: u64,
    pub lag_p95_ms: u64,
    pub lag_max_ms: u64,
    /// Bytes of memory this process holds now (resident set), when the system says.
    pub resident_bytes: Option<u64>,
}

impl Hub {
    pub fn new() -> Arc<Self> {
        let (signals, _) = broadcast::channel(1024);
        let (told, _) = watch::channel(0);
        Arc::new(Self {
            signals,
            heard: AtomicU64::new(0),
            notifications: AtomicU64::new(0),
            told,
            work: Notify::new(),
            streams: Mutex::new(HashMap::new()),
            next_stream: AtomicU64::new(1),
            opened: AtomicUsize::new(0),
            closing: std::sync::atomic::AtomicBool::new(false),
            lags: Mutex::new(VecDeque::with_capacity(LAG_SAMPLES)),
            delivered: AtomicU64::new(0),
            deaf: std::sync::atomic::AtomicBool::new(false),
            probe: Mutex::new(None),
        })
    }

    /// Whether the listener LISTENs but does not hear its own probe: the connection goes
    /// through a pooler in transaction mode, which hands LISTEN's server connection to others.
    pub fn deaf(&self) -> bool {
        self.deaf.load(Ordering::Relaxed)
    }

    fn heard_probe(&self, payload: &str) {
        if let Some((id, heard)) = self.probe.lock().expect("probe").as_mut() {
            if id == payload {
                *heard = true;
                self.deaf.store(false, Ordering::Relaxed);
            }
        }
    }

    /// The data version a re-read is keyed by: what the screens were last told. A change heard
    /// from another instance counts from its fold (at most [`COALESCE`] later), when every screen
    /// is told and re-reads; one made through this instance counts at once ([`Hub::touch`]).
    /// A read never waits: a TV reading the deal it was just told of is served at once.
    pub fn version(&self) -> u64 {
        *self.told.borrow()
    }

    /// Opens a stream for `subject`: its signals, and a guard that closes it when dropped.
    pub fn open(self: &Arc<Self>, subject: Subject) -> (broadcast::Receiver<Signal>, StreamGuard) {
        let id = self.next_stream.fetch_add(1, Ordering::Relaxed);
        self.streams.lock().expect("streams").insert(id, subject);
        self.opened.fetch_add(1, Ordering::Relaxed);
        (self.signals.subscribe(), StreamGuard { hub: self.clone(), id })
    }

    /// Streams open now.
    pub fn open_streams(&self) -> usize {
        self.opened.load(Ordering::Relaxed)
    }

    pub fn figures(&self) -> Figures {
        let mut lags: Vec<u64> = self.lags.lock().expect("lags").iter().copied().collect();
        lags.sort_unstable();
        let at = |p: f64| if lags.is_empty() { 0 } else { lags[((lags.len() - 1) as f64 * p).round() as usize] };
        Figures {
            open_streams: self.open_streams(),
            notifications: self.notifications.load(Ordering::Relaxed),
            version: *self.told.borrow(),
            delivered: self.delivered.load(Ordering::Relaxed),
            lag_p50_ms: at(0.5),
            lag_p95_ms: at(0.95),
            lag_max_ms: lags.last().copied().unwrap_or(0),
            resident_bytes: resident_bytes(),
        }
    }

    fn send(&self, signal: Signal, sent_at: Option<u64>) {
        if let Some(at) = sent_at {
            let mut lags = self.lags.lock().expect("lags");
            if lags.len() == LAG_SAMPLES {
                lags.pop_front();
            }
            lags.push_back(epoch_ms().saturating_sub(at));
        }
        if !matches!(signal, Signal::Ping(_) | Signal::Closing) {
            self.delivered.fetch_add(1, Ordering::Relaxed);
        }
        let _ = self.signals.send(signal);
    }

    /// A notification heard: a won deal goes out at once; every change waits for the fold.
    fn hear(&self, event: LiveEvent, at: Option<u64>) {
        self.notifications.fetch_add(1, Ordering::Relaxed);
        self.heard.fetch_add(1, Ordering::AcqRel);
        self.work.notify_one();
        match event {
            LiveEvent::Won { deals } => self.send(Signal::Won(deals), at),
            LiveEvent::Revoked { display } => self.send(Signal::Revoked(display), at),
            LiveEvent::SignedOut { user } => self.send(Signal::SignedOut(user), at),
            LiveEvent::Changed => {}
        }
    }

    /// Tells the screens, once, everything heard so far.
    fn fold(&self, first_at: Option<u64>) {
        let heard = self.heard.load(Ordering::Acquire);
        // Never backwards: a `touch` between the load and here has moved it further.
        self.told.send_modify(|v| *v = (*v).max(heard));
        self.send(Signal::Changed(self.version()), first_at);
    }

    /// A change was just made through this instance: the next read computes afresh at once,
    /// without waiting for the change's notification (which may not have arrived yet, or may not
    /// exist: a renamed team sends none). Screens are not told; a notification does that.
    pub fn touch(&self) {
        let heard = self.heard.fetch_add(1, Ordering::AcqRel) + 1;
        self.told.send_modify(|v| *v = (*v).max(heard));
    }

    /// Ends every open stream: the instance is shutting down, and a graceful shutdown waits for
    /// open requests, which an event stream never finishes by itself.
    pub fn close_streams(&self) {
        self.closing.store(true, Ordering::SeqCst);
        let _ = self.signals.send(Signal::Closing);
    }

    /// Whether the instance is stopping: a stream opened now would never hear [`Signal::Closing`]
    /// (check after [`Hub::open`]: a stream opened before the flag was set hears it).
    pub fn is_closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    /// Everything changed (the listener reconnected: notifications may have been lost).
    fn changed_everything(&self) {
        self.heard.fetch_add(1, Ordering::AcqRel);
        self.work.notify_one();
        self.fold(None);
    }

    /// One query per kind for all of this instance's streams: a display revoked or a session
    /// ended while its notification was lost is told now, in one message. Then every stream is
    /// pinged, whether or not the queries answered (the ping keeps idle connections open).
    pub async fn sweep(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let found = self.ended(pool).await;
        if let Ok((displays, streams)) = &found {
            if !displays.is_empty() || !streams.is_empty() {
                let swept = Signal::Swept { displays: Arc::new(displays.clone()), streams: Arc::new(streams.clone()) };
                self.send(swept, None);
            }
        }
        self.send(Signal::Ping(domain::clock::now().to_rfc3339()), None);
        found.map(|_| ())
    }

    /// The displays revoked and the streams whose session ended, among the open ones.
    async fn ended(&self, pool: &PgPool) -> Result<(Vec<i64>, Vec<u64>), sqlx::Error> {
        let streams: Vec<(u64, Subject)> =
            self.streams.lock().expect("streams").iter().map(|(k, v)| (*k, v.clone())).collect();
        let displays: Vec<i64> = streams
            .iter()
            .filter_map(|(_, s)| match s {
                Subject::Display(id) => Some(*id),
                _ => None,
            })
            .collect();
        let mut revoked = Vec::new();
        if !displays.is_empty() {
            let active = store::displays::active_among(pool, &displays).await?;
            revoked = displays.into_iter().filter(|id| !active.contains(id)).collect();
        }
        let users: Vec<(u64, &String, i64, &String, i64)> = streams
            .iter()
            .filter_map(|(n, s)| match s {
                Subject::User { id, epoch, session, since } => Some((*n, id, *epoch, session, *since)),
                _ => None,
            })
            .collect();
        let mut ended = Vec::new();
        if !users.is_empty() {
            let ids: Vec<String> = users.iter().map(|u| u.1.clone()).collect();
            let epochs: HashMap<String, i64> = store::users::active_epochs(pool, &ids).await?.into_iter().collect();
            let sessions: Vec<String> = users.iter().map(|u| u.3.clone()).collect();
            let live_sessions = store::users::live_sessions(pool, &sessions).await?;
            // Session lifetimes run on the wall clock (as `auth::server::user_of` checks them).
            let now = chrono::Utc::now().timestamp();
            for (n, id, epoch, session, since) in users {
                let over = domain::access::session_over(since, now);
                if over || epochs.get(id) != Some(&epoch) || !live_sessions.contains(session) {
                    ended.push(n);
                }
            }
        }
        Ok((revoked, ended))
    }
}

/// Closes its stream's entry in the hub when the stream ends (or the client goes away).
pub struct StreamGuard {
    hub: Arc<Hub>,
    id: u64,
}

impl StreamGuard {
    /// The stream's number (what [`Signal::Swept`] names).
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.hub.streams.lock().expect("streams").remove(&self.id);
        self.hub.opened.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The resident set of this process, from `/proc/self/statm` (Linux): after handing freed memory
/// back to the system (glibc keeps it otherwise), so the figure is what the process holds.
fn resident_bytes() -> Option<u64> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the allocator's arenas to the system.
    unsafe {
        libc::malloc_trim(0);
    }
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf reads a constant of the system.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).unwrap_or(4096))
}

/// The payload of a notification: the event and when it was sent.
fn parse(payload: &str) -> Option<(LiveEvent, Option<u64>)> {
    let event = serde_json::from_str::<LiveEvent>(payload).ok()?;
    let at = serde_json::from_str::<serde_json::Value>(payload).ok().and_then(|v| v["at"].as_u64());
    Some((event, at))
}

/// Sends this instance's listener a probe through the app's pool (retried: a failed send says
/// nothing about the listener), and judges it deaf if that probe, the latest, has not come back
/// after [`PROBE_WAIT`]: then says what to do. Sent after every LISTEN, and while deaf at every
/// sweep, so an instance recovers once its LISTEN hears again.
fn probe(pool: &PgPool, hub: Arc<Hub>) {
    let id = format!("{:016x}", rand::random::<u64>());
    *hub.probe.lock().expect("probe") = Some((id.clone(), false));
    let pool = pool.clone();
    tokio::spawn(async move {
        let mut sent = false;
        for _ in 0..3 {
            match sqlx::query("SELECT pg_notify($1, $2)").bind(PROBE_CHANNEL).bind(&id).execute(&pool).await {
                Ok(_) => {
                    sent = true;
                    break;
                }
                // A notification arriving on a query's connection: a LISTEN lives on a server
                // connection a pooler shares between clients. That is the answer already.
                Err(e) if e.to_string().contains("NotificationResponse") => {
                    if !hub.deaf.swap(true, Ordering::Relaxed) {
                        tracing::error!(
                            "live updates do not reach this instance reliably: a notification arrived on one of its \
                             queries, so its LISTEN shares a pooler's server connection (PgBouncer in transaction \
                             mode): set KPI_ARENA_LISTEN_DATABASE_URL to a direct URL of the same database"
                        );
                    }
                    return;
                }
                Err(e) => tracing::warn!("probing the live listener failed: {e}"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        if !sent {
            return;
        }
        tokio::time::sleep(PROBE_WAIT).await;
        let unheard = matches!(&*hub.probe.lock().expect("probe"), Some((latest, false)) if *latest == id);
        if unheard && !hub.deaf.swap(true, Ordering::Relaxed) {
            tracing::error!(
                "live updates do not reach this instance: it LISTENs, but its own probe did not come back in {} s. \
                 DATABASE_URL probably goes through a pooler in transaction mode (PgBouncer), which gives LISTEN's \
                 server connection to other clients: set KPI_ARENA_LISTEN_DATABASE_URL to a direct URL of the \
                 same database",
                PROBE_WAIT.as_secs()
            );
        }
    });
}

/// Feeds `hub` from the channel for as long as the process runs, reconnecting after a lost
/// connection (and then telling pages to re-read); folds changes; sweeps every [`PING`].
/// `listen`: where LISTEN runs, a pool whose connections are the server's own (not through a
/// pooler in transaction mode); `pool`: the app's.
pub fn spawn_listener(pool: PgPool, listen: PgPool, hub: Arc<Hub>) {
    let sweeper = (pool.clone(), hub.clone());
    tokio::spawn(async move {
        let (pool, hub) = sweeper;
        let mut tick = tokio::time::interval(PING);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = hub.sweep(&pool).await {
                tracing::warn!("checking the open streams failed: {e}");
            }
            if hub.deaf() {
                probe(&pool, hub.clone());
            }
        }
    });
    tokio::spawn(async move {
        loop {
            match PgListener::connect_with(&listen).await {
                Ok(mut listener) => {
                    if let Err(e) = listener.listen_all([CHANNEL, PROBE_CHANNEL]).await {
                        tracing::warn!("LISTEN {CHANNEL} failed: {e}");
                    } else {
                        probe(&pool, hub.clone());
                        hub.changed_everything();
                        // The first change not yet told, and when it was sent.
                        let mut pending: Option<(tokio::time::Instant, Option<u64>)> = None;
                        loop {
                            let deadline = pending.map(|(d, _)| d);
                            let received = tokio::select! {
                                n = listener.try_recv() => Some(n),
                                _ = async { tokio::time::sleep_until(deadline.expect("pending")).await }, if deadline.is_some() => None,
                            };
                            match received {
                                None => {
                                    let (_, at) = pending.take().expect("pending");
                                    hub.fold(at);
                                }
                                // The connection was lost (sqlx reconnects at the next call) and
                                // with it whatever was sent meanwhile: every screen re-reads.
                                Some(Ok(None)) => {
                                    tracing::warn!("live notifications interrupted; listening again");
                                    hub.changed_everything();
                                    probe(&pool, hub.clone());
                                }
                                Some(Ok(Some(n))) if n.channel() == PROBE_CHANNEL => hub.heard_probe(n.payload()),
                                Some(Ok(Some(n))) => match parse(n.payload()) {
                                    Some((event, at)) => {
                                        hub.hear(event, at);
                                        if pending.is_none() {
                                            pending = Some((tokio::time::Instant::now() + COALESCE, at));
                                        }
                                    }
                                    None => tracing::warn!("a live notification nobody understands: {}", n.payload()),
                                },
                                Some(Err(e)) => {
                                    tracing::warn!("live notifications interrupted: {e}");
                                    break;
                                }
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!("connecting the live listener failed: {e}"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notification_carries_its_event_and_when_it_was_sent() {
        let (event, at) = parse(r#"{"kind":"won","deals":["d1"],"at":1700000000000}"#).unwrap();
        assert_eq!(event, LiveEvent::Won { deals: vec!["d1".into()] });
        assert_eq!(at, Some(1_700_000_000_000));
        // An older instance's notification (no `at`) is still understood.
        assert_eq!(parse(r#"{"kind":"changed"}"#), Some((LiveEvent::Changed, None)));
        assert_eq!(parse("nonsense"), None);
    }

    #[tokio::test]
    async fn changes_heard_are_told_once_per_fold_and_readers_share_its_version() {
        let hub = Hub::new();
        let (mut rx, guard) = hub.open(Subject::Display(7));
        assert_eq!(hub.open_streams(), 1);
        // Fifty changes in a burst, one won deal among them.
        for i in 0..50 {
            let event = if i == 10 { LiveEvent::won(vec!["w".into()]) } else { LiveEvent::Changed };
            hub.hear(event, None);
        }
        // The won deal went out at once; no `changed` yet.
        assert_eq!(rx.try_recv().unwrap(), Signal::Won(vec!["w".into()]));
        assert!(rx.try_recv().is_err());
        // Until the fold, readers read at the version before the burst; after it, at the fold's.
        assert_eq!(hub.version(), 0);
        hub.fold(None);
        assert_eq!(hub.version(), 50);
        assert_eq!(rx.try_recv().unwrap(), Signal::Changed(50));
        assert!(rx.try_recv().is_err(), "fifty changes, one `changed`");
        // A change made through this instance moves the version at once, without telling the screens.
        hub.touch();
        assert_eq!(hub.version(), 51);
        assert!(rx.try_recv().is_err());
        drop(guard);
        assert_eq!(hub.open_streams(), 0);
    }
}
