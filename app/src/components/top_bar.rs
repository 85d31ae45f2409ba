//! The bar above every signed-in page: brand, navigation, language, who is signed in, sign out.

use crate::auth::{CurrentUser, Logout};
use crate::components::LangSwitch;
use crate::i18n::use_lang;
use leptos::prelude::*;

/// The role's name in the reader's language ("Продавец", not `rep`).
pub fn role_key(role: crate::auth::Role) -> &'static str {
    match role {
        crate::auth::Role::Rep => "users.role_rep",
        crate::auth::Role::Manager => "users.role_manager",
        crate::auth::Role::Admin => "users.role_admin",
    }
}

#[component]
pub fn TopBar(user: CurrentUser) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    let lang = use_lang();
    let link = move |href: &'static str, key: &str| view! { <a href=href>{lang.t(key)}</a> };
    view! {
        <header class="top-bar">
            <a class="brand" href="/">"KPI Arena"</a>
            <nav>
                {link("/leaderboard", "nav.leaderboard")}
                {link("/kpis", "nav.kpis")}
                {link("/points", "nav.points")}
                {link("/badges", "nav.badges")}
                {link("/challenges", "nav.challenges")}
                {link("/deals/new", "nav.won_deal")}
                {(user.role != crate::auth::Role::Rep).then(|| view! {
                    {link("/team", "nav.team")}
                    {link("/targets", "nav.targets")}
                    {link("/rules", "nav.rules")}
                    {link("/flags", "nav.flags")}
                    {link("/displays", "nav.displays")}
                    {link("/tokens", "nav.tokens")}
                    {link("/import", "nav.import")}
                    {link("/notifications", "nav.notifications")}
                })}
                {(user.role == crate::auth::Role::Manager).then(|| view! { {link("/users", "nav.users")} })}
                {(user.role == crate::auth::Role::Admin).then(|| view! {
                    {link("/users", "nav.users")}
                    {link("/teams", "nav.teams")}
                    {link("/settings", "nav.settings")}
                    {link("/connectors", "nav.connectors")}
                })}
            </nav>
            <LangSwitch/>
            <a class="who" href="/account" data-testid="who" title=lang.t("account.title")>{format!("{} · {}", user.name, lang.t(role_key(user.role)))}</a>
            <ActionForm action=logout>
                <button type="submit" class="link">{lang.t("nav.sign_out")}</button>
            </ActionForm>
        </header>
    }
}
