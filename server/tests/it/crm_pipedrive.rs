//! The Pipedrive connector against a fake Pipedrive on real HTTP: the company (`users/me`),
//! users, pipelines and stages, deals (API v2: changed since, oldest change first, paged by
//! `cursor`; a 429 when told to) and a deal by id, behind `x-api-token`; and webhooks v2 behind
//! the HTTP Basic credentials the connector made; done activities (`/api/v2/activities`), with a
//! spent budget in the rate-limit headers. Numbers by hand from the fixture:
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
    activities: Vec<Value>,
    /// Answer every activities page with a spent budget (`x-ratelimit-remaining: 0`) that resets
    /// in a second; a call before then is counted in `early` (and answered 429, as Pipedrive does).
    spend: bool,
    reset_at: Option<std::time::Instant>,
    early: u32,
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

async fn activities(State(s): State<Shared>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut s = s.lock().unwrap();
    if let Some(r) = checked(&mut s, &headers, &q) {
        return r;
    }
    if s.reset_at.is_some_and(|at| std::time::Instant::now() < at) {
        s.early += 1;
        return (StatusCode::TOO_MANY_REQUESTS, Json(json!({"success": false, "error": "Rate limit exceeded"})))
            .into_response();
    }
    assert_eq!(q.get("sort_by").map(String::as_str), Some("id"), "the client pages in id order");
    let since = chrono::DateTime::parse_from_rfc3339(&q["updated_since"]).unwrap();
    let at = |a: &Value| chrono::DateTime::parse_from_rfc3339(a["update_time"].as_str().unwrap()).unwrap();
    let done = q.get("done").map(|d| d == "true");
    let mut all: Vec<Value> = s
        .activities
        .iter()
        .filter(|a| at(a) >= since && done.is_none_or(|d| a["done"].as_bool() == Some(d)))
        .cloned()
        .collect();
    all.sort_by_key(|a| a["id"].as_i64().unwrap());
    let start: usize = q.get("cursor").and_then(|c| c.strip_prefix('c')).and_then(|c| c.parse().ok()).unwrap_or(0);
    let page: Vec<Value> = all.iter().skip(start).take(2).cloned().collect();
    let next = (start + 2 < all.len()).then(|| format!("c{}", start + 2));
    let body = Json(json!({"success": true, "data": page, "additional_data": {"next_cursor": next}}));
    if s.spend {
        s.reset_at = Some(std::time::Instant::now() + std::time::Duration::from_secs(1));
        return ([("x-ratelimit-limit", "40"), ("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1")], body)
            .into_response();
    }
    body.into_response()
}

/// The deal fields: the standard `title` (not an admin's), a custom option field "Deal kind"
/// (key `9f2a…`), a custom money field.
async fn deal_fields(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = checked(&mut s.lock().unwrap(), &headers, &q) {
        return r;
    }
    Json(json!({"success": true, "data": [
        {"key": "title", "name": "Title", "field_type": "varchar", "edit_flag": false},
        {"key": KIND_FIELD, "name": "Deal kind", "field_type": "enum", "edit_flag": true,
         "options": [{"id": 17, "label": "Upsell"}, {"id": 18, "label": "Cross-sell"}]},
        {"key": "c0ffee", "name": "Budget", "field_type": "monetary", "edit_flag": true}
    ]}))
    .into_response()
}

const KIND_FIELD: &str = "9f2a61e0b3c7d4a5e6f7a8b9c0d1e2f3a4b5c6d7";

/// An activity (API v2): done or not, due on `day` at `time` (UTC; `""`: no time).
fn activity(id: i64, owner: i64, kind: &str, done: bool, day: u32, time: &str) -> Value {
    json!({"id": id, "subject": format!("Activity {id}"), "type": kind, "owner_id": owner, "done": done,
        "due_date": format!("2026-11-{day:02}"), "due_time": time, "add_time": format!("2026-11-{:02}T08:00:00Z", day - 1),
        "update_time": format!("2026-11-{day:02}T18:00:00Z")})
}

async fn start_fake(fake: Shared) -> String {
    let router = Router::new()
        .route("/api/v1/users/me", get(me))
        .route("/api/v1/users", get(users))
        .route("/api/v2/pipelines", get(pipelines))
        .route("/api/v2/stages", get(stages))
        .route("/api/v2/deals", get(deals))
        .route("/api/v2/deals/{id}", get(deal_by_id))
        .route("/api/v2/activities", get(activities))
        .route("/api/v1/dealFields", get(deal_fields))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

/// The deals of the table at the top.
fn fixture_deals() -> Vec<Value> {
    vec![
        deal(31, 5, 1000, "won", 10),
        deal(32, 6, 250, "won", 11),
        deal(33, 5, 400, "open", 12),
        deal(34, 7, 700, "won", 13),
        deal(35, 6, 300, "lost", 14),
    ]
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
    let fixture = fixture_deals();
    let fake: Shared = Arc::new(Mutex::new(Fake { deals: fixture, throttle: 1, ..Default::default() }));
    let base = start_fake(fake.clone()).await;
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

/// Done activities, due (UTC) on the day named; every page of them says the budget is spent
/// for a second:
/// | activity | owner   | type    | done | due         |
/// | 71       | 5 Anna  | call    | yes  | 10th 09:30  |
/// | 72       | 6 Boris | meeting | yes  | 11th (no time: midnight) |
/// | 73       | 5 Anna  | call    | no   | 12th: planned, no touchpoint |
/// | 74       | 5 Anna  | lunch   | yes  | 12th 13:00: a meeting |
/// | 75       | 6 Boris | task    | yes  | 13th 10:00: other |
/// Default points: 1 per touchpoint, 50 per won deal (Anna 31, Boris 32).
#[tokio::test]
async fn done_activities_become_touchpoints_and_a_spent_budget_is_waited_for() {
    use crate::crm::common::{activities as stored, backfill_state, points, touchpoints, user_id};
    let app = TestApp::spawn().await;
    let (token, admin) = people(&app).await;
    let fixture = fixture_deals();
    let acts = vec![
        activity(71, 5, "call", true, 10, "09:30"),
        activity(72, 6, "meeting", true, 11, ""),
        activity(73, 5, "call", false, 12, "11:00"),
        activity(74, 5, "lunch", true, 12, "13:00"),
        activity(75, 6, "task", true, 13, "10:00"),
    ];
    let fake: Shared =
        Arc::new(Mutex::new(Fake { deals: fixture, activities: acts, spend: true, ..Default::default() }));
    let base = start_fake(fake.clone()).await;
    let keyring = connectors::Keyring::from_env().unwrap();
    let access = || connectors::setup::Access { kind: "pipedrive", base_url: &base, token: TOKEN };
    let since = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let id = connectors::setup::create(&app.pool, Some(&keyring), &admin, access()).await.unwrap();
    assert_eq!(connectors::setup::start_backfill(&app.pool, Some(&keyring), &admin, id, since).await.unwrap(), 9);
    until("the backfill ends", ("done".to_string(), 9, Some(9)), || backfill_state(&app)).await;
    let (anna, boris) = (user_id(&app, "anna@example.com").await, user_id(&app, "boris@example.com").await);
    let utc = |d, h, m| Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap();
    assert_eq!(
        stored(&app).await,
        vec![
            ("pipedrive:activity:71".into(), anna.clone(), "call".into(), utc(10, 9, 30)),
            ("pipedrive:activity:72".into(), boris.clone(), "meeting".into(), utc(11, 0, 0)),
            ("pipedrive:activity:74".into(), anna.clone(), "meeting".into(), utc(12, 13, 0)),
            ("pipedrive:activity:75".into(), boris.clone(), "other".into(), utc(13, 10, 0)),
        ]
    );
    until("touchpoints", 4.0, || touchpoints(&app, &token)).await;
    until("Anna's points", 52, || points(&app, &token, &anna)).await;
    until("Boris's points", 52, || points(&app, &token, &boris)).await;
    assert_eq!(fake.lock().unwrap().early, 0, "no call came before the spent budget reset");

    // A webhook v2 for an activity carries it whole: Anna's call done on the 20th is a touchpoint
    // at once; one still planned is not.
    let status = &connectors::setup::statuses(&app.pool, Some(&keyring), &admin).await.unwrap()[0];
    let basic =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(status.hook_credentials.clone().unwrap()));
    let hook = |data: Value| {
        json!({"meta": {"action": "change", "entity": "activity", "entity_id": data["id"].to_string(),
                        "company_id": COMPANY.to_string(), "version": "2.0"}, "data": data})
        .to_string()
    };
    let headers = [("content-type", "application/json"), ("authorization", basic.as_str())];
    let (code, answer) =
        post_hook(&app, &status.hook_path, &headers, hook(activity(76, 5, "call", true, 20, "10:00"))).await;
    assert_eq!((code, answer["queued"].as_u64()), (200, Some(1)));
    let (code, answer) =
        post_hook(&app, &status.hook_path, &headers, hook(activity(77, 5, "call", false, 21, "10:00"))).await;
    assert_eq!((code, answer["queued"].as_u64()), (200, Some(0)), "a planned call is no touchpoint");
    until("touchpoints with the call", 5.0, || touchpoints(&app, &token)).await;
    until("Anna's points with the call", 53, || points(&app, &token, &anna)).await;
}

/// A custom option field as the deal type: API v2 sends the option's id (17 Upsell, 18
/// Cross-sell) in `custom_fields`, the page shows its label. Deal 31 is an Upsell, 32 a
/// Cross-sell; a money field is read as its value.
#[tokio::test]
async fn an_option_field_gives_the_deal_type_by_its_option_ids() {
    use crate::crm::common::backfill_state;
    let app = TestApp::spawn().await;
    let (_token, admin) = people(&app).await;
    let mut deals = fixture_deals();
    deals[0]["custom_fields"] = json!({KIND_FIELD: 17, "c0ffee": {"value": 5000, "currency": "RUB"}});
    deals[1]["custom_fields"] = json!({KIND_FIELD: 18, "c0ffee": null});
    let fake: Shared = Arc::new(Mutex::new(Fake { deals, ..Default::default() }));
    let base = start_fake(fake).await;
    let keyring = connectors::Keyring::from_env().unwrap();
    let access = || connectors::setup::Access { kind: "pipedrive", base_url: &base, token: TOKEN };
    let since = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let id = connectors::setup::create(&app.pool, Some(&keyring), &admin, access()).await.unwrap();
    connectors::setup::start_backfill(&app.pool, Some(&keyring), &admin, id, since).await.unwrap();
    until("the backfill ends", ("done".to_string(), 5, Some(5)), || backfill_state(&app)).await;
    let status = &connectors::setup::statuses(&app.pool, Some(&keyring), &admin).await.unwrap()[0];
    let fields: Vec<(&str, &str)> = status.fields.iter().map(|f| (f.key.as_str(), f.name.as_str())).collect();
    assert_eq!(fields, vec![(KIND_FIELD, "Deal kind"), ("c0ffee", "Budget")]);
    connectors::setup::set_fields(&app.pool, &admin, id, None, None, Some(KIND_FIELD.into())).await.unwrap();
    let status = &connectors::setup::statuses(&app.pool, Some(&keyring), &admin).await.unwrap()[0];
    assert_eq!(
        status.deal_type_values,
        vec![("17".into(), "Upsell".into(), 1, None), ("18".into(), "Cross-sell".into(), 1, None)]
    );
    connectors::setup::set_deal_type(&app.pool, &admin, id, "17", Some("upsell")).await.unwrap();
    connectors::setup::set_deal_type(&app.pool, &admin, id, "18", Some("cross_sell")).await.unwrap();
    let types: Vec<(String, String)> =
        sqlx::query_as("SELECT id, deal_type FROM deals ORDER BY id").fetch_all(&app.pool).await.unwrap();
    let want = [("31", "upsell"), ("32", "cross_sell"), ("33", "new"), ("35", "new")];
    assert_eq!(types, want.map(|(i, t)| (format!("pipedrive:{i}"), t.to_string())).to_vec());
    let budget: Option<String> =
        sqlx::query_scalar("SELECT deal->'fields'->>'c0ffee' FROM connector_items WHERE crm_id = '31'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(budget.as_deref(), Some("5000"), "a money field is read as its value");
}
