//! The browser side of live updates: one `EventSource` on `/api/live` per
//! page. Every `changed` event (and every reconnect) bumps `version`, so
//! resources that read it re-read their state; the server renders, the browser
//! only swaps in the new data, with no reload. A `won` event queues the deals
//! and bumps `won_seq` (the TV reads on it, to celebrate at once; the `changed`
//! that follows within 100 ms brings everyone the new standings). After a lost
//! connection the browser reconnects after the delay the server gave it (a
//! random 1 to 5 s), and `status` says so on screen.

use leptos::prelude::*;

#[derive(Clone, Copy)]
pub struct LiveFeed {
    /// Bumped whenever the page should re-read its data.
    pub version: RwSignal<u64>,
    /// Deals won since the last read, to celebrate.
    pub won: RwSignal<Vec<String>>,
    /// When the server was last heard from (ms since the epoch; 0 before hydration).
    pub heard_at: RwSignal<f64>,
    /// The display was revoked: blank the screen.
    pub revoked: RwSignal<bool>,
    /// Bumped at every `won` event.
    pub won_seq: RwSignal<u64>,
    /// Whether the stream is open now.
    pub status: RwSignal<Status>,
}

/// The state of a page's live stream, as the page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Not yet open (before hydration, or the first connection).
    Connecting,
    Live,
    /// Lost; the browser is reconnecting.
    Reconnecting,
    /// Closed for good (signed out, revoked).
    Closed,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Status::Connecting => "connecting",
            Status::Live => "live",
            Status::Reconnecting => "reconnecting",
            Status::Closed => "closed",
        }
    }
}

/// "Live" or "reconnecting…", honestly: what the page's stream is doing now
/// (the page's `live_feed`, from the context; nothing on a page without one).
#[component]
pub fn LiveStatus() -> impl IntoView {
    let feed = use_context::<LiveFeed>()?;
    let lang = crate::i18n::use_lang();
    let state = move || feed.status.get();
    Some(view! {
        <span class="live-status" data-testid="live-status" data-state=move || state().name()>
            {move || lang.t(match state() {
                Status::Connecting => "live.connecting",
                Status::Live => "live.live",
                Status::Reconnecting => "live.reconnecting",
                Status::Closed => "live.closed",
            })}
        </span>
    })
}

/// Opens the page's live feed (in the browser only; on the server nothing happens).
pub fn live_feed() -> LiveFeed {
    let feed = LiveFeed {
        version: RwSignal::new(0),
        won: RwSignal::new(Vec::new()),
        heard_at: RwSignal::new(0.0),
        revoked: RwSignal::new(false),
        won_seq: RwSignal::new(0),
        status: RwSignal::new(Status::Connecting),
    };
    provide_context(feed);
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        connect(feed);
    });
    feed
}

#[cfg(feature = "hydrate")]
fn connect(feed: LiveFeed) {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    let heard = move || feed.heard_at.set(js_sys::Date::now());
    // The page's data is as fresh as its load: from here the stale warnings count.
    heard();
    let Ok(source) = web_sys::EventSource::new("/api/live") else { return };
    let listen = |name: &str, handler: Box<dyn FnMut(web_sys::MessageEvent)>| {
        let callback = Closure::wrap(handler);
        let _ = source.add_event_listener_with_callback(name, callback.as_ref().unchecked_ref());
        // The listeners live as long as the page.
        callback.forget();
    };
    // After every (re)connect, re-read: a notification missed while away costs nothing.
    listen(
        "open",
        Box::new(move |_| {
            heard();
            feed.status.set(Status::Live);
            // A mark for tests and styles: the page is live from here on.
            if let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) {
                let _ = body.set_attribute("data-live", "open");
            }
            feed.version.update(|v| *v += 1);
        }),
    );
    listen(
        "changed",
        Box::new(move |_| {
            heard();
            feed.version.update(|v| *v += 1);
        }),
    );
    listen(
        "won",
        Box::new(move |e: web_sys::MessageEvent| {
            heard();
            let ids = e.data().as_string().unwrap_or_default();
            feed.won.update(|w| w.extend(ids.split(',').filter(|s| !s.is_empty()).map(str::to_string)));
            feed.won_seq.update(|v| *v += 1);
        }),
    );
    listen("ping", Box::new(move |_| heard()));
    let watched = source.clone();
    listen(
        "error",
        Box::new(move |_| {
            // CONNECTING: the browser tries again by itself; CLOSED: it gave up (refused).
            let status = if watched.ready_state() == web_sys::EventSource::CLOSED {
                Status::Closed
            } else {
                Status::Reconnecting
            };
            feed.status.set(status);
            if let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) {
                let _ = body.set_attribute("data-live", status.name());
            }
        }),
    );
    let closing = source.clone();
    listen(
        "revoked",
        Box::new(move |_| {
            closing.close();
            feed.status.set(Status::Closed);
            feed.revoked.set(true);
        }),
    );
    let ending = source.clone();
    listen(
        "signed_out",
        Box::new(move |_| {
            ending.close();
            feed.status.set(Status::Closed);
        }),
    );
}
