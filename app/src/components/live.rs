//! The browser side of live updates: one `EventSource` on `/api/live` per
//! page. Every `changed` or `won` event (and every reconnect) bumps `version`,
//! so resources that read it re-read their state; the server renders, the
//! browser only swaps in the new data, with no reload.

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
}

/// Opens the page's live feed (in the browser only; on the server nothing happens).
pub fn live_feed() -> LiveFeed {
    let feed = LiveFeed {
        version: RwSignal::new(0),
        won: RwSignal::new(Vec::new()),
        heard_at: RwSignal::new(0.0),
        revoked: RwSignal::new(false),
    };
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

    let Ok(source) = web_sys::EventSource::new("/api/live") else { return };
    let heard = move || feed.heard_at.set(js_sys::Date::now());
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
            feed.version.update(|v| *v += 1);
        }),
    );
    listen("ping", Box::new(move |_| heard()));
    let closing = source.clone();
    listen(
        "revoked",
        Box::new(move |_| {
            closing.close();
            feed.revoked.set(true);
        }),
    );
}
