//! What a person sees when a page refuses them or does not exist, and the
//! words of the points page: every refusal is the 403 page (status 403, the
//! navigation, a sentence in the reader's language), the 404 page has the
//! navigation too, and nothing shows the framework's English or an id where a
//! name belongs (issue 16, items 5, 6 and 14).

use crate::admin::{browser, call};
use crate::helpers::{TestApp, PASSWORD};
use app::auth::Role;
use serde_json::json;

/// Teams t1, t2; reps r1 (Анна), r2 in t1, r3 in t2; manager boss@ (Мила) of t1; admin@.
async fn org() -> (TestApp, String) {
    let app = TestApp::spawn().await;
    let admin = app.user_with_token("admin@example.com", "Админ", Role::Admin, None).await;
    assert_eq!(app.post_records(&admin, &crate::helpers::two_teams_three_reps()).await.0, 200);
    for r in ["r1", "r2", "r3"] {
        store::users::set_password(&app.pool, &format!("{r}@example.com"), PASSWORD.into()).await.unwrap();
    }
    app.user_with_token("boss@example.com", "Мила", Role::Manager, Some("t1")).await;
    (app, admin)
}

/// A page as a browser asks for it (HTML, in `lang`): its status and body.
async fn page(c: &reqwest::Client, app: &TestApp, path: &str, lang: &str) -> (u16, String) {
    let res = c
        .get(app.url(path))
        .header("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
        .header("accept-language", lang)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

const NAV: &str = r#"<header class="top-bar">"#;

/// No framework text, no mixed-language prefix, no raw role id.
fn no_raw_words(body: &str) {
    for raw in ["error running server function", "Нет доступа / Forbidden", "server function", "Forbidden:"] {
        assert!(!body.contains(raw), "`{raw}` in the page: {body}");
    }
}

#[tokio::test]
async fn a_rep_refused_a_managers_page_sees_the_403_page_with_the_navigation_in_their_language() {
    let (app, _) = org().await;
    let rep = browser(&app, "r1@example.com", PASSWORD).await;
    let cases = [
        ("/targets", "Цели ставят только менеджеры и администраторы.", "Only managers and admins set targets."),
        (
            "/team",
            "Обзор команды видят только менеджеры и администраторы.",
            "Only managers and admins see team insights.",
        ),
        (
            "/settings",
            "Настройки организации меняют только администраторы.",
            "Only admins change the organisation's settings.",
        ),
        // A page built on the shared loader refuses the same way.
        (
            "/tokens",
            "Продавцы не отправляют записи, поэтому API-токенов у них нет.",
            "Reps do not send records, so they have no API tokens.",
        ),
    ];
    for (path, ru, en) in cases {
        let (status, body) = page(&rep, &app, path, "ru-RU,ru;q=0.9").await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(body.contains(r#"data-testid="forbidden""#), "{path}: the 403 page: {body}");
        assert!(body.contains(NAV), "{path}: the navigation: {body}");
        assert!(body.contains("Нет доступа к этой странице.") && body.contains(ru), "{path}: {body}");
        // The role by its name, not its id.
        assert!(body.contains("Анна · Продавец"), "{path}: {body}");
        no_raw_words(&body);

        let (status, body) = page(&rep, &app, path, "en-US,en;q=0.9").await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(
            body.contains(NAV) && body.contains("You may not open this page.") && body.contains(en),
            "{path}: {body}"
        );
        assert!(body.contains("Анна · Rep"), "{path}: {body}");
        no_raw_words(&body);
    }
}

#[tokio::test]
async fn a_manager_opening_another_teams_page_sees_the_403_page() {
    let (app, _) = org().await;
    let boss = browser(&app, "boss@example.com", PASSWORD).await;
    let (status, body) = page(&boss, &app, "/team", "ru").await;
    assert_eq!(status, 200, "their own team: {body}");
    assert!(body.contains(NAV) && !body.contains(r#"data-testid="forbidden""#), "{body}");

    let (status, body) = page(&boss, &app, "/team?team=t2", "ru").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains(r#"data-testid="forbidden""#) && body.contains(NAV), "{body}");
    assert!(body.contains("Менеджер видит только свою команду."), "{body}");
    assert!(body.contains("Мила · Менеджер"), "{body}");
    no_raw_words(&body);
    // An admin-only page, for a manager.
    let (status, body) = page(&boss, &app, "/settings", "en").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains(NAV) && body.contains("Only admins change the organisation's settings."), "{body}");
}

#[tokio::test]
async fn the_404_page_has_the_navigation_for_a_signed_in_reader() {
    let (app, _) = org().await;
    let rep = browser(&app, "r1@example.com", PASSWORD).await;
    let (status, body) = page(&rep, &app, "/no-such-page", "ru").await;
    assert_eq!(status, 404);
    assert!(body.contains(r#"data-testid="not-found""#) && body.contains("Такой страницы нет."), "{body}");
    assert!(body.contains(NAV) && body.contains("Анна · Продавец"), "{body}");
    let (status, body) = page(&rep, &app, "/no-such-page", "en").await;
    assert_eq!(status, 404);
    assert!(body.contains(NAV) && body.contains("This page does not exist."), "{body}");
    // Nobody signed in: the 404 page, without a navigation to show.
    let (status, body) = page(&crate::helpers::client(), &app, "/no-such-page", "ru").await;
    assert_eq!(status, 404);
    assert!(body.contains("Такой страницы нет.") && !body.contains(NAV), "{body}");
}

/// Three won deals of r1 on 5 October 2026 (UTC, the organisation's zone):
/// 25 000, 10 000 and 12 000. The default rules give 50 for each won deal
/// (at most 200 a day: 150) and 1 per whole 10 000 of revenue (2 + 1 + 1 = 4): 154.
/// Three wins in one day earn the hat-trick; the first, "first win".
#[tokio::test]
async fn the_points_page_words_the_ledger_and_counts_with_the_right_plural() {
    let (app, admin) = org().await;
    let deal = |id: &str, amount: i64, at: &str| {
        json!({"kind": "deal", "id": id, "owner": "r1", "amount": amount, "status": "won",
               "created_at": at, "closed_at": at})
    };
    let deals = json!([
        deal("d1", 25_000, "2026-10-05T09:00:00Z"),
        deal("d2", 10_000, "2026-10-05T11:00:00Z"),
        deal("d3", 12_000, "2026-10-05T15:00:00Z"),
    ]);
    let (status, body) = app.post_records_scored(&admin, &deals).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.points_of("r1").await, 154);

    let rep = browser(&app, "r1@example.com", PASSWORD).await;
    let (status, html) = page(&rep, &app, "/points?period=2026-10", "ru").await;
    assert_eq!(status, 200, "{html}");
    let n = "\u{202F}"; // Russian groups thousands with a narrow no-break space.
    for text in [
        // The rule by its Russian name, the reason a sentence, points counted: 50 очков, 1 очко.
        "<td>Выигранная сделка</td>".to_string(),
        "Выигранная сделка d1: 50 очков за штуку".to_string(),
        format!("<td>Выручка (1 очко за каждые 10{n}000)</td>"),
        format!("Выручка: сделка d1 на 25{n}000, 1 очко за каждые 10{n}000 × 2"),
        format!("Выручка: сделка d2 на 10{n}000, 1 очко за каждые 10{n}000 × 1"),
        // The record by its kind's word.
        r#"<span class="records">сделка d3</span>"#.to_string(),
        // The rules, counted: "50 очков", "не более 200 очков за день", "+200 очков".
        "Выигранная сделка: 50 очков за единицу (выигранная сделка), не более 200 очков за день".to_string(),
        "+100 очков при выполнении цели месяца по показателю «Процент выигранных сделок» на 100 %".to_string(),
    ] {
        assert!(html.contains(&text), "`{text}` on the points page: {html}");
    }
    assert!(html.contains(r#"data-testid="points-total" class="num points">154<"#), "{html}");
    for raw in ["Won deal", "deal d1", "очк.", "win_rate", "10000"] {
        assert!(!html.contains(raw), "`{raw}` on the Russian points page: {html}");
    }

    let (_, html) = page(&rep, &app, "/points?period=2026-10", "en").await;
    for text in [
        "Won deal d1: 50 points each",
        "Revenue: deal d2 for 10,000, 1 point per 10,000 × 1",
        "+100 points on reaching 100 % of the month's Win rate target",
    ] {
        assert!(html.contains(text), "`{text}` on the English points page: {html}");
    }
    assert!(!html.contains("win_rate"), "{html}");

    // Badge details: in words, the count agreeing with its number, the date as Russian writes it.
    let (status, html) = page(&rep, &app, "/badges", "ru").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("3 выигранные сделки за один день, 05.10.2026"), "{html}");
    assert!(html.contains("Первая выигранная сделка: d1"), "{html}");
    assert!(!html.contains("deals won on") && !html.contains("first won deal"), "{html}");
}

#[tokio::test]
async fn the_deal_forms_refusal_is_a_russian_sentence() {
    let (app, _) = org().await;
    let rep = browser(&app, "r1@example.com", PASSWORD).await;
    let form = |amount: &'static str| [("owner", "r1"), ("amount", amount), ("deal_type", "new"), ("closed_at", "")];
    let (status, body) = call(&rep, &app, "log_deal", &form("-5")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body, json!({"Refused": "Сумма: значение не может быть отрицательным (-5)."}).to_string());
    let (status, body) = call(&rep, &app, "log_deal", &form("много")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body, json!({"Refused": "Сумма: «много» — не число; пишите, например, 1500.50."}).to_string());
    assert_eq!(app.count("deals").await, 0, "nothing stored");
}

#[tokio::test]
async fn an_invite_link_used_twice_is_a_page_that_says_so() {
    let (app, _) = org().await;
    let admin_id: String = sqlx::query_scalar("SELECT id FROM users WHERE email = 'admin@example.com'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let (_, token) =
        store::users::invite(&app.pool, &admin_id, "dina@example.com", "Дина", Role::Rep, None).await.unwrap();
    let invitee = crate::helpers::client();
    let accept = [("token", token.as_str()), ("password", "dinas secret"), ("repeat", "dinas secret")];
    assert_eq!(call(&invitee, &app, "accept_invite", &accept).await.0, 200);

    // Sent again (a double click, the back button): a whole sentence, not a fragment.
    let (status, body) = call(&crate::helpers::client(), &app, "accept_invite", &accept).await;
    assert_eq!(status, 400, "{body}");
    let spent = "Эта ссылка-приглашение уже использована или устарела. Если вы уже задали пароль, войдите; \
                 если нет, попросите у администратора новую ссылку.";
    assert_eq!(body, json!({ "Refused": spent }).to_string());

    // Opened again: a page of its own, what happened and where to go.
    let (status, html) = page(&crate::helpers::client(), &app, &format!("/invite/{token}"), "ru").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(r#"data-testid="invite-gone""#) && html.contains("Ссылка больше не действует"), "{html}");
    assert!(html.contains("Эта ссылка-приглашение неизвестна, уже использована или устарела."), "{html}");
    assert!(html.contains(r#"<a href="/login">Войти</a>"#), "{html}");
    no_raw_words(&html);
    let (_, html) = page(&crate::helpers::client(), &app, &format!("/invite/{token}"), "en").await;
    assert!(html.contains("This link no longer works") && html.contains("This invite link is unknown"), "{html}");
}

/// docs/API.md: every error of the API is `{"error", "message"}` JSON, the framework's own
/// refusals included (a wrong method, an unknown path, a path id that is not a number).
#[tokio::test]
async fn the_apis_own_refusals_are_json_too() {
    let (app, admin) = org().await;
    let call = |method: reqwest::Method, path: &str| app.client.request(method, app.url(path)).bearer_auth(&admin);
    let json_of = |res: reqwest::Response| async move {
        let status = res.status().as_u16();
        let kind = res.headers()["content-type"].to_str().unwrap().to_string();
        assert!(kind.starts_with("application/json"), "{status}: {kind}");
        (status, res.json::<serde_json::Value>().await.unwrap())
    };
    let res = call(reqwest::Method::GET, "/api/v1/challenges/7/launch").send().await.unwrap();
    assert_eq!(res.headers()["allow"], "POST");
    let (status, body) = json_of(res).await;
    assert_eq!((status, body["error"].as_str()), (405, Some("method_not_allowed")));
    assert_eq!(body["message"], "/api/v1/challenges/7/launch does not take GET; it takes POST");
    let (status, body) = json_of(call(reqwest::Method::GET, "/api/v1/records").send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (405, Some("method_not_allowed")));
    assert_eq!(body["message"], "/api/v1/records does not take GET; it takes POST");
    let (status, body) = json_of(call(reqwest::Method::GET, "/api/v1/no-such-thing").send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    assert_eq!(body["message"], "no API route /api/v1/no-such-thing");
    let (status, body) = json_of(call(reqwest::Method::GET, "/api/v1/challenges/seven").send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")));
    assert!(body["message"].as_str().unwrap().contains("seven"), "{body}");
    // Past /api/v1/records, a JSON body over 2 MiB is too large, as JSON.
    let big = json!({"kpi": "revenue", "scope": "org", "period": "2026-10", "value": 1, "pad": "x".repeat(3 << 20)});
    let (status, body) = json_of(call(reqwest::Method::PUT, "/api/v1/targets").json(&big).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (413, Some("payload_too_large")), "{body}");
}

/// Every response names its request's id, and a failure on our side quotes that same id.
#[tokio::test]
async fn a_failure_quotes_the_request_id_the_log_lines_carry() {
    let (app, admin) = org().await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    // A client is not a trusted proxy: its own id is not taken.
    let res = app.client.get(app.url("/healthz")).header("x-request-id", "mine").send().await.unwrap();
    assert_ne!(res.headers()["x-request-id"], "mine");

    sqlx::query("ALTER TABLE deals RENAME TO deals_elsewhere").execute(&app.pool).await.unwrap();
    let res =
        app.client.get(app.url("/api/v1/kpis?scope=team:t1&period=2025-10")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.status(), 500);
    let id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "internal");
    assert!(body["message"].as_str().unwrap().ends_with(&format!("(error id {id})")), "{body}");
    assert!(!body["message"].as_str().unwrap().contains("deals"), "no database text reaches the client: {body}");
}

/// `KPI_ARENA_LOG_FORMAT=json`: the binary logs one JSON object a line, and the line a failing
/// request writes carries that request's id; an unknown format is refused at start.
#[tokio::test]
async fn json_logs_carry_the_request_id_of_the_failure_they_explain() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let (app, admin) = org().await;
    let refused = Command::new(env!("CARGO_BIN_EXE_kpi-arena"))
        .args(["migrate"])
        .env("DATABASE_URL", &app.database_url)
        .env("KPI_ARENA_LOG_FORMAT", "xml")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("KPI_ARENA_LOG_FORMAT is `xml`"));

    let port = crate::helpers::free_port();
    let logs = [("KPI_ARENA_LOG_FORMAT", "json"), ("KPI_ARENA_LOG", "warn")];
    let mut child = crate::helpers::serve_process(&app.database_url, port, &logs, Stdio::piped());
    sqlx::query("ALTER TABLE deals RENAME TO deals_elsewhere").execute(&app.pool).await.unwrap();
    let res = app
        .client
        .get(format!("http://127.0.0.1:{port}/api/v1/kpis?scope=team:t1&period=2025-10"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    let id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    let _ = child.kill();
    let _ = child.wait();
    let lines: Vec<serde_json::Value> = BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).expect("every line is JSON"))
        .collect();
    let failure = lines
        .iter()
        .find(|l| l["level"] == "ERROR" && l["span"]["id"] == id.as_str())
        .unwrap_or_else(|| panic!("the failure is logged under the request's id {id}: {lines:?}"));
    assert_eq!(failure["span"]["path"], "/api/v1/kpis");
    assert_eq!(failure["fields"]["error_id"], id.as_str());
    assert!(failure["fields"]["message"].as_str().unwrap().contains("deals"), "the cause is in the log: {failure}");
}
