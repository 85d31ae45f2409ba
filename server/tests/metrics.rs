//! `GET /metrics`, in a test process of its own: the process-wide counters hold exactly
//! what this test did, nothing another test sent.

#[path = "it/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use app::auth::Role;
use helpers::{two_teams_three_reps, TestApp};
use serde_json::json;
use services::metrics::{RECORDS, REQUESTS};

/// The value of the series `name` whose labels include every one of `labels`.
fn value(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
        if metric == name && labels.iter().all(|want| rest.contains(want)) {
            value.parse().ok()
        } else {
            None
        }
    })
}

#[tokio::test]
async fn metrics_count_requests_and_records_and_show_the_instance_as_it_is_now() {
    // No worker: the work the batches leave waits, so the queue's figures are known.
    let app = TestApp::spawn_without_worker().await;
    let sync = app.sync_token().await;
    assert_eq!(app.post_records(&sync, &two_teams_three_reps()).await.0, 200);
    let at = "2026-11-10T10:00:00Z";
    let deals: Vec<_> = (0..4)
        .map(|i| {
            json!({"kind": "deal", "id": format!("m{i}"), "owner": "r1", "amount": 100, "status": "won",
                        "created_at": at, "closed_at": at})
        })
        .collect();
    assert_eq!(app.post_records(&sync, &json!(deals)).await.0, 200);
    // A refused batch (an unknown owner) is a request, not records.
    let bad = json!([{"kind": "deal", "id": "x", "owner": "nobody", "amount": 5, "status": "won",
                      "created_at": at, "closed_at": at}]);
    let refused = app.post_records(&sync, &bad).await.0;
    assert!(refused >= 400, "{refused}");
    // And one piece of work waiting for five minutes already.
    app.work_waiting_since(5).await;
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM score_work").fetch_one(&app.pool).await.unwrap();

    let res = app.client.get(app.url("/metrics")).bearer_auth(&sync).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = res.text().await.unwrap();
    let api = "source=\"api\"";
    assert_eq!(value(&text, RECORDS, &[api, "kind=\"team\""]), Some(2.0), "{text}");
    assert_eq!(value(&text, RECORDS, &[api, "kind=\"user\""]), Some(3.0));
    assert_eq!(value(&text, RECORDS, &[api, "kind=\"deal\""]), Some(4.0));
    let records = "route=\"/api/v1/records\"";
    assert_eq!(value(&text, REQUESTS, &[records, "method=\"POST\"", "status=\"200\""]), Some(2.0));
    assert_eq!(value(&text, REQUESTS, &[records, &format!("status=\"{refused}\"")]), Some(1.0));
    assert_eq!(value(&text, "kpi_arena_http_request_duration_seconds_count", &[records]), Some(3.0));
    assert_eq!(value(&text, "kpi_arena_http_request_duration_seconds_bucket", &[records, "le=\"+Inf\""]), Some(3.0));
    // The instance now: the queue, its oldest work's age, the pool, no open stream.
    assert!(pending >= 1);
    assert_eq!(value(&text, "kpi_arena_scoring_work_pending", &[]), Some(pending as f64));
    let lag = value(&text, "kpi_arena_scoring_lag_seconds", &[]).unwrap();
    assert!((300.0..330.0).contains(&lag), "{lag}");
    assert_eq!(value(&text, "kpi_arena_db_pool_max_connections", &[]), Some(16.0));
    assert_eq!(value(&text, "kpi_arena_live_streams", &[]), Some(0.0));

    // Only an admin's token reads them.
    let rep = app.user_with_token("rep@example.com", "Rep", Role::Rep, Some("t1")).await;
    assert_eq!(app.client.get(app.url("/metrics")).bearer_auth(&rep).send().await.unwrap().status(), 403);
    assert_eq!(app.client.get(app.url("/metrics")).send().await.unwrap().status(), 401);
}
