//! `/flags`: anti-gaming signals for a manager to judge — late wins, wins
//! undone within a week, activity spikes, wins dated ahead or at zero — each
//! with the records behind it. A verdict ("fine" or "acted on", with a note)
//! moves a flag from the open list to the resolved one below it.

use crate::auth::CurrentUser;
use crate::components::{loaded, TopBar};
use crate::error::AppError;
use crate::pages::choices::{options, Choice};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagRow {
    pub key: String,
    pub kind: String,
    pub who: String,
    pub when: String,
    pub detail: String,
    pub records: Vec<String>,
    /// Resolved flags: (verdict, note, by whom, when), in words.
    pub resolution: Option<(String, String, String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagsView {
    pub me: CurrentUser,
    pub rows: Vec<FlagRow>,
    pub resolved: Vec<FlagRow>,
}

#[server(prefix = "/api", endpoint = "flags_view")]
pub async fn load_flags() -> Result<FlagsView, AppError> {
    use crate::auth::Role;
    let me = crate::auth::server::require_user().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let team = match me.role {
        Role::Rep => return Err(crate::auth::server::forbidden("err.flags_managers").await),
        Role::Manager => Some(me.team_id.clone().ok_or_else(|| crate::i18n::error("err.no_team_yet"))?),
        Role::Admin => None,
    };
    let lang = crate::i18n::use_lang();
    let tz = store::settings::load(&pool).await.map_err(AppError::server)?.time_zone;
    let open = store::flags::flags(&pool, team.as_deref()).await.map_err(AppError::server)?;
    let resolved = store::flags::resolved(&pool, team.as_deref()).await.map_err(AppError::server)?;
    let when = |at: chrono::DateTime<chrono::Utc>| crate::format::date_time(at.with_timezone(&tz), lang);
    let row = |f: store::flags::Flag| FlagRow {
        key: f.key,
        kind: f.kind,
        who: f.user_name,
        when: when(f.at),
        detail: f.about.map(|a| a.in_lang(lang)).unwrap_or(f.detail),
        records: f.records.into_iter().map(|r| format!("{} {}", r.kind, r.id)).collect(),
        resolution: f.resolution.map(|r| (lang.t(r.verdict.key()), r.note, r.by_name, when(r.at))),
    };
    Ok(FlagsView { me, rows: open.into_iter().map(row).collect(), resolved: resolved.into_iter().map(row).collect() })
}

/// Gives a verdict on the flag `key`: `fine` or `acted_on`, with an optional note.
#[server(prefix = "/api", endpoint = "resolve_flag")]
pub async fn resolve_flag(key: String, verdict: String, note: Option<String>) -> Result<(), AppError> {
    use services::flags::FlagError;
    let me = crate::auth::server::require_user().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    match services::flags::resolve(&pool, &me, &key, &verdict, note.as_deref().unwrap_or("")).await {
        Ok(()) => Ok(()),
        Err(FlagError::Invalid(m)) => Err(crate::i18n::error(m)),
        Err(FlagError::Forbidden(m)) => Err(crate::auth::server::forbidden(m).await),
        Err(e @ FlagError::Db(_)) => Err(AppError::server(e)),
    }
}

fn kind_label(kind: &str, lang: crate::i18n::Lang) -> String {
    lang.t(match kind {
        "late_record" => "flags.late_record",
        "won_then_undone" => "flags.won_then_undone",
        "future_win" => "flags.future_win",
        "zero_win" => "flags.zero_win",
        _ => "flags.activity_spike",
    })
}

#[component]
pub fn Flags() -> impl IntoView {
    let resolve = ServerAction::<ResolveFlag>::new();
    let data = Resource::new(move || resolve.version().get(), |_| load_flags());
    loaded(data, move |view| view! { <FlagsPage view resolve/> })
}

#[component]
fn FlagsPage(view: FlagsView, resolve: ServerAction<ResolveFlag>) -> impl IntoView {
    let FlagsView { me, rows, resolved } = view;
    let lang = crate::i18n::use_lang();
    let verdicts = move || {
        domain::fairness::Verdict::ALL
            .into_iter()
            .map(|v| Choice { value: v.as_str().into(), label: lang.t(v.key()) })
            .collect::<Vec<_>>()
    };
    let answer = move || {
        resolve.value().get().map(|r| match r {
            Ok(()) => view! { <p class="saved" role="status">{lang.t("flags.resolved_one")}</p> }.into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        })
    };
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
                        <td>
                            <ActionForm action=resolve attr:class="inline" attr:data-testid="resolve-flag">
                                <input type="hidden" name="key" value=f.key/>
                                <select name="verdict" aria-label=lang.t("flags.verdict_col")>
                                    {options(verdicts(), "fine")}
                                </select>
                                <input name="note" maxlength="1000" placeholder=lang.t("flags.note") aria-label=lang.t("flags.note")/>
                                <button type="submit">{lang.t("flags.resolve")}</button>
                            </ActionForm>
                        </td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="board" data-testid="flags">
                <thead><tr>
                    <th>{lang.t("points.when")}</th><th>{lang.t("board.who")}</th><th>{lang.t("flags.signal")}</th>
                    <th>{lang.t("flags.detail")}</th><th>{lang.t("flags.records")}</th><th>{lang.t("flags.verdict_col")}</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };
    let history = (!resolved.is_empty()).then(|| {
        let rows = resolved
            .into_iter()
            .map(|f| {
                let (verdict, note, by, at) = f.resolution.unwrap_or_default();
                view! {
                    <tr data-flag=f.kind.clone()>
                        <td>{f.when}</td>
                        <td>{f.who}</td>
                        <td>{kind_label(&f.kind, lang)}</td>
                        <td>{f.detail}</td>
                        <td>{verdict}</td>
                        <td>{note}</td>
                        <td>{by}</td>
                        <td>{at}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <h2>{lang.t("flags.resolved_title")}</h2>
            <table class="board" data-testid="flags-resolved">
                <thead><tr>
                    <th>{lang.t("points.when")}</th><th>{lang.t("board.who")}</th><th>{lang.t("flags.signal")}</th>
                    <th>{lang.t("flags.detail")}</th><th>{lang.t("flags.verdict_col")}</th><th>{lang.t("flags.note")}</th>
                    <th>{lang.t("flags.resolved_by")}</th><th>{lang.t("flags.resolved_at")}</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
    });
    view! {
        <TopBar user=me/>
        <main class="page">
            <div class="heading"><h1>{lang.t("flags.title")}</h1></div>
            <p class="muted">
                {lang.t("flags.not_verdicts")}
            </p>
            {answer}
            {body}
            {history}
        </main>
    }
}
