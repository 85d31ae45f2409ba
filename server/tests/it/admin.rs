//! The in-app journeys: logging a won deal, invites, deactivation, teams and
//! challenge edits, through the server functions the pages call.

use crate::auth::sign_in;
use crate::helpers::{client, TestApp, PASSWORD};
use app::auth::Role;
use serde_json::{json, Value};

/// Calls a server function as a browser's JavaScript would (form body, JSON answer).
pub async fn call(c: &reqwest::Client, app: &TestApp, name: &str, form: &[(&str, &str)]) -> (u16, String) {
    let res = c.post(app.url(&format!("/api/{name}"))).form(form).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// A signed-in browser for `email`.
pub async fn browser(app: &TestApp, email: &str, password: &str) -> reqwest::Client {
    let c = client();
    let res = c
        .post(app.url("/api/login"))
        .header("accept", "text/html")
        .header("referer", app.url("/login"))
        .form(&[("email", email), ("password", password), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/", "{email} signed in");
    c
}

struct Org {
    app: TestApp,
    admin: String,
    /// boss@'s API token: the manager of t1.
    manager: String,
}

/// Teams t1 and t2; reps r1, r2 in t1 and r3 in t2 (password `PASSWORD`);
/// manager boss@ of t1; admin admin@; the default won-deal and revenue rules.
async fn org() -> Org {
    let app = TestApp::spawn().await;
    let admin = app.user_with_token("admin@example.com", "Admin", Role::Admin, None).await;
    assert_eq!(app.post_records(&admin, &crate::helpers::two_teams_three_reps()).await.0, 200);
    for r in ["r1", "r2", "r3"] {
        store::users::set_password(&app.pool, &format!("{r}@example.com"), PASSWORD.into()).await.unwrap();
    }
    let manager = app.user_with_token("boss@example.com", "Мила", Role::Manager, Some("t1")).await;
    // A new database plays by GAMIFICATION.md's default rules: 50 per won deal (at most 200 a day),
    // 1 per whole 10 000 of revenue, and more that these tests do not touch.
    Org { app, admin, manager }
}

#[tokio::test]
async fn a_rep_logs_a_won_deal_in_the_app_and_gets_the_default_points_badge_and_celebration() {
    let o = org().await;
    let app = &o.app;
    let rep = browser(app, "r1@example.com", PASSWORD).await;
    let mut listener = sqlx::postgres::PgListener::connect(&app.database_url).await.unwrap();
    listener.listen(services::live::CHANNEL).await.unwrap();

    let (status, body) = call(
        &rep,
        app,
        "log_deal",
        &[("owner", "r1"), ("amount", "25000"), ("deal_type", "new"), ("closed_at", ""), ("id", "web-1")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), json!("web-1"));
    // 50 for the won deal + 2 for two whole 10 000s of 25 000.
    assert_eq!(app.points_of("r1").await, 52);
    let badge: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM badge_awards WHERE user_id = 'r1' AND badge = 'first_win')")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(badge, "the first win earns its badge");
    let event = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            let n = listener.recv().await.unwrap();
            let v: Value = serde_json::from_str(n.payload()).unwrap();
            if v["kind"] == "won" {
                return v;
            }
        }
    })
    .await
    .expect("a won-deal notification");
    assert_eq!(event["deals"], json!(["web-1"]));

    // A rep cannot log for another rep; nothing is stored.
    let (status, body) = call(&rep, app, "log_deal", &[("owner", "r2"), ("amount", "1000")]).await;
    assert_eq!(status, 403, "{body}");
    // No `Accept-Language`: the organisation's default, Russian.
    assert!(body.contains("только свои сделки"), "{body}");
    // Bad input is refused as such (400, not a server error), names the field and stores nothing.
    let (status, body) = call(&rep, app, "log_deal", &[("owner", "r1"), ("amount", "-5")]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("Сумма: значение не может быть отрицательным (-5)."), "{body}");
    let (status, body) =
        call(&rep, app, "log_deal", &[("owner", "r1"), ("amount", "10"), ("closed_at", "yesterday")]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("Дата закрытия «yesterday» — не дата и время."), "{body}");
    let (status, body) = call(&rep, app, "log_deal", &[("owner", "r1"), ("amount", "10"), ("id", "web-1")]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("Сделка с номером «web-1» уже есть"), "the form does not overwrite a deal: {body}");
    assert_eq!(app.count("deals").await, 1);
    assert_eq!(app.points_of("r2").await, 0);

    // A manager logs for their own team's reps only; an admin for anyone.
    let boss = browser(app, "boss@example.com", PASSWORD).await;
    let (status, body) = call(&boss, app, "log_deal", &[("owner", "r3"), ("amount", "1000")]).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) =
        call(&boss, app, "log_deal", &[("owner", "r2"), ("amount", "10000"), ("closed_at", "2026-11-02T10:30")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.points_of("r2").await, 51);
    let closed: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT closed_at FROM deals WHERE owner_id = 'r2'").fetch_one(&app.pool).await.unwrap();
    assert_eq!(closed.to_rfc3339(), "2026-11-02T10:30:00+00:00", "local time in the organisation's zone (UTC)");
    let admin = browser(app, "admin@example.com", PASSWORD).await;
    let (status, body) = call(&admin, app, "log_deal", &[("owner", "r3"), ("amount", "99.50")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.points_of("r3").await, 50);
    let _ = &o.admin;
}

#[tokio::test]
async fn an_invited_user_sets_a_password_once_and_signs_in() {
    let o = org().await;
    let app = &o.app;
    let admin = browser(app, "admin@example.com", PASSWORD).await;
    let (status, body) = call(
        &admin,
        app,
        "invite_user",
        &[("name", "Дина"), ("email", "dina@example.com"), ("role", "rep"), ("team", "t2")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let path: String = serde_json::from_str(&body).unwrap();
    let token = path.strip_prefix("/invite/").expect("an invite path").to_string();
    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_sha256 FROM invites").fetch_one(&app.pool).await.unwrap();
    assert_eq!(stored, store::users::token_digest(&token), "only the digest is stored");
    // Invited, not yet able to sign in.
    let res = sign_in(app, "dina@example.com", PASSWORD).await;
    assert!(res.headers()["location"].to_str().unwrap().contains("/login"), "no password yet");

    // Reps and managers may not invite.
    let rep = browser(app, "r1@example.com", PASSWORD).await;
    let (status, _) =
        call(&rep, app, "invite_user", &[("name", "X"), ("email", "x@example.com"), ("role", "admin")]).await;
    assert_eq!(status, 403);
    // Bad input names the field; nothing is stored.
    let (status, body) =
        call(&admin, app, "invite_user", &[("name", "X"), ("email", "x@example.com"), ("role", "boss")]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("`role` — rep, manager или admin, а не `boss`"), "{body}");
    let (status, body) =
        call(&admin, app, "invite_user", &[("name", "X"), ("email", "dina@example.com"), ("role", "rep")]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("Пользователь с почтой dina@example.com уже есть."), "{body}");
    assert_eq!(app.count("users").await, 6);

    let (status, body) = call(&admin, app, "users_view", &[]).await;
    assert_eq!(status, 200, "{body}");
    let view: Value = serde_json::from_str(&body).unwrap();
    let dina = view["rows"].as_array().unwrap().iter().find(|u| u["email"] == "dina@example.com").unwrap().clone();
    assert_eq!(
        (&dina["role"], &dina["team"], &dina["active"], &dina["invited"]),
        (&json!("rep"), &json!("T2"), &json!(true), &json!(true))
    );

    let invitee = client();
    let page = invitee.get(app.url(&path)).send().await.unwrap();
    assert_eq!(page.status(), 200, "the invite page needs no session");
    assert!(page.text().await.unwrap().contains("Дина"));
    let (status, body) =
        call(&invitee, app, "accept_invite", &[("token", &token), ("password", "short"), ("repeat", "short")]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("Пароль должен быть не короче 8 символов.") && !body.contains('`'), "{body}");
    let (status, body) = call(
        &invitee,
        app,
        "accept_invite",
        &[("token", &token), ("password", "dinas secret"), ("repeat", "dinas secret")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Signed in by the invite itself.
    let (status, body) = call(&invitee, app, "deal_form", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("dina@example.com"), "{body}");
    browser(app, "dina@example.com", "dinas secret").await;
    // The link works once.
    let (status, body) = call(
        &client(),
        app,
        "accept_invite",
        &[("token", &token), ("password", "another one"), ("repeat", "another one")],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("использована или устарела"), "{body}");
    // An expired link does not work either.
    let admin_id: String = sqlx::query_scalar("SELECT id FROM users WHERE email = 'admin@example.com'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let (eve, token) =
        store::users::invite(&app.pool, &admin_id, "eve@example.com", "Ева", Role::Rep, None).await.unwrap();
    sqlx::query("UPDATE invites SET expires_at = arena_now() - interval '1 second' WHERE user_id = $1")
        .bind(&eve)
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, body) = call(
        &client(),
        app,
        "accept_invite",
        &[("token", &token), ("password", "eves secret"), ("repeat", "eves secret")],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("использована или устарела"), "{body}");
    let hash: Option<String> = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(&eve)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(hash.is_none(), "nothing stored from an expired invite");
}

#[tokio::test]
async fn a_deactivated_user_cannot_sign_in_and_their_session_and_api_token_stop_working() {
    let o = org().await;
    let app = &o.app;
    let token = store::users::create_token(&app.pool, "r1@example.com", "tests").await.unwrap();
    let rep = browser(app, "r1@example.com", PASSWORD).await;
    let kpis = |t: String| async move {
        app.client.get(app.url("/api/v1/kpis?scope=org&period=2026-11")).bearer_auth(t).send().await.unwrap().status()
    };
    assert_eq!(kpis(token.clone()).await, 200);
    // The rep's page has its live stream open.
    let mut live = rep.get(app.url("/api/live")).send().await.unwrap();
    assert_eq!(live.status(), 200);

    let admin = browser(app, "admin@example.com", PASSWORD).await;
    let (status, _) = call(&rep, app, "set_user_active", &[("id", "r2"), ("active", "false")]).await;
    assert_eq!(status, 403, "only admins deactivate");
    let (status, body) = call(&admin, app, "set_user_active", &[("id", "r1"), ("active", "false")]).await;
    assert_eq!(status, 200, "{body}");

    assert_eq!(kpis(token.clone()).await, 401, "the API token stops working");
    let (status, _) = call(&rep, app, "deal_form", &[]).await;
    assert_eq!(status, 401, "the session stops working");
    // The open stream ends at once (the deactivation's notification) and a new one is refused.
    let ended = tokio::time::timeout(std::time::Duration::from_secs(3), async {
        let mut text = String::new();
        while let Ok(Some(chunk)) = live.chunk().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        text
    })
    .await
    .expect("the live stream of a deactivated user ends");
    assert!(ended.contains("event: signed_out"), "{ended}");
    assert_eq!(rep.get(app.url("/api/live")).send().await.unwrap().status(), 401);
    let res = sign_in(app, "r1@example.com", PASSWORD).await;
    assert!(res.headers()["location"].to_str().unwrap().contains("/login"), "cannot sign in");

    let (status, body) = call(&admin, app, "set_user_active", &[("id", "r1"), ("active", "true")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(kpis(token).await, 200, "reactivated, the token works again");
    let (status, _) = call(&rep, app, "deal_form", &[]).await;
    assert_eq!(status, 401, "the old session stays ended after reactivation");
    assert_eq!(rep.get(app.url("/api/live")).send().await.unwrap().status(), 401);
    let again = browser(app, "r1@example.com", PASSWORD).await;
    assert_eq!(call(&again, app, "deal_form", &[]).await.0, 200, "a new sign-in works");
    let _ = &o.admin;
}

async fn api(app: &TestApp, method: reqwest::Method, token: &str, path: &str, body: Value) -> (u16, Value) {
    let res = app.client.request(method, app.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn challenges_are_edited_fully_as_drafts_partly_while_running_and_not_once_finished() {
    let o = org().await;
    let app = &o.app;
    let now = app::clock::now();
    let at = |days: i64| (now + chrono::Duration::days(days)).to_rfc3339();
    let patch = reqwest::Method::PATCH;
    let (status, res) = api(
        app,
        reqwest::Method::POST,
        &o.manager,
        "/api/v1/challenges",
        json!({"name": "Ноябрь", "kind": "top_n", "basis": "points", "top_n": 1, "starts_at": at(-1), "ends_at": at(7),
               "participants": ["r1", "r2"]}),
    )
    .await;
    assert_eq!(status, 200, "{res}");
    let id = res["id"].as_i64().unwrap();
    let path = format!("/api/v1/challenges/{id}");

    // A draft: everything, within the manager's own team.
    let (status, res) =
        api(app, patch.clone(), &o.manager, &path, json!({"name": "Ноябрьский рывок", "prize": "Кофе"})).await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["challenge"]["name"], "Ноябрьский рывок");
    assert_eq!(res["challenge"]["participants"], json!(["r1", "r2"]), "absent fields stay");
    let (status, res) = api(app, patch.clone(), &o.manager, &path, json!({"participants": ["r1", "r3"]})).await;
    assert_eq!(status, 403, "r3 is not in the manager's team: {res}");
    let (status, res) = api(app, patch.clone(), &o.manager, &path, json!({"name": "  "})).await;
    assert_eq!(status, 400, "{res}");
    assert_eq!(res["message"], "Give the challenge a name.", "{res}");
    let (status, _) = api(app, patch.clone(), &o.admin, &path, json!({"participants": ["r1", "r3"]})).await;
    assert_eq!(status, 200, "an admin enters anyone");
    let rep = store::users::create_token(&app.pool, "r1@example.com", "t").await.unwrap();
    let (status, _) = api(app, patch.clone(), &rep, &path, json!({"name": "Mine"})).await;
    assert_eq!(status, 403);

    // The page's form: name and last day, in the organisation's time zone (UTC).
    let boss = browser(app, "boss@example.com", PASSWORD).await;
    let last_day = (now + chrono::Duration::days(10)).date_naive().to_string();
    let id_text = id.to_string();
    let (status, body) = call(
        &boss,
        app,
        "edit_challenge",
        &[
            ("id", &id_text),
            ("name", "Декабрь"),
            ("last_day", &last_day),
            ("prize", ""),
            ("participants[_]", ""),
            ("participants[r1]", "on"),
            ("participants[r2]", "on"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (name, ends, who): (String, chrono::DateTime<chrono::Utc>, Vec<String>) =
        sqlx::query_as("SELECT name, ends_at, participants FROM challenges WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((name.as_str(), who), ("Декабрь", vec!["r1".to_string(), "r2".to_string()]));
    assert_eq!(
        ends.date_naive(),
        (now + chrono::Duration::days(11)).date_naive(),
        "ends at midnight after the last day"
    );
    assert_eq!(ends.time(), chrono::NaiveTime::MIN);

    // Running: name, prize and a later end; participants stay; the end cannot move into the past.
    let (status, _) = api(app, reqwest::Method::POST, &o.manager, &format!("{path}/launch"), json!({})).await;
    assert_eq!(status, 200);
    let (status, res) = api(app, patch.clone(), &o.manager, &path, json!({"participants": ["r1"]})).await;
    assert_eq!(status, 400, "{res}");
    assert_eq!(res["message"], "A running challenge keeps its participants.", "{res}");
    let (status, res) =
        api(app, patch.clone(), &o.manager, &path, json!({"ends_at": (now - chrono::Duration::hours(1)).to_rfc3339()}))
            .await;
    assert_eq!(status, 400, "{res}");
    assert!(res["message"].as_str().unwrap().contains("future"), "{res}");
    let (status, res) =
        api(app, patch.clone(), &o.manager, &path, json!({"name": "Финал", "prize": "Обед", "ends_at": at(3)})).await;
    assert_eq!(status, 200, "{res}");
    assert_eq!((res["challenge"]["name"].as_str(), res["challenge"]["prize"].as_str()), (Some("Финал"), Some("Обед")));

    // Finished: read-only, in the API and on the page.
    sqlx::query("UPDATE challenges SET ends_at = arena_now() - interval '1 minute' WHERE id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    services::challenges::finish_due(&app.pool).await.unwrap();
    let (status, res) = api(app, patch, &o.manager, &path, json!({"name": "Ещё"})).await;
    assert_eq!(status, 400, "{res}");
    assert_eq!(res["message"], "A finished challenge cannot be changed.", "{res}");
    let (status, body) =
        call(&boss, app, "edit_challenge", &[("id", &id_text), ("name", "Ещё"), ("last_day", &last_day)]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("Завершённое соревнование изменить нельзя."), "{body}");
    let name: String =
        sqlx::query_scalar("SELECT name FROM challenges WHERE id = $1").bind(id).fetch_one(&app.pool).await.unwrap();
    assert_eq!(name, "Финал");
}

#[tokio::test]
async fn admins_create_and_change_teams_and_bad_input_names_the_field_and_stores_nothing() {
    let o = org().await;
    let app = &o.app;
    let admin = browser(app, "admin@example.com", PASSWORD).await;
    let boss: String =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'boss@example.com'").fetch_one(&app.pool).await.unwrap();
    let save = |fields: [(&'static str, String); 5]| {
        let admin = admin.clone();
        async move {
            let form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            call(&admin, app, "save_team", &form).await
        }
    };
    let team = |create: &str, id: &str, name: &str, region: &str, manager: &str| {
        [
            ("create", create.to_string()),
            ("id", id.to_string()),
            ("name", name.to_string()),
            ("region", region.to_string()),
            ("manager", manager.to_string()),
        ]
    };
    let (status, body) = save(team("true", "t3", "Восток", "East", &boss)).await;
    assert_eq!(status, 200, "{body}");
    let row: (String, String, Option<String>) =
        sqlx::query_as("SELECT name, region, manager_id FROM teams WHERE id = 't3'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(row, ("Восток".to_string(), "East".to_string(), Some(boss.clone())));
    let boss_team: Option<String> =
        sqlx::query_scalar("SELECT team_id FROM users WHERE id = $1").bind(&boss).fetch_one(&app.pool).await.unwrap();
    assert_eq!(boss_team.as_deref(), Some("t3"), "the manager moves into the team they manage");

    // No `Accept-Language`: the organisation's default, Russian.
    for (fields, field) in [
        (team("true", "t1", "Again", "North", ""), "Команда «t1» уже есть."),
        (team("true", "t 4", "Four", "North", ""), "Id команды — одно слово без пробелов, например t-north."),
        (team("true", "t4", " ", "North", ""), "Дайте команде название."),
        (team("true", "t4", "Four", "", ""), "Укажите регион команды."),
        (team("true", "t4", "Four", "North", "r1"), "«r1» — не действующий менеджер."),
        (team("false", "t9", "Nine", "North", ""), "Команды «t9» нет."),
    ] {
        let (status, body) = save(fields).await;
        assert_eq!(status, 400, "{field}: {body}");
        assert!(body.contains(field), "{field}: {body}");
    }
    assert_eq!(app.count("teams").await, 3, "nothing half-stored");

    let (status, body) = save(team("false", "t1", "Север-1", "North-West", "")).await;
    assert_eq!(status, 200, "{body}");
    let row: (String, String, Option<String>) =
        sqlx::query_as("SELECT name, region, manager_id FROM teams WHERE id = 't1'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(row, ("Север-1".to_string(), "North-West".to_string(), None));
    let (status, body) = call(&admin, app, "teams_view", &[]).await;
    assert_eq!(status, 200, "{body}");
    let view: Value = serde_json::from_str(&body).unwrap();
    let t3 = view["rows"].as_array().unwrap().iter().find(|t| t["id"] == "t3").unwrap().clone();
    assert_eq!(
        t3,
        json!({"id": "t3", "name": "Восток", "region": "East", "manager": boss, "managers": ["Мила"], "reps": 0})
    );
    let t1 = view["rows"].as_array().unwrap().iter().find(|t| t["id"] == "t1").unwrap().clone();
    assert_eq!(t1["reps"], 2, "r1 and r2");

    for email in ["r1@example.com", "boss@example.com"] {
        let c = browser(app, email, PASSWORD).await;
        let (status, _) = call(
            &c,
            app,
            "save_team",
            &[("create", "true"), ("id", "t5"), ("name", "Five"), ("region", "North"), ("manager", "")],
        )
        .await;
        assert_eq!(status, 403, "{email}");
        let (status, _) = call(&c, app, "teams_view", &[]).await;
        assert_eq!(status, 403, "{email}");
    }
    assert_eq!(app.count("teams").await, 3);
}

#[tokio::test]
async fn a_displays_chime_is_off_by_default_and_managers_turn_it_on() {
    let o = org().await;
    let app = &o.app;
    let boss: String =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'boss@example.com'").fetch_one(&app.pool).await.unwrap();
    let (code, _) = store::displays::start_pairing(&app.pool).await.unwrap().expect("room for a pairing");
    let new = store::displays::NewDisplay {
        code,
        name: "Open space".into(),
        names: "full".into(),
        rotate_seconds: 15,
        scope: "team:t1".into(),
        sound: false,
    };
    let id = store::displays::pair(&app.pool, &boss, &new).await.unwrap().to_string();
    let sound =
        || async { sqlx::query_scalar::<_, bool>("SELECT sound FROM displays").fetch_one(&app.pool).await.unwrap() };
    assert!(!sound().await);
    let rep = browser(app, "r1@example.com", PASSWORD).await;
    let (status, _) = call(&rep, app, "display_sound", &[("id", &id), ("sound", "true")]).await;
    assert_eq!(status, 403);
    assert!(!sound().await);
    let manager = browser(app, "boss@example.com", PASSWORD).await;
    let (status, body) = call(&manager, app, "display_sound", &[("id", &id), ("sound", "true")]).await;
    assert_eq!(status, 200, "{body}");
    assert!(sound().await);
}

/// A display belongs to a team: its manager pairs, mutes and revokes it; another
/// team's manager can do none of that, nor see it, nor pair a TV to a team that
/// is not theirs (or does not exist). Admins manage every display.
#[tokio::test]
async fn managers_manage_only_their_own_teams_displays() {
    let o = org().await;
    let app = &o.app;
    app.user_with_token("south@example.com", "South", Role::Manager, Some("t2")).await;
    let admin_id: String = sqlx::query_scalar("SELECT id FROM users WHERE email = 'admin@example.com'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let admin_id = &admin_id;
    let pair_as_admin = |scope: &'static str| async move {
        let (code, _) = store::displays::start_pairing(&app.pool).await.unwrap().expect("room for a pairing");
        let new = store::displays::NewDisplay {
            code,
            name: format!("TV {scope}"),
            names: "full".into(),
            rotate_seconds: 15,
            scope: scope.into(),
            sound: false,
        };
        store::displays::pair(&app.pool, admin_id, &new).await.unwrap().to_string()
    };
    let north = pair_as_admin("team:t1").await;
    let south = pair_as_admin("team:t2").await;
    let lobby = pair_as_admin("org").await;
    let revoked = |id: String| async move {
        sqlx::query_scalar::<_, bool>("SELECT revoked_at IS NOT NULL FROM displays WHERE id = $1::bigint")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    let boss = browser(app, "boss@example.com", PASSWORD).await;
    for id in [&south, &lobby] {
        for (name, form) in [
            ("revoke_display", vec![("id", id.as_str())]),
            ("display_sound", vec![("id", id.as_str()), ("sound", "true")]),
        ] {
            let (status, body) = call(&boss, app, name, &form).await;
            assert_eq!(status, 403, "{name} {id}: {body}");
        }
        assert!(!revoked(id.clone()).await);
    }
    let on: i64 = sqlx::query_scalar("SELECT count(*) FROM displays WHERE sound").fetch_one(&app.pool).await.unwrap();
    assert_eq!(on, 0, "nothing changed");
    let (status, body) = call(&boss, app, "displays_view", &[]).await;
    assert_eq!(status, 200, "{body}");
    let view: Value = serde_json::from_str(&body).unwrap();
    let names: Vec<&str> = view["rows"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["TV team:t1"], "a manager sees their own team's displays only");
    let scopes: Vec<&str> = view["scopes"].as_array().unwrap().iter().map(|c| c["value"].as_str().unwrap()).collect();
    assert_eq!(scopes, vec!["team:t1"], "and pairs only to their team");
    // Pairing a TV to another team, the whole organisation, or a team that does not exist.
    for scope in ["team:t2", "org", "team:nope"] {
        let (code, _) = store::displays::start_pairing(&app.pool).await.unwrap().expect("room");
        let form =
            [("code", code.as_str()), ("name", "Mine"), ("names", "full"), ("rotate_seconds", "15"), ("scope", scope)];
        let (status, body) = call(&boss, app, "pair_display", &form).await;
        assert_eq!(status, 403, "{scope}: {body}");
    }
    let admin = browser(app, "admin@example.com", PASSWORD).await;
    let (code, _) = store::displays::start_pairing(&app.pool).await.unwrap().expect("room");
    let form = [
        ("code", code.as_str()),
        ("name", "Ghost"),
        ("names", "full"),
        ("rotate_seconds", "15"),
        ("scope", "team:nope"),
    ];
    let (status, body) = call(&admin, app, "pair_display", &form).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("nope"), "the unknown team is named: {body}");
    assert_eq!(app.count("displays").await, 3);
    // Their own team's display: the manager revokes it; the admin any.
    assert_eq!(call(&boss, app, "revoke_display", &[("id", &north)]).await.0, 200);
    assert!(revoked(north).await);
    assert_eq!(call(&admin, app, "revoke_display", &[("id", &south)]).await.0, 200);
    assert!(revoked(south).await);
}

/// The value a response sets cookie `name` to.
fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    res.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find_map(|c| {
        c.strip_prefix(prefix.as_str()).map(|rest| rest.split(';').next().unwrap_or_default().to_string())
    })
}

/// A TV's display token never sits in the database in clear: it is the pairing
/// secret the TV already holds, and only its digest is stored. Cookie-less
/// visits to /tv start at most 10 pairings a minute per address.
#[tokio::test]
async fn a_tv_pairs_without_its_token_stored_and_pairing_floods_are_capped() {
    let o = org().await;
    let app = &o.app;
    let tv = crate::helpers::client();
    let page = tv.get(app.url("/tv")).send().await.unwrap();
    let pairing = set_cookie(&page, "kpi_arena_tv_pairing").expect("a pairing cookie");
    let code: String = sqlx::query_scalar("SELECT code FROM tv_pairings").fetch_one(&app.pool).await.unwrap();
    let admin = browser(app, "admin@example.com", PASSWORD).await;
    let form =
        [("code", code.as_str()), ("name", "Lobby"), ("names", "full"), ("rotate_seconds", "15"), ("scope", "org")];
    assert_eq!(call(&admin, app, "pair_display", &form).await.0, 200);
    let page = tv.get(app.url("/tv")).send().await.unwrap();
    let display = set_cookie(&page, "kpi_arena_display").expect("a display cookie");
    assert_eq!(display, pairing, "the display token is the TV's own pairing secret");
    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_sha256 FROM displays").fetch_one(&app.pool).await.unwrap();
    assert_eq!(stored, store::users::token_digest(&display), "only its digest is kept");
    assert_eq!(app.count("tv_pairings").await, 0, "the pairing row is gone once collected");

    for _ in 0..15 {
        crate::helpers::client().get(app.url("/tv")).send().await.unwrap();
    }
    // The first visit above started one of this minute's 10.
    assert_eq!(app.count("tv_pairings").await, 9, "at most 10 pairings a minute from one address");
}

/// A failure on our side shows the reader a generic message in their language
/// with an id to quote, never the database's words (the cause is in the log).
#[tokio::test]
async fn an_internal_error_shows_an_id_and_never_its_cause() {
    let o = org().await;
    let app = &o.app;
    let admin = browser(app, "admin@example.com", PASSWORD).await;
    sqlx::query("ALTER TABLE teams RENAME TO teams_elsewhere").execute(&app.pool).await.unwrap();
    let (status, body) = call(&admin, app, "teams_view", &[]).await;
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("Ошибка на сервере (номер "), "{body}");
    assert!(!body.contains("relation") && !body.contains("teams"), "no database text: {body}");
    let page = admin.get(app.url("/teams")).send().await.unwrap();
    assert_eq!(page.status(), 500);
    let html = page.text().await.unwrap();
    assert!(html.contains("Ошибка на сервере (номер ") && !html.contains("relation"), "the 500 page too");
}

/// A manager invites reps into their own team from the users page, and sees only
/// that team there; a role other than rep, or another team, is an admin's.
#[tokio::test]
async fn a_manager_invites_reps_into_their_own_team_only() {
    let o = org().await;
    let app = &o.app;
    let boss = browser(app, "boss@example.com", PASSWORD).await;
    let invite = |role: &'static str, team: &'static str, email: &'static str| {
        let boss = boss.clone();
        async move {
            call(&boss, app, "invite_user", &[("name", "Новый"), ("email", email), ("role", role), ("team", team)])
                .await
        }
    };
    let users = app.count("users").await;
    for (role, team) in [("manager", "t1"), ("admin", "t1"), ("rep", "t2"), ("rep", "")] {
        let (status, body) = invite(role, team, "x@example.com").await;
        assert_eq!(status, 403, "{role} into {team:?}: {body}");
    }
    assert_eq!(app.count("users").await, users, "nothing stored");
    let (status, body) = invite("rep", "t1", "new@example.com").await;
    assert_eq!(status, 200, "{body}");
    let team: Option<String> = sqlx::query_scalar("SELECT team_id FROM users WHERE email = 'new@example.com'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(team.as_deref(), Some("t1"));
    let (status, body) = call(&boss, app, "users_view", &[]).await;
    assert_eq!(status, 200, "{body}");
    let view: Value = serde_json::from_str(&body).unwrap();
    let mut emails: Vec<&str> = view["rows"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    emails.sort();
    assert_eq!(emails, vec!["boss@example.com", "new@example.com", "r1@example.com", "r2@example.com"], "t1 only");
    // Deactivation and reset links stay an admin's.
    assert_eq!(call(&boss, app, "set_user_active", &[("id", "r2"), ("active", "false")]).await.0, 403);
    assert_eq!(call(&boss, app, "reset_password_link", &[("id", "r2")]).await.0, 403);
}
