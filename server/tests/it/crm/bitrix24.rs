//! A fake Bitrix24 portal over real HTTP: REST methods under an inbound webhook's address
//! (`/rest/1/<token>/<method>.json`): `profile`, `user.get`, `crm.dealcategory.list`,
//! `crm.status.list`, `crm.deal.list` (filtered by `>=DATE_MODIFY`, in ID order, paged by
//! `start` with `next` and `total`), `crm.deal.get` and `crm.activity.list` (filtered by
//! `>=LAST_UPDATED` and `COMPLETED`, the same way). A wrong token gets 401
//! `INVALID_CREDENTIALS`; when told to, it answers 503 `QUERY_LIMIT_EXCEEDED`. Pages hold two deals.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, FixedOffset};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const PAGE: usize = 2;

#[derive(Default)]
pub struct BitrixState {
    pub token: String,
    pub users: Vec<Value>,
    pub deals: Vec<Value>,
    pub activities: Vec<Value>,
    pub leads: Vec<Value>,
    pub throttle: u32,
    pub throttled: u32,
    pub calls: Vec<String>,
}

#[derive(Clone)]
pub struct FakeBitrix {
    /// The inbound webhook's address.
    pub webhook: String,
    pub state: Arc<Mutex<BitrixState>>,
}

impl FakeBitrix {
    pub async fn start(token: &str, users: Vec<Value>, deals: Vec<Value>) -> FakeBitrix {
        let state = Arc::new(Mutex::new(BitrixState { token: token.into(), users, deals, ..Default::default() }));
        let app = Router::new().route("/rest/{user}/{token}/{method}", get(rest)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let webhook = format!("http://{}/rest/1/{token}/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeBitrix { webhook, state }
    }

    pub fn set(&self, f: impl FnOnce(&mut BitrixState)) {
        f(&mut self.state.lock().unwrap());
    }

    pub fn put_deal(&self, deal: Value) {
        self.set(|s| {
            s.deals.retain(|d| d["ID"] != deal["ID"]);
            s.deals.push(deal);
        });
    }
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    (status, Json(json!({"error": code, "error_description": description}))).into_response()
}

fn paged(items: Vec<Value>, start: usize) -> Response {
    let total = items.len();
    let chunk: Vec<Value> = items.into_iter().skip(start).take(PAGE).collect();
    let mut body = json!({"result": chunk, "total": total, "time": {"start": 0}});
    if start + PAGE < total {
        body["next"] = json!(start + PAGE);
    }
    Json(body).into_response()
}

fn at(value: &Value) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap()).unwrap()
}

async fn rest(
    State(state): State<Arc<Mutex<BitrixState>>>,
    Path((_user, token, method)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut s = state.lock().unwrap();
    let method = method.trim_end_matches(".json").to_string();
    s.calls.push(method.clone());
    if token != s.token {
        return error(StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS", "Invalid request credentials");
    }
    let start: usize = q.get("start").and_then(|v| v.parse().ok()).unwrap_or(0);
    match method.as_str() {
        "profile" => Json(json!({"result": {"ID": "1", "ADMIN": true}})).into_response(),
        "user.get" => paged(s.users.clone(), start),
        "crm.dealcategory.list" => {
            Json(json!({"result": [{"ID": "2", "NAME": "Партнёры"}], "total": 1})).into_response()
        }
        "crm.status.list" => {
            let statuses = vec![
                json!({"ENTITY_ID": "SOURCE", "STATUS_ID": "CALL", "NAME": "Звонок"}),
                json!({"ENTITY_ID": "DEAL_STAGE", "STATUS_ID": "NEW", "NAME": "Новая", "SEMANTICS": null, "EXTRA": {"SEMANTICS": "process"}}),
                json!({"ENTITY_ID": "DEAL_STAGE", "STATUS_ID": "WON", "NAME": "Сделка успешна", "SEMANTICS": "S"}),
                json!({"ENTITY_ID": "DEAL_STAGE", "STATUS_ID": "LOSE", "NAME": "Сделка провалена", "SEMANTICS": "F"}),
                json!({"ENTITY_ID": "DEAL_STAGE_2", "STATUS_ID": "C2:NEW", "NAME": "Новая", "EXTRA": {"SEMANTICS": "process"}}),
                json!({"ENTITY_ID": "DEAL_STAGE_2", "STATUS_ID": "C2:WON", "NAME": "Успех", "EXTRA": {"SEMANTICS": "success"}}),
                json!({"ENTITY_ID": "DEAL_STAGE_2", "STATUS_ID": "C2:LOSE", "NAME": "Провал", "EXTRA": {"SEMANTICS": "failure"}}),
            ];
            paged(statuses, start)
        }
        "crm.deal.list" => {
            if s.throttle > 0 {
                s.throttle -= 1;
                s.throttled += 1;
                return error(StatusCode::SERVICE_UNAVAILABLE, "QUERY_LIMIT_EXCEEDED", "Too many requests");
            }
            let from = q.get("filter[>=DATE_MODIFY]").map(|v| DateTime::parse_from_rfc3339(v).unwrap());
            assert_eq!(q.get("order[ID]").map(String::as_str), Some("ASC"), "the client pages in ID order");
            let mut deals: Vec<Value> =
                s.deals.iter().filter(|d| from.is_none_or(|from| at(&d["DATE_MODIFY"]) >= from)).cloned().collect();
            deals.sort_by_key(|d| d["ID"].as_str().unwrap().parse::<i64>().unwrap());
            paged(deals, start)
        }
        "crm.activity.list" => {
            let from = q.get("filter[>=LAST_UPDATED]").map(|v| DateTime::parse_from_rfc3339(v).unwrap());
            let completed = q.get("filter[COMPLETED]").cloned();
            assert_eq!(q.get("order[ID]").map(String::as_str), Some("ASC"), "the client pages in ID order");
            let mut activities: Vec<Value> = s
                .activities
                .iter()
                .filter(|a| from.is_none_or(|from| at(&a["LAST_UPDATED"]) >= from))
                .filter(|a| completed.as_deref().is_none_or(|c| a["COMPLETED"] == c))
                .cloned()
                .collect();
            activities.sort_by_key(|a| a["ID"].as_str().unwrap().parse::<i64>().unwrap());
            paged(activities, start)
        }
        "crm.lead.list" => {
            let from = q.get("filter[>=DATE_MODIFY]").map(|v| DateTime::parse_from_rfc3339(v).unwrap());
            assert_eq!(q.get("order[ID]").map(String::as_str), Some("ASC"), "the client pages in ID order");
            let mut leads: Vec<Value> =
                s.leads.iter().filter(|l| from.is_none_or(|from| at(&l["DATE_MODIFY"]) >= from)).cloned().collect();
            leads.sort_by_key(|l| l["ID"].as_str().unwrap().parse::<i64>().unwrap());
            paged(leads, start)
        }
        "crm.activity.get" | "crm.lead.get" => {
            let id = q.get("id").cloned().unwrap_or_default();
            let all = if method == "crm.activity.get" { &s.activities } else { &s.leads };
            match all.iter().find(|a| a["ID"] == id.as_str()) {
                Some(found) => Json(json!({"result": found})).into_response(),
                None => error(StatusCode::BAD_REQUEST, "", "Not found"),
            }
        }
        "crm.deal.fields" => Json(json!({"result": {
            "ID": {"type": "integer", "title": "ID"},
            "TITLE": {"type": "string", "title": "Название"},
            "COMPANY_ID": {"type": "crm_company", "title": "Компания"},
            "UF_CRM_TYPE": {"type": "enumeration", "title": "UF_CRM_TYPE", "formLabel": "Тип сделки",
                            "items": [{"ID": "44", "VALUE": "Новая"}, {"ID": "45", "VALUE": "Допродажа"}]}
        }}))
        .into_response(),
        "crm.deal.get" => {
            let id = q.get("id").cloned().unwrap_or_default();
            match s.deals.iter().find(|d| d["ID"] == id.as_str()) {
                Some(deal) => Json(json!({"result": deal})).into_response(),
                None => error(StatusCode::BAD_REQUEST, "", "Not found"),
            }
        }
        _ => error(StatusCode::NOT_FOUND, "ERROR_METHOD_NOT_FOUND", "Method not found"),
    }
}

/// A deal as `crm.deal.list` returns it; `day` of November 2026, noon UTC (15:00 in Moscow).
pub fn deal_json(id: i64, owner: i64, amount: i64, stage: &str, semantic: &str, day: u32) -> Value {
    let category = stage.strip_prefix("C").and_then(|s| s.split(':').next()).unwrap_or("0");
    let modified = format!("2026-11-{day:02}T15:00:00+03:00");
    json!({"ID": id.to_string(), "TITLE": format!("Сделка {id}"), "OPPORTUNITY": format!("{amount}.00"),
           "ASSIGNED_BY_ID": owner.to_string(), "STAGE_ID": stage, "STAGE_SEMANTIC_ID": semantic,
           "CATEGORY_ID": category, "DATE_CREATE": format!("2026-11-{:02}T15:00:00+03:00", day - 1),
           "DATE_MODIFY": modified, "CLOSEDATE": modified, "CLOSED": if semantic == "P" { "N" } else { "Y" }})
}

/// An activity as `crm.activity.list` returns it (`TYPE_ID` 1 meeting, 2 call, 4 e-mail, 6 a
/// channel's message); it ended at `hour`:00 Moscow time on `day` of November 2026.
pub fn activity_json(id: i64, owner: i64, type_id: u32, completed: bool, day: u32, hour: u32) -> Value {
    json!({"ID": id.to_string(), "TYPE_ID": type_id.to_string(), "RESPONSIBLE_ID": owner.to_string(),
           "START_TIME": format!("2026-11-{day:02}T{:02}:30:00+03:00", hour - 1),
           "END_TIME": format!("2026-11-{day:02}T{hour:02}:00:00+03:00"),
           "LAST_UPDATED": format!("2026-11-{day:02}T{hour:02}:05:00+03:00"),
           "COMPLETED": if completed { "Y" } else { "N" }, "SUBJECT": "Звонок клиенту"})
}

/// A lead as `crm.lead.list` returns it: made on `made` and changed on `changed` (November 2026,
/// 10:00 Moscow time); `semantic` P in work, S converted, F junk.
pub fn lead_json(id: i64, owner: i64, source: &str, semantic: &str, made: u32, changed: u32) -> Value {
    let on = |day: u32| format!("2026-11-{day:02}T10:00:00+03:00");
    json!({"ID": id.to_string(), "TITLE": format!("Лид {id}"), "ASSIGNED_BY_ID": owner.to_string(), "SOURCE_ID": source,
           "STATUS_ID": if semantic == "S" { "CONVERTED" } else { "NEW" }, "STATUS_SEMANTIC_ID": semantic,
           "DATE_CREATE": on(made), "DATE_MODIFY": on(changed),
           "DATE_CLOSED": if semantic == "P" { Value::Null } else { json!(on(changed)) }})
}

/// An outbound event as Bitrix24 posts it (form-encoded).
pub fn event_body(event: &str, id: i64, ts: i64, domain: &str, token: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("event", event)
        .append_pair("event_handler_id", "3")
        .append_pair("data[FIELDS][ID]", &id.to_string())
        .append_pair("ts", &ts.to_string())
        .append_pair("auth[domain]", domain)
        .append_pair("auth[client_endpoint]", &format!("https://{domain}/rest/"))
        .append_pair("auth[member_id]", "a223c6b3710f85df22e9377d6c4f7553")
        .append_pair("auth[application_token]", token)
        .finish()
}
