//! `kpi-arena backup FILE` and `kpi-arena restore FILE`, run as a user runs them.

use crate::helpers::{two_teams_three_reps, TestApp};
use app::auth::Role;
use kpi_arena_server::Worker;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn kpi_arena(database_url: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kpi-arena"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .output()
        .expect("running kpi-arena");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-backups");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{name}-{}.dump", rand::random::<u32>()))
}

async fn card(app: &TestApp, token: &str, scope: &str) -> Value {
    let url = app.url(&format!("/api/v1/kpis?scope={scope}&period=2026-10"));
    let response = app.client.get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn kpi(card: &Value, id: &str) -> Value {
    card["kpis"].as_array().unwrap().iter().find(|k| k["id"] == id).unwrap()["value"].clone()
}

fn won(id: &str, owner: &str, amount: f64, closed: &str) -> Value {
    json!({"kind": "deal", "id": id, "owner": owner, "amount": amount, "status": "won",
           "created_at": "2026-10-01T00:00:00Z", "closed_at": closed})
}

#[tokio::test]
async fn a_backup_restored_gives_back_the_same_kpi_cards_points_and_logins() {
    let app = TestApp::spawn().await;
    let token = app.user_with_token("admin@example.com", "Admin", Role::Admin, None).await;
    let mut records = two_teams_three_reps();
    let records_list = records.as_array_mut().unwrap();
    records_list.push(won("d1", "r1", 1000.0, "2026-10-05T00:00:00Z"));
    records_list.push(won("d2", "r3", 250.0, "2026-10-20T00:00:00Z"));
    assert_eq!(app.post_records_scored(&token, &records).await.0, 200);
    let (org, t1) = (card(&app, &token, "org").await, card(&app, &token, "team:t1").await);
    assert_eq!((kpi(&org, "revenue"), kpi(&t1, "revenue")), (json!(1000.0 + 250.0), json!(1000.0)));
    let points = (app.points_of("r1").await, app.points_of("r2").await);
    assert!(points.0 > 0 && points.1 == 0, "r1 scored for d1, r2 has nothing: {points:?}");

    let file = scratch("round-trip");
    let (ok, said) = kpi_arena(&app.database_url, &["backup", file.to_str().unwrap()]);
    assert!(ok, "backup: {said}");
    assert!(said.contains("backup written to"), "{said}");

    // After the backup: a new won deal for r2 and a new user.
    let later = json!([won("d3", "r2", 500.0, "2026-10-25T00:00:00Z"),
        {"kind": "user", "id": "r4", "name": "Глеб", "email": "r4@example.com", "role": "rep", "team": "t2"}]);
    assert_eq!(app.post_records_scored(&token, &later).await.0, 200);
    assert_eq!(kpi(&card(&app, &token, "org").await, "revenue"), json!(1750.0));
    assert!(app.points_of("r2").await > 0);

    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a backup holds password hashes: its owner's only");

    // This instance is still connected: refused, nothing changed.
    let (ok, said) = kpi_arena(&app.database_url, &["restore", file.to_str().unwrap()]);
    assert!(!ok);
    assert!(said.contains("other session(s) are connected to the database"), "{said}");
    assert_eq!(app.count("deals").await, 3);

    // A backup cut short is refused whole: nothing changed.
    let bytes = std::fs::read(&file).unwrap();
    let cut = scratch("cut-short");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let (ok, said) = kpi_arena(&app.database_url, &["restore", "--force", cut.to_str().unwrap()]);
    assert!(!ok, "{said}");
    assert!(said.contains("nothing was changed"), "{said}");
    assert_eq!((app.count("deals").await, app.count("users").await), (3, 5), "d3 and r4 are still there");
    let _ = std::fs::remove_file(cut);

    let (ok, said) = kpi_arena(&app.database_url, &["restore", "--force", file.to_str().unwrap()]);
    assert!(ok, "restore: {said}");
    // An instance started after the restore, as an operator would start one.
    let restarted = app.another(Worker::On).await;
    assert_eq!(card(&restarted, &token, "org").await, org, "the organisation's card is the one backed up");
    assert_eq!(card(&restarted, &token, "team:t1").await, t1, "and the team's");
    assert_eq!((restarted.points_of("r1").await, restarted.points_of("r2").await), points);
    assert_eq!(restarted.count("deals").await, 2, "d3 came after the backup");
    let r4: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE id = 'r4'").fetch_one(&restarted.pool).await.unwrap();
    assert_eq!(r4, 0, "so did r4");
    let login = crate::auth::sign_in(&restarted, "admin@example.com", crate::helpers::PASSWORD).await;
    assert_eq!(login.status(), 302, "the admin's password came back with the backup");
    let _ = std::fs::remove_file(file);
}

#[tokio::test]
async fn restoring_a_file_that_is_no_backup_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let token = app.user_with_token("admin@example.com", "Admin", Role::Admin, None).await;
    assert_eq!(app.post_records_scored(&token, &two_teams_three_reps()).await.0, 200);
    let file = scratch("not-a-backup");
    std::fs::write(&file, "kind,id\nteam,t9\n").unwrap();
    let (ok, said) = kpi_arena(&app.database_url, &["restore", file.to_str().unwrap()]);
    assert!(!ok);
    assert!(said.contains("is not a backup made by `kpi-arena backup`"), "{said}");
    let (ok, said) = kpi_arena(&app.database_url, &["restore", "/nonexistent/kpi-arena.dump"]);
    assert!(!ok);
    assert!(said.contains("/nonexistent/kpi-arena.dump does not exist"), "{said}");
    assert_eq!(app.count("users").await, 4, "three reps and the admin are still there");
    let _ = std::fs::remove_file(file);
}
