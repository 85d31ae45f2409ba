//! The authorization matrix: every route of the JSON API, every server function
//! and every plain route, called as each of six callers: anonymous, a paired TV
//! (display token), a rep (r1 of t1), the manager of t1, the manager of t2, and
//! an admin. Each cell is the status the caller gets; a negative one is a
//! refusal, after which nothing in the database may have changed. A route or
//! server function the table does not list fails the test, so a new endpoint
//! cannot ship unchecked.

use crate::admin::browser;
use crate::helpers::{client, TestApp, PASSWORD};
use app::auth::Role;
use reqwest::header::{HeaderMap, HeaderValue, COOKIE};
use serde_json::{json, Value};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    Display,
    Rep,
    Manager,
    OtherManager,
    Admin,
}

const CALLERS: [Who; 6] = [Who::Anonymous, Who::Display, Who::Rep, Who::Manager, Who::OtherManager, Who::Admin];

/// What is called.
enum Call {
    /// A server function: POST `/api/<name>` with form fields, as the pages' JavaScript sends it.
    ServerFn(&'static str),
    /// A JSON API route (bearer token), with a JSON body for POST, PUT and PATCH.
    Api(&'static str, &'static str),
    /// A plain axum route (session cookie).
    Plain(&'static str, &'static str),
}

/// One row: the call, what it sends (per caller: a few calls change what they
/// touch, so each caller gets its own), and the status of each caller in
/// `CALLERS` order; negative: refused, nothing changed.
struct Row {
    call: Call,
    /// The address with its `{id}` filled and its query (API and plain routes).
    url: String,
    send: Box<dyn Fn(Who) -> Send>,
    expect: [i32; 6],
}

enum Send {
    None,
    Form(Vec<(String, String)>),
    Json(Value),
    Csv(&'static str),
}

fn form(fields: &[(&str, &str)]) -> Send {
    Send::Form(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

struct World {
    app: TestApp,
    sessions: Vec<(Who, reqwest::Client)>,
    tokens: Vec<(Who, String)>,
    display: reqwest::Client,
}

impl World {
    fn session(&self, who: Who) -> reqwest::Client {
        match who {
            Who::Anonymous => client(),
            Who::Display => self.display.clone(),
            _ => self.sessions.iter().find(|(w, _)| *w == who).map(|(_, c)| c.clone()).expect("a session"),
        }
    }

    fn token(&self, who: Who) -> Option<&str> {
        self.tokens.iter().find(|(w, _)| *w == who).map(|(_, t)| t.as_str())
    }

    async fn run(&self, row: &Row, who: Who) -> u16 {
        let (method, path) = match row.call {
            Call::ServerFn(name) => ("POST", format!("/api/{name}")),
            Call::Api(method, _) | Call::Plain(method, _) => (method, row.url.clone()),
        };
        let is_api = matches!(row.call, Call::Api(..));
        let c = if is_api && who != Who::Display { client() } else { self.session(who) };
        let mut req = c.request(method.parse().unwrap(), self.app.url(&path));
        if is_api {
            if let Some(token) = self.token(who) {
                req = req.bearer_auth(token);
            }
        }
        req = match (row.send)(who) {
            Send::None => req,
            Send::Form(fields) => req.form(&fields),
            Send::Json(body) => req.json(&body),
            Send::Csv(text) => {
                let file = reqwest::multipart::Part::bytes(text.as_bytes().to_vec()).file_name("m.csv");
                req.multipart(reqwest::multipart::Form::new().text("kind", "deal").part("file", file))
            }
        };
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        // The live stream never ends by itself: its status is all this needs.
        if path != app::paths::LIVE {
            let _ = res.bytes().await;
        }
        status
    }
}

/// What a refused call could have changed: every table a call can write. It
/// first waits for the scoring worker to finish what earlier, allowed calls left.
async fn fingerprint(app: &TestApp) -> String {
    for _ in 0..500 {
        if store::work::pending(&app.pool).await.unwrap() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    sqlx::query_scalar(
        "SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
           SELECT 'u' || (id, name, email, role, team_id, password_hash, active, session_epoch)::text FROM users
           UNION ALL SELECT 't' || (id, name, region, manager_id)::text FROM teams
           UNION ALL SELECT 'd' || (id, owner_id, amount, status)::text FROM deals
           UNION ALL SELECT 'g' || (kpi, scope, period, value)::text FROM targets
           UNION ALL SELECT 'r' || (id, kind, basis, points, active)::text FROM points_rules
           UNION ALL SELECT 'c' || (id, name, status, ends_at, prize, participants)::text FROM challenges
           UNION ALL SELECT 'v' || (id, name, scope, sound, revoked_at)::text FROM displays
           UNION ALL SELECT 'i' || (token_sha256, used_at)::text FROM invites
           UNION ALL SELECT 'm' || (id, status, stored)::text FROM imports
           UNION ALL SELECT 'k' || (id, label, revoked_at)::text FROM api_tokens
           UNION ALL SELECT 'o' || (name, currency, time_zone, language)::text FROM org_settings
           UNION ALL SELECT 'p' || count(*)::text FROM points_entries
           UNION ALL SELECT 'f' || (flag_key, verdict, note, resolved_by)::text FROM flag_resolutions
           UNION ALL SELECT 'n' || (id, name, team_id, lang, moments, min_amount, quiet_from, quiet_to, bind_code)::text
             FROM notify_channels
         ) s(x)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

/// Teams t1 (reps r1, r2; manager boss@) and t2 (rep r3; manager south@), an
/// admin, October's deals, a paired TV of t1 (the display caller) and one to
/// mute and revoke, challenge drafts, an import, spare API tokens.
async fn world() -> (World, Ids) {
    let app = TestApp::spawn().await;
    let admin = app.user_with_token("admin@example.com", "Admin", Role::Admin, None).await;
    assert_eq!(app.post_records(&admin, &crate::helpers::two_teams_three_reps()).await.0, 200);
    let boss = app.user_with_token("boss@example.com", "Boss", Role::Manager, Some("t1")).await;
    let south = app.user_with_token("south@example.com", "South", Role::Manager, Some("t2")).await;
    store::users::set_password(&app.pool, "r1@example.com", PASSWORD.into()).await.unwrap();
    let rep = store::users::create_token(&app.pool, "r1@example.com", "tests").await.unwrap();
    let deals = json!([
        {"kind": "deal", "id": "d1", "owner": "r1", "amount": 100, "status": "won",
         "created_at": "2026-10-01T09:00:00Z", "closed_at": "2026-10-02T09:00:00Z"},
        {"kind": "deal", "id": "d3", "owner": "r3", "amount": 50, "status": "won",
         "created_at": "2026-10-01T09:00:00Z", "closed_at": "2026-10-03T09:00:00Z"},
        // A win at 0 is always flagged: a flag of t1 to resolve.
        {"kind": "deal", "id": "d0", "owner": "r1", "amount": 0, "status": "won",
         "created_at": "2026-10-01T09:00:00Z", "closed_at": "2026-10-02T09:00:00Z"},
    ]);
    assert_eq!(app.post_records_scored(&admin, &deals).await.0, 200);
    let flag = store::flags::flags(&app.pool, Some("t1"))
        .await
        .unwrap()
        .into_iter()
        .find(|f| f.kind == "zero_win")
        .expect("d0 is flagged")
        .key;
    let id_of = |email: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT id FROM users WHERE email = $1")
                .bind(email)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let admin_id = id_of("admin@example.com").await;
    let pair = |scope: &'static str, name: &'static str| {
        let (pool, by) = (app.pool.clone(), admin_id.clone());
        async move {
            let (code, secret) = store::displays::start_pairing(&pool).await.unwrap().expect("room for a pairing");
            let new = store::displays::NewDisplay {
                code,
                name: name.into(),
                names: "full".into(),
                rotate_seconds: 15,
                scope: scope.into(),
                sound: false,
            };
            (store::displays::pair(&pool, &by, &new).await.unwrap(), secret)
        }
    };
    let (_, display_token) = pair("team:t1", "Wall").await;
    let (spare_display, _) = pair("team:t1", "Spare").await;
    let mut headers = HeaderMap::new();
    headers.insert(COOKIE, HeaderValue::from_str(&format!("kpi_arena_display={display_token}")).unwrap());
    let display = reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let soon = app::clock::now() + chrono::Duration::days(1);
    let later = soon + chrono::Duration::days(7);
    let mut drafts = Vec::new();
    for name in ["Draft A", "Draft B"] {
        let body = json!({"name": name, "kind": "race", "goal": 1000, "basis": "revenue",
                          "starts_at": soon, "ends_at": later, "participants": ["r1", "r2"]});
        let res = app.client.post(app.url("/api/v1/challenges")).bearer_auth(&boss).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 200);
        drafts.push(res.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
    }
    let rules: Value =
        app.client.get(app.url("/api/v1/points/rules")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    let rule_ids: Vec<i64> = rules["rules"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
    let mut spare_tokens = Vec::new();
    for label in ["spare 1", "spare 2"] {
        store::users::create_token(&app.pool, "boss@example.com", label).await.unwrap();
        let id: i64 = sqlx::query_scalar("SELECT id FROM api_tokens WHERE label = $1")
            .bind(label)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        spare_tokens.push(id);
    }

    let mut sessions = Vec::new();
    for (who, email) in [
        (Who::Rep, "r1@example.com"),
        (Who::Manager, "boss@example.com"),
        (Who::OtherManager, "south@example.com"),
        (Who::Admin, "admin@example.com"),
    ] {
        sessions.push((who, browser(&app, email, PASSWORD).await));
    }
    let boss_session = sessions[1].1.clone();
    let import = crate::import::uploaded(
        &boss_session,
        &app,
        "deal",
        b"id,owner,amount,status,created_at\nm1,r1,10,open,2026-10-05\n".to_vec(),
    )
    .await;
    let tokens = vec![(Who::Rep, rep), (Who::Manager, boss), (Who::OtherManager, south), (Who::Admin, admin)];
    // A notification channel of t1's (the manager of t2 must not reach it). Its webhook is a
    // closed port: "Send test" fails with the reason, as a 400.
    let keyring = connectors::Keyring::from_env().unwrap();
    let boss_id: String =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'boss@example.com'").fetch_one(&app.pool).await.unwrap();
    let new = store::notify::NewChannel {
        kind: "slack",
        team_id: Some("t1"),
        user_id: None,
        secret: keyring.seal("http://127.0.0.1:9/slack"),
        secret_hint: "••••lack".into(),
        settings: json!({}),
        bind_code: None,
        by: &boss_id,
    };
    let settings = store::notify::ChannelSettings {
        name: "T1 Slack".into(),
        lang: "ru".into(),
        names: "full".into(),
        moments: vec!["won".into()],
        min_amount: None,
        quiet: None,
    };
    let channel = store::notify::insert(&app.pool, &new, &settings).await.unwrap().to_string();
    let ids = Ids {
        spare_display,
        drafts,
        rules: rule_ids,
        spare_tokens,
        import,
        days: (soon.format("%Y-%m-%d").to_string(), later.format("%Y-%m-%d").to_string()),
        flag,
        channel,
    };
    (World { app, sessions, tokens, display }, ids)
}

struct Ids {
    spare_display: i64,
    drafts: Vec<i64>,
    rules: Vec<i64>,
    spare_tokens: Vec<i64>,
    import: String,
    days: (String, String),
    /// The key of a flag on r1 (of t1).
    flag: String,
    /// A notification channel of t1's.
    channel: String,
}

fn tag(who: Who) -> &'static str {
    match who {
        Who::Anonymous => "anon",
        Who::Display => "tv",
        Who::Rep => "rep",
        Who::Manager => "boss",
        Who::OtherManager => "south",
        Who::Admin => "admin",
    }
}

mod integrations;

const A: i32 = -401; // signed out, or a TV: no user
const F: i32 = -403; // signed in, not allowed

/// The same body for every caller.
fn s(send: Send) -> Box<dyn Fn(Who) -> Send> {
    let send = std::sync::Arc::new(send);
    Box::new(move |_| match &*send {
        Send::None => Send::None,
        Send::Form(f) => Send::Form(f.clone()),
        Send::Json(v) => Send::Json(v.clone()),
        Send::Csv(t) => Send::Csv(*t),
    })
}

fn none() -> Box<dyn Fn(Who) -> Send> {
    s(Send::None)
}

fn row(call: Call, url: &str, send: Box<dyn Fn(Who) -> Send>, expect: [i32; 6]) -> Row {
    Row { call, url: url.to_string(), send, expect }
}

fn rows(ids: &Ids) -> Vec<Row> {
    use Call::*;
    let (first_day, last_day) = ids.days.clone();
    let (draft_a, draft_b) = (ids.drafts[0], ids.drafts[1]);
    let (rule_a, rule_b) = (ids.rules[0], ids.rules[1]);
    let spare = ids.spare_display.to_string();
    let (tok_a, tok_b) = (ids.spare_tokens[0], ids.spare_tokens[1]);
    let import = ids.import.clone();
    let won = |id: &str| {
        json!([{"kind": "deal", "id": id, "owner": "r1", "amount": 10, "status": "won",
                "created_at": "2026-10-05T09:00:00Z", "closed_at": "2026-10-06T09:00:00Z"}])
    };
    let mut all = vec![
        // ---- The JSON API (API.md). Anonymous and a TV carry no token: 401.
        row(
            Api("POST", "/api/v1/records"),
            "/api/v1/records",
            Box::new(move |w| Send::Json(won(&format!("api-{}", tag(w))))),
            [A, A, F, 200, F, 200],
        ),
        row(
            Api("GET", "/api/v1/kpis"),
            "/api/v1/kpis?scope=team:t1&period=2026-10",
            none(),
            [A, A, 200, 200, 200, 200],
        ),
        row(
            Api("GET", "/api/v1/leaderboard"),
            "/api/v1/leaderboard?period=2026-10&by=revenue",
            none(),
            [A, A, 200, 200, 200, 200],
        ),
        row(
            Api("PUT", "/api/v1/targets"),
            "/api/v1/targets",
            s(Send::Json(json!({"kpi": "revenue", "scope": "rep:r1", "period": "2026-10", "value": 500}))),
            [A, A, F, 200, F, 200],
        ),
        row(Api("GET", "/api/v1/points"), "/api/v1/points?user=r1&period=2026-10", none(), [A, A, 200, 200, F, 200]),
        row(Api("GET", "/api/v1/points/rules"), "/api/v1/points/rules", none(), [A, A, 200, 200, 200, 200]),
        row(
            Api("POST", "/api/v1/points/rules"),
            "/api/v1/points/rules",
            s(Send::Json(json!({"kind": "per_unit", "basis": "won_deals", "points": 1, "label": "matrix"}))),
            [A, A, F, F, F, 200],
        ),
        row(
            Api("DELETE", "/api/v1/points/rules/{id}"),
            &format!("/api/v1/points/rules/{rule_a}"),
            none(),
            [A, A, F, F, F, 200],
        ),
        row(Api("GET", "/api/v1/badges"), "/api/v1/badges", none(), [A, A, 200, 200, 200, 200]),
        row(Api("GET", "/api/v1/challenges"), "/api/v1/challenges", none(), [A, A, 200, 200, 200, 200]),
        row(
            Api("POST", "/api/v1/challenges"),
            "/api/v1/challenges",
            s(Send::Json(json!({"name": "Matrix", "kind": "race", "goal": 100, "basis": "revenue",
                                 "starts_at": "2027-01-01T00:00:00Z", "ends_at": "2027-02-01T00:00:00Z",
                                 "participants": ["r1", "r2"]}))),
            [A, A, F, 200, F, 200],
        ),
        // A draft: reps do not see it (404); managers read every challenge, drafts too.
        row(
            Api("GET", "/api/v1/challenges/{id}"),
            &format!("/api/v1/challenges/{draft_a}"),
            none(),
            [A, A, -404, 200, 200, 200],
        ),
        row(
            Api("PATCH", "/api/v1/challenges/{id}"),
            &format!("/api/v1/challenges/{draft_a}"),
            s(Send::Json(json!({"prize": "Пицца"}))),
            [A, A, F, 200, F, 200],
        ),
        row(
            Api("POST", "/api/v1/challenges/{id}/launch"),
            &format!("/api/v1/challenges/{draft_b}/launch"),
            s(Send::Json(json!({}))),
            [A, A, F, 200, F, 400],
        ),
        row(Api("GET", "/api/v1/flags"), "/api/v1/flags", none(), [A, A, F, 200, 200, 200]),
        // Health and readiness: anyone (a load balancer has no session).
        row(Api("GET", "/healthz"), "/healthz", none(), [200, 200, 200, 200, 200, 200]),
        row(Api("GET", "/readyz"), "/readyz", none(), [200, 200, 200, 200, 200, 200]),
        // The API's description: the same for every install, nothing of the organisation in it.
        row(Api("GET", "/api/openapi.json"), "/api/openapi.json", none(), [200, 200, 200, 200, 200, 200]),
        row(Api("GET", "/api/docs"), "/api/docs", none(), [200, 200, 200, 200, 200, 200]),
        // Prometheus metrics: an admin's token (a scrape job's).
        row(Api("GET", "/metrics"), "/metrics", none(), [A, A, F, F, F, 200]),
        // The instance's live figures: admins only.
        row(Api("GET", "/api/v1/live"), "/api/v1/live", none(), [A, A, F, F, F, 200]),
        // ---- Plain routes. The sign-in guard sends visitors without a session to /login (303).
        row(Plain("GET", app::paths::LIVE), app::paths::LIVE, none(), [A, 200, 200, 200, 200, 200]),
        row(
            Plain("GET", app::paths::TEAM_REPORT_CSV),
            "/team/report.csv?team=t1&period=2026-10",
            none(),
            [-303, -303, F, 200, F, 200],
        ),
        row(Plain("GET", app::paths::LANG), "/lang/en?back=/leaderboard", none(), [303, 303, 303, 303, 303, 303]),
        row(
            Plain("POST", app::paths::IMPORT_UPLOAD),
            app::paths::IMPORT_UPLOAD,
            s(Send::Csv("id,owner,amount,status,created_at\nx1,r1,10,open,2026-10-05\n")),
            [-303, -303, F, 303, 303, 303],
        ),
        row(
            Plain("GET", app::paths::IMPORT_TEMPLATE),
            "/import/template/deal.csv",
            none(),
            [-303, -303, 200, 200, 200, 200],
        ),
        // ---- Server functions (POST /api/<name>, form fields).
        row(
            ServerFn("login"),
            "",
            Box::new(|w| form(&[("email", &format!("nobody-{}@example.com", tag(w))), ("password", "wrong password")])),
            [401, 401, 401, 401, 401, 401],
        ),
        row(ServerFn("demo_data"), "", none(), [200, 200, 200, 200, 200, 200]),
        // Who is signed in, for the navigation over the 403/404/500 pages: refuses no one.
        row(ServerFn("signed_in_view"), "", none(), [200, 200, 200, 200, 200, 200]),
        row(
            ServerFn("kpi_card"),
            "",
            s(form(&[("scope", "team:t1"), ("period", "2026-10")])),
            [A, A, 200, 200, 200, 200],
        ),
        row(ServerFn("invite_view"), "", s(form(&[("token", "no-such-invite")])), [400, 400, 400, 400, 400, 400]),
        row(
            ServerFn("accept_invite"),
            "",
            s(form(&[("token", "no-such-invite"), ("password", "long enough"), ("repeat", "long enough")])),
            [400, 400, 400, 400, 400, 400],
        ),
        row(ServerFn("teams_view"), "", none(), [A, A, F, F, F, 200]),
        row(
            ServerFn("save_team"),
            "",
            s(form(&[("create", "false"), ("id", "t2"), ("name", "T2"), ("region", "South"), ("manager", "")])),
            [A, A, F, F, F, 200],
        ),
        row(ServerFn("challenges_view"), "", none(), [A, A, 200, 200, 200, 200]),
        row(
            ServerFn("create_challenge"),
            "",
            Box::new(move |w| {
                form(&[
                    ("name", &format!("Form {}", tag(w))),
                    ("kind", "race"),
                    ("basis", "revenue"),
                    ("goal", "100"),
                    ("first_day", &first_day),
                    ("last_day", &last_day),
                    ("participants[r1]", "on"),
                    ("participants[r2]", "on"),
                ])
            }),
            [A, A, F, 200, F, 200],
        ),
        row(
            ServerFn("edit_challenge"),
            "",
            s(form(&[("id", &draft_a.to_string()), ("name", "Draft A"), ("last_day", &ids.days.1), ("prize", "Кофе")])),
            // A rep is told no such challenge exists (a draft is hidden from reps).
            [A, A, -400, 200, F, 200],
        ),
        row(ServerFn("launch_challenge"), "", s(form(&[("id", &draft_a.to_string())])), [A, A, F, 200, F, 400]),
        row(ServerFn("displays_view"), "", none(), [A, A, F, 200, 200, 200]),
        row(
            ServerFn("pair_display"),
            "",
            s(form(&[
                ("code", "ZZZZZZ"),
                ("name", "X"),
                ("names", "full"),
                ("rotate_seconds", "15"),
                ("scope", "team:t1"),
            ])),
            [A, A, F, 400, F, 400],
        ),
        row(ServerFn("display_sound"), "", s(form(&[("id", &spare), ("sound", "true")])), [A, A, F, 200, F, 200]),
        row(ServerFn("revoke_display"), "", s(form(&[("id", &spare)])), [A, A, F, 200, F, 200]),
        row(ServerFn("leaderboard"), "", s(form(&[("period", "2026-10")])), [A, A, 200, 200, 200, 200]),
        row(ServerFn("deal_form"), "", none(), [A, A, 200, 200, 200, 200]),
        row(
            ServerFn("log_deal"),
            "",
            Box::new(|w| {
                form(&[("id", &format!("form-{}", tag(w))), ("owner", "r1"), ("amount", "10"), ("closed_at", "")])
            }),
            [A, A, 200, 200, F, 200],
        ),
        row(ServerFn("account_view"), "", none(), [A, A, 200, 200, 200, 200]),
        row(
            ServerFn("change_password"),
            "",
            s(form(&[("current", "not the password"), ("new", "a new password")])),
            [A, A, 400, 400, 400, 400],
        ),
        row(ServerFn("users_view"), "", none(), [A, A, F, 200, 200, 200]),
        row(
            ServerFn("invite_user"),
            "",
            Box::new(|w| {
                form(&[
                    ("name", "New"),
                    ("email", &format!("new-{}@example.com", tag(w))),
                    ("role", "rep"),
                    ("team", "t1"),
                ])
            }),
            [A, A, F, 200, F, 200],
        ),
        row(ServerFn("reset_password_link"), "", s(form(&[("id", "r2")])), [A, A, F, F, F, 200]),
        row(ServerFn("set_user_active"), "", s(form(&[("id", "r2"), ("active", "true")])), [A, A, F, F, F, 200]),
        // r2 keeps role and team (later rows rely on them): a refusal is still a refusal.
        row(
            ServerFn("change_user"),
            "",
            s(form(&[("id", "r2"), ("role", "rep"), ("team", "t1")])),
            [A, A, F, F, F, 200],
        ),
        row(ServerFn("tokens_view"), "", none(), [A, A, F, 200, 200, 200]),
        row(ServerFn("create_token"), "", s(form(&[("label", "matrix")])), [A, A, F, 200, 200, 200]),
        // boss@'s spare tokens: the other manager cannot revoke them (not theirs: 400).
        row(
            ServerFn("revoke_token"),
            "",
            Box::new(move |w| form(&[("id", &if w == Who::Admin { tok_b } else { tok_a }.to_string())])),
            [A, A, F, 200, -400, 200],
        ),
        row(ServerFn("tv_view"), "", s(form(&[("celebrate", "")])), [200, 200, 200, 200, 200, 200]),
        row(ServerFn("badges_view"), "", none(), [A, A, 200, 200, 200, 200]),
        row(ServerFn("flags_view"), "", none(), [A, A, F, 200, 200, 200]),
        // t1's flag: t2's manager may not judge it.
        row(
            ServerFn("resolve_flag"),
            "",
            s(form(&[("key", &ids.flag), ("verdict", "fine"), ("note", "matrix")])),
            [A, A, F, 200, F, 200],
        ),
        row(ServerFn("team_report"), "", s(form(&[("team", "t1"), ("period", "2026-10")])), [A, A, F, 200, F, 200]),
        row(ServerFn("team_view"), "", s(form(&[("team", "t1")])), [A, A, F, 200, F, 200]),
        row(ServerFn("points_view"), "", s(form(&[("user", "r1"), ("period", "2026-10")])), [A, A, 200, 200, F, 200]),
        row(ServerFn("rules_view"), "", none(), [A, A, F, 200, 200, 200]),
        row(
            ServerFn("save_rule"),
            "",
            s(form(&[
                ("label", "Matrix"),
                ("kind", "per_unit"),
                ("measure", "won_deals"),
                ("kpi", "revenue"),
                ("points", "1"),
            ])),
            [A, A, F, F, F, 200],
        ),
        row(ServerFn("switch_off_rule"), "", s(form(&[("id", &rule_b.to_string())])), [A, A, F, F, F, 200]),
        row(ServerFn("org_settings"), "", none(), [A, A, F, F, F, 200]),
        row(
            ServerFn("save_org_settings"),
            "",
            s(form(&[("name", "Arena"), ("currency", "RUB"), ("time_zone", "UTC"), ("language", "ru")])),
            [A, A, F, F, F, 200],
        ),
    ];
    all.extend(integrations::rows(ids));
    all.extend(vec![
        row(ServerFn("home_view"), "", none(), [A, A, 200, 200, 200, 200]),
        row(ServerFn("targets_grid"), "", s(form(&[("team", "t1"), ("period", "2026-10")])), [A, A, F, 200, F, 200]),
        row(
            ServerFn("save_targets"),
            "",
            s(form(&[("team", "t1"), ("period", &ids.days.0[..7]), ("targets[rep:r1|revenue]", "700")])),
            [A, A, F, 200, F, 200],
        ),
        row(
            ServerFn("copy_targets"),
            "",
            s(form(&[("team", "t1"), ("period", &ids.days.0[..7])])),
            [A, A, F, 200, F, 200],
        ),
        row(ServerFn("imports_view"), "", none(), [A, A, F, 200, 200, 200]),
        // boss@'s import: another manager's is not theirs to see (404) or store (409).
        row(ServerFn("import_view"), "", s(form(&[("id", &import)])), [A, A, F, 200, -404, 200]),
        row(ServerFn("start_import"), "", s(form(&[("id", &import)])), [A, A, F, 200, -409, 409]),
        // Last: it ends the caller's session.
        row(ServerFn("logout"), "", none(), [200, 200, 200, 200, 200, 200]),
    ]);
    all
}

#[tokio::test]
async fn every_endpoint_answers_each_caller_as_the_table_says_and_refusals_change_nothing() {
    let (world, ids) = world().await;
    let rows = rows(&ids);

    // Coverage: every server function, every API route and every plain route is in the table.
    let listed: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| match r.call {
            Call::ServerFn(name) => ("POST".to_string(), format!("/api/{name}")),
            Call::Api(m, p) | Call::Plain(m, p) => (m.to_string(), p.to_string()),
        })
        .collect();
    let mut existing: BTreeSet<(String, String)> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, method)| (method.to_string(), path.to_string()))
        .collect();
    existing.extend(app::api::routes().into_iter().map(|(m, p)| (m.to_string(), p.to_string())));
    existing.extend(app::paths::PLAIN.iter().map(|(m, p)| (m.to_string(), p.to_string())));
    let missing: Vec<_> = existing.difference(&listed).collect();
    assert!(missing.is_empty(), "endpoints missing from the authorization matrix: {missing:?}");
    let stale: Vec<_> = listed.difference(&existing).collect();
    assert!(stale.is_empty(), "rows for endpoints that do not exist: {stale:?}");

    let mut wrong = Vec::new();
    for row in &rows {
        // Refusals first, so that an allowed call cannot hide what a refused one changed.
        let mut order: Vec<usize> = (0..6).filter(|&i| row.expect[i] < 0).collect();
        order.extend((0..6).filter(|&i| row.expect[i] >= 0));
        for i in order {
            let who = CALLERS[i];
            let expected = row.expect[i];
            let before = if expected < 0 { Some(fingerprint(&world.app).await) } else { None };
            let status = world.run(row, who).await as i32;
            let name = match row.call {
                Call::ServerFn(n) => format!("POST /api/{n}"),
                Call::Api(m, _) | Call::Plain(m, _) => format!("{m} {}", row.url),
            };
            if status != expected.abs() {
                wrong.push(format!("{name} as {who:?}: {status}, expected {}", expected.abs()));
            }
            if let Some(before) = before {
                if fingerprint(&world.app).await != before {
                    wrong.push(format!("{name} as {who:?}: refused, yet the database changed"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{} cells differ from the matrix:\n{}", wrong.len(), wrong.join("\n"));
}
