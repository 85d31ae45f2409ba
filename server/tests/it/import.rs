//! CSV import through the pages' own routes: upload, preview with per-row
//! errors, all-or-nothing storing with progress, and who may do it.

use crate::admin::{browser, call};
use crate::helpers::{TestApp, PASSWORD};
use app::auth::Role;
use serde_json::Value;

struct Org {
    app: TestApp,
    admin: String,
}

/// Teams t1 (r1, r2) and t2 (r3); manager boss@ of t1 and manager other@ of
/// t2; the organisation in Moscow time.
async fn org() -> Org {
    let app = TestApp::spawn().await;
    let admin = app.user_with_token("admin@example.com", "Admin", Role::Admin, None).await;
    assert_eq!(app.post_records(&admin, &crate::helpers::two_teams_three_reps()).await.0, 200);
    app.user_with_token("boss@example.com", "Boss", Role::Manager, Some("t1")).await;
    app.user_with_token("other@example.com", "Other", Role::Manager, Some("t2")).await;
    store::users::set_password(&app.pool, "r1@example.com", PASSWORD.into()).await.unwrap();
    sqlx::query("UPDATE org_settings SET time_zone = 'Europe/Moscow'").execute(&app.pool).await.unwrap();
    Org { app, admin }
}

/// Uploads `bytes` as a CSV of `kind` the way the page's form does; the import's id.
pub async fn upload(c: &reqwest::Client, app: &TestApp, kind: &str, bytes: Vec<u8>) -> (u16, String) {
    let file = reqwest::multipart::Part::bytes(bytes).file_name("deals.csv").mime_str("text/csv").unwrap();
    let form = reqwest::multipart::Form::new().text("kind", kind.to_string()).part("file", file);
    let res = c.post(app.url("/import")).multipart(form).send().await.unwrap();
    let status = res.status().as_u16();
    let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_string());
    (status, location.unwrap_or(res.text().await.unwrap()))
}

pub async fn uploaded(c: &reqwest::Client, app: &TestApp, kind: &str, bytes: Vec<u8>) -> String {
    let (status, location) = upload(c, app, kind, bytes).await;
    assert_eq!(status, 303, "{location}");
    location.strip_prefix("/import/").expect("redirected to the import's page").to_string()
}

async fn view(c: &reqwest::Client, app: &TestApp, id: &str) -> Value {
    let (status, body) = call(c, app, "import_view", &[("id", id)]).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// Waits until storing has finished.
async fn finished(c: &reqwest::Client, app: &TestApp, id: &str) -> Value {
    for _ in 0..100 {
        let v = view(c, app, id).await;
        if v["status"] != "storing" {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("import {id} still storing after 10 s");
}

async fn revenue(app: &TestApp, token: &str, scope: &str, period: &str) -> Value {
    let url = app.url(&format!("/api/v1/kpis?scope={scope}&period={period}"));
    let body: Value = app.client.get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    body["kpis"].as_array().unwrap().iter().find(|k| k["id"] == "revenue").unwrap()["value"].clone()
}

const BAD: &str = "id;owner;amount;status;created_at;closed_at\r\n\
d1;r1;125 000,50;won;01.11.2026 09:00;20.11.2026 16:45\r\n\
d2;r2;abc;won;2026-11-02 10:00;2026-11-03 10:00\r\n\
d3;r9;1000;won;2026-11-02 10:00;2026-11-03 10:00\r\n\
d4;r2;4 500;open;2026-11-05;\r\n\
d5;r1;7000;won;2026-11-10 10:00;01.12.2026 01:30\r\n";

/// `BAD` with its two bad rows mended: a file that previews as ready to store for
/// boss@, t1's manager (d3 goes to r2 of t1).
fn good() -> String {
    BAD.replace("d2;r2;abc", "d2;r2;74 999,50").replace("d3;r9", "d3;r2")
}

#[tokio::test]
async fn a_manager_imports_an_excel_csv_after_a_preview_naming_every_bad_row() {
    let Org { app, admin } = org().await;
    let boss = browser(&app, "boss@example.com", PASSWORD).await;
    // Russian Excel: Windows-1251, semicolons, decimal commas, local times.
    let (bad, _, _) = encoding_rs::WINDOWS_1251.encode(BAD);
    let id = uploaded(&boss, &app, "deal", bad.into_owned()).await;
    let v = view(&boss, &app, &id).await;
    assert_eq!(v["status"], "invalid");
    assert_eq!(v["total"], 5);
    assert_eq!(v["error_count"], 2);
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors[0][0], 3);
    assert_eq!(errors[0][1], "d2");
    assert!(errors[0][2].as_str().unwrap().contains("`amount` must be a decimal number"), "{errors:?}");
    assert_eq!(errors[1][0], 4);
    // An owner is named by id or email (item 11 of issue 16): the import's own words, in Russian.
    assert_eq!(errors[1][2], "`owner`: нет пользователя с id или почтой `r9`", "{errors:?}");
    assert_eq!(app.count("deals").await, 0, "nothing is stored from a file with errors");
    // The page itself lists them.
    let page = boss.get(app.url(&format!("/import/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("`owner`: нет пользователя с id или почтой `r9`"), "the preview page shows the errors");
    // A file with errors cannot be stored: refused as not ready (it is boss@'s own, so not "not yours").
    let (status, body) = call(&boss, &app, "start_import", &[("id", &id)]).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains(&format!("Импорт {id} нельзя сохранить")), "{body}");

    // A deal for r3, a rep of t2: a manager of t1 may not import it; the row is named.
    let other_team = good().replace("d3;r2", "d3;r3");
    let id = uploaded(&boss, &app, "deal", other_team.into_bytes()).await;
    let v = view(&boss, &app, &id).await;
    assert_eq!((v["status"].as_str(), v["error_count"].as_i64()), (Some("invalid"), Some(1)), "{v}");
    assert_eq!(v["errors"][0], serde_json::json!([4, "d3", "owner `r3` is not a member of your team `t1`"]));

    let fixed = good();
    let (fixed, _, _) = encoding_rs::WINDOWS_1251.encode(&fixed);
    let id = uploaded(&boss, &app, "deal", fixed.into_owned()).await;
    let v = view(&boss, &app, &id).await;
    assert_eq!(v["status"], "ready", "{v}");
    assert_eq!(v["error_count"], 0);
    assert_eq!(v["columns"], serde_json::json!(["id", "owner", "amount", "status", "created_at", "closed_at"]));
    assert_eq!(
        v["preview"][0],
        serde_json::json!(["d1", "r1", "125000.50", "won", "2026-11-01T09:00:00+03:00", "2026-11-20T16:45:00+03:00"])
    );
    assert_eq!(v["preview"].as_array().unwrap().len(), 5);
    assert_eq!(app.count("deals").await, 0, "a preview stores nothing");

    let (status, body) = call(&boss, &app, "start_import", &[("id", &id)]).await;
    assert_eq!(status, 200, "{body}");
    let v = finished(&boss, &app, &id).await;
    assert_eq!(v["status"], "done", "{v}");
    assert_eq!(v["stored"], 5);
    assert_eq!(app.count("deals").await, 5);
    // Local times were read in Moscow: d4 opened at midnight there, d5 closed in December there.
    let d4: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT created_at FROM deals WHERE id = 'd4'").fetch_one(&app.pool).await.unwrap();
    assert_eq!(d4.to_rfc3339(), "2026-11-04T21:00:00+00:00");
    // November: 125 000.50 + 74 999.50 + 1 000, all of t1 (r1 and r2); t2 has none; d5's 7 000 is December's.
    assert_eq!(revenue(&app, &admin, "org", "2026-11").await, 201000.0);
    assert_eq!(revenue(&app, &admin, "team:t1", "2026-11").await, 201000.0);
    assert_eq!(revenue(&app, &admin, "team:t2", "2026-11").await, 0.0);
    assert_eq!(revenue(&app, &admin, "org", "2026-12").await, 7000.0);
    // Stored once: starting again is refused as not ready.
    let (status, body) = call(&boss, &app, "start_import", &[("id", &id)]).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains(&format!("Импорт {id} нельзя сохранить")), "{body}");
}

#[tokio::test]
async fn only_managers_and_admins_import_and_each_sees_and_stores_only_their_own_imports() {
    let Org { app, .. } = org().await;
    let rep = browser(&app, "r1@example.com", PASSWORD).await;
    let (status, body) = upload(&rep, &app, "deal", BAD.as_bytes().to_vec()).await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = call(&rep, &app, "imports_view", &[]).await;
    assert_eq!(status, 403);

    // boss@'s file is ready to store, so "not ready" cannot be why other@ is refused.
    let boss = browser(&app, "boss@example.com", PASSWORD).await;
    let id = uploaded(&boss, &app, "deal", good().into_bytes()).await;
    assert_eq!(view(&boss, &app, &id).await["status"], "ready");
    let other = browser(&app, "other@example.com", PASSWORD).await;
    let (status, _) = call(&other, &app, "import_view", &[("id", &id)]).await;
    assert_eq!(status, 404, "another manager's import is not theirs to see");
    // Nor to store. No `Accept-Language`: the organisation's default, Russian.
    let (status, body) = call(&other, &app, "start_import", &[("id", &id)]).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains(&format!("Импорта {id} среди ваших нет.")), "refused as not theirs: {body}");
    let admin = browser(&app, "admin@example.com", PASSWORD).await;
    let v = view(&admin, &app, &id).await;
    assert_eq!(
        (v["status"].as_str(), v["total"].as_i64(), v["stored"].as_i64()),
        (Some("ready"), Some(5), Some(0)),
        "an admin sees every import; this one is untouched: {v}"
    );
    assert_eq!(app.count("deals").await, 0);
    // Its owner still stores it, all five rows.
    let (status, body) = call(&boss, &app, "start_import", &[("id", &id)]).await;
    assert_eq!(status, 200, "{body}");
    let v = finished(&boss, &app, &id).await;
    assert_eq!((v["status"].as_str(), v["stored"].as_i64()), (Some("done"), Some(5)), "{v}");
    assert_eq!(app.count("deals").await, 5);

    let signed_out = crate::helpers::client();
    let (status, location) = upload(&signed_out, &app, "deal", BAD.as_bytes().to_vec()).await;
    assert_eq!((status, location.as_str()), (303, "/login?next=/import"));
}

#[tokio::test]
async fn a_file_whose_columns_are_wrong_is_refused_whole_with_the_column_named() {
    let Org { app, .. } = org().await;
    let boss = browser(&app, "boss@example.com", PASSWORD).await;
    let id = uploaded(&boss, &app, "activity", b"id,owner,type,at\na1,r1,call,2026-11-02 10:00\n".to_vec()).await;
    let v = view(&boss, &app, &id).await;
    assert_eq!(v["status"], "invalid");
    let problem = v["problem"].as_str().unwrap();
    assert!(problem.starts_with("unknown column `type` (a activity file has: id, owner, activity_type"), "{problem}");

    let template = boss.get(app.url("/import/template/activity.csv")).send().await.unwrap();
    assert_eq!(template.status(), 200);
    let text = template.text().await.unwrap();
    // In the reader's (here the organisation's, Russian) spreadsheet convention: `;` between cells.
    assert_eq!(text.trim_start_matches('\u{feff}').lines().next(), Some("id;owner;activity_type;at;customer;lead"));
}

#[tokio::test]
async fn a_large_file_is_stored_in_chunks_and_all_of_it_counts() {
    let Org { app, admin } = org().await;
    let boss = browser(&app, "boss@example.com", PASSWORD).await;
    // 5 000 calls, 1 000 a day from 2 to 6 November, Moscow time.
    let mut csv = String::from("id,owner,activity_type,at\n");
    for i in 0..5000 {
        let owner = ["r1", "r2"][i % 2];
        csv.push_str(&format!("a{i},{owner},call,2026-11-0{} 10:{:02}\n", 2 + i / 1000, i % 60));
    }
    let id = uploaded(&boss, &app, "activity", csv.into_bytes()).await;
    assert_eq!(view(&boss, &app, &id).await["status"], "ready");
    assert_eq!(call(&boss, &app, "start_import", &[("id", &id)]).await.0, 200);
    let v = finished(&boss, &app, &id).await;
    assert_eq!((v["status"].as_str(), v["stored"].as_i64()), (Some("done"), Some(5000)));
    let url = app.url("/api/v1/kpis?scope=rep:r1&period=2026-11");
    let body: Value = app.client.get(url).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    let touchpoints = body["kpis"].as_array().unwrap().iter().find(|k| k["id"] == "touchpoints").unwrap();
    assert_eq!(touchpoints["value"], 2500.0, "every other call is r1's");
}
