#![recursion_limit = "512"]
//! KPI Arena's shared Leptos crate: pages and components rendered on the
//! server and hydrated in the browser, plus (behind `ssr`) the domain and
//! database code the server functions and the JSON API call.

pub mod auth;
pub mod components;
pub mod error;
pub mod format;
pub mod i18n;
pub mod pages;

// The domain layer, by the names the UI has always used for it.
pub use domain::{badges, clock, fairness, insights, kpi, period, records, scoring};

#[cfg(feature = "ssr")]
pub mod api;
#[cfg(feature = "ssr")]
pub mod import;
#[cfg(feature = "ssr")]
pub mod live;
#[cfg(feature = "ssr")]
pub mod origin;
#[cfg(feature = "ssr")]
pub mod reports;
#[cfg(feature = "ssr")]
pub mod request_id;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod text_guard;

use leptos::prelude::*;

use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, Lazy, SsrMode,
};
use pages::lazy;

/// The pages anyone may open (a pattern of `App`'s routes, or its first part):
/// every other route of `App`, and every path in `SIGNED_IN_PATHS`, sends a
/// visitor without a session to `/login`. The router and the sign-in guard
/// both read `App`'s routes, so a new page is guarded the moment it exists.
pub const PUBLIC_PAGES: [&str; 3] = ["/login", "/invite", "/tv"];

/// The plain axum pages beside `App`'s (files and forms, not Leptos views),
/// all for signed-in users: the router mounts them by these names.
pub mod paths {
    pub const TEAM_REPORT_CSV: &str = "/team/report.csv";
    pub const IMPORT_UPLOAD: &str = "/import";
    pub const IMPORT_TEMPLATE: &str = "/import/template/{file}";
    pub const LIVE: &str = "/api/live";
    pub const LANG: &str = "/lang/{code}";
    /// Every plain axum route beside `App`'s pages, the server functions and the
    /// JSON API, as (method, path): the authorization matrix test covers each.
    pub const PLAIN: [(&str, &str); 5] =
        [("GET", LIVE), ("GET", TEAM_REPORT_CSV), ("GET", LANG), ("POST", IMPORT_UPLOAD), ("GET", IMPORT_TEMPLATE)];
}
pub const SIGNED_IN_PATHS: [&str; 3] = [paths::TEAM_REPORT_CSV, paths::IMPORT_UPLOAD, paths::IMPORT_TEMPLATE];

/// Whether route `pattern` (`/invite/:token`, `/import/{file}`) is one of `PUBLIC_PAGES`.
pub fn is_public(pattern: &str) -> bool {
    PUBLIC_PAGES.iter().any(|p| pattern == *p || pattern.strip_prefix(p).is_some_and(|rest| rest.starts_with('/')))
}

/// Whether `path` is an address of route `pattern`: the same segments, where
/// a `:name` or `{name}` segment stands for any one segment.
pub fn route_matches(pattern: &str, path: &str) -> bool {
    let (mut want, mut got) = (pattern.trim_end_matches('/').split('/'), path.trim_end_matches('/').split('/'));
    loop {
        match (want.next(), got.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w == g || (w.starts_with(':') || w.starts_with('{')) && !g.is_empty() => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod route_tests {
    use super::*;

    #[test]
    fn routes_match_their_addresses_and_the_public_ones_are_named() {
        assert!(route_matches("/", "/"));
        assert!(route_matches("/invite/:token", "/invite/abc"));
        assert!(route_matches("/import/{file}", "/import/deals.csv"));
        assert!(!route_matches("/import/:id", "/import"));
        assert!(!route_matches("/team", "/team/report"));
        assert!(!route_matches("/", "/leaderboard"));
        assert!(is_public("/invite/:token") && is_public("/tv") && is_public("/login"));
        assert!(!is_public("/tvx") && !is_public("/leaderboard") && !is_public("/"));
    }
}

/// Whether the demo organisation's accounts exist (their password is published).
#[server(prefix = "/api", endpoint = "demo_data")]
pub async fn demo_data() -> Result<bool, error::AppError> {
    let pool = expect_context::<state::AppState>().pool.clone();
    Ok(store::demo::accounts_exist(&pool).await?)
}

/// On every page while the demo's accounts exist: a strip saying the data is a
/// demo and how to remove it. It never takes a click (pointer events pass through).
#[component]
fn DemoBanner() -> impl IntoView {
    let demo = Resource::new(|| (), |_| demo_data());
    let lang = i18n::use_lang();
    view! {
        <Suspense fallback=|| ()>
            {move || {
                demo.get().and_then(Result::ok).filter(|d| *d).map(|_| {
                    view! { <p class="demo-banner" role="note" data-testid="demo-banner">{lang.t("demo.banner")}</p> }
                })
            }}
        </Suspense>
    }
}

/// The Content-Security-Policy of a page whose inline scripts (Leptos's
/// hydration and resource data) carry `nonce`: scripts only from this site or
/// with the nonce, WebAssembly allowed, styles only from this site (plus
/// `style` attributes: the progress bars' widths), no framing, no plugins.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         style-src-attr 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The HTML document around every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let lang = i18n::use_lang();
    // leptos_axum makes a nonce for every response and puts it on Leptos's own inline scripts.
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) {
        if let Ok(value) = axum::http::HeaderValue::from_str(&content_security_policy(&nonce.to_string())) {
            response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang=lang.code()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HashedStylesheet options=options.clone() id="leptos"/>
                <HydrationScripts options/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                // Installable: a rep adds it to the home screen; public/sw.js keeps the TV wall.
                <link rel="manifest" href="/manifest.webmanifest"/>
                <link rel="apple-touch-icon" href="/icon-192.png"/>
                <meta name="theme-color" content="#0f1420"/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Registers public/sw.js where the browser has service workers (HTTPS or localhost only).
#[cfg(feature = "hydrate")]
fn register_service_worker() {
    let navigator = window().navigator();
    if js_sys::Reflect::has(&navigator, &"serviceWorker".into()).unwrap_or(false) {
        let _ = navigator.service_worker().register("/sw.js");
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(i18n::use_lang());
    // Effects run only in the browser (`data-hydrated` is set by the frontend once the page's
    // chunk is hydrated too).
    Effect::new(|_| {
        #[cfg(feature = "hydrate")]
        register_service_worker();
    });
    view! {
        <Title text="KPI Arena"/>
        <DemoBanner/>
        <Router>
            <Routes fallback=pages::not_found::NotFound>
                <Route path=path!("/") view=pages::home::Home ssr=SsrMode::Async/>
                <Route path=path!("/login") view=pages::login::Login/>
                // Async: the whole page is in the first response, so it works without JavaScript.
                <Route path=path!("/leaderboard") view=pages::leaderboard::Leaderboard ssr=SsrMode::Async/>
                <Route path=path!("/kpis") view=pages::kpis::Kpis ssr=SsrMode::Async/>
                <Route path=path!("/targets") view=pages::targets::Targets ssr=SsrMode::Async/>
                <Route path=path!("/team") view=pages::team::Team ssr=SsrMode::Async/>
                <Route path=path!("/team/report") view={Lazy::<lazy::TeamReportRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/settings") view={Lazy::<lazy::SettingsRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/points") view=pages::points::Points ssr=SsrMode::Async/>
                <Route path=path!("/badges") view=pages::badges::Badges ssr=SsrMode::Async/>
                <Route path=path!("/challenges") view=pages::challenges::Challenges ssr=SsrMode::Async/>
                <Route path=path!("/rules") view={Lazy::<lazy::RulesRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/flags") view={Lazy::<lazy::FlagsRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/displays") view={Lazy::<lazy::DisplaysRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/tv") view=pages::tv::Tv ssr=SsrMode::Async/>
                <Route path=path!("/deals/new") view=pages::deals::NewDeal ssr=SsrMode::Async/>
                <Route path=path!("/users") view={Lazy::<lazy::UsersRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/invite/:token") view={Lazy::<lazy::InviteRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/teams") view={Lazy::<lazy::TeamsRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/tokens") view={Lazy::<lazy::TokensRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/connectors") view={Lazy::<lazy::ConnectorsRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/notifications") view={Lazy::<lazy::NotificationsRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/import") view={Lazy::<lazy::ImportsRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/import/:id") view={Lazy::<lazy::ImportRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/account") view={Lazy::<lazy::AccountRoute>::new()} ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}
