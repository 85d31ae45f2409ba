//! What the CRM connector tests share: the people of the fixture (an admin, Anna and Boris;
//! Vera exists only in the CRMs), the figures read back through the API, a webhook sent over
//! real HTTP, and waiting for the runner.

use crate::helpers::{TestApp, PASSWORD};
use app::auth::Role;
use domain::access::CurrentUser;
use serde_json::Value;
use std::time::Duration;

/// An admin (with an API token, returned) and two reps, Anna and Boris; Vera has no account.
pub async fn people(app: &TestApp) -> (String, CurrentUser) {
    let token = app.user_with_token("admin@example.com", "Admin", Role::Admin, None).await;
    for (email, name) in [("anna@example.com", "Anna"), ("boris@example.com", "Boris")] {
        let new = store::users::NewUser {
            email: email.into(),
            name: name.into(),
            role: Role::Rep,
            team: None,
            password: PASSWORD.into(),
        };
        store::users::create_user(&app.pool, new).await.unwrap();
    }
    let admin = store::users::find_login(&app.pool, "admin@example.com").await.unwrap().unwrap().0;
    (token, admin)
}

/// POSTs a webhook `body` to `path` with `headers`; the status and the JSON answer.
pub async fn post_hook(app: &TestApp, path: &str, headers: &[(&str, &str)], body: String) -> (u16, Value) {
    let mut request = app.client.post(app.url(path)).body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let res = request.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json::<Value>().await.unwrap())
}

/// The webhook deliveries still queued.
pub async fn queued(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM connector_events WHERE state = 'queued'")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

pub async fn user_id(app: &TestApp, email: &str) -> String {
    sqlx::query_scalar("SELECT id FROM users WHERE lower(email) = lower($1)")
        .bind(email)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

pub async fn revenue(app: &TestApp, token: &str) -> f64 {
    let card = app.get_json(token, "/api/v1/kpis?scope=org&period=2026-11").await;
    let kpi = card["kpis"].as_array().unwrap().iter().find(|k| k["id"] == "revenue").unwrap().clone();
    kpi["value"].as_f64().unwrap()
}

pub async fn points(app: &TestApp, token: &str, user: &str) -> i64 {
    app.get_json(token, &format!("/api/v1/points?user={user}&period=2026-11")).await["total"].as_i64().unwrap()
}

/// Waits (up to 15 s) until `probe` gives `want`; fails with the last value otherwise.
pub async fn until<T, F, Fut>(what: &str, want: T, probe: F)
where
    T: PartialEq + std::fmt::Debug,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let mut last = probe().await;
    for _ in 0..150 {
        if last == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        last = probe().await;
    }
    assert_eq!(last, want, "{what}");
}

pub async fn events(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM connector_events").fetch_one(&app.pool).await.unwrap()
}

/// The backfill's state, deals read and deals expected.
pub async fn backfill_state(app: &TestApp) -> (String, i64, Option<i64>) {
    sqlx::query_as("SELECT backfill_state, backfill_done, backfill_total FROM connectors")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// The organisation's touchpoints (activities) in November 2026.
pub async fn touchpoints(app: &TestApp, token: &str) -> f64 {
    let card = app.get_json(token, "/api/v1/kpis?scope=org&period=2026-11").await;
    let kpi = card["kpis"].as_array().unwrap().iter().find(|k| k["id"] == "touchpoints").unwrap().clone();
    kpi["value"].as_f64().unwrap()
}

/// The activities stored: (id, owner, type, at), by id.
pub async fn activities(app: &TestApp) -> Vec<(String, String, String, chrono::DateTime<chrono::Utc>)> {
    sqlx::query_as("SELECT id, owner_id, activity_type, at FROM activities ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .unwrap()
}
