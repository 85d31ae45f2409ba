//! A fake amoCRM that speaks the documented API v4 over real HTTP: `/api/v4/account`,
//! `/api/v4/users`, `/api/v4/leads/pipelines`, `/api/v4/leads` (filtered and ordered by
//! `updated_at`, in id order, paged, `204 No Content` past the last page), `/api/v4/leads/{id}`
//! and `/api/v4/tasks` (filtered by `is_completed` and `updated_at`, in id order, paged), behind a
//! bearer token; and that answers `429 Too Many Requests` when told to. Its pages hold at most
//! two leads, whatever the client asks, so paging is exercised by a small fixture.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const ACCOUNT: i64 = 29000;
const PAGE: usize = 2;

#[derive(Default)]
pub struct AmoState {
    pub token: String,
    pub users: Vec<Value>,
    pub leads: Vec<Value>,
    pub tasks: Vec<Value>,
    /// OAuth: the authorization codes not used yet, the refresh token now good, and how many
    /// times each grant was given.
    pub codes: Vec<String>,
    pub refresh: Option<String>,
    pub granted: u32,
    pub refreshed: u32,
    /// The next this many calls to `/api/v4/leads` are answered 429.
    pub throttle: u32,
    pub throttled: u32,
    /// Every path asked, in order.
    pub calls: Vec<String>,
}

#[derive(Clone)]
pub struct FakeAmo {
    pub base: String,
    pub state: Arc<Mutex<AmoState>>,
}

impl FakeAmo {
    pub async fn start(token: &str, users: Vec<Value>, leads: Vec<Value>) -> FakeAmo {
        let state = Arc::new(Mutex::new(AmoState { token: token.into(), users, leads, ..Default::default() }));
        let app = Router::new()
            .route("/api/v4/account", get(account))
            .route("/api/v4/users", get(users_page))
            .route("/api/v4/leads/pipelines", get(pipelines))
            .route("/api/v4/leads", get(leads_page))
            .route("/api/v4/leads/{id}", get(lead))
            .route("/api/v4/tasks", get(tasks_page))
            .route("/api/v4/leads/custom_fields", get(custom_fields))
            .route("/oauth2/access_token", axum::routing::post(access_token))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeAmo { base, state }
    }

    pub fn set(&self, f: impl FnOnce(&mut AmoState)) {
        f(&mut self.state.lock().unwrap());
    }

    /// Replaces (or adds) a lead, as a change in the CRM does.
    pub fn put_lead(&self, lead: Value) {
        self.set(|s| {
            s.leads.retain(|l| l["id"] != lead["id"]);
            s.leads.push(lead);
        });
    }
}

type Shared = State<Arc<Mutex<AmoState>>>;

fn authorised(state: &AmoState, headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {}", state.token))
}

fn refused() -> Response {
    (StatusCode::UNAUTHORIZED, Json(json!({"title": "Unauthorized", "status": 401}))).into_response()
}

async fn account(State(state): Shared, headers: HeaderMap) -> Response {
    let mut s = state.lock().unwrap();
    s.calls.push("/api/v4/account".into());
    if !authorised(&s, &headers) {
        return refused();
    }
    Json(json!({"id": ACCOUNT, "name": "Acme", "subdomain": "acme"})).into_response()
}

fn page_of(items: &[Value], page: usize, what: &str, path: &str) -> Response {
    let start = (page - 1) * PAGE;
    if start >= items.len() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let chunk: Vec<Value> = items[start..(start + PAGE).min(items.len())].to_vec();
    let mut links = json!({"self": {"href": format!("{path}?page={page}")}});
    if start + PAGE < items.len() {
        links["next"] = json!({"href": format!("{path}?page={}", page + 1)});
    }
    Json(json!({"_page": page, "_links": links, "_embedded": {what: chunk}})).into_response()
}

async fn users_page(State(state): Shared, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut s = state.lock().unwrap();
    s.calls.push("/api/v4/users".into());
    if !authorised(&s, &headers) {
        return refused();
    }
    let page = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    page_of(&s.users, page, "users", "/api/v4/users")
}

async fn pipelines(State(state): Shared, headers: HeaderMap) -> Response {
    let mut s = state.lock().unwrap();
    s.calls.push("/api/v4/leads/pipelines".into());
    if !authorised(&s, &headers) {
        return refused();
    }
    let statuses = json!([
        {"id": 1, "name": "Первичный контакт", "pipeline_id": 7},
        {"id": 142, "name": "Успешно реализовано", "pipeline_id": 7},
        {"id": 143, "name": "Закрыто и не реализовано", "pipeline_id": 7}]);
    Json(json!({"_embedded": {"pipelines": [{"id": 7, "name": "Продажи", "_embedded": {"statuses": statuses}}]}}))
        .into_response()
}

async fn leads_page(State(state): Shared, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut s = state.lock().unwrap();
    s.calls.push("/api/v4/leads".into());
    if !authorised(&s, &headers) {
        return refused();
    }
    if s.throttle > 0 {
        s.throttle -= 1;
        s.throttled += 1;
        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "Too Many Requests").into_response();
    }
    let from: i64 = q.get("filter[updated_at][from]").and_then(|v| v.parse().ok()).unwrap_or(0);
    assert_eq!(q.get("order[id]").map(String::as_str), Some("asc"), "the client pages in id order");
    let mut leads: Vec<Value> = s.leads.iter().filter(|l| l["updated_at"].as_i64().unwrap() >= from).cloned().collect();
    leads.sort_by_key(|l| l["id"].as_i64().unwrap());
    let page = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    page_of(&leads, page, "leads", "/api/v4/leads")
}

async fn tasks_page(State(state): Shared, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut s = state.lock().unwrap();
    s.calls.push("/api/v4/tasks".into());
    if !authorised(&s, &headers) {
        return refused();
    }
    let from: i64 = q.get("filter[updated_at][from]").and_then(|v| v.parse().ok()).unwrap_or(0);
    let completed = q.get("filter[is_completed]").map(|v| v == "1");
    assert_eq!(q.get("order[id]").map(String::as_str), Some("asc"), "the client pages in id order");
    let mut tasks: Vec<Value> = s
        .tasks
        .iter()
        .filter(|t| t["updated_at"].as_i64().unwrap() >= from)
        .filter(|t| completed.is_none_or(|c| t["is_completed"].as_bool() == Some(c)))
        .cloned()
        .collect();
    tasks.sort_by_key(|t| t["id"].as_i64().unwrap());
    let page = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    page_of(&tasks, page, "tasks", "/api/v4/tasks")
}

/// The integration the OAuth tests authorize.
pub const CLIENT_ID: &str = "4c5d6e7f-0000-4000-8000-amo000000001";
pub const CLIENT_SECRET: &str = "integration-secret-key";
pub const REDIRECT: &str = "https://arena.example/connectors";

/// amoCRM's token endpoint: an unused code, or the refresh token of the last grant, for a new
/// pair (the old refresh token is spent); the bearer token the API accepts is the new one.
async fn access_token(State(state): Shared, Json(body): Json<Value>) -> Response {
    let mut s = state.lock().unwrap();
    s.calls.push("/oauth2/access_token".into());
    let refuse = |hint: &str| {
        (StatusCode::BAD_REQUEST, Json(json!({"title": "Некорректный запрос", "hint": hint, "status": 400})))
            .into_response()
    };
    let keys = (body["client_id"].as_str(), body["client_secret"].as_str(), body["redirect_uri"].as_str());
    if keys != (Some(CLIENT_ID), Some(CLIENT_SECRET), Some(REDIRECT)) {
        return refuse("Client authentication failed");
    }
    match body["grant_type"].as_str() {
        Some("authorization_code") => {
            let code = body["code"].as_str().unwrap_or("").to_string();
            if !s.codes.contains(&code) {
                return refuse("Authorization code has been revoked");
            }
            s.codes.retain(|c| *c != code);
            s.granted += 1;
        }
        Some("refresh_token") => {
            if s.refresh.as_deref() != body["refresh_token"].as_str() {
                return refuse("Token has been revoked");
            }
            s.refreshed += 1;
        }
        _ => return refuse("Unsupported grant type"),
    }
    let n = s.granted + s.refreshed;
    s.token = format!("acc-{n}");
    s.refresh = Some(format!("ref-{n}"));
    Json(json!({"token_type": "Bearer", "expires_in": 86400, "access_token": s.token, "refresh_token": s.refresh}))
        .into_response()
}

/// The leads' custom fields: a deal type (a list), the customer's tax number, an article.
async fn custom_fields(State(state): Shared, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut s = state.lock().unwrap();
    s.calls.push("/api/v4/leads/custom_fields".into());
    if !authorised(&s, &headers) {
        return refused();
    }
    let fields = vec![
        json!({"id": 9001, "name": "Тип сделки", "type": "select", "enums": [{"id": 1, "value": "Новая"}, {"id": 2, "value": "Допродажа"}]}),
        json!({"id": 9002, "name": "ИНН клиента", "type": "text"}),
        json!({"id": 9003, "name": "Артикул", "type": "text"}),
    ];
    let page = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    page_of(&fields, page, "custom_fields", "/api/v4/leads/custom_fields")
}

/// `lead` with custom field values (field id, value), as API v4 gives them.
pub fn with_fields(mut lead: Value, fields: &[(i64, &str)]) -> Value {
    lead["custom_fields_values"] = fields
        .iter()
        .map(|(id, value)| json!({"field_id": id, "field_name": "", "values": [{"value": value}]}))
        .collect();
    lead
}

/// A task as API v4 returns it: type 1 is "Связаться" (a call), 2 "Встреча" (a meeting).
pub fn task_json(id: i64, owner: i64, task_type: i64, done: bool, due: i64, updated: i64) -> Value {
    json!({"id": id, "responsible_user_id": owner, "task_type_id": task_type, "is_completed": done,
           "complete_till": due, "updated_at": updated, "created_at": due - 86_400, "entity_type": "leads",
           "text": "Позвонить клиенту"})
}

async fn lead(State(state): Shared, headers: HeaderMap, Path(id): Path<i64>) -> Response {
    let mut s = state.lock().unwrap();
    s.calls.push(format!("/api/v4/leads/{id}"));
    if !authorised(&s, &headers) {
        return refused();
    }
    match s.leads.iter().find(|l| l["id"] == id) {
        Some(lead) => Json(lead.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A lead as API v4 returns it.
pub fn lead_json(id: i64, owner: i64, price: i64, status: i64, updated: i64) -> Value {
    json!({"id": id, "name": format!("Сделка {id}"), "price": price, "responsible_user_id": owner,
           "status_id": status, "pipeline_id": 7, "created_at": updated - 86_400, "updated_at": updated,
           "closed_at": if status == 142 || status == 143 { json!(updated) } else { Value::Null }})
}

/// A webhook body as amoCRM sends it (`x-www-form-urlencoded`, bracketed keys).
pub fn hook_body(account: i64, event: &str, leads: &[Value]) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (i, lead) in leads.iter().enumerate() {
        for (field, value) in lead.as_object().unwrap() {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Null => continue,
                other => other.to_string(),
            };
            form.append_pair(&format!("leads[{event}][{i}][{field}]"), &text);
        }
    }
    form.append_pair("account[id]", &account.to_string());
    form.append_pair("account[subdomain]", "acme");
    form.finish()
}
