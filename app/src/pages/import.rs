//! `/import`: CSV import per record kind (managers and admins). A file is
//! uploaded (with a progress bar once the page is live; a plain form post
//! before), read and checked into a preview at `/import/{id}`: every bad row by
//! its line, or the first rows as they will be stored. Storing is one more
//! click, all or nothing, with its progress shown as it runs.

use crate::auth::CurrentUser;
use crate::components::{loaded, TopBar};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

/// The record kinds a file may hold, in the order their references need.
pub const KINDS: [&str; 11] = [
    "team",
    "user",
    "product",
    "customer",
    "lead",
    "deal",
    "activity",
    "meeting_request",
    "feedback",
    "cost",
    "competitor_price",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecentImport {
    pub id: i64,
    pub kind: String,
    pub file_name: String,
    pub status: String,
    pub rows: i32,
    pub created: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportsView {
    pub me: CurrentUser,
    pub recent: Vec<RecentImport>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportView {
    pub me: CurrentUser,
    pub id: i64,
    pub kind: String,
    pub file_name: String,
    /// invalid, ready, storing, done or failed.
    pub status: String,
    pub problem: Option<String>,
    pub columns: Vec<String>,
    /// The first rows, cell by column, as they will be stored.
    pub preview: Vec<Vec<String>>,
    /// (line, id, message) of the first bad rows.
    pub errors: Vec<(u64, Option<String>, String)>,
    pub error_count: i64,
    pub total: i32,
    pub stored: i32,
}

#[cfg(feature = "ssr")]
async fn importer() -> Result<CurrentUser, AppError> {
    let me = crate::auth::server::require_user().await?;
    if !services::access::may_import(&me) {
        return Err(crate::auth::server::forbidden("err.import_forbidden").await);
    }
    Ok(me)
}

#[server(prefix = "/api", endpoint = "imports_view")]
pub async fn load_imports() -> Result<ImportsView, AppError> {
    let me = importer().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let lang = crate::i18n::use_lang();
    let tz = store::settings::load(&pool).await.map_err(AppError::server)?.time_zone;
    let recent = services::imports::recent(&pool, &me)
        .await
        .map_err(AppError::server)?
        .into_iter()
        .map(|(id, kind, file_name, status, rows, at)| RecentImport {
            id,
            kind,
            file_name,
            status,
            rows,
            created: crate::format::date_time(at.with_timezone(&tz), lang),
        })
        .collect();
    Ok(ImportsView { me, recent })
}

#[server(prefix = "/api", endpoint = "import_view")]
pub async fn load_import(id: i64) -> Result<ImportView, AppError> {
    use services::imports::{find, ImportError};
    let me = importer().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let lang = crate::i18n::use_lang();
    let import = match find(&pool, &me, id).await {
        Ok(import) => import,
        Err(ImportError::NotFound(id)) => {
            expect_context::<leptos_axum::ResponseOptions>().set_status(axum::http::StatusCode::NOT_FOUND);
            return Err(crate::i18n::error(crate::i18n::Message::new("err.no_import").with("id", id)));
        }
        Err(e) => return Err(AppError::server(e)),
    };
    let cell = |record: &serde_json::Value, column: &str| match record.get(column) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let preview = import.preview.iter().map(|r| import.columns.iter().map(|c| cell(r, c)).collect()).collect();
    Ok(ImportView {
        me,
        id: import.id,
        kind: import.kind,
        file_name: import.file_name,
        status: import.status,
        problem: import.problem,
        preview,
        columns: import.columns,
        errors: import.errors.iter().map(|e| (e.line, e.id.clone(), e.in_lang(lang))).collect(),
        error_count: import.error_count,
        total: import.total,
        stored: import.stored,
    })
}

/// Starts storing a checked import; its page then follows the progress.
#[server(prefix = "/api", endpoint = "start_import")]
pub async fn start_import(id: i64) -> Result<(), AppError> {
    use services::imports::{start, ImportError};
    let me = importer().await?;
    let pool = expect_context::<crate::state::AppState>().pool.clone();
    let refused = |key: &'static str, id: i64| {
        expect_context::<leptos_axum::ResponseOptions>().set_status(axum::http::StatusCode::CONFLICT);
        Err(crate::i18n::error(crate::i18n::Message::new(key).with("id", id)))
    };
    match start(&pool, &me, id).await {
        Ok(()) => Ok(()),
        Err(ImportError::NotFound(id)) => refused("err.no_import", id),
        Err(ImportError::NotReady(id)) => refused("err.import_not_ready", id),
        Err(e) => Err(AppError::server(e)),
    }
}

#[component]
pub fn Imports() -> impl IntoView {
    let data = Resource::new(|| (), |_| load_imports());
    loaded(data, |view| view! { <ImportsPage view/> })
}

#[component]
fn ImportsPage(view: ImportsView) -> impl IntoView {
    let ImportsView { me, recent } = view;
    let lang = crate::i18n::use_lang();
    let kind_name = move |kind: &str| lang.t(&format!("import.kind.{kind}"));
    let kinds =
        KINDS.iter().map(|k| view! { <option value=*k selected=*k == "deal">{kind_name(k)}</option> }).collect_view();
    let templates = KINDS
        .iter()
        .map(|k| view! { <li><a href=format!("/import/template/{k}.csv") download>{kind_name(k)}</a></li> })
        .collect_view();
    let rows = recent
        .into_iter()
        .map(|r| {
            view! {
                <tr>
                    <td><a href=format!("/import/{}", r.id)>{r.file_name}</a></td>
                    <td>{kind_name(&r.kind)}</td>
                    <td class="num">{crate::format::number(r.rows as f64, 0, lang)}</td>
                    <td><span class=format!("import-status {}", r.status)>{lang.t(&format!("import.status.{}", r.status))}</span></td>
                    <td>{r.created}</td>
                </tr>
            }
        })
        .collect_view();
    let upload = Upload::new();
    view! {
        <TopBar user=me/>
        <main class="page">
            <div class="heading"><h1>{lang.t("import.title")}</h1></div>
            <form class="card form" method="post" action="/import" enctype="multipart/form-data"
                data-testid="import-form" on:submit=move |ev| upload.send(ev)>
                <label>{lang.t("import.kind")}" " <select name="kind">{kinds}</select></label>
                <label>{lang.t("import.file")}" " <input type="file" name="file" accept=".csv,.txt,text/csv" required/></label>
                <button type="submit" disabled=move || upload.sent.get().is_some()>{lang.t("import.check")}</button>
                {move || upload.sent.get().map(|fraction| view! {
                    <div role="status" data-testid="upload-progress">
                        <progress max="100" value=format!("{:.0}", fraction * 100.0) aria-label=lang.t("import.uploading")></progress>
                        " " {if fraction < 1.0 {
                            format!("{} {:.0} %", lang.t("import.uploading"), fraction * 100.0)
                        } else {
                            lang.t("import.checking")
                        }}
                    </div>
                })}
                {move || upload.failure.get().map(|m| view! { <p class="error" role="alert">{m}</p> })}
            </form>
            <section class="card">
                <h2>{lang.t("import.how")}</h2>
                <p>{lang.t("import.how_text")}</p>
                <p data-testid="import-names">{lang.t("import.names_text")}</p>
                <p>{lang.t("import.templates")}</p>
                <ul class="inline-list">{templates}</ul>
            </section>
            <h2>{lang.t("import.recent")}</h2>
            <table class="board" data-testid="recent-imports">
                <thead><tr>
                    <th>{lang.t("import.file")}</th><th>{lang.t("import.kind")}</th><th>{lang.t("import.rows")}</th>
                    <th>{lang.t("import.state")}</th><th>{lang.t("tokens.created")}</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </main>
    }
}

/// The file upload once the page is live: sent with XMLHttpRequest so the
/// bytes sent can be shown; before that, the form posts as it is.
#[derive(Clone, Copy)]
struct Upload {
    /// The fraction sent, once sending began.
    sent: RwSignal<Option<f64>>,
    failure: RwSignal<Option<String>>,
}

impl Upload {
    fn new() -> Upload {
        Upload { sent: RwSignal::new(None), failure: RwSignal::new(None) }
    }

    #[cfg(feature = "hydrate")]
    fn send(self, ev: leptos::ev::SubmitEvent) {
        use wasm_bindgen::{closure::Closure, JsCast};
        let Some(form) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok()) else { return };
        let (Ok(data), Ok(xhr)) = (web_sys::FormData::new_with_form(&form), web_sys::XmlHttpRequest::new()) else {
            return; // The plain form post goes ahead.
        };
        ev.prevent_default();
        self.failure.set(None);
        self.sent.set(Some(0.0));
        let on_progress = Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
            if e.length_computable() && e.total() > 0.0 {
                self.sent.set(Some(e.loaded() / e.total()));
            }
        });
        let done = xhr.clone();
        let on_load = Closure::<dyn FnMut()>::new(move || match done.status() {
            Ok(200) => {
                let _ = window().location().assign(&done.response_url());
            }
            _ => {
                self.sent.set(None);
                self.failure.set(Some(done.response_text().ok().flatten().unwrap_or_default()));
            }
        });
        let on_error = Closure::<dyn FnMut()>::new(move || {
            self.sent.set(None);
            self.failure.set(Some(crate::i18n::use_lang().t("import.upload_failed")));
        });
        if let Ok(upload) = xhr.upload() {
            upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        }
        xhr.set_onload(Some(on_load.as_ref().unchecked_ref()));
        xhr.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        // One upload per page visit: the handlers live as long as the page.
        on_progress.forget();
        on_load.forget();
        on_error.forget();
        if xhr.open("POST", "/import").and_then(|_| xhr.send_with_opt_form_data(Some(&data))).is_err() {
            self.sent.set(None);
        }
    }

    #[cfg(not(feature = "hydrate"))]
    fn send(self, _ev: leptos::ev::SubmitEvent) {}
}

#[component]
pub fn ImportPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|id| id.parse::<i64>().ok()).unwrap_or_default();
    let start = ServerAction::<StartImport>::new();
    // While storing runs, the page asks again every half second.
    let tick = RwSignal::new(0u32);
    let data = Resource::new(move || (id(), start.version().get(), tick.get()), |(id, _, _)| load_import(id));
    Effect::new(move |_| {
        let storing = matches!(data.get(), Some(Ok(ref v)) if v.status == "storing");
        if storing {
            set_timeout(move || tick.update(|t| *t += 1), std::time::Duration::from_millis(500));
        }
    });
    loaded(data, move |view| view! { <ImportDetail view start/> })
}

#[component]
fn ImportDetail(view: ImportView, start: ServerAction<StartImport>) -> impl IntoView {
    let lang = crate::i18n::use_lang();
    let n = move |v: i64| crate::format::number(v as f64, 0, lang);
    let ImportView { me, id, kind, file_name, status, problem, columns, preview, errors, error_count, total, stored } =
        view;
    let say = move |key: &str, pairs: &[(&str, String)]| {
        pairs.iter().fold(lang.t(key), |text, (name, value)| text.replace(&format!("%{{{name}}}"), value))
    };
    let problem = problem.map(|p| view! { <p class="error" role="alert" data-testid="import-problem">{p}</p> });
    let error_rows = errors
        .into_iter()
        .map(|(line, rid, message)| view! { <tr><td class="num">{line}</td><td>{rid}</td><td>{message}</td></tr> })
        .collect_view();
    let errors = (error_count > 0).then(|| {
        view! {
            <p class="error" role="alert">{say("import.bad_rows", &[("n", n(error_count)), ("total", n(total as i64))])}</p>
            <table class="board" data-testid="import-errors">
                <thead><tr><th>{lang.t("import.line")}</th><th>"id"</th><th>{lang.t("import.problem")}</th></tr></thead>
                <tbody>{error_rows}</tbody>
            </table>
        }
    });
    let head = columns.iter().map(|c| view! { <th>{c.clone()}</th> }).collect_view();
    let body = preview
        .into_iter()
        .map(|row| view! { <tr>{row.into_iter().map(|c| view! { <td>{c}</td> }).collect_view()}</tr> })
        .collect_view();
    let preview = (status == "ready" || status == "failed").then(|| {
        view! {
            <h2>{say("import.preview", &[("n", n(total.min(10) as i64)), ("total", n(total as i64))])}</h2>
            <div class="table-scroll">
                <table class="board" data-testid="import-preview"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
            </div>
            <ActionForm action=start attr:class="form" attr:data-testid="start-import">
                <input type="hidden" name="id" value=id.to_string()/>
                <button type="submit">{say("import.store", &[("n", n(total as i64))])}</button>
            </ActionForm>
        }
    });
    let progress = (status == "storing").then(|| {
        view! {
            <div role="status" data-testid="store-progress">
                <progress max=total.to_string() value=stored.to_string() aria-label=lang.t("import.status.storing")></progress>
                " " {say("import.storing", &[("n", n(stored as i64)), ("total", n(total as i64))])}
            </div>
        }
    });
    let done = (status == "done").then(|| {
        view! {
            <p class="saved" role="status" data-testid="import-done">{say("import.done", &[("n", n(total as i64))])}</p>
            <a href="/leaderboard">{lang.t("nav.leaderboard")}</a>
        }
    });
    let refused = move || {
        start.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })
    };
    view! {
        <TopBar user=me/>
        <main class="page">
            <div class="heading">
                <h1>{file_name}</h1>
                <span class="muted">{lang.t(&format!("import.kind.{kind}"))}</span>
                <span class=format!("import-status {status}") data-testid="import-status">{lang.t(&format!("import.status.{status}"))}</span>
            </div>
            {problem}
            {errors}
            {preview}
            {progress}
            {done}
            {refused}
            <p><a href="/import">{lang.t("import.another")}</a></p>
        </main>
    }
}
