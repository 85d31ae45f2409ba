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
    // 25 pages in App, of which /login, /invite/:token and /tv are public.
    assert_eq!((routes.len(), guarded), (25, 22));
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

/// After signing in the browser goes only to a path of this site: `/\evil` and
/// its kin (which browsers read as `//evil`) go to the leaderboard instead.
#[tokio::test]
async fn signing_in_never_redirects_to_another_site() {
    let app = TestApp::spawn().await;
    app.user_with_token("anna@example.com", "Анна", Role::Rep, None).await;
    for (next, goes) in [
        ("/\\evil.example", "/leaderboard"),
        ("//evil.example", "/leaderboard"),
        ("/\t/evil.example", "/leaderboard"),
        ("https://evil.example/", "/leaderboard"),
        ("/rep/r1?period=2026-10", "/rep/r1?period=2026-10"),
    ] {
        let c = crate::helpers::client();
        let res = c
            .post(app.url("/api/login"))
            .header("accept", "text/html")
            .header("referer", app.url("/login"))
            .form(&[("email", "anna@example.com"), ("password", PASSWORD), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302, "{next}");
        assert_eq!(res.headers()["location"], goes, "{next}");
    }
    let res = app.client.get(app.url("/lang/en?back=/%5Cevil.example")).send().await.unwrap();
    assert_eq!(res.headers()["location"], "/", "the language switch uses the same check");
}

/// A cookie-authenticated call that changes something must come from the app's
/// own pages: another origin's form post is 403 and changes nothing.
#[tokio::test]
async fn a_cross_origin_post_with_the_session_cookie_is_refused() {
    let app = TestApp::spawn().await;
    app.user_with_token("anna@example.com", "Анна", Role::Rep, None).await;
    assert_eq!(sign_in(&app, "anna@example.com", PASSWORD).await.status(), 302);
    let logout = |headers: &[(&'static str, String)]| {
        let mut req = app.client.post(app.url("/api/logout")).header("accept", "text/html");
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        req.send()
    };
    let other_port = app.base.rsplit_once(':').map(|(host, _)| format!("{host}:1")).unwrap();
    for headers in [
        vec![("sec-fetch-site", "same-site".to_string()), ("origin", other_port.clone())],
        vec![("sec-fetch-site", "cross-site".to_string()), ("origin", "https://evil.example".to_string())],
        vec![("origin", "https://evil.example".to_string())],
        vec![("origin", "null".to_string())],
    ] {
        let res = logout(&headers).await.unwrap();
        assert_eq!(res.status(), 403, "{headers:?}");
        let page = app.client.get(app.url("/leaderboard")).send().await.unwrap();
        assert_eq!(page.status(), 200, "still signed in after {headers:?}");
    }
    let res = logout(&[("sec-fetch-site", "same-origin".to_string()), ("origin", app.base.clone())]).await.unwrap();
    assert_eq!(res.status(), 302, "the app's own page signs out");
    assert_eq!(app.client.get(app.url("/leaderboard")).send().await.unwrap().status(), 303);
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

/// The per-account budget lives in the database: failures on one instance count
/// on another (and after a restart). The sixth attempt within 15 minutes is
/// refused without hashing, and the account waits a minute (doubling, at most 15).
#[tokio::test]
async fn failed_logins_are_throttled_per_account_across_instances() {
    let app = TestApp::spawn().await;
    let other = app.another(kpi_arena_server::Worker::Off).await;
    app.user_with_token("anna@example.com", "Анна", Role::Rep, None).await;
    let attempt = |on: &TestApp, password: &str| {
        let req = on.client.post(on.url("/api/login")).form(&[("email", "anna@example.com"), ("password", password)]);
        async move { req.send().await.unwrap() }
    };
    let mut statuses = Vec::new();
    for on in [&app, &other, &app, &other, &app, &other] {
        statuses.push(attempt(on, "guess").await.status().as_u16());
    }
    assert_eq!(statuses, vec![401, 401, 401, 401, 401, 429]);
    let wait: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM blocked_until - now())::float8 FROM login_failures WHERE account = 'anna@example.com'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!((50.0..=60.0).contains(&wait), "a minute's wait: {wait}");
    // Even the right password is refused while the account waits, on either instance.
    for on in [&app, &other] {
        let res = attempt(on, PASSWORD).await;
        assert_eq!(res.status(), 429);
        assert!(res.text().await.unwrap().contains("Слишком много попыток входа"));
    }
    // Once the wait is over, the right password works and the count starts again.
    sqlx::query("UPDATE login_failures SET blocked_until = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    let status = attempt(&app, PASSWORD).await.status().as_u16();
    assert!(status == 200 || status == 302, "signed in: {status}");
    assert_eq!(app.count("login_failures").await, 0);
}

#[tokio::test]
async fn the_api_does_not_accept_a_revoked_token() {
    let app = TestApp::spawn().await;
    let token = app.sync_token().await;
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
pub fn run_cli(database_url: &str, args: &[&str], stdin: &str) -> std::process::Output {
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
        ["user", "create", "--email", "boss@example.com", "--name", "Boss", "--role", "admin", "--password-stdin"];
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
        "Название организации не должно быть пустым.",
        "«EURO» — не код валюты",
        "«Mars/Olympus» — не часовой пояс",
        "«de» — не язык интерфейса",
    ] {
        assert!(text.contains(phrase), "{phrase} in {text}");
    }
    let res = app.client.post(app.url("/api/save_org_settings")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let settings = store::settings::load(&app.pool).await.unwrap();
    assert_eq!((settings.name.as_str(), settings.currency.as_str(), settings.language.as_str()), ("Acme", "EUR", "en"));

    let token = app.sync_token().await;
    let res = app.client.get(app.url("/api/v1/kpis?scope=org&period=2026-10")).bearer_auth(token).send().await.unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["period"], serde_json::json!({"start": "2026-09-30T21:00:00Z", "end": "2026-10-31T21:00:00Z"}));
}

/// Every user changes their own password (the current one checked); an admin can
/// issue a one-time reset link. Either way every other session of the user ends.
#[tokio::test]
async fn a_password_change_or_reset_ends_the_users_other_sessions() {
    use crate::admin::{browser, call};
    let app = TestApp::spawn().await;
    app.user_with_token("anna@example.com", "Анна", Role::Rep, None).await;
    app.user_with_token("admin@example.com", "Admin", Role::Admin, None).await;
    let here = browser(&app, "anna@example.com", PASSWORD).await;
    let phone = browser(&app, "anna@example.com", PASSWORD).await;

    let (status, body) =
        call(&here, &app, "change_password", &[("current", "not it"), ("new", "a new password")]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("Текущий пароль неверен."), "{body}");
    let (status, body) = call(&here, &app, "change_password", &[("current", PASSWORD), ("new", "short")]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(call(&phone, &app, "account_view", &[]).await.0, 200, "nothing changed yet");

    let (status, body) =
        call(&here, &app, "change_password", &[("current", PASSWORD), ("new", "a new password")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(call(&here, &app, "account_view", &[]).await.0, 200, "this browser stays signed in");
    assert_eq!(call(&phone, &app, "account_view", &[]).await.0, 401, "the other session has ended");
    let old = sign_in(&app, "anna@example.com", PASSWORD).await;
    assert!(old.headers()["location"].to_str().unwrap().starts_with(&app.url("/login")), "the old password is gone");
    let again = browser(&app, "anna@example.com", "a new password").await;

    // An admin's reset link: anna's sessions last until it is used.
    let admin = browser(&app, "admin@example.com", PASSWORD).await;
    let anna: String =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'anna@example.com'").fetch_one(&app.pool).await.unwrap();
    assert_eq!(call(&here, &app, "reset_password_link", &[("id", &anna)]).await.0, 403, "admins only");
    let (status, body) = call(&admin, &app, "reset_password_link", &[("id", &anna)]).await;
    assert_eq!(status, 200, "{body}");
    let link: String = serde_json::from_str(&body).unwrap();
    let token = link.strip_prefix("/invite/").expect("an invite link");
    assert_eq!(call(&again, &app, "account_view", &[]).await.0, 200);
    let form = [("token", token), ("password", "reset password"), ("repeat", "reset password")];
    let (status, body) = call(&crate::helpers::client(), &app, "accept_invite", &form).await;
    assert!(status == 200 || status == 302, "{status}: {body}");
    for c in [&here, &again] {
        assert_eq!(call(c, &app, "account_view", &[]).await.0, 401, "every earlier session has ended");
    }
    browser(&app, "anna@example.com", "reset password").await;
    let (status, _) = call(&crate::helpers::client(), &app, "accept_invite", &form).await;
    assert_eq!(status, 400, "the link works once");
}

/// Every page carries a Content-Security-Policy whose nonce is on each of
/// Leptos's inline scripts, and no inline script goes without it.
#[tokio::test]
async fn pages_carry_a_nonce_csp_and_the_security_headers() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/login")).send().await.unwrap();
    let header = |name: &str| res.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let csp = header("content-security-policy");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the policy")
        .to_string();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("object-src 'none'"), "{csp}");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("referrer-policy"), "same-origin");
    assert_eq!(header("strict-transport-security"), "", "no HSTS without Secure cookies");
    let html = res.text().await.unwrap();
    let scripts: Vec<&str> = html.split("<script").skip(1).map(|s| s.split('>').next().unwrap()).collect();
    assert!(!scripts.is_empty());
    for tag in &scripts {
        let external = tag.contains("src=");
        assert!(
            external || tag.contains(&format!("nonce=\"{nonce}\"")),
            "an inline script without the nonce: <script{tag}>"
        );
    }
    // Another response, another nonce.
    let again = app.client.get(app.url("/login")).send().await.unwrap();
    let csp_again = again.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert_ne!(csp_again, csp);
}
