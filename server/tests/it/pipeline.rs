//! The one ingest path and the scoring worker: records are committed with
//! their derived work; the worker does it, after faults too; challenges end on
//! time on their own; a new database plays by the default rules.

use crate::helpers::{eventually, two_teams_three_reps, TestApp};
use app::auth::Role;
use kpi_arena_server::Worker;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Two won deals of r1 on 5 October 2026 (a closed month): under the default
/// rules 2 × 50 for the wins and 3 + 1 whole 10 000s of revenue.
fn two_wins() -> Value {
    json!([
        {"kind": "deal", "id": "d1", "owner": "r1", "amount": 30000, "status": "won",
         "created_at": "2026-10-01T09:00:00Z", "closed_at": "2026-10-05T10:00:00Z"},
        {"kind": "deal", "id": "d2", "owner": "r1", "amount": 15000, "status": "won",
         "created_at": "2026-10-01T09:00:00Z", "closed_at": "2026-10-05T11:00:00Z"},
    ])
}
const TWO_WINS_POINTS: i64 = 2 * 50 + 3 + 1;

async fn has_badge(app: &TestApp, user: &str, badge: &str) -> bool {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM badge_awards WHERE user_id = $1 AND badge = $2)")
        .bind(user)
        .bind(badge)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_fault_between_commit_and_scoring_leaves_points_right_without_new_records() {
    // An instance whose worker never runs: the batch is committed, its work waits.
    let app = TestApp::spawn_without_worker().await;
    let admin = app.user_with_token("admin@example.com", "Admin", Role::Admin, None).await;
    assert_eq!(app.post_records(&admin, &two_teams_three_reps()).await.0, 200);
    assert_eq!(app.post_records(&admin, &two_wins()).await, (200, json!({"accepted": 2})));
    assert_eq!(app.count("deals").await, 2, "the records are stored when the API answers");
    assert_eq!(app.count("score_work").await, 1, "with their derived work");
    assert_eq!(app.points_of("r1").await, 0);

    // A worker pass dies half-way: it has claimed the work and waits on the
    // ledger (held by this test) when its connection is killed.
    let mut blocker = app.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE points_entries IN ACCESS EXCLUSIVE MODE").execute(&mut *blocker).await.unwrap();
    let pool = app.pool.clone();
    let pass = tokio::spawn(async move { services::worker::run_once(&pool).await });
    let mut killed = false;
    let started = Instant::now();
    while !killed {
        assert!(started.elapsed() < Duration::from_secs(30), "the worker pass never reached the ledger");
        killed = sqlx::query_scalar(
            "SELECT coalesce(bool_or(pg_terminate_backend(pid)), false) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&mut *blocker)
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(pass.await.unwrap().is_err(), "the killed pass fails");
    blocker.rollback().await.unwrap();
    assert_eq!(app.count("score_work").await, 1, "the killed pass's claim was rolled back");
    assert_eq!(app.points_of("r1").await, 0);

    // The database restarts: every connection to it is cut.
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        .execute(&app.pool)
        .await
        .unwrap();

    // A server with a worker starts (the process came back): no new record arrives, yet the points come.
    let restarted = app.another(Worker::On).await;
    let seen = &restarted;
    eventually("the queued work is done", || async move { seen.count("score_work").await == 0 }).await;
    assert_eq!(restarted.points_of("r1").await, TWO_WINS_POINTS);
    assert!(has_badge(&restarted, "r1", "first_win").await);
}

#[tokio::test]
async fn the_same_batch_sent_twice_changes_nothing_and_wait_scores_answers_when_points_are_current() {
    let app = TestApp::spawn().await;
    let admin = app.user_with_token("admin@example.com", "Admin", Role::Admin, None).await;
    assert_eq!(app.post_records(&admin, &two_teams_three_reps()).await.0, 200);
    let (status, body) = app.post_records_scored(&admin, &two_wins()).await;
    assert_eq!((status, body), (200, json!({"accepted": 2, "scores": "current"})));
    assert_eq!(app.points_of("r1").await, TWO_WINS_POINTS, "the points are there when it answers");
    let snapshot = |app: &TestApp| {
        let pool = app.pool.clone();
        async move {
            let q = "SELECT (SELECT count(*) FROM points_entries), (SELECT count(*) FROM badge_awards),
                            (SELECT count(*) FROM deals), (SELECT coalesce(sum(points), 0)::bigint FROM points_entries)";
            sqlx::query_as::<_, (i64, i64, i64, i64)>(q).fetch_one(&pool).await.unwrap()
        }
    };
    let before = snapshot(&app).await;
    assert_eq!(before.1, 2, "r1's first win, and the largest deal of October");
    assert_eq!(app.post_records_scored(&admin, &two_wins()).await.0, 200);
    assert_eq!(snapshot(&app).await, before, "re-sending the batch appends nothing");

    // Only `scores` may be waited for.
    let res = app.client.post(app.url("/api/v1/records?wait=ever")).bearer_auth(&admin).json(&two_wins()).send();
    let res = res.await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("`wait` may only be `scores`"));
}

#[tokio::test]
async fn a_challenge_ends_on_time_with_no_records_arriving() {
    let app = TestApp::spawn().await;
    let admin = app.user_with_token("admin@example.com", "Admin", Role::Admin, None).await;
    assert_eq!(app.post_records_scored(&admin, &two_teams_three_reps()).await.0, 200);
    assert_eq!(app.post_records_scored(&admin, &two_wins()).await.0, 200);
    let now = app::clock::now();
    let body = json!({"name": "Спринт", "kind": "top_n", "basis": "points", "top_n": 1,
        "starts_at": "2026-10-01T00:00:00Z", "ends_at": now + chrono::Duration::seconds(6),
        "participants": ["r1", "r2"], "launch": true});
    let res = app.client.post(app.url("/api/v1/challenges")).bearer_auth(&admin).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    // Nobody reads the challenge or sends a record: the worker's clock ends it.
    let pool = &app.pool;
    let status = || async move {
        sqlx::query_as::<_, (String, Vec<String>)>("SELECT status, winners FROM challenges WHERE id = $1")
            .bind(id)
            .fetch_one(pool)
            .await
            .unwrap()
    };
    assert_eq!(status().await.0, "live");
    eventually("the challenge finishes", || {
        let now = status();
        async move { now.await.0 == "finished" }
    })
    .await;
    assert_eq!(status().await.1, vec!["r1".to_string()], "r1 leads on points");
    assert!(has_badge(&app, "r1", &format!("challenge:{id}")).await);
}

#[tokio::test]
async fn a_new_database_awards_points_under_the_default_rules_which_stay_editable() {
    let app = TestApp::spawn().await;
    let admin = app.user_with_token("admin@example.com", "Admin", Role::Admin, None).await;
    let res = app.client.get(app.url("/api/v1/points/rules")).bearer_auth(&admin).send().await.unwrap();
    let rules: Value = res.json().await.unwrap();
    let labels: Vec<String> = rules["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["active"] == json!(true))
        .map(|r| r["label"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(labels.len(), 7, "{labels:?}");
    assert!(labels.contains(&"Won deal".to_string()) && labels.contains(&"Touchpoint".to_string()));
    assert_eq!(app.post_records_scored(&admin, &two_teams_three_reps()).await.0, 200);
    // Within this month (its points move when a rule changes; closed months keep theirs).
    let at = |seconds: i64| {
        use chrono::Datelike;
        let now = app::clock::now();
        let month_start = chrono::NaiveDate::from_ymd_opt(now.year(), now.month(), 1).unwrap().and_hms_opt(0, 0, 0);
        (now - chrono::Duration::seconds(seconds)).max(month_start.unwrap().and_utc()).to_rfc3339()
    };
    let day = json!([
        {"kind": "deal", "id": "d1", "owner": "r2", "amount": 25000, "status": "won",
         "created_at": at(3), "closed_at": at(3)},
        {"kind": "activity", "id": "a1", "owner": "r2", "activity_type": "call", "at": at(2)},
        {"kind": "activity", "id": "a2", "owner": "r2", "activity_type": "email", "at": at(1)},
    ]);
    assert_eq!(app.post_records_scored(&admin, &day).await.0, 200);
    // 50 for the win, 2 whole 10 000s of revenue, 1 per touchpoint.
    assert_eq!(app.points_of("r2").await, 50 + 2 + 2);
    // A manager edits the defaults: without "Won deal" the win's 50 are reversed.
    let won_deal = rules["rules"].as_array().unwrap().iter().find(|r| r["label"] == "Won deal").unwrap()["id"].clone();
    let res = app.client.delete(app.url(&format!("/api/v1/points/rules/{won_deal}"))).bearer_auth(&admin).send();
    assert_eq!(res.await.unwrap().status(), 200);
    assert_eq!(app.points_of("r2").await, 4);
}
