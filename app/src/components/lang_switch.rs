//! The language switch: plain links to `GET /lang/{code}?back=…`, which sets
//! the `lang` cookie and comes back here, so it works without JavaScript.

use crate::i18n::{use_lang, Lang};
use leptos::prelude::*;
use leptos_router::hooks::use_location;

#[component]
pub fn LangSwitch() -> impl IntoView {
    let lang = use_lang();
    let location = use_location();
    let back = move || {
        let path = location.pathname.get();
        let search = location.search.get();
        let search = search.trim_start_matches('?');
        if search.is_empty() {
            path
        } else {
            format!("{path}?{search}")
        }
    };
    view! {
        <div class="lang-switch" role="group" aria-label=lang.t("lang.switch")>
            {Lang::ALL
                .into_iter()
                .map(|l| {
                    let href = move || format!("/lang/{}?back={}", l.code(), encode(&back()));
                    view! {
                        // rel=external: a full page load, not a client-side route.
                        <a
                            href=href
                            rel="external"
                            lang=l.code()
                            hreflang=l.code()
                            aria-current=(l == lang).then_some("true")
                            data-testid=format!("lang-{}", l.code())
                        >
                            {l.t("lang.name")}
                        </a>
                    }
                })
                .collect_view()}
        </div>
    }
}

/// Percent-encodes a query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
