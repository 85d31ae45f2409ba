//! `/healthz` and `/readyz`: alive, and ready for traffic or saying why not.

use crate::helpers::TestApp;
use serde_json::Value;

async fn readyz(app: &TestApp) -> (u16, Value) {
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn a_running_instance_is_alive_and_ready() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "ok");
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ready"], true);
    assert_eq!(body["reasons"], serde_json::json!([]));
    assert_eq!(body["scoring_lag_ms"], 0);
    // This instance runs a worker, and it came round a moment ago.
    assert!(body["worker_silent_ms"].as_u64().is_some_and(|ms| ms < 60_000), "{body}");
}

#[tokio::test]
async fn an_instance_is_not_ready_while_scoring_lags_or_a_migration_is_missing_or_the_database_is_gone() {
    // No worker here (as when every instance's worker is stuck): work waits in the queue.
    let app = TestApp::spawn_without_worker().await;
    assert_eq!(readyz(&app).await.1["worker_silent_ms"], Value::Null);
    app.work_waiting_since(5).await;
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 503);
    assert_eq!(body["ready"], false);
    // 300 s, and whatever the test took between the insert and the read.
    let reason = body["reasons"][0].as_str().unwrap();
    let seconds: i64 = reason
        .strip_prefix("scoring lags: the oldest waiting work is ")
        .and_then(|rest| rest.strip_suffix(" s old (at most 60 s)"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{body}"));
    assert!((300..330).contains(&seconds), "{body}");
    assert_eq!(body["reasons"].as_array().unwrap().len(), 1, "{body}");
    assert!(body["scoring_lag_ms"].as_i64().is_some_and(|ms| (300_000..330_000).contains(&ms)), "{body}");

    // The work is done; then the database loses its record of the newest migration.
    sqlx::query("DELETE FROM score_work").execute(&app.pool).await.unwrap();
    assert_eq!(readyz(&app).await.0, 200);
    let newest = store::MIGRATOR.iter().map(|m| m.version).max().unwrap();
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = $1").bind(newest).execute(&app.pool).await.unwrap();
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 503);
    assert_eq!(body["reasons"], serde_json::json!([format!("migrations not applied: {newest}")]));

    // The database gone: still alive, not ready, and saying so.
    app.pool.close().await;
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), 200);
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 503);
    let reasons = body["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "{body}");
    // Only that: what the error says (hosts, users) stays in the log.
    assert_eq!(reasons[0], "the database does not answer", "{body}");
}
