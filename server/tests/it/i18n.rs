//! The reader's language: the `lang` cookie, then `Accept-Language`, then the organisation's default.

use crate::admin::browser;
use crate::helpers::{TestApp, PASSWORD};
use app::auth::Role;

async fn page(app: &TestApp, accept_language: Option<&str>) -> String {
    let mut req = app.client.get(app.url("/login"));
    if let Some(value) = accept_language {
        req = req.header("accept-language", value);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

#[tokio::test]
async fn the_cookie_beats_the_browser_which_beats_the_organisations_default() {
    let app = TestApp::spawn().await;
    let html = page(&app, None).await;
    assert!(html.contains(r#"<html lang="ru""#) && html.contains("Войти"), "Russian by default");
    let html = page(&app, Some("de-DE, en-US;q=0.8, ru;q=0.5")).await;
    assert!(html.contains(r#"<html lang="en""#) && html.contains("Sign in"), "the first of ru/en the browser names");

    sqlx::query("UPDATE org_settings SET language = 'en'").execute(&app.pool).await.unwrap();
    assert!(page(&app, None).await.contains(r#"<html lang="en""#), "the organisation's default");
    assert!(page(&app, Some("fr")).await.contains(r#"<html lang="en""#), "a browser naming neither");

    let res = app.client.get(app.url("/lang/ru?back=/login%3Fnext%3D%2Fkpis")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/login?next=/kpis");
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    for part in ["lang=ru", "Path=/", "Max-Age=31536000", "SameSite=Lax"] {
        assert!(cookie.contains(part), "{part} in {cookie}");
    }
    let html = page(&app, Some("en-US")).await;
    assert!(html.contains(r#"<html lang="ru""#) && html.contains("Войти"), "the reader's own choice wins");
}

#[tokio::test]
async fn the_switch_goes_back_only_to_this_site_and_knows_only_ru_and_en() {
    let app = TestApp::spawn().await;
    for back in ["https://evil.example/", "//evil.example/", "/\\evil.example"] {
        let url = format!("{}/lang/en?back={}", app.base, back.replace('/', "%2F").replace('\\', "%5C"));
        let res = app.client.get(url).send().await.unwrap();
        assert_eq!(res.status(), 303);
        assert_eq!(res.headers()["location"], "/", "{back}");
    }
    let res = app.client.get(app.url("/lang/de?back=/")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert!(res.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn a_server_functions_error_speaks_the_readers_language() {
    let app = TestApp::spawn().await;
    app.user_with_token("anna@example.com", "Анна", Role::Rep, None).await;
    let wrong_password = |lang: &'static str| {
        app.client
            .post(app.url("/api/login"))
            .header("accept-language", lang)
            .form(&[("email", "anna@example.com"), ("password", "wrong password")])
            .send()
    };
    let res = wrong_password("ru-RU").await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.text().await.unwrap().contains("Неверная почта или пароль."));
    let res = wrong_password("en-US").await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.text().await.unwrap().contains("Wrong email or password."));

    // A refusal travels as its kind (the page shows its 403 by the variant), the reason in the reader's language.
    let rep = browser(&app, "anna@example.com", PASSWORD).await;
    let tokens = |lang: &'static str| rep.post(app.url("/api/tokens_view")).header("accept-language", lang).send();
    let res = tokens("ru").await.unwrap();
    assert_eq!(res.status(), 403);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"Forbidden": "Продавцы не отправляют записи, поэтому API-токенов у них нет."}));
    let res = tokens("en").await.unwrap();
    assert_eq!(res.status(), 403);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"Forbidden": "Reps do not send records, so they have no API tokens."}));
}
