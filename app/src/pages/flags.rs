//! `/flags`: anti-gaming signals for a manager to judge — late wins, wins
//! undone within a week, activity spikes — each with the records behind it.

use crate::auth::CurrentUser;
use crate::components::{loaded, TopBar};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagRow {
    pub kind: String,
    pub who: String,
    pub when: String,
    pub detail: String,
    pub records: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagsView {
    pub me: CurrentUser,
    pub rows: Vec<FlagRow>,
}

#[server(prefix = "/api", endpoint = "flags_view")]
pub async fn load_flags() -> Result<FlagsView, ServerFnError> {
    use crate::auth::Role;
    let me = crate::auth::server::require_user().await?;
    let pool = expect_context::<crate::state::AppState>().pool;
    let team = match me.role {
        Role::Rep => return Err(crate::auth::server::forbidden("Only managers and admins review flags.").await),
        Role::Manager => Some(me.team_id.clone().ok_or_else(|| ServerFnError::new("You manage no team yet."))?),
        Role::Admin => None,
    };
    let tz = crate::db::settings::load(&pool).await.map_err(ServerFnError::new)?.time_zone;
    let flags = crate::db::flags::flags(&pool, team.as_deref()).await.map_err(ServerFnError::new)?;
    Ok(FlagsView {
        me,
        rows: flags
            .into_iter()
            .map(|f| FlagRow {
                kind: f.kind,
                who: f.user_name,
                when: f.at.with_timezone(&tz).format("%d.%m.%Y %H:%M").to_string(),
                detail: f.detail,
                records: f.records.into_iter().map(|r| format!("{} {}", r.kind, r.id)).collect(),
            })
            .collect(),
    })
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "late_record" => "Поздняя запись / Logged late",
        "won_then_undone" => "Выиграна, затем отменена / Won, then undone",
        _ => "Всплеск активности / Activity spike",
    }
}

#[component]
pub fn Flags() -> impl IntoView {
    let data = Resource::new(|| (), |_| load_flags());
    loaded(data, |view| view! { <FlagsPage view/> })
}

#[component]
fn FlagsPage(view: FlagsView) -> impl IntoView {
    let FlagsView { me, rows } = view;
    let body = if rows.is_empty() {
        view! { <p class="muted">"Сигналов нет / Nothing to review."</p> }.into_any()
    } else {
        let rows = rows
            .into_iter()
            .map(|f| {
                view! {
                    <tr data-flag=f.kind.clone()>
                        <td>{f.when}</td>
                        <td>{f.who}</td>
                        <td>{kind_label(&f.kind)}</td>
                        <td>{f.detail}</td>
                        <td class="records">{f.records.join(", ")}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="board" data-testid="flags">
                <thead><tr>
                    <th>"Когда / When"</th><th>"Кто / Who"</th><th>"Сигнал / Signal"</th><th>"Подробно / Detail"</th>
                    <th>"Записи / Records"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };
    view! {
        <TopBar user=me/>
        <main class="page">
            <div class="heading"><h1>"Сигналы для проверки / Flags to review"</h1></div>
            <p class="muted">
                "Это не обвинения: решение за человеком. / These are not verdicts: a person decides."
            </p>
            {body}
        </main>
    }
}
