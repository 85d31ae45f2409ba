//! The API's OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` attributes
//! (the crate `utoipa`), served at `GET /api/openapi.json`, and a reference page at
//! `GET /api/docs` rendered here from the same document: plain HTML, no script and nothing
//! fetched from elsewhere (installs may be offline).
//!
//! The handlers build their JSON with `json!`, so the shapes of their answers are described
//! by the `*Doc` types below; `docs/API.md` is the prose, this is the machine-readable twin.
//! The test `openapi::the_document_describes_every_route_and_only_those` keeps the document
//! and the router (`api::routes`) equal.

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "KPI Arena API",
        description = "The public HTTP API of KPI Arena, a self-hosted sales-KPI leaderboard. \
            Calls carry `Authorization: Bearer <token>` (`kpi-arena token create`); a token acts with its user's role. \
            Errors are `{\"error\", \"message\"}` JSON. docs/API.md in the repository is the prose contract."
    ),
    paths(
        super::health::healthz,
        super::health::readyz,
        super::metrics::get_metrics,
        super::records::post_records,
        super::kpis::get_kpis,
        super::kpis::get_leaderboard,
        super::kpis::put_target,
        super::gamification::get_points,
        super::gamification::get_rules,
        super::gamification::post_rule,
        super::gamification::delete_rule,
        super::gamification::get_badges,
        super::gamification::get_challenges,
        super::gamification::post_challenge,
        super::gamification::get_challenge,
        super::gamification::patch_challenge,
        super::gamification::launch_challenge,
        super::gamification::get_flags,
        super::live::get_live,
        super::hooks::receive,
        openapi_json,
        docs_page,
    ),
    components(schemas(ErrorDoc, RecordErrorDoc, AcceptedDoc, KpiCardDoc, KpiEntryDoc, PeriodDoc, LeaderboardDoc,
        EntryDoc, UserRefDoc, NewChallengeDoc)),
    modifiers(&BearerToken),
    tags(
        (name = "records", description = "Records in: deals, leads, activities and the rest (docs/KPIS.md)"),
        (name = "kpis", description = "KPI cards, leaderboards and targets"),
        (name = "gamification", description = "Points, rules, badges, challenges and anti-gaming flags"),
        (name = "connectors", description = "CRM webhooks (set up on /connectors)"),
        (name = "operations", description = "Health, readiness, metrics, live figures and this document"),
    )
)]
pub struct ApiDoc;

/// The bearer token scheme, required by every operation that names `security(("bearer" = []))`.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token: `kpi-arena token create --email E --name LABEL`"))
                    .build(),
            ),
        );
    }
}

/// Every error: a code and a sentence (`errors` on a refused records batch).
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorDoc {
    /// `bad_request`, `unauthorized`, `forbidden`, `not_found`, `method_not_allowed`,
    /// `payload_too_large`, `invalid_records`, `invalid_text`, `internal`, …
    pub error: String,
    pub message: String,
    /// A refused records batch: every bad record.
    pub errors: Option<Vec<RecordErrorDoc>>,
}

/// One refused record of a batch: its position, its id when it has one, what is wrong.
#[derive(Serialize, ToSchema)]
#[schema(as = RecordError)]
pub struct RecordErrorDoc {
    pub index: usize,
    pub id: Option<String>,
    pub message: String,
}

/// A stored batch.
#[derive(Serialize, ToSchema)]
#[schema(as = Accepted)]
pub struct AcceptedDoc {
    pub accepted: usize,
    /// With `?wait=scores`: `current`, or `pending` (then 202 and `pending_work`).
    pub scores: Option<String>,
    pub pending_work: Option<i64>,
}

/// `GET /api/v1/kpis`: every KPI that applies to the scope.
#[derive(Serialize, ToSchema)]
#[schema(as = KpiCard)]
pub struct KpiCardDoc {
    /// `org`, `team:<id>`, `region:<name>` or `rep:<user id>`.
    pub scope: String,
    pub period: PeriodDoc,
    pub kpis: Vec<KpiEntryDoc>,
}

/// `[start, end)` in UTC.
#[derive(Serialize, ToSchema)]
#[schema(as = Period)]
pub struct PeriodDoc {
    pub start: chrono::DateTime<chrono::Utc>,
    pub end: chrono::DateTime<chrono::Utc>,
}

/// One KPI of a card (docs/KPIS.md).
#[derive(Serialize, ToSchema)]
#[schema(as = KpiEntry)]
pub struct KpiEntryDoc {
    pub id: String,
    /// `null` where the KPI has no value (docs/KPIS.md's null rules).
    pub value: Option<f64>,
    /// `count`, `money`, `percent`, `per_customer`, `minutes`, `ratio` or `days`.
    pub unit: String,
    /// `higher`, `lower` or `none`.
    pub better: String,
    pub target: Option<f64>,
    pub attainment: Option<f64>,
    /// The three breakdown KPIs only: label → number.
    pub breakdown: Option<std::collections::BTreeMap<String, f64>>,
    /// `positive_feedback_rate` only: the negative share (`null` without feedback).
    pub negative_share: Option<f64>,
}

/// `GET /api/v1/leaderboard`: the scope's reps, best first.
#[derive(Serialize, ToSchema)]
#[schema(as = Leaderboard)]
pub struct LeaderboardDoc {
    /// A KPI id or `points`.
    pub by: String,
    pub entries: Vec<EntryDoc>,
}

/// A leaderboard row. Equal values share a rank and the next rank skips (1, 2, 2, 4).
#[derive(Serialize, ToSchema)]
#[schema(as = LeaderboardEntry)]
pub struct EntryDoc {
    pub rank: u32,
    pub user: UserRefDoc,
    pub value: Option<f64>,
}

/// A user as a leaderboard names them (`names=initials|none` for shared screens).
#[derive(Serialize, ToSchema)]
#[schema(as = UserRef)]
pub struct UserRefDoc {
    pub id: Option<String>,
    pub name: String,
}

/// `POST /api/v1/challenges`.
#[derive(Serialize, ToSchema)]
#[schema(as = NewChallenge)]
pub struct NewChallengeDoc {
    pub name: String,
    /// `race` (first to `goal`), `top_n` (the best `top_n` at the end) or `team_vs_team`.
    pub kind: String,
    /// A KPI id or `points`.
    pub basis: String,
    pub goal: Option<f64>,
    pub top_n: Option<i32>,
    pub starts_at: chrono::DateTime<chrono::Utc>,
    pub ends_at: chrono::DateTime<chrono::Utc>,
    /// User ids.
    pub participants: Vec<String>,
    #[serde(default)]
    pub prize: String,
    /// Launch at once instead of saving a draft.
    #[serde(default)]
    pub launch: bool,
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json")))]
pub async fn openapi_json() -> Response {
    Json(document()).into_response()
}

/// The document, built once per process (it depends on nothing but the code).
fn document() -> &'static utoipa::openapi::OpenApi {
    static DOCUMENT: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(ApiDoc::openapi)
}

/// A reference page of this document, for people.
#[utoipa::path(get, path = "/api/docs", tag = "operations",
    responses((status = 200, description = "HTML", content_type = "text/html")))]
pub async fn docs_page() -> Response {
    static PAGE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let page = PAGE.get_or_init(|| render(document())).clone();
    ([(header::CACHE_CONTROL, "no-cache")], Html(page)).into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The document as one HTML page: each operation with its parameters, body and answers.
fn render(doc: &utoipa::openapi::OpenApi) -> String {
    let json = serde_json::to_value(doc).unwrap_or_default();
    let mut html = String::new();
    let info = &json["info"];
    html.push_str(&format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <style>body{{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}}\
         code,pre{{font:13px ui-monospace,monospace;background:#f3f4f6;border-radius:4px;padding:.1rem .3rem}}\
         pre{{padding:.6rem;overflow:auto}}section{{border-top:1px solid #d0d7de;padding:.6rem 0}}\
         .m{{display:inline-block;min-width:4.5rem;font-weight:700}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #d0d7de;padding:.2rem .5rem;text-align:left;vertical-align:top}}</style></head><body>\
         <h1>{title} <small>{version}</small></h1><p>{description}</p>\
         <p>The same as JSON: <a href=\"/api/openapi.json\"><code>/api/openapi.json</code></a> (OpenAPI {openapi}).</p>",
        title = escape(info["title"].as_str().unwrap_or_default()),
        version = escape(info["version"].as_str().unwrap_or_default()),
        description = escape(info["description"].as_str().unwrap_or_default()),
        openapi = escape(json["openapi"].as_str().unwrap_or_default()),
    ));
    let empty = serde_json::Map::new();
    for (path, item) in json["paths"].as_object().unwrap_or(&empty) {
        for (method, op) in item.as_object().unwrap_or(&empty) {
            let id = format!("{method}-{path}").replace(['/', '{', '}'], "-");
            html.push_str(&format!(
                "<section id=\"{id}\"><h2><span class=\"m\">{}</span><code>{}</code></h2><p><strong>{}</strong></p>",
                escape(&method.to_uppercase()),
                escape(path),
                escape(op["summary"].as_str().unwrap_or_default()),
            ));
            if let Some(text) = op["description"].as_str() {
                html.push_str(&format!("<p>{}</p>", escape(text)));
            }
            if op.get("security").is_some() {
                html.push_str("<p>Needs <code>Authorization: Bearer &lt;token&gt;</code>.</p>");
            }
            if let Some(params) = op["parameters"].as_array() {
                html.push_str("<table><tr><th>parameter</th><th>in</th><th>required</th><th>meaning</th></tr>");
                for p in params {
                    html.push_str(&format!(
                        "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        escape(p["name"].as_str().unwrap_or_default()),
                        escape(p["in"].as_str().unwrap_or_default()),
                        if p["required"].as_bool().unwrap_or(false) { "yes" } else { "no" },
                        escape(p["description"].as_str().unwrap_or_default()),
                    ));
                }
                html.push_str("</table>");
            }
            if let Some(body) = op.get("requestBody") {
                let schema = &body["content"]["application/json"]["schema"];
                html.push_str(&format!("<p>Body: {}</p>", schema_name(schema)));
            }
            html.push_str("<table><tr><th>status</th><th>meaning</th><th>body</th></tr>");
            for (status, response) in op["responses"].as_object().unwrap_or(&empty) {
                let schema = response["content"]
                    .as_object()
                    .and_then(|c| c.values().next())
                    .map(|c| schema_name(&c["schema"]))
                    .unwrap_or_default();
                html.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{schema}</td></tr>",
                    escape(status),
                    escape(response["description"].as_str().unwrap_or_default()),
                ));
            }
            html.push_str("</table></section>");
        }
    }
    html.push_str("<section><h2>Schemas</h2>");
    for (name, schema) in json["components"]["schemas"].as_object().unwrap_or(&empty) {
        let pretty = serde_json::to_string_pretty(schema).unwrap_or_default();
        html.push_str(&format!("<h3 id=\"schema-{0}\">{0}</h3><pre>{1}</pre>", escape(name), escape(&pretty)));
    }
    html.push_str("</section></body></html>");
    html
}

/// A schema as a link to its component, or its JSON type.
fn schema_name(schema: &serde_json::Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = escape(reference.rsplit('/').next().unwrap_or_default());
        return format!("<a href=\"#schema-{name}\"><code>{name}</code></a>");
    }
    if let Some(items) = schema.get("items") {
        return format!("array of {}", schema_name(items));
    }
    schema["type"].as_str().map(|t| format!("<code>{}</code>", escape(t))).unwrap_or_default()
}
