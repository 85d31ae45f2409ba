//! The OpenAPI document at /api/openapi.json and its page at /api/docs: generated from the
//! handlers, and kept equal to the router.

use crate::helpers::{two_teams_three_reps, TestApp};
use app::auth::Role;
use serde_json::{json, Value};
use std::collections::BTreeSet;

async fn document(app: &TestApp) -> Value {
    let res = app.client.get(app.url("/api/openapi.json")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn properties<'a>(doc: &'a Value, schema: &str) -> BTreeSet<&'a str> {
    let props = doc["components"]["schemas"][schema]["properties"].as_object();
    props.unwrap_or_else(|| panic!("no schema {schema}")).keys().map(String::as_str).collect()
}

#[tokio::test]
async fn the_document_describes_every_route_and_only_those() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "OpenAPI 3.1: {}", doc["openapi"]);
    let described: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().keys().map(|m| (m.to_uppercase(), path.clone())))
        .collect();
    let routed: BTreeSet<(String, String)> =
        app::api::routes().into_iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    let undescribed: Vec<_> = routed.difference(&described).collect();
    assert!(undescribed.is_empty(), "routes the document does not describe: {undescribed:?}");
    let unrouted: Vec<_> = described.difference(&routed).collect();
    assert!(unrouted.is_empty(), "the document describes routes that do not exist: {unrouted:?}");
    // Every /api/v1 operation needs the bearer token, and says what a missing one gets; but a
    // CRM's webhook, which the address's secret admits (no token, nothing to say about one).
    let hook = &doc["paths"]["/api/v1/hooks/{kind}/{key}"]["post"];
    assert_eq!(hook["security"], Value::Null, "a webhook takes no token");
    assert!(hook["responses"].get("404").is_some(), "the webhook documents its 404");
    for (method, path) in
        described.iter().filter(|(_, p)| p.starts_with("/api/v1/") && !p.starts_with("/api/v1/hooks/"))
    {
        let op = &doc["paths"][path][method.to_lowercase()];
        assert_eq!(op["security"], json!([{"bearer": []}]), "{method} {path}");
        assert!(op["responses"].get("401").is_some(), "{method} {path} documents its 401");
    }
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
}

/// The shapes the handlers build by hand are the shapes the document gives.
#[tokio::test]
async fn real_answers_have_only_the_fields_their_schemas_name() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let token = app.user_with_token("admin@example.com", "Admin", Role::Admin, None).await;
    let mut records = two_teams_three_reps();
    records.as_array_mut().unwrap().push(json!({"kind": "deal", "id": "d1", "owner": "r1", "amount": 100,
        "status": "won", "created_at": "2026-10-01T00:00:00Z", "closed_at": "2026-10-02T00:00:00Z"}));
    let (status, accepted) = app.post_records(&token, &records).await;
    assert_eq!(status, 200);
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<BTreeSet<String>>();
    let subset = |got: BTreeSet<String>, schema: &str| {
        let named: BTreeSet<String> = properties(&doc, schema).into_iter().map(String::from).collect();
        assert!(got.is_subset(&named), "{schema}: {got:?} not within {named:?}");
    };
    subset(keys(&accepted), "Accepted");
    let get = |path: &str| app.client.get(app.url(path)).bearer_auth(&token).send();
    let card: Value = get("/api/v1/kpis?scope=org&period=2026-10").await.unwrap().json().await.unwrap();
    subset(keys(&card), "KpiCard");
    subset(keys(&card["period"]), "Period");
    for entry in card["kpis"].as_array().unwrap() {
        subset(keys(entry), "KpiEntry");
    }
    let board: Value = get("/api/v1/leaderboard?period=2026-10&by=revenue").await.unwrap().json().await.unwrap();
    subset(keys(&board), "Leaderboard");
    assert_eq!(board["entries"].as_array().unwrap().len(), 3);
    for entry in board["entries"].as_array().unwrap() {
        subset(keys(entry), "LeaderboardEntry");
        subset(keys(&entry["user"]), "UserRef");
    }
    let refused: Value = get("/api/v1/kpis?scope=org&period=soon").await.unwrap().json().await.unwrap();
    subset(keys(&refused), "Error");
}

#[tokio::test]
async fn the_reference_page_lists_every_operation_and_loads_nothing_from_elsewhere() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/api/docs")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let page = res.text().await.unwrap();
    for (method, path) in app::api::routes() {
        let heading = format!("<span class=\"m\">{method}</span><code>{path}</code>");
        assert!(page.contains(&heading), "{method} {path} is on the page");
    }
    assert!(!page.contains("<script"), "no script");
    for outside in ["src=\"http", "href=\"http", "src=\"//", "href=\"//", "@import"] {
        assert!(!page.contains(outside), "nothing from elsewhere: {outside}");
    }
}
