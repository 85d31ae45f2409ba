//! The reader's language: the `lang` cookie, then `Accept-Language`, then the organisation's default.

use crate::helpers::TestApp;

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
