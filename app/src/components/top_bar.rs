//! The bar above every signed-in page: brand, who is signed in, sign out.

use crate::auth::{CurrentUser, Logout};
use leptos::prelude::*;

#[component]
pub fn TopBar(user: CurrentUser) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    view! {
        <header class="top-bar">
            <a class="brand" href="/">"KPI Arena"</a>
            <nav>
                <a href="/leaderboard">"Рейтинг / Leaderboard"</a>
                <a href="/kpis">"Показатели / KPIs"</a>
                <a href="/points">"Очки / Points"</a>
                <a href="/badges">"Награды / Badges"</a>
                <a href="/challenges">"Соревнования / Challenges"</a>
                <a href="/deals/new">"+ Сделка / Won deal"</a>
                {(user.role != crate::auth::Role::Rep).then(|| view! {
                    <a href="/team">"Команда / Team"</a>
                    <a href="/targets">"Цели / Targets"</a>
                    <a href="/rules">"Правила / Rules"</a>
                    <a href="/flags">"Сигналы / Flags"</a>
                    <a href="/displays">"Экраны / Displays"</a>
                    <a href="/tokens">"API-токены / API tokens"</a>
                })}
                {(user.role == crate::auth::Role::Admin).then(|| view! {
                    <a href="/users">"Пользователи / Users"</a>
                    <a href="/teams">"Команды / Teams"</a>
                    <a href="/settings">"Настройки / Settings"</a>
                })}
            </nav>
            <span class="who" data-testid="who">{user.name}" · "{user.role.as_str()}</span>
            <ActionForm action=logout>
                <button type="submit" class="link">"Выйти / Sign out"</button>
            </ActionForm>
        </header>
    }
}
