//! Users and teams administration (issue 16, item 13): an admin changes a
//! user's role and team on /users, and /teams names each team's managers.
//! Only admins change roles or move anyone across teams; a new role holds from
//! the user's next request; the last active admin stays one.

use crate::admin::{browser, call};
use crate::helpers::{TestApp, PASSWORD};
use app::auth::Role;
use serde_json::{json, Value};

/// Teams t1 (reps r1 Анна, r2 Борис; manager boss@ Мила) and t2 (rep r3 Вера;
/// manager south@ Юг); admin admin@. Everyone's password is `PASSWORD`.
async fn org() -> (TestApp, String, String) {
    let app = TestApp::spawn().await;
    let admin = app.user_with_token("admin@example.com", "Admin", Role::Admin, None).await;
    assert_eq!(app.post_records(&admin, &crate::helpers::two_teams_three_reps()).await.0, 200);
    for r in ["r1", "r2", "r3"] {
        store::users::set_password(&app.pool, &format!("{r}@example.com"), PASSWORD.into()).await.unwrap();
    }
    let boss = app.user_with_token("boss@example.com", "Мила", Role::Manager, Some("t1")).await;
    app.user_with_token("south@example.com", "Юг", Role::Manager, Some("t2")).await;
    (app, admin, boss)
}

async fn id_of(app: &TestApp, email: &str) -> String {
    sqlx::query_scalar("SELECT id FROM users WHERE email = $1").bind(email).fetch_one(&app.pool).await.unwrap()
}

/// (role, team id) of user `id`.
async fn role_and_team(app: &TestApp, id: &str) -> (String, Option<String>) {
    sqlx::query_as("SELECT role, team_id FROM users WHERE id = $1").bind(id).fetch_one(&app.pool).await.unwrap()
}

async fn view(c: &reqwest::Client, app: &TestApp, name: &str) -> Value {
    let (status, body) = call(c, app, name, &[]).await;
    assert_eq!(status, 200, "{name}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// `/teams`' rows as (id, manager the select shows, managers' names, reps).
fn teams(view: &Value) -> Vec<(String, String, Value, i64)> {
    view["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["manager"].as_str().unwrap().to_string(),
                t["managers"].clone(),
                t["reps"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// `/users`' row of `email` as (id, role, team name, team id).
fn user(view: &Value, email: &str) -> (Value, Value, Value, Value) {
    let row = view["rows"].as_array().unwrap().iter().find(|u| u["email"] == email).expect("a row").clone();
    (row["id"].clone(), row["role"].clone(), row["team"].clone(), row["team_id"].clone())
}

#[tokio::test]
async fn teams_show_their_managers_by_name_though_no_team_names_one() {
    let (app, _, _) = org().await;
    let admin = browser(&app, "admin@example.com", PASSWORD).await;
    let boss = id_of(&app, "boss@example.com").await;
    let south = id_of(&app, "south@example.com").await;
    // Neither team names a manager (`teams.manager_id`); each has one manager in it.
    let v = view(&admin, &app, "teams_view").await;
    assert_eq!(
        teams(&v),
        vec![("t1".to_string(), boss.clone(), json!(["Мила"]), 2), ("t2".to_string(), south.clone(), json!(["Юг"]), 1),]
    );
    // The page itself shows the names.
    let page = admin.get(app.url("/teams")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(r#"<td data-testid="team-managers">Мила</td>"#), "{page}");
    assert!(page.contains(r#"<td data-testid="team-managers">Юг</td>"#), "{page}");
}

#[tokio::test]
async fn an_admin_changes_a_reps_role_and_team_and_both_pages_show_it() {
    let (app, _, _) = org().await;
    let admin = browser(&app, "admin@example.com", PASSWORD).await;
    let r1 = browser(&app, "r1@example.com", PASSWORD).await;
    let r2 = browser(&app, "r2@example.com", PASSWORD).await;

    // The users page shows each user's id, for the API and for files.
    let v = view(&admin, &app, "users_view").await;
    assert_eq!(user(&v, "r2@example.com"), (json!("r2"), json!("rep"), json!("T1"), json!("t1")));
    let page = admin.get(app.url("/users")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(r#"<code data-testid="user-id">r2</code>"#), "{page}");

    // Борис becomes a manager of t2.
    let (status, body) = call(&admin, &app, "change_user", &[("id", "r2"), ("role", "manager"), ("team", "t2")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(role_and_team(&app, "r2").await, ("manager".to_string(), Some("t2".to_string())));
    let v = view(&admin, &app, "users_view").await;
    assert_eq!(user(&v, "r2@example.com"), (json!("r2"), json!("manager"), json!("T2"), json!("t2")));
    // t1 keeps Мила and one rep (Анна); t2 now has two managers, so its select names none of them.
    let v = view(&admin, &app, "teams_view").await;
    let boss = id_of(&app, "boss@example.com").await;
    assert_eq!(
        teams(&v),
        vec![
            ("t1".to_string(), boss, json!(["Мила"]), 1),
            ("t2".to_string(), String::new(), json!(["Борис", "Юг"]), 1),
        ]
    );

    // A new role ends Борис's sessions: he signs in again, as a manager now.
    assert_eq!(call(&r2, &app, "deal_form", &[]).await.0, 401, "the old session ended");
    let r2 = browser(&app, "r2@example.com", PASSWORD).await;
    let v = view(&r2, &app, "users_view").await;
    let mut emails: Vec<&str> = v["rows"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    emails.sort();
    assert_eq!(emails, vec!["r2@example.com", "r3@example.com", "south@example.com"], "t2's users");
    // Nobody else's session ended.
    assert_eq!(call(&r1, &app, "deal_form", &[]).await.0, 200);
    assert_eq!(call(&admin, &app, "users_view", &[]).await.0, 200);

    // A team change alone ends nothing: Анна moves to t2 and stays signed in.
    let (status, body) = call(&admin, &app, "change_user", &[("id", "r1"), ("role", "rep"), ("team", "t2")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(role_and_team(&app, "r1").await, ("rep".to_string(), Some("t2".to_string())));
    assert_eq!(call(&r1, &app, "deal_form", &[]).await.0, 200);
    let v = view(&admin, &app, "teams_view").await;
    assert_eq!(teams(&v)[1].3, 2, "t2's reps: Анна and Вера");
    // No team at all (an empty choice).
    let (status, body) = call(&admin, &app, "change_user", &[("id", "r1"), ("role", "rep"), ("team", "")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(role_and_team(&app, "r1").await, ("rep".to_string(), None));

    // Bad input names what is wrong and changes nothing. No `Accept-Language`: Russian.
    for (form, words) in [
        ([("id", "r3"), ("role", "boss"), ("team", "t1")], "`role` — rep, manager или admin, а не `boss`"),
        ([("id", "r3"), ("role", "rep"), ("team", "t9")], "команды `t9` нет"),
        ([("id", "r9"), ("role", "rep"), ("team", "t1")], "нет пользователя `r9`"),
    ] {
        let (status, body) = call(&admin, &app, "change_user", &form).await;
        assert_eq!(status, 400, "{form:?}: {body}");
        assert!(body.contains(words), "{form:?}: {body}");
    }
    assert_eq!(role_and_team(&app, "r3").await, ("rep".to_string(), Some("t2".to_string())));
}

#[tokio::test]
async fn a_manager_changes_no_roles_and_moves_nobody_across_teams() {
    let (app, _, _) = org().await;
    let boss = browser(&app, "boss@example.com", PASSWORD).await;
    let rep = browser(&app, "r1@example.com", PASSWORD).await;
    for c in [&boss, &rep] {
        for form in [
            [("id", "r1"), ("role", "rep"), ("team", "t2")],
            [("id", "r1"), ("role", "manager"), ("team", "t1")],
            [("id", "r3"), ("role", "rep"), ("team", "t1")],
        ] {
            let (status, body) = call(c, &app, "change_user", &form).await;
            assert_eq!(status, 403, "{form:?}: {body}");
            assert!(body.contains("Роль и команду пользователя меняют только администраторы."), "{body}");
        }
    }
    assert_eq!(role_and_team(&app, "r1").await, ("rep".to_string(), Some("t1".to_string())));
    assert_eq!(role_and_team(&app, "r3").await, ("rep".to_string(), Some("t2".to_string())));
    // The users page offers a manager no role or team to change.
    let page = boss.get(app.url("/users")).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains(r#"data-testid="change-user""#), "no save button for a manager");
}

#[tokio::test]
async fn a_demoted_manager_loses_their_rights_at_the_next_request_and_the_team_no_longer_names_them() {
    let (app, _, boss_token) = org().await;
    let admin = browser(&app, "admin@example.com", PASSWORD).await;
    let boss = browser(&app, "boss@example.com", PASSWORD).await;
    let boss_id = id_of(&app, "boss@example.com").await;
    let form = [("create", "false"), ("id", "t1"), ("name", "T1"), ("region", "North"), ("manager", boss_id.as_str())];
    assert_eq!(call(&admin, &app, "save_team", &form).await.0, 200);
    let flags = |token: String| {
        let app = &app;
        async move { app.client.get(app.url("/api/v1/flags")).bearer_auth(token).send().await.unwrap().status() }
    };
    assert_eq!(flags(boss_token.clone()).await, 200, "a manager reads flags");
    assert_eq!(call(&boss, &app, "users_view", &[]).await.0, 200);

    let (status, body) = call(&admin, &app, "change_user", &[("id", &boss_id), ("role", "rep"), ("team", "t1")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(call(&boss, &app, "users_view", &[]).await.0, 401, "the manager's session ended");
    assert_eq!(flags(boss_token).await, 403, "the token acts with the new role at once");
    let again = browser(&app, "boss@example.com", PASSWORD).await;
    assert_eq!(call(&again, &app, "users_view", &[]).await.0, 403, "signed in again: a rep");
    let manager: Option<String> =
        sqlx::query_scalar("SELECT manager_id FROM teams WHERE id = 't1'").fetch_one(&app.pool).await.unwrap();
    assert_eq!(manager, None, "t1 no longer names a rep as its manager");
    let v = view(&admin, &app, "teams_view").await;
    assert_eq!(teams(&v)[0], ("t1".to_string(), String::new(), json!([]), 3), "Мила is one of t1's three reps now");
}

#[tokio::test]
async fn the_last_active_admin_cannot_stop_being_one() {
    let (app, _, _) = org().await;
    let admin = browser(&app, "admin@example.com", PASSWORD).await;
    let admin_id = id_of(&app, "admin@example.com").await;
    let (status, body) =
        call(&admin, &app, "change_user", &[("id", &admin_id), ("role", "manager"), ("team", "t1")]).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("Вы — последний активный администратор: сначала назначьте администратором кого-то ещё."),
        "{body}"
    );
    assert_eq!(role_and_team(&app, &admin_id).await, ("admin".to_string(), None), "nothing changed");
    // A team of their own is no demotion: allowed, and the session goes on.
    let (status, body) =
        call(&admin, &app, "change_user", &[("id", &admin_id), ("role", "admin"), ("team", "t1")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(call(&admin, &app, "users_view", &[]).await.0, 200);

    // With another admin (Вера, promoted), the first may step down; their session ends.
    let (status, body) = call(&admin, &app, "change_user", &[("id", "r3"), ("role", "admin"), ("team", "t2")]).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        call(&admin, &app, "change_user", &[("id", &admin_id), ("role", "manager"), ("team", "t1")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(role_and_team(&app, &admin_id).await, ("manager".to_string(), Some("t1".to_string())));
    assert_eq!(call(&admin, &app, "users_view", &[]).await.0, 401);
    let again = browser(&app, "admin@example.com", PASSWORD).await;
    assert_eq!(call(&again, &app, "teams_view", &[]).await.0, 403, "signed in again: a manager");
    // Вера is now the last admin: she cannot step down either.
    let vera = browser(&app, "r3@example.com", PASSWORD).await;
    let (status, body) = call(&vera, &app, "change_user", &[("id", "r3"), ("role", "rep"), ("team", "t2")]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("последний активный администратор"), "{body}");
}
