//! The rarely used pages as lazily loaded routes: built with `cargo leptos build --split`, each
//! one's code is WASM chunks of its own, fetched when the page is first shown, so a rep's first
//! load never carries the admin pages. The pages everyone opens daily (sign-in, home, leaderboard,
//! KPIs, points, badges, challenges, the deal form, targets, team, the TV) stay in the main file:
//! split, each needed dozens of small chunks, which on a phone's network (HTTP/1.1, 6 connections,
//! half a second a round trip) cost more than they saved. On the server, and in a build without
//! `--split`, a lazy route renders exactly as the page itself: server-side rendering and the
//! no-JavaScript behaviour do not change.
//!
//! A page's data starts loading with its view (its resources live in its component), after its
//! chunk arrives: the chunks are small, and the server-rendered first load carries its data.

use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};

macro_rules! lazy_pages {
    ($($route:ident => $page:path;)*) => {$(
        #[doc = concat!("`", stringify!($page), "`, loaded lazily.")]
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                $page().into_any()
            }
        }
    )*};
}

lazy_pages! {
    TeamReportRoute => super::report::TeamReport;
    SettingsRoute => super::settings::Settings;
    RulesRoute => super::rules::Rules;
    FlagsRoute => super::flags::Flags;
    DisplaysRoute => super::displays::Displays;
    UsersRoute => super::users::Users;
    InviteRoute => super::invite::Invite;
    TeamsRoute => super::teams::Teams;
    TokensRoute => super::tokens::Tokens;
    ConnectorsRoute => super::connectors::Connectors;
    NotificationsRoute => super::notifications::Notifications;
    ImportsRoute => super::import::Imports;
    ImportRoute => super::import::ImportPage;
    AccountRoute => super::account::Account;
}
