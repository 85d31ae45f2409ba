//! What a team meets in a working day, on the KPI fixture of `kpis.rs` (October 2026, UTC).

use crate::admin::{browser, call};
use crate::helpers::{TestApp, PASSWORD};
use app::auth::Role;
use serde_json::{json, Value};

#[tokio::test]
async fn a_race_shows_each_participants_way_to_the_goal() {
    let app = TestApp::spawn().await;
    let token = app.sync_token().await;
    assert_eq!(app.post_records(&token, &crate::kpis::fixture()).await.0, 200);
    let race = json!({"name": "To 800", "kind": "race", "goal": 800, "basis": "revenue",
        "starts_at": "2026-10-01T00:00:00Z", "ends_at": "2026-11-01T00:00:00Z", "participants": ["r1", "r2"],
        "launch": true});
    let res = app.client.post(app.url("/api/v1/challenges")).bearer_auth(&token).json(&race).send().await.unwrap();
    assert_eq!(res.status(), 200);
    app.user_with_token("boss@example.com", "Boss", Role::Manager, Some("t1")).await;
    let boss = browser(&app, "boss@example.com", PASSWORD).await;
    let (status, body) = call(&boss, &app, "challenges_view", &[]).await;
    assert_eq!(status, 200, "{body}");
    let view: Value = serde_json::from_str(&body).unwrap();
    let card = view["cards"].as_array().unwrap().iter().find(|c| c["name"] == "To 800").unwrap();
    let progress: Vec<(&str, f64)> = card["standings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), (s["progress"].as_f64().unwrap() * 1e4).round() / 1e4))
        .collect();
    // Анна won 1000.10 in October (125.0125 % of 800, reached); Борис 400 (50 %).
    assert_eq!(progress, vec![("Анна", 125.0125), ("Борис", 50.0)]);
}
