//! The Pipedrive connector against a fake Pipedrive on real HTTP: the company (`users/me`),
//! users, pipelines and stages, deals (API v2: changed since, oldest change first, paged by
//! `cursor`; a 429 when told to) and a deal by id, behind `x-api-token`; and webhooks v2 behind
//! the HTTP Basic credentials the connector made. Numbers by hand from the fixture:
//! | deal | owner   | value | status | updated (Nov, noon UTC) |
//! | 31   | 5 Anna  | 1000  | won    | 10 |
//! | 32   | 6 Boris | 250   | won    | 11 |
//! | 33   | 5 Anna  | 400   | open   | 12 |
//! | 34   | 7 Vera  | 700   | won    | 13 | Vera has no account here
//! | 35   | 6 Boris | 300   | lost   | 14 |

use crate::crm::common::{events, people, post_hook, queued, revenue, until};
use crate::helpers::TestApp;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const TOKEN: &str = "pd-api-token-42ab";
const COMPANY: i64 = 555;

#[derive(Default)]
struct Fake {
    deals: Vec<Value>,
    throttle: u32,
    throttled: u32,
    saw_token_in_url: bool,
}
type Shared = Arc<Mutex<Fake>>;

fn checked(s: &mut Fake, headers: &HeaderMap, q: &HashMap<String, String>) -> Option<Response> {
    s.saw_token_in_url |= q.contains_key("api_token");
    if headers.get("x-api-token").and_then(|v| v.to_str().ok()) != Some(TOKEN) {
        return Some(
            (StatusCode::UNAUTHORIZED, Json(json!({"success": false, "error": "unauthorized access"}))).into_response(),
        );
    }
    None
}

async fn me(State(s): State<Shared>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    if let Some(r) = checked(&mut s.lock().unwrap(), &headers, &q) {
        return r;
    }
    Json(json!({"success": true, "data": {"id": 5, "company_id": COMPANY, "company_domain": "acme"}})).into_response()
}

async fn users(State(s): State<Shared>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    if let Some(r) = checked(&mut s.lock().unwrap(), &headers, &q) {
        return r;
    }
    Json(json!({"success": true, "data": [
        {"id": 5, "name": "Anna", "email": "anna@example.com", "active_flag": true},
        {"id": 6, "name": "Boris", "email": "boris@example.com", "active_flag": true},
        {"id": 7, "name": "Vera", "email": "vera@example.com", "active_flag": true}]}))
    .into_response()
}

async fn pipelines(State(s): State<Shared>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    if let Some(r) = checked(&mut s.lock().unwrap(), &headers, &q) {
        return r;
    }
    Json(json!({"success": true, "data": [{"id": 1, "name": "Sales"}], "additional_data": {"next_cursor": null}}))
        .into_response()
}

async fn stages(State(s): State<Shared>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    if let Some(r) = checked(&mut s.lock().unwrap(), &headers, &q) {
        return r;
    }
    Json(json!({"success": true, "data": [{"id": 1, "name": "Qualified", "pipeline_id": 1}, {"id": 2, "name": "Proposal", "pipeline_id": 1}],
        "additional_data": {"next_cursor": null}}))
    .into_response()
}

async fn deals(State(s): State<Shared>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut s = s.lock().unwrap();
    if let Some(r) = checked(&mut s, &headers, &q) {
        return r;
    }
    if s.throttle > 0 {
        s.throttle -= 1;
        s.throttled += 1;
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1")],
            Json(json!({"success": false, "error": "Rate limit exceeded"})),
        )
            .into_response();
    }
    let order = (q.get("sort_by").map(String::as_str), q.get("sort_direction").map(String::as_str));
    assert_eq!(order, (Some("id"), Some("asc")), "the client pages in id order");
    let since = chrono::DateTime::parse_from_rfc3339(&q["updated_since"]).unwrap();
    let at = |d: &Value| chrono::DateTime::parse_from_rfc3339(d["update_time"].as_str().unwrap()).unwrap();
    let mut all: Vec<Value> = s.deals.iter().filter(|d| at(d) >= since).cloned().collect();
    all.sort_by_key(|d| d["id"].as_i64().unwrap());
    let start: usize = q.get("cursor").and_then(|c| c.strip_prefix('c')).and_then(|c| c.parse().ok()).unwrap_or(0);
    let page: Vec<Value> = all.iter().skip(start).take(2).cloned().collect();
    let next = (start + 2 < all.len()).then(|| format!("c{}", start + 2));
    Json(json!({"success": true, "data": page, "additional_data": {"next_cursor": next}})).into_response()
}

async fn deal_by_id(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut s = s.lock().unwrap();
    if let Some(r) = checked(&mut s, &headers, &q) {
        return r;
    }
    match s.deals.iter().find(|d| d["id"] == id) {
        Some(d) => Json(json!({"success": true, "data": d})).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"success": false, "error": "Deal not found"}))).into_response(),
    }
}

fn deal(id: i64, owner: i64, value: i64, status: &str, day: u32) -> Value {
    let at = format!("2026-11-{day:02}T12:00:00Z");
    json!({"id": id, "title": format!("Deal {id}"), "owner_id": owner, "value": value, "currency": "RUB", "status": status,
        "stage_id": 2, "pipeline_id": 1, "add_time": format!("2026-11-{:02}T12:00:00Z", day - 1), "update_time": at,
        "won_time": if status == "won" { json!(at) } else { Value::Null },
        "lost_time": if status == "lost" { json!(at) } else { Value::Null }})
}

#[tokio::test]
async fn pipedrive_backfill_and_webhooks_behind_basic_credentials_give_the_hand_worked_revenue() {
    let app = TestApp::spawn().await;
    let (token, admin) = people(&app).await;
    let fixture = vec![
        deal(31, 5, 1000, "won", 10),
        deal(32, 6, 250, "won", 11),
        deal(33, 5, 400, "open", 12),
        deal(34, 7, 700, "won", 13),
        deal(35, 6, 300, "lost", 14),
    ];
    let fake: Shared = Arc::new(Mutex::new(Fake { deals: fixture, throttle: 1, ..Default::default() }));
    let router = Router::new()
        .route("/api/v1/users/me", get(me))
        .route("/api/v1/users", get(users))
        .route("/api/v2/pipelines", get(pipelines))
        .route("/api/v2/stages", get(stages))
        .route("/api/v2/deals", get(deals))
        .route("/api/v2/deals/{id}", get(deal_by_id))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let keyring = connectors::Keyring::from_env().unwrap();
    let access = || connectors::setup::Access { kind: "pipedrive", base_url: &base, token: TOKEN };
    let since = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();

    let seen = connectors::setup::preview(&admin, access(), since).await.unwrap();
    assert_eq!((seen.account.as_str(), seen.users.len(), seen.stages.len(), seen.deals), ("555", 3, 2, 5));
    assert_eq!(fake.lock().unwrap().throttled, 1, "the 429 was waited out");
    let id = connectors::setup::create(&app.pool, Some(&keyring), &admin, access()).await.unwrap();
    connectors::setup::start_backfill(&app.pool, Some(&keyring), &admin, id, since).await.unwrap();
    until("revenue without Vera's deal", 1250.0, || revenue(&app, &token)).await;
    assert!(!fake.lock().unwrap().saw_token_in_url, "the token goes in a header, never an address");

    let status = &connectors::setup::statuses(&app.pool, Some(&keyring), &admin).await.unwrap()[0];
    let credentials = status.hook_credentials.clone().expect("Pipedrive's webhook credentials are shown");
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(&credentials));
    let send = |body: Value, authorization: String| {
        let (app, path) = (&app, status.hook_path.clone());
        async move {
            let headers = [("content-type", "application/json"), ("authorization", authorization.as_str())];
            post_hook(app, &path, &headers, body.to_string()).await
        }
    };
    let hook = |data: Value| {
        json!({"meta": {"action": "change", "entity": "deal", "entity_id": data["id"].to_string(), "company_id": COMPANY.to_string(),
                        "id": format!("evt-{}-{}", data["id"], data["update_time"]), "timestamp": data["update_time"], "version": "2.0"},
               "data": data, "previous": {"status": "open"}})
    };

    // Deal 33 won, carried whole by the webhook: 1250 + 400; the same delivery again queues nothing.
    let won = hook(deal(33, 5, 400, "won", 20));
    let (code, answer) = send(won.clone(), basic.clone()).await;
    assert_eq!((code, answer["queued"].as_u64()), (200, Some(1)));
    until("revenue with 33 won", 1650.0, || revenue(&app, &token)).await;
    let (code, answer) = send(won, basic.clone()).await;
    assert_eq!((code, answer["queued"].as_u64()), (200, Some(0)));
    // A late, older change of 33 (open, the 15th) changes nothing.
    send(hook(deal(33, 5, 400, "open", 15)), basic.clone()).await;
    until("the late delivery done", 0, || queued(&app)).await;
    assert_eq!(revenue(&app, &token).await, 1650.0);

    // Wrong credentials, or another company: refused, nothing queued.
    let before = events(&app).await;
    let wrong = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("kpi-arena:guessed"));
    let (code, _) = send(hook(deal(32, 6, 250, "lost", 21)), wrong).await;
    assert_eq!(code, 400);
    let mut other = hook(deal(32, 6, 250, "lost", 21));
    other["meta"]["company_id"] = json!("999");
    let (code, answer) = send(other, basic.clone()).await;
    assert_eq!(code, 400);
    assert!(answer["message"].as_str().unwrap().contains("company 999"), "{answer}");
    assert_eq!(events(&app).await, before);

    // 32 won → lost: 1650 − 250.
    send(hook(deal(32, 6, 250, "lost", 21)), basic).await;
    until("revenue with 32 lost", 1400.0, || revenue(&app, &token)).await;
}
