//! `/`: sends a visitor to the leaderboard (or to sign in first).

use leptos::prelude::*;
use leptos_router::components::Redirect;

#[component]
pub fn Home() -> impl IntoView {
    view! { <Redirect path="/leaderboard"/> }
}
