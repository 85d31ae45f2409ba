//! The HubSpot connector against a fake HubSpot on real HTTP: account details, owners (paged by
//! `after`), deal pipelines, the deal search (modified since, keyset-paged in id order, with
//! `total`; a 429 when told to), a deal by id, and the call and meeting searches (the same way), behind a private app's bearer token; and
//! webhooks signed with signature v3. Numbers by hand from the fixture:
//! | deal | owner     | amount  | state  | modified (Nov, noon UTC) |
//! | 1    | 501 Anna  | 1000    | won    | 10 |
//! | 2    | 502 Boris | 250     | won    | 11 |
//! | 3    | 501 Anna  | 400     | open   | 12 |
//! | 4    | 503 Vera  | 700     | won    | 13 | Vera has no account here
//! | 5    | 502 Boris | 300     | lost   | 14 |

use crate::crm::common::{events, people, points, post_hook, revenue, until, user_id};
use crate::helpers::TestApp;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use chrono::{TimeZone, Utc};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const TOKEN: &str = "pat-na1-0b7e-test";
const CLIENT_SECRET: &str = "hubspot-client-secret";
const PORTAL: i64 = 4242;

#[derive(Default)]
struct Fake {
    token: String,
    deals: Vec<Value>,
    calls: Vec<Value>,
    meetings: Vec<Value>,
    /// The properties each deal search asked for, in order.
    asked: Vec<Vec<String>>,
    throttle: u32,
    throttled: u32,
    gets: Vec<String>,
}
type Shared = Arc<Mutex<Fake>>;

fn ok(fake: &Fake, headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {}", fake.token))
}

fn refused() -> Response {
    (StatusCode::UNAUTHORIZED, Json(json!({"status": "error", "category": "EXPIRED_AUTHENTICATION"}))).into_response()
}

async fn details(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let s = s.lock().unwrap();
    if !ok(&s, &headers) {
        return refused();
    }
    Json(json!({"portalId": PORTAL, "timeZone": "Europe/Moscow"})).into_response()
}

async fn owners(State(s): State<Shared>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let s = s.lock().unwrap();
    if !ok(&s, &headers) {
        return refused();
    }
    let all = [
        json!({"id": "501", "email": "anna@example.com", "firstName": "Anna", "lastName": "K"}),
        json!({"id": "502", "email": "boris@example.com", "firstName": "Boris", "lastName": ""}),
        json!({"id": "503", "email": "vera@example.com", "firstName": "Vera", "lastName": ""}),
    ];
    let after: usize = q.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
    let page: Vec<Value> = all.iter().skip(after).take(2).cloned().collect();
    let mut body = json!({"results": page});
    if after + 2 < all.len() {
        body["paging"] = json!({"next": {"after": (after + 2).to_string()}});
    }
    Json(body).into_response()
}

async fn pipelines(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let s = s.lock().unwrap();
    if !ok(&s, &headers) {
        return refused();
    }
    let stage = |id: &str, closed: &str, p: &str| json!({"id": id, "label": id, "metadata": {"isClosed": closed, "probability": p}});
    Json(json!({"results": [{"id": "default", "label": "Sales pipeline", "stages": [
        stage("appointmentscheduled", "false", "0.2"), stage("closedwon", "true", "1.0"), stage("closedlost", "true", "0.0")]}]}))
    .into_response()
}

/// Whether an object matches one search filter (`EQ`, `GT`, `GTE`, `LTE`, `NOT_HAS_PROPERTY`);
/// times compare as milliseconds, whether sent as such or as RFC 3339.
fn matches(object: &Value, filter: &Value) -> bool {
    let name = filter["propertyName"].as_str().unwrap();
    let have = if name == "hs_object_id" { object["id"].as_str() } else { object["properties"][name].as_str() };
    let number = |v: &str| {
        v.parse::<i64>().unwrap_or_else(|_| chrono::DateTime::parse_from_rfc3339(v).unwrap().timestamp_millis())
    };
    match filter["operator"].as_str().unwrap() {
        "NOT_HAS_PROPERTY" => have.is_none_or(str::is_empty),
        "EQ" => have == filter["value"].as_str(),
        operator => {
            let Some(have) = have else { return false };
            let (have, value) = (number(have), number(filter["value"].as_str().unwrap()));
            match operator {
                "GT" => have > value,
                "GTE" => have >= value,
                "LTE" => have <= value,
                other => panic!("the fake knows no operator {other}"),
            }
        }
    }
}

async fn search(state: State<Shared>, headers: HeaderMap, q: Json<Value>) -> Response {
    search_in("deals", state, headers, q)
}

async fn search_calls(state: State<Shared>, headers: HeaderMap, q: Json<Value>) -> Response {
    search_in("calls", state, headers, q)
}

async fn search_meetings(state: State<Shared>, headers: HeaderMap, q: Json<Value>) -> Response {
    search_in("meetings", state, headers, q)
}

fn search_in(object: &str, State(s): State<Shared>, headers: HeaderMap, Json(q): Json<Value>) -> Response {
    let mut s = s.lock().unwrap();
    if !ok(&s, &headers) {
        return refused();
    }
    if s.throttle > 0 {
        s.throttle -= 1;
        s.throttled += 1;
        return (StatusCode::TOO_MANY_REQUESTS, Json(json!({"status": "error", "category": "RATE_LIMITS"})))
            .into_response();
    }
    if object == "deals" {
        let asked = q["properties"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect();
        s.asked.push(asked);
    }
    let groups = q["filterGroups"].as_array().unwrap();
    let filters = groups[0]["filters"].as_array().unwrap();
    let first = (filters[0]["propertyName"].as_str(), filters[0]["operator"].as_str());
    assert_eq!(first, (Some("hs_lastmodifieddate"), Some("GTE")));
    assert_eq!(q["sorts"][0]["propertyName"], "hs_object_id", "keyset paging in id order");
    let id = |d: &Value| d["id"].as_str().unwrap().parse::<i64>().unwrap();
    let all = match object {
        "calls" => &s.calls,
        "meetings" => &s.meetings,
        _ => &s.deals,
    };
    // Filter groups are ORed, the filters in a group ANDed, as HubSpot documents.
    let matching = |d: &&Value| groups.iter().any(|g| g["filters"].as_array().unwrap().iter().all(|f| matches(d, f)));
    let mut deals: Vec<Value> = all.iter().filter(matching).cloned().collect();
    let total = deals.len();
    deals.sort_by_key(id);
    let more = deals.len() > 2;
    // Only the properties asked for (and those HubSpot always sends), as HubSpot answers.
    let asked: Vec<&str> = q["properties"].as_array().unwrap().iter().filter_map(|p| p.as_str()).collect();
    let page: Vec<Value> = deals.into_iter().take(2).map(|d| only(d, &asked)).collect();
    let mut body = json!({"total": total, "results": page});
    if more {
        body["paging"] = json!({"next": {"after": "2"}});
    }
    Json(body).into_response()
}

/// `object` with only the properties in `asked` and those HubSpot always sends.
fn only(mut object: Value, asked: &[&str]) -> Value {
    if let Some(properties) = object["properties"].as_object_mut() {
        properties.retain(|name, _| {
            asked.contains(&name.as_str())
                || ["hs_object_id", "createdate", "hs_lastmodifieddate"].contains(&name.as_str())
        });
    }
    object
}

async fn one(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut s = s.lock().unwrap();
    s.gets.push(id.clone());
    if !ok(&s, &headers) {
        return refused();
    }
    let asked: Vec<&str> = q.get("properties").map(|p| p.split(',').collect()).unwrap_or_default();
    match s.deals.iter().find(|d| d["id"] == id.as_str()) {
        Some(d) => Json(only(d.clone(), &asked)).into_response(),
        None => {
            (StatusCode::NOT_FOUND, Json(json!({"status": "error", "category": "OBJECT_NOT_FOUND"}))).into_response()
        }
    }
}

fn deal(id: i64, owner: i64, amount: i64, state: &str, day: u32) -> Value {
    let at = format!("2026-11-{day:02}T12:00:00.000Z");
    json!({"id": id.to_string(), "properties": {"dealname": format!("Deal {id}"), "amount": amount.to_string(),
        "dealstage": match state { "won" => "closedwon", "lost" => "closedlost", _ => "appointmentscheduled" },
        "pipeline": "default", "hubspot_owner_id": owner.to_string(), "createdate": format!("2026-11-{:02}T12:00:00.000Z", day - 1),
        "closedate": if state == "open" { Value::Null } else { json!(at) }, "hs_lastmodifieddate": at,
        "hs_is_closed_won": (state == "won").to_string(), "hs_is_closed": (state != "open").to_string()}})
}

/// The deal properties: a custom article (`sku`), a list (`deal_kind`), a hidden one, and one
/// the connector reads anyway (`amount`).
async fn properties(State(s): State<Shared>, headers: HeaderMap) -> Response {
    if !ok(&s.lock().unwrap(), &headers) {
        return refused();
    }
    Json(json!({"results": [
        {"name": "sku", "label": "Артикул", "type": "string", "hidden": false, "options": []},
        {"name": "hs_internal", "label": "Internal", "type": "string", "hidden": true, "options": []},
        {"name": "amount", "label": "Amount", "type": "number", "hidden": false, "options": []},
        {"name": "deal_kind", "label": "Вид сделки", "type": "enumeration", "hidden": false,
         "options": [{"value": "up", "label": "Допродажа"}, {"value": "fresh", "label": "Новая"}]}
    ]}))
    .into_response()
}

/// A call or meeting object; `status` is its `hs_call_status` or `hs_meeting_outcome` (`""`: unset).
fn engagement(object: &str, id: i64, owner: Option<i64>, status: &str, day: u32, hour: u32) -> Value {
    let status_property = if object == "calls" { "hs_call_status" } else { "hs_meeting_outcome" };
    let mut properties = json!({"hs_timestamp": format!("2026-11-{day:02}T{hour:02}:00:00.000Z"),
        "hs_lastmodifieddate": format!("2026-11-{day:02}T{hour:02}:30:00.000Z")});
    if let Some(owner) = owner {
        properties["hubspot_owner_id"] = json!(owner.to_string());
    }
    if !status.is_empty() {
        properties[status_property] = json!(status);
    }
    json!({"id": id.to_string(), "properties": properties})
}

async fn start_fake() -> (String, Shared) {
    let deals = vec![
        deal(1, 501, 1000, "won", 10),
        deal(2, 502, 250, "won", 11),
        deal(3, 501, 400, "open", 12),
        deal(4, 503, 700, "won", 13),
        deal(5, 502, 300, "lost", 14),
    ];
    let state: Shared = Arc::new(Mutex::new(Fake { token: TOKEN.into(), deals, ..Default::default() }));
    let app = Router::new()
        .route("/account-info/v3/details", get(details))
        .route("/crm/v3/owners", get(owners))
        .route("/crm/v3/pipelines/deals", get(pipelines))
        .route("/crm/v3/objects/deals/search", post(search))
        .route("/crm/v3/objects/calls/search", post(search_calls))
        .route("/crm/v3/objects/meetings/search", post(search_meetings))
        .route("/crm/v3/objects/deals/{id}", get(one))
        .route("/crm/v3/properties/deals", get(properties))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, state)
}

/// Signature v3 as HubSpot computes it.
fn sign(uri: &str, body: &str, ts: &str, secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("POST{uri}{body}{ts}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn hubspot_backfill_and_signed_webhooks_give_the_hand_worked_revenue() {
    let app = TestApp::spawn().await;
    let (token, admin) = people(&app).await;
    let (base, fake) = start_fake().await;
    let keyring = connectors::Keyring::from_env().unwrap();
    let access = || connectors::setup::Access { kind: "hubspot", base_url: &base, token: TOKEN };
    let since = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();

    {
        // Deal 2 is more business from an existing customer: an upsell; 1 says it is new.
        let mut f = fake.lock().unwrap();
        f.throttle = 1;
        f.deals[0]["properties"]["dealtype"] = json!("newbusiness");
        f.deals[1]["properties"]["dealtype"] = json!("existingbusiness");
    }
    let seen = connectors::setup::preview(&admin, access(), since).await.unwrap();
    assert_eq!((seen.account.as_str(), seen.users.len(), seen.stages.len(), seen.deals), ("4242", 3, 3, 5));
    assert_eq!(fake.lock().unwrap().throttled, 1, "the 429 was waited out");
    let id = connectors::setup::create(&app.pool, Some(&keyring), &admin, access()).await.unwrap();
    connectors::setup::start_backfill(&app.pool, Some(&keyring), &admin, id, since).await.unwrap();
    let state = || crate::crm::common::backfill_state(&app);
    until("the backfill ends", ("done".to_string(), 5, Some(5)), state).await;
    until("revenue without Vera's deal", 1250.0, || revenue(&app, &token)).await;
    let anna = user_id(&app, "anna@example.com").await;
    until("Anna's points", 50, || points(&app, &token, &anna)).await;
    let types: Vec<(String, String)> =
        sqlx::query_as("SELECT id, deal_type FROM deals ORDER BY id").fetch_all(&app.pool).await.unwrap();
    let want = [("hubspot:1", "new"), ("hubspot:2", "upsell"), ("hubspot:3", "new"), ("hubspot:5", "new")];
    assert_eq!(types, want.map(|(i, t)| (i.to_string(), t.to_string())).to_vec(), "HubSpot's own deal type");

    let key: String = sqlx::query_scalar("SELECT hook_key FROM connectors").fetch_one(&app.pool).await.unwrap();
    let path = format!("/api/v1/hooks/hubspot/{key}");
    let uri = app.url(&path);
    let send = |body: String, signature: String, ts: String| {
        let app = &app;
        let path = path.clone();
        async move {
            let headers = [
                ("content-type", "application/json"),
                ("x-hubspot-signature-v3", signature.as_str()),
                ("x-hubspot-request-timestamp", ts.as_str()),
            ];
            post_hook(app, &path, &headers, body).await
        }
    };
    let event = |event_id: i64, deal: i64| {
        json!([{"eventId": event_id, "subscriptionId": 9, "portalId": PORTAL, "appId": 77, "occurredAt": 1_795_000_000_000i64,
                "subscriptionType": "deal.propertyChange", "attemptNumber": 0, "objectId": deal,
                "propertyName": "dealstage", "propertyValue": "closedwon", "changeSource": "CRM_UI"}])
        .to_string()
    };
    let now = || Utc::now().timestamp_millis().to_string();

    // Before the client secret is set, a delivery is refused.
    let (body, ts) = (event(100, 3), now());
    let (status, _) = send(body.clone(), sign(&uri, &body, &ts, CLIENT_SECRET), ts).await;
    assert_eq!(status, 400);
    connectors::setup::set_hook_secret(&app.pool, Some(&keyring), &admin, id, CLIENT_SECRET).await.unwrap();

    // Deal 3 won in HubSpot: its event, signed, is read back by id: 1250 + 400.
    fake.lock().unwrap().deals[2] = deal(3, 501, 400, "won", 20);
    let (body, ts) = (event(101, 3), now());
    let (status, answer) = send(body.clone(), sign(&uri, &body, &ts, CLIENT_SECRET), ts.clone()).await;
    assert_eq!((status, answer["queued"].as_u64()), (200, Some(1)));
    until("revenue with 3 won", 1650.0, || revenue(&app, &token)).await;
    until("Anna's points", 100, || points(&app, &token, &anna)).await;
    // HubSpot retries the same event: nothing new.
    let (status, answer) = send(body.clone(), sign(&uri, &body, &ts, CLIENT_SECRET), ts).await;
    assert_eq!((status, answer["queued"].as_u64()), (200, Some(0)));

    // Forged: another secret, an altered body, a stale timestamp: refused, nothing queued.
    let before = events(&app).await;
    let (body, ts) = (event(102, 2), now());
    let (status, _) = send(body.clone(), sign(&uri, &body, &ts, "guessed"), ts.clone()).await;
    assert_eq!(status, 400);
    let (status, _) = send(event(102, 5), sign(&uri, &body, &ts, CLIENT_SECRET), ts).await;
    assert_eq!(status, 400);
    let stale = (Utc::now().timestamp_millis() - 6 * 60 * 1000).to_string();
    let (status, answer) = send(body.clone(), sign(&uri, &body, &stale, CLIENT_SECRET), stale).await;
    assert_eq!(status, 400);
    assert!(answer["message"].as_str().unwrap().contains("5 minutes"), "{answer}");
    assert_eq!(events(&app).await, before);

    // Deal 2 moves won → lost: 1650 − 250.
    fake.lock().unwrap().deals[1] = deal(2, 502, 250, "lost", 21);
    let (body, ts) = (event(103, 2), now());
    let (status, _) = send(body.clone(), sign(&uri, &body, &ts, CLIENT_SECRET), ts).await;
    assert_eq!(status, 200);
    until("revenue with 2 lost", 1400.0, || revenue(&app, &token)).await;
    assert!(fake.lock().unwrap().gets.contains(&"2".to_string()));
}

/// Calls and meetings (November, UTC), done ones only:
/// | object     | owner     | status / outcome | at          |
/// | call 11    | 501 Anna  | COMPLETED        | 10th 09:00  |
/// | call 12    | 502 Boris | NO_ANSWER        | not counted |
/// | call 13    | (none)    | COMPLETED        | waits under "no owner" |
/// | meeting 21 | 502 Boris | COMPLETED        | 11th 15:00  |
/// | meeting 22 | 501 Anna  | SCHEDULED        | not counted |
/// | meeting 23 | 501 Anna  | (unset)          | 12th 10:00  |
/// | meeting 24 | 501 Anna  | (unset)          | 2099: not yet held |
/// Default points: 1 per touchpoint, 50 per won deal (Anna 1, Boris 2).
#[tokio::test]
async fn done_calls_and_meetings_become_touchpoints() {
    use crate::crm::common::{activities, backfill_state, touchpoints};
    let app = TestApp::spawn().await;
    let (token, admin) = people(&app).await;
    let (base, fake) = start_fake().await;
    {
        let mut f = fake.lock().unwrap();
        f.calls = vec![
            engagement("calls", 11, Some(501), "COMPLETED", 10, 9),
            engagement("calls", 12, Some(502), "NO_ANSWER", 10, 10),
            engagement("calls", 13, None, "COMPLETED", 10, 11),
        ];
        f.meetings = vec![
            engagement("meetings", 21, Some(502), "COMPLETED", 11, 15),
            engagement("meetings", 22, Some(501), "SCHEDULED", 12, 9),
            engagement("meetings", 23, Some(501), "", 12, 10),
            engagement("meetings", 24, Some(501), "", 12, 11),
        ];
        // Meeting 24 has no outcome yet and is booked for 2099: not held, no touchpoint.
        f.meetings[3]["properties"]["hs_timestamp"] = json!("2099-01-01T10:00:00.000Z");
    }
    let keyring = connectors::Keyring::from_env().unwrap();
    let access = || connectors::setup::Access { kind: "hubspot", base_url: &base, token: TOKEN };
    let since = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let seen = connectors::setup::preview(&admin, access(), since).await.unwrap();
    assert_eq!((seen.deals, seen.activities), (5, 4));
    let id = connectors::setup::create(&app.pool, Some(&keyring), &admin, access()).await.unwrap();
    assert_eq!(connectors::setup::start_backfill(&app.pool, Some(&keyring), &admin, id, since).await.unwrap(), 9);
    until("the backfill ends", ("done".to_string(), 9, Some(9)), || backfill_state(&app)).await;
    let (anna, boris) = (user_id(&app, "anna@example.com").await, user_id(&app, "boris@example.com").await);
    let utc = |d, h| Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap();
    assert_eq!(
        activities(&app).await,
        vec![
            ("hubspot:call:11".into(), anna.clone(), "call".into(), utc(10, 9)),
            ("hubspot:meeting:21".into(), boris.clone(), "meeting".into(), utc(11, 15)),
            ("hubspot:meeting:23".into(), anna.clone(), "meeting".into(), utc(12, 10)),
        ]
    );
    until("touchpoints", 3.0, || touchpoints(&app, &token)).await;
    until("Anna's points", 52, || points(&app, &token, &anna)).await;
    until("Boris's points", 51, || points(&app, &token, &boris)).await;
    // The owner-less call waits with Vera's deal 4 (under Vera) and nobody's.
    let status = &connectors::setup::statuses(&app.pool, Some(&keyring), &admin).await.unwrap()[0];
    assert_eq!(status.waiting, 2);
}

/// HubSpot sends only the properties asked for: once `sku` is mapped to the product, the deals
/// are read again with it. Deal 1 has `sku` SKU-9, a product here; deal 2 an unknown one.
#[tokio::test]
async fn a_mapped_property_is_asked_for_and_the_deals_are_read_again_with_it() {
    use crate::crm::common::backfill_state;
    let app = TestApp::spawn().await;
    let (token, admin) = people(&app).await;
    let product = json!([{"kind": "product", "id": "SKU-9", "name": "Лицензия", "price": "100"}]);
    assert_eq!(app.post_records(&token, &product).await.0, 200);
    let (base, fake) = start_fake().await;
    {
        let mut f = fake.lock().unwrap();
        f.deals[0]["properties"]["sku"] = json!("SKU-9");
        f.deals[1]["properties"]["sku"] = json!("SKU-404");
    }
    let keyring = connectors::Keyring::from_env().unwrap();
    let access = || connectors::setup::Access { kind: "hubspot", base_url: &base, token: TOKEN };
    let since = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let id = connectors::setup::create(&app.pool, Some(&keyring), &admin, access()).await.unwrap();
    connectors::setup::start_backfill(&app.pool, Some(&keyring), &admin, id, since).await.unwrap();
    until("the backfill ends", ("done".to_string(), 5, Some(5)), || backfill_state(&app)).await;
    let status = &connectors::setup::statuses(&app.pool, Some(&keyring), &admin).await.unwrap()[0];
    let fields: Vec<(&str, &str, usize)> =
        status.fields.iter().map(|f| (f.key.as_str(), f.name.as_str(), f.options.len())).collect();
    assert_eq!(fields, vec![("sku", "Артикул", 0), ("deal_kind", "Вид сделки", 2)]);
    assert!(fake.lock().unwrap().asked.iter().all(|p| !p.contains(&"sku".to_string())), "not asked for before");

    connectors::setup::set_fields(&app.pool, &admin, id, None, Some("sku".into()), None).await.unwrap();
    let product_of = |deal: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, Option<String>>("SELECT product_id FROM deals WHERE id = $1")
                .bind(deal)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    until("deal 1 read again with its product", Some("SKU-9".to_string()), || product_of("hubspot:1")).await;
    assert!(fake.lock().unwrap().asked.iter().any(|p| p.contains(&"sku".to_string())), "asked for at last");
    assert_eq!(product_of("hubspot:2").await, None, "SKU-404 is no product here");
}
