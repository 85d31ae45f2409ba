//! `POST /api/v1/records` as docs/API.md specifies it.

use crate::helpers::TestApp;
use app::auth::Role;
use rust_decimal::Decimal;
use serde_json::{json, Value};

fn base_records() -> Vec<Value> {
    vec![
        json!({"kind": "team", "id": "t1", "name": "Москва", "region": "Центр"}),
        json!({"kind": "user", "id": "u1", "name": "Анна", "email": "anna@example.com", "role": "rep", "team": "t1"}),
        json!({"kind": "product", "id": "p1", "name": "CRM", "price": 990.5}),
        json!({"kind": "customer", "id": "c1", "name": "ООО Ромашка", "region": "Центр", "owner": "u1",
               "acquired_at": "2026-10-01T09:00:00+03:00"}),
        json!({"kind": "deal", "id": "d1", "owner": "u1", "customer": "c1", "product": "p1", "amount": 1200.5,
               "created_at": "2026-10-02T10:00:00Z", "status": "won", "closed_at": "2026-10-20T15:00:00+03:00"}),
    ]
}

/// Sends `records` as NDJSON, one a line.
async fn post_ndjson(app: &TestApp, token: &str, records: &[Value]) -> reqwest::Response {
    let body: String = records.iter().map(|r| format!("{r}\n")).collect();
    let url = app.url("/api/v1/records");
    let req = app.client.post(url).bearer_auth(token).header("content-type", "application/x-ndjson");
    req.body(body).send().await.unwrap()
}

fn deal(id: &str, amount: Value, status: &str) -> Value {
    let mut d = json!({"kind": "deal", "id": id, "owner": "u1", "amount": amount, "created_at": "2026-10-02T10:00:00Z", "status": status});
    if status != "open" {
        d["closed_at"] = json!("2026-10-21T10:00:00Z");
    }
    d
}

#[tokio::test]
async fn a_valid_batch_is_stored_exactly() {
    let app = TestApp::spawn().await;
    let token = app.sync_token().await;
    let (status, body) = app.post_records(&token, &json!(base_records())).await;
    assert_eq!((status, body), (200, json!({"accepted": 5})));
    let (amount, closed): (Decimal, chrono::DateTime<chrono::Utc>) =
        sqlx::query_as("SELECT amount, closed_at FROM deals WHERE id = 'd1'").fetch_one(&app.pool).await.unwrap();
    assert_eq!(amount, Decimal::new(120050, 2));
    assert_eq!(closed.to_rfc3339(), "2026-10-20T12:00:00+00:00");
    let customer_acquired: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT acquired_at FROM customers WHERE id = 'c1'").fetch_one(&app.pool).await.unwrap();
    assert_eq!(customer_acquired.to_rfc3339(), "2026-10-01T06:00:00+00:00");
}

#[tokio::test]
async fn ndjson_is_accepted_line_by_line() {
    let app = TestApp::spawn().await;
    let token = app.sync_token().await;
    let res = post_ndjson(&app, &token, &base_records()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"accepted": 5}));
    assert_eq!(app.count("deals").await, 1);
}

#[tokio::test]
async fn every_kind_of_bad_record_is_named_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let token = app.sync_token().await;
    let mut batch = base_records();
    batch.extend([
        json!({"kind": "spaceship", "id": "x1"}),                                    // 5
        json!({"kind": "team", "id": "t2", "region": "Урал"}),                       // 6
        json!({"kind": "product", "id": "p2", "name": "Support", "price": "cheap"}), // 7
        json!({"kind": "activity", "id": "a1", "owner": "u1", "activity_type": "telepathy", "at": "2026-10-01T10:00:00Z"}), // 8
        {
            let mut d = deal("d2", json!(10), "won");
            d["owner"] = json!("ghost");
            d
        }, // 9
        deal("d3", json!(-1), "won"), // 10
        {
            let mut d = deal("d4", json!(5), "won");
            d.as_object_mut().unwrap().remove("closed_at");
            d
        }, // 11
        {
            let mut d = deal("d5", json!(5), "open");
            d["closed_at"] = json!("2026-10-21T10:00:00Z");
            d
        }, // 12
        {
            let mut d = deal("d6", json!(5), "open");
            d["created_at"] = json!("21.10.2026 10:00");
            d
        }, // 13
    ]);
    let (status, body) = app.post_records(&token, &json!(batch)).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"], "invalid_records");
    let errors = body["errors"].as_array().unwrap();
    let indexes: Vec<u64> = errors.iter().map(|e| e["index"].as_u64().unwrap()).collect();
    assert_eq!(indexes, vec![5, 6, 7, 8, 9, 10, 11, 12, 13]);
    let expect = [
        (5, "x1", "unknown kind `spaceship`"),
        (6, "t2", "missing required field `name`"),
        (7, "p2", "`price` must be a decimal number"),
        (8, "a1", "`activity_type` must be one of call, email, meeting, demo, message, other, not `telepathy`"),
        (9, "d2", "owner `ghost` is not a known user"),
        (10, "d3", "`amount` must not be negative"),
        (11, "d4", "`closed_at` is required on a won deal"),
        (12, "d5", "`closed_at` must be absent on an open deal"),
        (13, "d6", "`created_at` must be an RFC 3339 timestamp"),
    ];
    for (error, (index, id, phrase)) in errors.iter().zip(expect) {
        assert_eq!(error["index"], index);
        assert_eq!(error["id"], id);
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(phrase), "record {index}: `{message}` should contain `{phrase}`");
    }
    for table in ["teams", "users", "products", "customers", "deals", "activities"] {
        assert_eq!(app.count(table).await, if table == "users" { 1 } else { 0 }, "{table} must hold nothing new");
    }
}

#[tokio::test]
async fn a_reference_may_name_an_earlier_record_but_not_a_later_one() {
    let app = TestApp::spawn().await;
    let token = app.sync_token().await;
    let mut batch = vec![deal("d0", json!(1), "open")];
    batch.extend(base_records());
    let (status, body) = app.post_records(&token, &json!(batch)).await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"].as_array().unwrap().len(), 1);
    assert_eq!(body["errors"][0]["index"], 0);
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("owner `u1` is not a known user"));
}

#[tokio::test]
async fn one_bad_record_in_a_thousand_stores_nothing() {
    let app = TestApp::spawn().await;
    let token = app.sync_token().await;
    let mut batch = base_records();
    for i in 0..995 {
        let amount = if i == 537 { json!(-10) } else { json!(100) };
        batch.push(deal(&format!("bulk-{i}"), amount, "won"));
    }
    assert_eq!(batch.len(), 1000);
    let (status, body) = app.post_records(&token, &json!(batch)).await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"].as_array().unwrap().len(), 1);
    assert_eq!(body["errors"][0]["index"], 542);
    assert_eq!(body["errors"][0]["id"], "bulk-537");
    assert_eq!(app.count("deals").await, 0);
    assert_eq!(app.count("teams").await, 0);
}

#[tokio::test]
async fn resending_an_id_replaces_the_record() {
    let app = TestApp::spawn().await;
    let token = app.sync_token().await;
    assert_eq!(app.post_records(&token, &json!(base_records())).await.0, 200);
    let (status, body) = app.post_records(&token, &json!([deal("d1", json!(99.99), "lost")])).await;
    assert_eq!((status, body), (200, json!({"accepted": 1})));
    let (amount, state): (Decimal, String) =
        sqlx::query_as("SELECT amount, status FROM deals WHERE id = 'd1'").fetch_one(&app.pool).await.unwrap();
    assert_eq!((amount, state.as_str()), (Decimal::new(9999, 2), "lost"));
    assert_eq!(app.count("deals").await, 1);
    // The same id twice in one batch: the later version wins.
    let (status, _) =
        app.post_records(&token, &json!([deal("d1", json!(1), "open"), deal("d1", json!(2), "won")])).await;
    assert_eq!(status, 200);
    let amount: Decimal =
        sqlx::query_scalar("SELECT amount FROM deals WHERE id = 'd1'").fetch_one(&app.pool).await.unwrap();
    assert_eq!(amount, Decimal::new(2, 0));
}

#[tokio::test]
async fn a_ten_thousand_record_batch_is_stored() {
    let app = TestApp::spawn().await;
    let token = app.sync_token().await;
    let mut batch = base_records();
    batch.extend((0..9_995).map(|i| deal(&format!("big-{i}"), json!(1.25), "won")));
    let (status, body) = app.post_records(&token, &json!(batch)).await;
    assert_eq!((status, body), (200, json!({"accepted": 10_000})));
    let total: Decimal = sqlx::query_scalar("SELECT sum(amount) FROM deals").fetch_one(&app.pool).await.unwrap();
    // 1200.50 from d1 plus 9,995 × 1.25.
    assert_eq!(total, Decimal::new(120050 + 9_995 * 125, 2));
}

#[tokio::test]
async fn bodies_that_are_not_a_json_array_are_400() {
    let app = TestApp::spawn().await;
    let token = app.sync_token().await;
    for (body, says) in [
        ("{not json", "the body is not valid JSON: "),
        (r#"{"kind": "team"}"#, "the body must be a JSON array of records"),
    ] {
        let res = app.client.post(app.url("/api/v1/records")).bearer_auth(&token).body(body).send().await.unwrap();
        assert_eq!(res.status(), 400, "{body}");
        let json: Value = res.json().await.unwrap();
        assert_eq!(json["error"], "bad_request");
        assert!(json["message"].as_str().unwrap().starts_with(says), "{body}: {json}");
    }
}

#[tokio::test]
async fn too_many_records_or_bytes_are_413() {
    let app = TestApp::spawn().await;
    let token = app.sync_token().await;
    let many: Vec<Value> =
        (0..50_001).map(|i| json!({"kind": "team", "id": format!("t{i}"), "name": "n", "region": "r"})).collect();
    let (status, body) = app.post_records(&token, &json!(many)).await;
    assert_eq!(status, 413);
    assert_eq!(body["error"], "payload_too_large");
    assert_eq!(body["message"], "a batch may hold at most 50000 records; this one has more");
    let res = post_ndjson(&app, &token, &many).await;
    assert_eq!(res.status(), 413, "NDJSON stops at the same count");
    let huge = format!(r#"[{{"kind": "team", "id": "t", "name": "{}", "region": "r"}}]"#, "x".repeat(33 * 1024 * 1024));
    let res = app.client.post(app.url("/api/v1/records")).bearer_auth(&token).body(huge).send().await.unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(app.count("teams").await, 0);
}

#[tokio::test]
async fn no_token_or_a_bad_token_is_401_and_a_rep_is_403() {
    let app = TestApp::spawn().await;
    let url = app.url("/api/v1/records");
    let res = app.client.post(&url).json(&json!([])).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "unauthorized");
    let res = app.client.post(&url).bearer_auth("kpa_not-a-token").json(&json!([])).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let rep = app.user_with_token("rep@example.com", "Rep", Role::Rep, None).await;
    let (status, body) = app.post_records(&rep, &json!(base_records())).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"], "forbidden");
    assert_eq!(app.count("deals").await, 0);
    let admin = app.user_with_token("admin@example.com", "Admin", Role::Admin, None).await;
    assert_eq!(app.post_records(&admin, &json!(base_records())).await.0, 200);
}

/// A manager's token sends only their own team's records: no users or teams (no
/// way to make themselves admin), no deals for another team's rep, no taking a
/// stored record away from another team. One record outside: 403 naming it, nothing stored.
#[tokio::test]
async fn a_managers_token_sends_only_its_own_teams_records() {
    let app = TestApp::spawn().await;
    let admin = app.sync_token().await;
    assert_eq!(app.post_records(&admin, &crate::helpers::two_teams_three_reps()).await.0, 200);
    let boss = app.user_with_token("boss@example.com", "Boss", Role::Manager, Some("t1")).await;
    let boss_id: String =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'boss@example.com'").fetch_one(&app.pool).await.unwrap();
    let won = |id: &str, owner: &str| {
        json!({"kind": "deal", "id": id, "owner": owner, "amount": 100, "created_at": "2026-10-02T10:00:00Z",
               "status": "won", "closed_at": "2026-10-03T10:00:00Z"})
    };
    // r3's deal, stored by the admin: t2's.
    assert_eq!(app.post_records(&admin, &json!([won("d3", "r3")])).await.0, 200);
    let deals_before = app.count("deals").await;

    let me_admin = json!({"kind": "user", "id": boss_id, "name": "Boss", "email": "boss@example.com", "role": "admin", "team": "t1"});
    let steal_r3 =
        json!({"kind": "user", "id": "r3", "name": "Вера", "email": "r3@example.com", "role": "rep", "team": "t1"});
    for (batch, index, id, message) in [
        (json!([won("d1", "r1"), me_admin]), 1, boss_id.as_str(), "only an admin may send user records"),
        (json!([steal_r3]), 0, "r3", "only an admin may send user records"),
        (
            json!([{"kind": "team", "id": "t9", "name": "T9", "region": "R"}]),
            0,
            "t9",
            "only an admin may send team records",
        ),
        (json!([won("d1", "r1"), won("d2", "r3")]), 1, "d2", "owner `r3` is not a member of your team `t1`"),
        (json!([won("d3", "r1")]), 0, "d3", "the stored deal `d3` belongs outside your team `t1`"),
        (
            json!([{"kind": "cost", "id": "c1", "at": "2026-10-01", "category": "sales", "amount": 5, "team": "t2"}]),
            0,
            "c1",
            "a cost must name your team `t1`",
        ),
    ] {
        let (status, body) = app.post_records(&boss, &batch).await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"], "forbidden");
        assert_eq!(body["errors"], json!([{"index": index, "id": id, "message": message}]), "{body}");
    }
    let role: String =
        sqlx::query_scalar("SELECT role FROM users WHERE id = $1").bind(&boss_id).fetch_one(&app.pool).await.unwrap();
    assert_eq!(role, "manager", "still a manager");
    let team: Option<String> =
        sqlx::query_scalar("SELECT team_id FROM users WHERE id = 'r3'").fetch_one(&app.pool).await.unwrap();
    assert_eq!(team.as_deref(), Some("t2"));
    let owner: String =
        sqlx::query_scalar("SELECT owner_id FROM deals WHERE id = 'd3'").fetch_one(&app.pool).await.unwrap();
    assert_eq!(owner, "r3");
    assert_eq!(app.count("deals").await, deals_before, "nothing of a refused batch is stored");
    assert_eq!((app.count("teams").await, app.count("costs").await), (2, 0));

    // Their own team's records, a product and a cost of t1 go in.
    let mine = json!([
        won("d1", "r1"),
        won("d2", "r2"),
        {"kind": "product", "id": "p1", "name": "CRM", "price": 10},
        {"kind": "cost", "id": "c1", "at": "2026-10-01", "category": "sales", "amount": 5, "team": "t1"},
    ]);
    assert_eq!(app.post_records(&boss, &mine).await, (200, json!({"accepted": 4})));
    assert_eq!(app.count("deals").await, deals_before + 2);
}

/// Text PostgreSQL cannot hold (a NUL character) and over-long ids and names are
/// refused with 422 naming the record and field, instead of a 500 or a stored
/// 100,000-character id.
#[tokio::test]
async fn nul_characters_and_overlong_text_are_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let token = app.sync_token().await;
    let batch = json!([
        {"kind": "team", "id": "t1", "name": "Mos\u{0}cow", "region": "R"},
        {"kind": "team", "id": "x".repeat(256), "name": "T", "region": "R"},
        {"kind": "team", "id": "t3", "name": "n".repeat(201), "region": "R"},
        {"kind": "team", "id": "t4", "name": "n".repeat(200), "region": "R"},
        {"kind": "user", "id": "u1", "name": "U", "email": format!("{}@example.com", "e".repeat(250)), "role": "rep"},
    ]);
    let (status, body) = app.post_records(&token, &batch).await;
    assert_eq!(status, 422, "{body}");
    let errors = body["errors"].as_array().unwrap();
    let found: Vec<(u64, &str)> =
        errors.iter().map(|e| (e["index"].as_u64().unwrap(), e["message"].as_str().unwrap())).collect();
    assert_eq!(
        found,
        vec![
            (0, "`name` must not contain the NUL character (\\u0000)"),
            (1, "`id` is longer than 255 characters (256)"),
            (2, "`name` is longer than 200 characters (201)"),
            (4, "`email` is longer than 255 characters (262)"),
        ]
    );
    assert_eq!(app.count("teams").await, 0);

    // Every form and every other JSON body too: 422 naming the field, nothing stored.
    crate::auth::signed_in(&app, "admin@example.com", "Admin", Role::Admin, None).await;
    let form = [("create", "true"), ("id", "t9"), ("name", "Mos\u{0}cow"), ("region", "North"), ("manager", "")];
    let res = app.client.post(app.url("/api/save_team")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["message"], "`name` must not contain the NUL character (\\u0000)");
    assert_eq!(app.count("teams").await, 0);
    let rule = json!({"kind": "per_unit", "basis": "won_deals", "points": 1, "label": "x\u{0}"});
    let res = app.client.post(app.url("/api/v1/points/rules")).bearer_auth(&token).json(&rule).send().await.unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>().await.unwrap()["message"], "`label` must not contain the NUL character (\\u0000)");
    let url = app.url("/api/v1/kpis?scope=team:t%00&period=2026-10");
    let res = app.client.get(url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 422, "a query parameter too");
    assert_eq!(res.json::<Value>().await.unwrap()["message"], "`scope` must not contain the NUL character (\\u0000)");
}
