//! Signing in and out, sessions, and the failed-login throttle.

use crate::helpers::{TestApp, PASSWORD};
use app::auth::Role;

pub async fn sign_in(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/login"))
        .header("accept", "text/html")
        .header("referer", app.url("/login?next=/leaderboard"))
        .form(&[("email", email), ("password", password), ("next", "/leaderboard")])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_visitor_without_a_session_is_sent_to_sign_in() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/leaderboard?period=2026-10")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/login?next=/leaderboard%3Fperiod%3D2026-10");
    let res = app.client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains(r#"name="password""#), "the login form is rendered on the server");
}

/// The sign-in guard reads the router's own route table: every page of `App`
/// but the public ones, and the plain axum pages, send a visitor to sign in.
#[tokio::test]
async fn every_page_but_the_public_ones_needs_a_session() {
    let app = TestApp::spawn().await;
    let routes = leptos_axum::generate_route_list(app::App);
    let mut guarded = 0;
    for route in &routes {
        let address = route.path().replace(":token", "abc").replace(":id", "7");
        let res = app.client.get(app.url(&address)).send().await.unwrap();
        let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_string());
        if app::is_public(route.path()) {
            assert_ne!(location.as_deref().map(|l| l.starts_with("/login")), Some(true), "{address} is public");
        } else {
            assert_eq!(res.status(), 303, "{address}");
            assert!(location.as_deref().is_some_and(|l| l.starts_with("/login?next=/")), "{address}: {location:?}");
            guarded += 1;
        }
    }
    // 22 pages in App, of which /login, /invite/:token and /tv are public.
    assert_eq!((routes.len(), guarded), (22, 19));
    let res = app.client.get(app.url("/team/report.csv?period=2026-10")).send().await.unwrap();
    assert_eq!(res.headers()["location"], "/login?next=/team/report.csv%3Fperiod%3D2026-10");
}

#[tokio::test]
async fn signing_in_sets_a_protected_cookie_and_signing_out_ends_the_session() {
    let app = TestApp::spawn().await;
    app.user_with_token("anna@example.com", "Анна Смирнова", Role::Rep, None).await;

    let res = sign_in(&app, "Anna@Example.com", PASSWORD).await;
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/leaderboard");
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("kpi_arena_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");

    let page = app.client.get(app.url("/leaderboard")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Анна Смирнова"));

    let res = app
        .client
        .post(app.url("/api/logout"))
        .header("accept", "text/html")
        .header("referer", app.url("/leaderboard"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/login");
    let page = app.client.get(app.url("/leaderboard")).send().await.unwrap();
    assert_eq!(page.status(), 303, "the session is gone after signing out");
}

#[tokio::test]
async fn a_wrong_password_does_not_sign_in() {
    let app = TestApp::spawn().await;
    app.user_with_token("anna@example.com", "Анна", Role::Rep, None).await;
    let res = sign_in(&app, "anna@example.com", "wrong password").await;
    // Without JavaScript the form goes back to the login page, carrying the error.
    assert_eq!(res.status(), 302);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(&app.url("/login")), "{location}");
    let login_page = app.client.get(&location).send().await.unwrap().text().await.unwrap();
    // No `Accept-Language`: the organisation's default, Russian.
    assert!(login_page.contains("Неверная почта или пароль."), "the login page shows the error");
    let page = app.client.get(app.url("/leaderboard")).send().await.unwrap();
    assert_eq!(page.status(), 303);
}

#[tokio::test]
async fn failed_logins_are_throttled_per_account() {
    let app = TestApp::spawn().await;
    app.user_with_token("anna@example.com", "Анна", Role::Rep, None).await;
    let attempt = || async {
        app.client
            .post(app.url("/api/login"))
            .form(&[("email", "anna@example.com"), ("password", "guess")])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(attempt().await);
    }
    assert_eq!(statuses, vec![401, 401, 401, 401, 401, 429]);
    // Even the right password is refused while the account is throttled.
    let res = app
        .client
        .post(app.url("/api/login"))
        .form(&[("email", "anna@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.text().await.unwrap().contains("Слишком много попыток входа"));
}

#[tokio::test]
async fn the_api_does_not_accept_a_revoked_token() {
    let app = TestApp::spawn().await;
    let token = app.manager_token().await;
    sqlx::query("UPDATE api_tokens SET revoked_at = arena_now()").execute(&app.pool).await.unwrap();
    let (status, _) = app.post_records(&token, &serde_json::json!([])).await;
    assert_eq!(status, 401);
    // Stored as the SHA-256 of the token's text, digested here by PostgreSQL, not by the app.
    let stored: Vec<(Vec<u8>, Vec<u8>)> =
        sqlx::query_as("SELECT token_sha256, sha256(convert_to($1, 'UTF8')) FROM api_tokens")
            .bind(&token)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].0, stored[0].1, "the token is stored as its SHA-256 only");
}

/// Runs the real `kpi-arena` binary against the test's database.
fn run_cli(database_url: &str, args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_kpi-arena"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn the_cli_creates_a_user_and_a_token_that_the_api_accepts() {
    let app = TestApp::spawn().await;
    let create =
        ["user", "create", "--email", "boss@example.com", "--name", "Boss", "--role", "manager", "--password-stdin"];
    let out = run_cli(&app.database_url, &create, "a long password\n");
    assert!(out.status.success(), "user create failed: {out:?}");

    let out = run_cli(&app.database_url, &["token", "create", "--email", "boss@example.com", "--name", "crm-sync"], "");
    assert!(out.status.success(), "token create failed: {out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "the token is alone on its line: {stdout:?}");
    let records = serde_json::json!([{"kind": "team", "id": "t1", "name": "A", "region": "B"}]);
    let (status, body) = app.post_records(stdout.trim(), &records).await;
    assert_eq!((status, body), (200, serde_json::json!({"accepted": 1})));

    // The password works on the sign-in form.
    let res = sign_in(&app, "boss@example.com", "a long password").await;
    assert_eq!(res.headers()["location"], "/leaderboard");

    // The same email again (in other letter case) is refused with a clear message.
    let mut duplicate = create;
    duplicate[3] = "BOSS@example.com";
    let out = run_cli(&app.database_url, &duplicate, "another long password\n");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("a user with email `BOSS@example.com` already exists"), "{stderr}");
}

#[tokio::test]
async fn successful_logins_do_not_spend_the_failure_quota() {
    let app = TestApp::spawn().await;
    app.user_with_token("anna@example.com", "Анна", Role::Rep, None).await;
    for attempt in 0..8 {
        let res = sign_in(&app, "anna@example.com", PASSWORD).await;
        assert_eq!(res.headers()["location"], "/leaderboard", "sign-in {attempt}");
    }
}

/// Signs in through the form and keeps the session cookie in `app.client`.
pub async fn signed_in(app: &TestApp, email: &str, name: &str, role: Role, team: Option<&str>) {
    app.user_with_token(email, name, role, team).await;
    let res = sign_in(app, email, PASSWORD).await;
    assert_eq!(res.headers()["location"], "/leaderboard");
}

#[tokio::test]
async fn only_an_admin_changes_the_settings_and_periods_follow_the_time_zone() {
    let rep = TestApp::spawn().await;
    signed_in(&rep, "rep@example.com", "Rep", Role::Rep, None).await;
    let form = [("name", "Acme"), ("currency", "eur"), ("time_zone", "Europe/Moscow"), ("language", "en")];
    let res = rep.client.post(rep.url("/api/save_org_settings")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 403);

    let app = TestApp::spawn().await;
    signed_in(&app, "admin@example.com", "Admin", Role::Admin, None).await;
    let bad = [("name", ""), ("currency", "euro"), ("time_zone", "Mars/Olympus"), ("language", "de")];
    let res = app.client.post(app.url("/api/save_org_settings")).form(&bad).send().await.unwrap();
    let text = res.text().await.unwrap();
    // No `Accept-Language`: the organisation's default, Russian.
    for phrase in [
        "название организации не должно быть пустым",
        "`EURO` — не код валюты",
        "`Mars/Olympus` — не часовой пояс",
        "`de` — не язык",
    ] {
        assert!(text.contains(phrase), "{phrase} in {text}");
    }
    let res = app.client.post(app.url("/api/save_org_settings")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let settings = store::settings::load(&app.pool).await.unwrap();
    assert_eq!((settings.name.as_str(), settings.currency.as_str(), settings.language.as_str()), ("Acme", "EUR", "en"));

    let token = app.manager_token().await;
    let res = app.client.get(app.url("/api/v1/kpis?scope=org&period=2026-10")).bearer_auth(token).send().await.unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["period"], serde_json::json!({"start": "2026-09-30T21:00:00Z", "end": "2026-10-31T21:00:00Z"}));
}
