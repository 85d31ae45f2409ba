//! `/tv`: the wall display. Unpaired, it shows a short code to enter on the
//! Displays page; paired, it rotates slides (leaderboard, challenges, team KPIs
//! against targets, recent wins, today's badges), updates live, celebrates won
//! deals, and warns when it has heard nothing for a minute.

use crate::components::{live_feed, LiveStatus};
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TvRow {
    pub rank: usize,
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TvChallenge {
    pub name: String,
    pub rows: Vec<TvRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TvKpi {
    pub id: String,
    pub label: String,
    pub value: String,
    pub target: Option<String>,
    pub attainment: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TvWin {
    pub id: String,
    pub name: String,
    pub amount: String,
    pub when: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TvBadge {
    pub name: String,
    pub icon: String,
    pub badge: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TvState {
    pub display: String,
    pub org: String,
    pub rotate_seconds: i32,
    pub updated: String,
    pub period: String,
    pub board: Vec<TvRow>,
    pub challenges: Vec<TvChallenge>,
    pub kpis: Vec<TvKpi>,
    pub wins: Vec<TvWin>,
    pub badges: Vec<TvBadge>,
    /// The won deals asked about, to celebrate now.
    pub celebrate: Vec<TvWin>,
    /// Chime at a celebration (the display's setting).
    pub sound: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TvView {
    Pairing { code: String },
    Live(Box<TvState>),
}

#[cfg(feature = "ssr")]
mod server {
    use super::*;
    use crate::fairness::Names;
    use crate::kpi::Scope;
    use crate::period::{Period, PeriodKind};
    use axum::http::{header, HeaderMap, HeaderValue};
    use store::displays::{self, Display};

    pub const PAIRING_COOKIE: &str = "kpi_arena_tv_pairing";

    fn set_cookie(name: &str, value: &str, max_age_seconds: i64) {
        let secure = expect_context::<crate::state::AppState>().config.secure_cookies;
        let cookie = format!(
            "{name}={value}; Path=/; Max-Age={max_age_seconds}; HttpOnly; SameSite=Lax{}",
            if secure { "; Secure" } else { "" }
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            expect_context::<leptos_axum::ResponseOptions>().append_header(header::SET_COOKIE, v);
        }
    }

    /// The display this TV is, pairing it first when a manager has entered its code.
    pub async fn display_or_code(pool: &sqlx::PgPool) -> Result<Result<Display, String>, AppError> {
        let headers: HeaderMap = leptos_axum::extract().await?;
        if let Some(token) = crate::live::cookie(&headers, crate::live::DISPLAY_COOKIE) {
            if let Some(d) = displays::by_token(pool, &token).await.map_err(AppError::server)? {
                return Ok(Ok(d));
            }
            // Revoked: forget it and pair again.
            set_cookie(crate::live::DISPLAY_COOKIE, "", 0);
        }
        if let Some(secret) = crate::live::cookie(&headers, PAIRING_COOKIE) {
            match displays::poll_pairing(pool, &secret).await.map_err(AppError::server)? {
                Ok(token) => {
                    // Ten years: a TV's pairing never expires by itself, only by revoking it.
                    set_cookie(crate::live::DISPLAY_COOKIE, &token, 10 * 365 * 86_400);
                    set_cookie(PAIRING_COOKIE, "", 0);
                    let d = displays::by_token(pool, &token).await.map_err(AppError::server)?;
                    return d.map(Ok).ok_or_else(|| crate::i18n::error("err.display_revoked"));
                }
                Err(Some(code)) => return Ok(Err(code)),
                Err(None) => {}
            }
        }
        // A flood of cookie-less visits must not fill the pairings: per address, and in all.
        let ip = crate::auth::server::client_ip().await;
        let state = expect_context::<crate::state::AppState>();
        let started = match state.pairings.check_key(&ip) {
            Ok(()) => displays::start_pairing(pool).await.map_err(AppError::server)?,
            Err(_) => None,
        };
        let Some((code, secret)) = started else {
            crate::error::status::set_fail_status(axum::http::StatusCode::TOO_MANY_REQUESTS);
            return Err(AppError::TooMany(crate::i18n::tr("err.pairing_busy")));
        };
        set_cookie(PAIRING_COOKIE, &secret, 3600);
        Ok(Err(code))
    }

    /// What this TV shows now: its wall, shared by every TV of the same display and language
    /// and computed once per data version (`services::snapshots`), and the deals to celebrate.
    pub async fn state(pool: &sqlx::PgPool, d: Display, celebrate: Vec<String>) -> Result<TvState, AppError> {
        let app = expect_context::<crate::state::AppState>();
        let lang = crate::i18n::use_lang();
        let key = format!("tv:{}:{lang:?}", d.id);
        let reads = app.reads.clone();
        let compute = async move {
            reads
                .read(|pool| {
                    let d = d.clone();
                    async move { wall(&pool, d).await }
                })
                .await
        };
        let shared = app.snapshots.get(key, compute).await.map_err(|e| (*e).clone())?;
        let (wall, owners, tz, names) = &*shared;
        let mut state = wall.clone();
        if !celebrate.is_empty() {
            let rows = store::directory::recent_wins(pool, owners, &celebrate).await.map_err(AppError::server)?;
            let currency = store::settings::load(pool).await.map_err(AppError::server)?.currency;
            state.celebrate = rows.iter().filter(|r| r.4).map(|r| tv_win(r, *names, &currency, *tz, lang)).collect();
        }
        Ok(state)
    }

    /// A won deal as a TV shows it.
    fn tv_win(
        (id, name, amount, at, _): &store::directory::Win,
        names: Names,
        currency: &str,
        tz: chrono_tz::Tz,
        lang: crate::i18n::Lang,
    ) -> TvWin {
        let at = at.with_timezone(&tz);
        TvWin {
            id: id.clone(),
            name: names.show(name, 0),
            amount: crate::format::money(&amount.to_string(), currency, lang),
            when: format!("{} {}", crate::format::day_month(at, lang), at.format("%H:%M")),
        }
    }

    /// The wall of display `d` (nothing to celebrate), with the owners it covers, the
    /// organisation's time zone and the display's way of naming reps.
    async fn wall(
        pool: &sqlx::PgPool,
        d: Display,
    ) -> Result<(TvState, Option<Vec<String>>, chrono_tz::Tz, Names), AppError> {
        fn e(err: impl std::fmt::Display) -> AppError {
            AppError::server(err.to_string())
        }
        let lang = crate::i18n::use_lang();
        let settings = store::settings::load(pool).await.map_err(e)?;
        let tz = settings.time_zone;
        let now = crate::clock::now();
        let today = now.with_timezone(&tz).date_naive();
        let month = Period::containing(PeriodKind::Month, today);
        let (start, end) = month.bounds(tz);
        let names = Names::parse(&d.names).unwrap_or(Names::Full);
        let scope = Scope::parse(&d.scope).unwrap_or(Scope::Org);
        let money = |v: f64| crate::format::kpi_value(Some(v), crate::kpi::Unit::Money, &settings.currency, lang);

        let window = store::kpis::Window::new(start, end, tz);
        let revenue = crate::kpi::find("revenue").expect("revenue is a KPI");
        let board = store::kpis::leaderboard(pool, &scope, window, revenue, None)
            .await
            .map_err(e)?
            .into_iter()
            .take(10)
            .map(|r| TvRow { rank: r.rank, name: names.show(&r.name, r.rank), value: money(r.value.unwrap_or(0.0)) })
            .collect();

        let mut challenges = Vec::new();
        let live: Vec<services::challenges::Challenge> = services::challenges::list_live(pool).await.map_err(e)?;
        for c in live.into_iter().take(4) {
            let unit = crate::kpi::find(&c.basis).map(|k| k.unit).unwrap_or(crate::kpi::Unit::Count);
            let team_race = c.kind == "team_vs_team";
            let rows = services::challenges::standings(pool, &c)
                .await
                .map_err(e)?
                .into_iter()
                .take(5)
                .map(|s| TvRow {
                    rank: s.rank,
                    name: if team_race { s.name } else { names.show(&s.name, s.rank) },
                    value: crate::format::kpi_value(s.value, unit, &settings.currency, lang),
                })
                .collect();
            challenges.push(TvChallenge { name: c.name, rows });
        }

        let card = store::kpis::card(pool, &scope, window, Some(&month.to_string())).await.map_err(e)?;
        let kpis = ["revenue", "win_rate", "new_opportunities", "touchpoints", "avg_deal_size", "response_time"]
            .iter()
            .filter_map(|id| card.iter().find(|k| k.id == *id))
            .map(|k| {
                let def = crate::kpi::find(k.id).expect("a card lists known KPIs");
                TvKpi {
                    id: k.id.to_string(),
                    label: def.name(lang).into(),
                    value: crate::format::kpi_value(k.value, k.unit, &settings.currency, lang),
                    target: k.target.map(|t| crate::format::kpi_value(Some(t), k.unit, &settings.currency, lang)),
                    attainment: k.attainment,
                }
            })
            .collect();

        let owners = store::kpis::owners_of(pool, &scope).await.map_err(e)?.0;
        let win_rows = store::directory::recent_wins(pool, &owners, &[]).await.map_err(e)?;
        let wins = win_rows.iter().take(8).map(|r| tv_win(r, names, &settings.currency, tz, lang)).collect();

        let day_start = crate::period::local_midnight(today, tz);
        let badge_rows = store::directory::badges_since(pool, day_start, &owners).await.map_err(e)?;
        let badges = badge_rows
            .into_iter()
            .filter_map(|(name, id)| {
                let b = crate::badges::find(&id)?;
                Some(TvBadge {
                    name: names.show(&name, 0),
                    icon: b.icon.into(),
                    badge: lang.pick(b.name_ru, b.name_en).into(),
                })
            })
            .collect();

        let wall = TvState {
            display: d.name,
            org: settings.name,
            rotate_seconds: d.rotate_seconds,
            updated: now.with_timezone(&tz).format("%H:%M:%S").to_string(),
            period: month.to_string(),
            board,
            challenges,
            kpis,
            wins,
            badges,
            celebrate: vec![],
            sound: d.sound,
        };
        Ok((wall, owners, tz, names))
    }
}

/// What this TV shows now; `celebrate` names deals just won (comma-separated ids).
#[server(prefix = "/api", endpoint = "tv_view")]
pub async fn load_tv(celebrate: String) -> Result<TvView, AppError> {
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let celebrate: Vec<String> = celebrate.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect();
    match server::display_or_code(&pool).await? {
        Ok(display) => Ok(TvView::Live(Box::new(server::state(&pool, display, celebrate).await?))),
        Err(code) => Ok(TvView::Pairing { code }),
    }
}

/// How long each won deal fills the screen; deals won meanwhile wait their turn.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const CELEBRATE_SECONDS: u64 = 6;

/// The won deals waiting to be celebrated, one at a time, each exactly once.
#[derive(Clone, Copy)]
struct Party {
    /// Each deal with whether to chime for it (the display's setting when it was won).
    queue: RwSignal<std::collections::VecDeque<(TvWin, bool)>>,
    /// Every deal ever queued on this page: a re-read that names it again does not repeat it.
    seen: StoredValue<std::collections::HashSet<String>>,
    /// The second (of the page's counter) the current celebration appeared.
    since: RwSignal<u64>,
}

impl Party {
    fn new() -> Self {
        Self {
            queue: RwSignal::new(Default::default()),
            seen: StoredValue::new(Default::default()),
            since: RwSignal::new(0),
        }
    }

    fn enqueue(self, wins: Vec<TvWin>, sound: bool, now: u64) {
        let fresh: Vec<(TvWin, bool)> = wins
            .into_iter()
            .filter(|w| self.seen.try_update_value(|s| s.insert(w.id.clone())).unwrap_or(false))
            .map(|w| (w, sound))
            .collect();
        if fresh.is_empty() {
            return;
        }
        self.queue.update(|q| {
            if q.is_empty() {
                self.since.set(now);
            }
            q.extend(fresh);
        });
    }

    /// Called every second: the current celebration gives way after its time.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn tick(self, now: u64) {
        if !self.queue.with_untracked(|q| q.is_empty()) && now >= self.since.get_untracked() + CELEBRATE_SECONDS {
            self.queue.update(|q| {
                q.pop_front();
            });
            self.since.set(now);
        }
    }
}

/// Whether the browser knows it has no network.
fn offline() -> bool {
    #[cfg(feature = "hydrate")]
    return !window().navigator().on_line();
    #[cfg(not(feature = "hydrate"))]
    false
}

#[component]
pub fn Tv() -> impl IntoView {
    let feed = live_feed();
    // A won deal is read (and celebrated) at once; `changed` brings the new standings.
    let data = Resource::new(
        move || (feed.version.get(), feed.won_seq.get()),
        move |_| {
            // Whatever was won since the last completed read is celebrated by this one. The ids
            // leave `won` only when a read answers (below): a read superseded by a newer one loses none.
            let won = feed.won.get_untracked();
            async move {
                let view = load_tv(won.join(",")).await;
                (won, view)
            }
        },
    );
    // A second counter drives slide rotation, the celebrations and the stale warning.
    let seconds = RwSignal::new(0u64);
    let now = RwSignal::new(0.0f64);
    let party = Party::new();
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            let _ = set_interval_with_handle(
                move || {
                    seconds.update(|s| *s += 1);
                    now.set(js_sys::Date::now());
                    party.tick(seconds.get_untracked());
                },
                std::time::Duration::from_secs(1),
            );
        }
    });
    // Each answered read queues its won deals (effects run only in the browser).
    Effect::new(move |_| {
        if let Some((asked, Ok(TvView::Live(state)))) = data.get() {
            feed.won.update(|w| w.retain(|id| !asked.contains(id)));
            party.enqueue(state.celebrate, state.sound, seconds.get_untracked());
        }
    });
    let current = Memo::new(move |_| party.queue.with(|q| q.front().cloned()));
    // One chime per celebration shown, when the display's sound was on as the deal was won.
    Effect::new(move |_| {
        if current.with(|c| c.as_ref().is_some_and(|(_, sound)| *sound)) {
            #[cfg(feature = "hydrate")]
            chime::play();
        }
    });
    // Stale: nothing heard for a minute, or no network at all (a wall the service worker kept,
    // shown after a reload without Wi-Fi). `now` is 0 until the first tick, and on the server.
    let stale = move || {
        let (heard, now) = (feed.heard_at.get(), now.get());
        now > 0.0 && (now - heard > 60_000.0 || offline())
    };
    let lang = crate::i18n::use_lang();
    view! {
        <div class="tv" class:revoked=move || feed.revoked.get()>
            <Transition fallback=|| view! { <p class="tv-wait">"…"</p> }>
                {move || Suspend::new(async move {
                    match data.await.1 {
                        Ok(TvView::Pairing { code }) => view! { <Pairing code/> }.into_any(),
                        Ok(TvView::Live(state)) => view! { <Wall state=*state seconds/> }.into_any(),
                        Err(e) => view! { <p class="tv-wait">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            // `data-queue`: the deals being and waiting to be celebrated, in turn (tests read it).
            <div
                class="celebrations"
                data-queue=move || party.queue.with(|q| q.iter().map(|(w, _)| w.id.as_str()).collect::<Vec<_>>().join(" "))
            >
                {move || current.get().map(|(w, _)| view! {
                    <div class="celebration" role="status" data-win=w.id>
                        <p class="burst" aria-hidden="true">"★"</p>
                        <p class="winner">{w.name}</p>
                        <p class="amount">{w.amount}</p>
                        <p>{lang.t("tv.deal_won")}</p>
                    </div>
                })}
            </div>
            <div class="tv-live"><LiveStatus/></div>
            <p class="tv-stale" role="alert" hidden=move || !stale()>
                {lang.t("tv.stale")}
            </p>
            <p class="tv-blank" hidden=move || !feed.revoked.get()>{lang.t("tv.revoked")}</p>
        </div>
    }
}

#[component]
fn Pairing(code: String) -> impl IntoView {
    // Until a manager enters the code, look again every 3 seconds; the reload
    // picks up the display cookie and opens the live stream with it.
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            let _ = set_interval_with_handle(
                || {
                    let _ = window().location().reload();
                },
                std::time::Duration::from_secs(3),
            );
        }
    });
    let lang = crate::i18n::use_lang();
    view! {
        <section class="tv-pairing">
            <h1>"KPI Arena"</h1>
            <p>{lang.t("tv.pairing")}</p>
            <p class="tv-code" data-testid="tv-code">{code}</p>
        </section>
    }
}

#[component]
fn Wall(state: TvState, seconds: RwSignal<u64>) -> impl IntoView {
    let TvState { display, org, rotate_seconds, updated, period, board, challenges, kpis, wins, badges, .. } = state;
    let lang = crate::i18n::use_lang();
    let rotate = rotate_seconds.max(5) as u64;
    let slides = 5u64;
    let active = move |i: u64| (seconds.get() / rotate) % slides == i;
    let rows = |rows: Vec<TvRow>| {
        rows.into_iter()
            .map(|r| view! { <tr><td class="rank">{r.rank}</td><td>{r.name}</td><td class="num">{r.value}</td></tr> })
            .collect_view()
    };
    let board = rows(board);
    let challenges = challenges
        .into_iter()
        .map(
            |c| view! { <div class="tv-challenge"><h3>{c.name}</h3><table><tbody>{rows(c.rows)}</tbody></table></div> },
        )
        .collect_view();
    let kpis = kpis
        .into_iter()
        .map(|k| {
            // KPIS.md: a value is shown with its target and attainment wherever a target exists.
            let goal = match (k.target, k.attainment) {
                (Some(t), Some(a)) => view! {
                    <p class="target">{domain::tr!(lang, "tv.target", target = t).into_owned()}</p>
                    <p class="attained">{crate::format::percent(a, 0, lang)}</p>
                    <progress max="100" value=format!("{:.0}", a.min(100.0))></progress>
                }
                .into_any(),
                (Some(t), None) => {
                    view! { <p class="target">{domain::tr!(lang, "tv.target", target = t).into_owned()}</p> }.into_any()
                }
                (None, _) => view! { <p class="target">{lang.t("tv.no_target")}</p> }.into_any(),
            };
            view! {
                <div class="tv-kpi" data-kpi=k.id>
                    <h3>{k.label}</h3>
                    <p class="value">{k.value}</p>
                    {goal}
                </div>
            }
        })
        .collect_view();
    let wins = wins
        .into_iter()
        .map(|w| view! { <li data-deal=w.id><span>{w.when}</span>" "<strong>{w.name}</strong>" "{w.amount}</li> })
        .collect_view();
    let badges = badges
        .into_iter()
        .map(|b| view! { <li><span aria-hidden="true">{b.icon}</span>" "<strong>{b.name}</strong>" — "{b.badge}</li> })
        .collect_view();
    view! {
        <header class="tv-head">
            <span class="tv-org">{org}</span>
            <span class="tv-name">{display}" · "{period}</span>
            <span class="tv-updated" data-testid="tv-updated">{lang.t("tv.updated")}" "{updated}</span>
        </header>
        <section class="tv-slide" class:active=move || active(0) data-slide="leaderboard">
            <h2>{lang.t("tv.revenue_board")}</h2>
            <table class="tv-board"><tbody>{board}</tbody></table>
        </section>
        <section class="tv-slide" class:active=move || active(1) data-slide="challenges">
            <h2>{lang.t("nav.challenges")}</h2>
            <div class="tv-challenges">{challenges}</div>
        </section>
        <section class="tv-slide" class:active=move || active(2) data-slide="kpis">
            <h2>{lang.t("tv.kpis_targets")}</h2>
            <div class="tv-kpis">{kpis}</div>
        </section>
        <section class="tv-slide" class:active=move || active(3) data-slide="wins">
            <h2>{lang.t("tv.recent_wins")}</h2>
            <ul class="tv-list" data-testid="tv-wins">{wins}</ul>
        </section>
        <section class="tv-slide" class:active=move || active(4) data-slide="badges">
            <h2>{lang.t("tv.badges_today")}</h2>
            <ul class="tv-list">{badges}</ul>
        </section>
    }
}

/// The won-deal chime: two short sine tones from WebAudio, no audio files.
#[cfg(feature = "hydrate")]
mod chime {
    use std::cell::RefCell;
    use web_sys::{AudioContext, OscillatorType};

    thread_local! {
        static CONTEXT: RefCell<Option<AudioContext>> = const { RefCell::new(None) };
    }

    pub fn play() {
        let played = CONTEXT.with(|c| {
            let mut c = c.borrow_mut();
            if c.is_none() {
                *c = AudioContext::new().ok();
            }
            c.as_ref().map(tones)
        });
        // Counted on the page, so tests can tell a chime was started.
        if let (Some(Ok(())), Some(body)) = (played, document().body()) {
            let n = body.get_attribute("data-chimes").and_then(|n| n.parse::<u32>().ok()).unwrap_or(0);
            let _ = body.set_attribute("data-chimes", &(n + 1).to_string());
        }
    }

    fn tones(ctx: &AudioContext) -> Result<(), wasm_bindgen::JsValue> {
        let _ = ctx.resume();
        let now = ctx.current_time();
        for (i, freq) in [880.0f32, 1318.5].into_iter().enumerate() {
            let osc = ctx.create_oscillator()?;
            let gain = ctx.create_gain()?;
            osc.set_type(OscillatorType::Sine);
            osc.frequency().set_value(freq);
            let start = now + i as f64 * 0.16;
            gain.gain().set_value_at_time(0.0, start)?;
            gain.gain().linear_ramp_to_value_at_time(0.25, start + 0.02)?;
            gain.gain().exponential_ramp_to_value_at_time(0.001, start + 0.6)?;
            osc.connect_with_audio_node(&gain)?;
            gain.connect_with_audio_node(&ctx.destination())?;
            osc.start_with_when(start)?;
            osc.stop_with_when(start + 0.65)?;
        }
        Ok(())
    }

    use leptos::prelude::document;
}
