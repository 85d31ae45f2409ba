//! The demo organisation is explicit: `serve` loads it only with `--demo`, every
//! page says so while its accounts exist, `kpi-arena demo --remove` deletes it
//! completely, and `serve` will not listen beyond this machine while an account
//! with the published password exists.

use crate::auth::run_cli;
use crate::helpers::TestApp;
use app::auth::Role;
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql).fetch_one(&app.pool).await.unwrap()
}

#[tokio::test]
async fn the_demo_is_flagged_on_every_page_and_removed_completely_leaving_real_data() {
    let app = TestApp::spawn().await;
    services::demo::load_demo(&app.pool, chrono_tz::Europe::Moscow).await.unwrap();
    let demo_users = scalar(&app, "SELECT count(*) FROM users WHERE email LIKE '%@demo.kpi-arena.local'").await;
    assert!(demo_users >= 3, "{demo_users}");
    let login = app.client.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    assert!(login.contains(r#"data-testid="demo-banner""#), "the sign-in page says it is a demo");

    // Published password: no listening beyond this machine.
    let out = run_cli(&app.database_url, &["serve", "--addr", "0.0.0.0:0"], "");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0:0") && stderr.contains("kpi-arena demo --remove"),
        "{stderr}"
    );

    // A real organisation beside it: its deal names a demo product and a demo customer.
    let admin = app.user_with_token("real@example.com", "Real Admin", Role::Admin, None).await;
    let product: String =
        sqlx::query_scalar("SELECT id FROM products ORDER BY id LIMIT 1").fetch_one(&app.pool).await.unwrap();
    let customer: String =
        sqlx::query_scalar("SELECT id FROM customers ORDER BY id LIMIT 1").fetch_one(&app.pool).await.unwrap();
    let real = json!([
        {"kind": "team", "id": "real-t", "name": "Real", "region": "North"},
        {"kind": "user", "id": "real-r", "name": "Real Rep", "email": "real-r@example.com", "role": "rep", "team": "real-t"},
        {"kind": "deal", "id": "real-d", "owner": "real-r", "amount": 500, "status": "won", "product": product,
         "customer": customer, "created_at": "2026-10-01T09:00:00Z", "closed_at": "2026-10-02T09:00:00Z"},
    ]);
    assert_eq!(app.post_records_scored(&admin, &real).await.0, 200);
    let real_points = app.points_of("real-r").await;
    assert!(real_points > 0, "the default rules scored the real deal");

    let out = run_cli(&app.database_url, &["demo", "--remove"], "");
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with(&format!("demo organisation removed: {demo_users} users, ")), "{stdout}");

    assert_eq!(scalar(&app, "SELECT count(*) FROM users WHERE email LIKE '%@demo.kpi-arena.local'").await, 0);
    let users: Vec<String> = sqlx::query_scalar("SELECT id FROM users ORDER BY id").fetch_all(&app.pool).await.unwrap();
    assert_eq!(users.len(), 2, "the real admin and rep: {users:?}");
    assert!(users.contains(&"real-r".to_string()));
    let teams: Vec<String> = sqlx::query_scalar("SELECT id FROM teams").fetch_all(&app.pool).await.unwrap();
    assert_eq!(teams, vec!["real-t".to_string()]);
    let deal: (String, Option<String>, Option<String>) =
        sqlx::query_as("SELECT id, product_id, customer_id FROM deals").fetch_one(&app.pool).await.unwrap();
    assert_eq!(deal, ("real-d".to_string(), Some(product.clone()), None), "the only deal left, its demo customer gone");
    assert_eq!(scalar(&app, "SELECT count(*) FROM products").await, 1, "only the product a real deal uses");
    for table in ["customers", "leads", "activities", "meeting_requests", "feedback", "costs", "competitor_prices"] {
        assert_eq!(app.count(table).await, 0, "{table}");
    }
    let others = "SELECT count(*) FROM points_entries WHERE user_id <> 'real-r'";
    assert_eq!(scalar(&app, others).await, 0, "no demo points left");
    assert_eq!(app.points_of("real-r").await, real_points, "the real rep's points are untouched");
    assert_eq!(scalar(&app, "SELECT count(*) FROM badge_awards WHERE user_id <> 'real-r'").await, 0);
    assert_eq!(scalar(&app, "SELECT count(*) FROM targets").await, 0);
    let flag: bool = sqlx::query_scalar("SELECT demo_loaded FROM org_settings").fetch_one(&app.pool).await.unwrap();
    assert!(!flag);
    let login = app.client.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    assert!(!login.contains("demo-banner"), "no banner once the demo is gone");
    // The team KPIs agree: only the real deal is revenue now.
    let url = app.url("/api/v1/kpis?scope=org&period=2026-10");
    let body: serde_json::Value = app.client.get(url).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    let revenue = body["kpis"].as_array().unwrap().iter().find(|k| k["id"] == "revenue").unwrap()["value"].clone();
    assert_eq!(revenue, 500.0);
}

/// `serve` on an empty database starts an empty organisation unless `--demo` asks for the demo.
#[tokio::test]
async fn serve_loads_the_demo_only_when_asked() {
    let app = TestApp::spawn().await;
    let started = |args: &[&str]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kpi-arena"))
            .args(args)
            .env("DATABASE_URL", &app.database_url)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let running = lines.find(|l| l.as_ref().is_ok_and(|l| l.starts_with("KPI Arena is running")));
        let _ = child.kill();
        let _ = child.wait();
        assert!(running.is_some(), "{args:?} started");
    };
    started(&["serve", "--addr", "127.0.0.1:0"]);
    assert_eq!(app.count("users").await, 0, "no demo without --demo");
    started(&["serve", "--addr", "127.0.0.1:0", "--demo"]);
    assert!(app.count("users").await >= 3, "--demo loads it");
}
