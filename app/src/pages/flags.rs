//! `/flags`: anti-gaming signals for a manager to judge — late wins, wins
//! undone within a week, activity spikes — each with the records behind it.

use crate::auth::CurrentUser;
use crate::components::{loaded, TopBar};
use crate::error::AppError;
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
pub async fn load_flags() -> Result<FlagsView, AppError> {
    use crate::auth::Role;
    let me = crate::auth::server::require_user().await?;
    let pool = expect_context::<crate::state::AppState>().pool;
    let team = match me.role {
        Role::Rep => return Err(crate::auth::server::forbidden("err.flags_managers").await),
        Role::Manager => Some(me.team_id.clone().ok_or_else(|| crate::i18n::error("err.no_team_yet"))?),
        Role::Admin => None,
    };
    let lang = crate::i18n::use_lang();
    let tz = store::settings::load(&pool).await.map_err(AppError::server)?.time_zone;
    let flags = store::flags::flags(&pool, team.as_deref()).await.map_err(AppError::server)?;
    Ok(FlagsView {
        me,
        rows: flags
            .into_iter()
            .map(|f| FlagRow {
                kind: f.kind,
                who: f.user_name,
                when: crate::format::date_time(f.at.with_timezone(&tz), lang),
                detail: f.detail,
                records: f.records.into_iter().map(|r| format!("{} {}", r.kind, r.id)).collect(),
            })
            .collect(),
    })
}

fn kind_label(kind: &str, lang: crate::i18n::Lang) -> String {
    lang.t(match kind {
        "late_record" => "flags.late_record",
        "won_then_undone" => "flags.won_then_undone",
        _ => "flags.activity_spike",
    })
}

#[component]
pub fn Flags() -> impl IntoView {
    let data = Resource::new(|| (), |_| load_flags());
    loaded(data, |view| view! { <FlagsPage view/> })
}

#[component]
fn FlagsPage(view: FlagsView) -> impl IntoView {
    let FlagsView { me, rows } = view;
    let lang = crate::i18n::use_lang();
    let body = if rows.is_empty() {
        view! { <p class="muted">{lang.t("flags.none")}</p> }.into_any()
    } else {
        let rows = rows
            .into_iter()
            .map(|f| {
                view! {
                    <tr data-flag=f.kind.clone()>
                        <td>{f.when}</td>
                        <td>{f.who}</td>
                        <td>{kind_label(&f.kind, lang)}</td>
                        <td>{f.detail}</td>
                        <td class="records">{f.records.join(", ")}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="board" data-testid="flags">
                <thead><tr>
                    <th>{lang.t("points.when")}</th><th>{lang.t("board.who")}</th><th>{lang.t("flags.signal")}</th>
                    <th>{lang.t("flags.detail")}</th><th>{lang.t("flags.records")}</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };
    view! {
        <TopBar user=me/>
        <main class="page">
            <div class="heading"><h1>{lang.t("flags.title")}</h1></div>
            <p class="muted">
                {lang.t("flags.not_verdicts")}
            </p>
            {body}
        </main>
    }
}
