//! Points, badges, challenges and anti-gaming flags through the API, on small
//! fixtures worked out by hand (October 2026 is a closed month, UTC).

use crate::helpers::TestApp;
use app::auth::Role;
use serde_json::{json, Value};

struct Org {
    app: TestApp,
    admin: String,
    manager: String,
    rep: String,
}

/// Team t1 with reps r1 (Анна) and r2 (Борис), team t2 with r3, an admin, t1's manager and r1's token.
async fn org() -> Org {
    let app = TestApp::spawn().await;
    let admin = app.user_with_token("admin@example.com", "Admin", Role::Admin, None).await;
    assert_eq!(app.post_records(&admin, &crate::helpers::two_teams_three_reps()).await.0, 200);
    let manager = app.user_with_token("boss@example.com", "Мила", Role::Manager, Some("t1")).await;
    let rep = store::users::create_token(&app.pool, "r1@example.com", "tests").await.unwrap();
    // Each test writes the rules it checks.
    app.without_default_rules(&admin).await;
    Org { app, admin, manager, rep }
}

fn deal(id: &str, owner: &str, amount: f64, status: &str, closed: Option<&str>) -> Value {
    let mut d = json!({"kind": "deal", "id": id, "owner": owner, "amount": amount, "status": status,
                       "created_at": "2026-09-01T00:00:00Z"});
    if let Some(closed) = closed {
        d["closed_at"] = json!(closed);
    }
    d
}

/// d1–d3 won by r1 on 5 October, d4 lost, d5 won by r2 on 7 October.
fn october_deals() -> Value {
    json!([
        deal("d1", "r1", 250.50, "won", Some("2026-10-05T10:00:00Z")),
        deal("d2", "r1", 1000.0, "won", Some("2026-10-05T12:00:00Z")),
        deal("d3", "r1", 99.99, "won", Some("2026-10-05T15:00:00Z")),
        deal("d4", "r1", 700.0, "lost", Some("2026-10-06T09:00:00Z")),
        deal("d5", "r2", 500.0, "won", Some("2026-10-07T09:00:00Z")),
    ])
}

/// A second ago on the app's clock, but not before this month began (the clock
/// may be pinned to a month's first second), and this month as `YYYY-MM` (UTC).
fn just_now() -> (chrono::DateTime<chrono::Utc>, String) {
    use chrono::Datelike;
    let now = app::clock::now();
    let month_start = chrono::NaiveDate::from_ymd_opt(now.year(), now.month(), 1)
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .expect("the first of a month")
        .and_utc();
    ((now - chrono::Duration::seconds(1)).max(month_start), now.format("%Y-%m").to_string())
}

impl Org {
    async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let res = self.app.client.get(self.app.url(path)).bearer_auth(token).send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        let res = self.app.client.post(self.app.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn rule(&self, body: Value) -> i64 {
        let (status, res) = self.post(&self.admin, "/api/v1/points/rules", body).await;
        assert_eq!(status, 200, "{res}");
        res["id"].as_i64().unwrap()
    }

    async fn records(&self, body: Value) {
        let (status, res) = self.app.post_records_scored(&self.admin, &body).await;
        assert_eq!((status, &res["scores"]), (200, &json!("current")), "{res}");
    }

    async fn points(&self, user: &str, period: &str) -> Value {
        let (status, res) = self.get(&self.admin, &format!("/api/v1/points?user={user}&period={period}")).await;
        assert_eq!(status, 200, "{res}");
        res
    }

    async fn total(&self, user: &str, period: &str) -> i64 {
        let ledger = self.points(user, period).await;
        let sum: i64 = ledger["entries"].as_array().unwrap().iter().map(|e| e["points"].as_i64().unwrap()).sum();
        assert_eq!(ledger["total"].as_i64().unwrap(), sum, "total is the sum of the entries");
        sum
    }

    async fn board(&self, period: &str) -> Vec<(i64, String, f64)> {
        let (status, res) = self.get(&self.rep, &format!("/api/v1/leaderboard?by=points&period={period}")).await;
        assert_eq!(status, 200, "{res}");
        rows(&res).into_iter().map(|(rank, id, value)| (rank, id.to_string(), value)).collect()
    }

    async fn badges(&self, user: &str) -> Vec<(String, String)> {
        let (status, res) = self.get(&self.rep, &format!("/api/v1/badges?user={user}")).await;
        assert_eq!(status, 200, "{res}");
        res["badges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| (b["id"].as_str().unwrap().to_string(), b["earned_at"].as_str().unwrap().to_string()))
            .collect()
    }
}

/// A leaderboard's (rank, user id, value) rows.
fn rows(res: &Value) -> Vec<(i64, &str, f64)> {
    res["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["rank"].as_i64().unwrap(), e["user"]["id"].as_str().unwrap(), e["value"].as_f64().unwrap()))
        .collect()
}

/// 10 per won deal, at most 25 a day; 1 per whole 100 of revenue.
async fn unit_rules(o: &Org) {
    o.rule(json!({"kind": "per_unit", "basis": "won_deals", "points": 10, "cap_points": 25, "cap_per": "day",
                  "label": "Won deal"}))
        .await;
    o.rule(json!({"kind": "per_unit", "basis": "revenue", "points": 1, "per": 100, "label": "Revenue"})).await;
}

#[tokio::test]
async fn per_unit_rules_count_won_deals_and_whole_revenue_units_under_a_daily_cap() {
    let o = org().await;
    unit_rules(&o).await;
    o.records(october_deals()).await;
    // r1: d1 10 + 2 (250.50 is 2 hundreds), d2 10 + 10, d3 5 (the cap of 25 leaves 5) + 0 (99.99): 37.
    let ledger = o.points("r1", "2026-10").await;
    assert_eq!(ledger["total"], 37);
    let entries: Vec<(i64, &str, &str)> = ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["points"].as_i64().unwrap(), e["rule"].as_str().unwrap(), e["records"][0]["id"].as_str().unwrap()))
        .collect();
    assert_eq!(
        entries,
        vec![
            (10, "Won deal", "d1"),
            (2, "Revenue", "d1"),
            (10, "Won deal", "d2"),
            (10, "Revenue", "d2"),
            (5, "Won deal", "d3")
        ]
    );
    assert!(ledger["entries"][4]["reason"].as_str().unwrap().contains("capped at 25 per day"));
    // The ledger keeps the reason as data too: the pages word it, nothing parses the sentence back.
    let data: serde_json::Value = sqlx::query_scalar(
        "SELECT reason_data FROM points_entries WHERE user_id = 'r1' AND key = 'deal:d3' AND reason LIKE 'Won deal%'",
    )
    .fetch_one(&o.app.pool)
    .await
    .unwrap();
    assert_eq!(
        data,
        json!({"kind": "per_unit", "measure": "won_deals", "record": {"kind": "deal", "id": "d3"}, "points": 10,
               "cap": {"points": 25, "per": "day"}})
    );
    assert_eq!(ledger["entries"][0]["records"], json!([{"kind": "deal", "id": "d1"}]));
    assert_eq!(ledger["entries"][0]["period"], "2026-10-05");
    // r2: d5 10 + 5.
    assert_eq!(o.total("r2", "2026-10").await, 15);
    // The leaderboard's value is the same total; r3 has none and ranks last with 0.
    assert_eq!(o.board("2026-10").await, vec![(1, "r1".into(), 37.0), (2, "r2".into(), 15.0), (3, "r3".into(), 0.0)]);
    // A day or a week holds what happened in it.
    assert_eq!(o.total("r1", "2026-10-05").await, 37);
    assert_eq!(o.total("r1", "2026-10-06").await, 0);
    assert_eq!(o.total("r2", "2026-W41").await, 15);
}

#[tokio::test]
async fn a_won_deal_sent_again_counts_once_and_lost_or_reopened_deals_are_reversed() {
    let o = org().await;
    unit_rules(&o).await;
    o.records(october_deals()).await;
    let rows = o.app.count("points_entries").await;
    o.records(october_deals()).await;
    assert_eq!(o.app.count("points_entries").await, rows, "re-sending the same records appends nothing");
    assert_eq!(o.total("r1", "2026-10").await, 37);

    // d2 is lost after all: its 10 + 10 are reversed, and d3 now fits under the cap (+5): 22.
    o.records(json!([deal("d2", "r1", 1000.0, "lost", Some("2026-10-05T12:00:00Z"))])).await;
    let ledger = o.points("r1", "2026-10").await;
    assert_eq!(ledger["total"], 22);
    let changes: Vec<(&str, i64, &str)> = ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] != "award")
        .map(|e| (e["kind"].as_str().unwrap(), e["points"].as_i64().unwrap(), e["records"][0]["id"].as_str().unwrap()))
        .collect();
    assert_eq!(changes.len(), 3);
    assert!(changes.contains(&("reversal", -10, "d2")));
    assert_eq!(changes.iter().filter(|c| c.0 == "reversal" && c.2 == "d2").count(), 2);
    assert!(changes.contains(&("adjustment", 5, "d3")));

    // d1 is reopened: its 10 + 2 go too, leaving d3's 10.
    o.records(json!([deal("d1", "r1", 250.50, "open", None)])).await;
    assert_eq!(o.total("r1", "2026-10").await, 10);
    assert_eq!(o.board("2026-10").await[0], (1, "r2".into(), 15.0));
}

#[tokio::test]
async fn attainment_and_threshold_rules_follow_targets_and_cap_attainment() {
    let o = org().await;
    o.rule(json!({"kind": "attainment", "basis": "revenue", "points": 2, "period": "month", "label": "Attainment"}))
        .await;
    o.rule(json!({"kind": "threshold", "basis": "revenue", "points": 100, "threshold": 100, "period": "month",
                  "label": "Target reached"}))
        .await;
    o.records(october_deals()).await;
    for rep in ["r1", "r2"] {
        let res = o
            .app
            .client
            .put(o.app.url("/api/v1/targets"))
            .bearer_auth(&o.manager)
            .json(&json!({"kpi": "revenue", "scope": format!("rep:{rep}"), "period": "2026-10", "value": 1000}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    // r1: 1350.49 of 1000 is 135.049 %: 2 × 135.049 = 270.098 → 270, plus the 100 bonus.
    assert_eq!(o.total("r1", "2026-10").await, 370);
    // r2: 500 of 1000 is 50 %: 100, no bonus.
    assert_eq!(o.total("r2", "2026-10").await, 100);
    // A month's entries are not part of any one day of it.
    assert_eq!(o.total("r1", "2026-10-05").await, 0);
    // r2 wins 1500 more: 200 % is capped at 150 % → 300 (an adjustment of +200), and the bonus.
    o.records(json!([deal("d6", "r2", 1500.0, "won", Some("2026-10-20T09:00:00Z"))])).await;
    let ledger = o.points("r2", "2026-10").await;
    assert_eq!(ledger["total"], 400);
    let kinds: Vec<(&str, i64)> = ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["points"].as_i64().unwrap()))
        .collect();
    assert_eq!(kinds, vec![("award", 100), ("adjustment", 200), ("award", 100)]);
    assert!(ledger["entries"][1]["reason"].as_str().unwrap().contains("capped at 150 %"));
    assert_eq!(ledger["entries"][1]["period"], "2026-10");
}

#[tokio::test]
async fn a_changed_rule_recomputes_the_open_period_and_leaves_closed_ones() {
    let o = org().await;
    let rule = o.rule(json!({"kind": "per_unit", "basis": "won_deals", "points": 10, "label": "Won deal"})).await;
    let (now, this_month) = just_now();
    o.records(json!([
        deal("old", "r1", 100.0, "won", Some("2026-10-05T10:00:00Z")),
        deal("new", "r1", 100.0, "won", Some(&now.to_rfc3339())),
    ]))
    .await;
    assert_eq!(o.total("r1", &this_month).await, 10);
    o.rule(json!({"id": rule, "kind": "per_unit", "basis": "won_deals", "points": 25, "label": "Won deal"})).await;
    let ledger = o.points("r1", &this_month).await;
    assert_eq!(ledger["total"], 25);
    assert_eq!(ledger["entries"][1]["kind"], "adjustment");
    // October had closed: it keeps the points it was given.
    assert_eq!(o.total("r1", "2026-10").await, 10);
    // Switching the rule off reverses what it gave in the open period.
    // Rules score the whole organisation: a manager may not switch one off.
    let res = o.app.client.delete(o.app.url(&format!("/api/v1/points/rules/{rule}"))).bearer_auth(&o.manager).send();
    assert_eq!(res.await.unwrap().status(), 403);
    assert_eq!(o.total("r1", &this_month).await, 25);
    let res = o.app.client.delete(o.app.url(&format!("/api/v1/points/rules/{rule}"))).bearer_auth(&o.admin).send();
    assert_eq!(res.await.unwrap().status(), 200);
    assert_eq!(o.total("r1", &this_month).await, 0);
    // Reps and managers may not edit rules; a bad rule is refused with what is wrong.
    for token in [&o.rep, &o.manager] {
        let rule = json!({"kind": "per_unit", "basis": "won_deals", "points": 1, "label": "x"});
        let (status, _) = o.post(token, "/api/v1/points/rules", rule).await;
        assert_eq!(status, 403);
    }
    let (status, res) = o
        .post(
            &o.admin,
            "/api/v1/points/rules",
            json!({"kind": "per_unit", "basis": "wins",
                                                                      "points": 1, "label": "x"}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(res["message"].as_str().unwrap().contains("`wins`"), "{res}");
}

#[tokio::test]
async fn reps_read_only_their_own_ledger() {
    let o = org().await;
    assert_eq!(o.get(&o.rep, "/api/v1/points?user=r1&period=2026-10").await.0, 200);
    assert_eq!(o.get(&o.rep, "/api/v1/points?user=r2&period=2026-10").await.0, 403);
    assert_eq!(o.get(&o.manager, "/api/v1/points?user=r2&period=2026-10").await.0, 200);
    assert_eq!(o.get(&o.manager, "/api/v1/points?user=r3&period=2026-10").await.0, 403);
    assert_eq!(o.get(&o.admin, "/api/v1/points?user=nobody&period=2026-10").await.0, 404);
}

#[tokio::test]
async fn badges_are_awarded_retroactively_dated_when_earned_and_withdrawn_when_undone() {
    let o = org().await;
    o.records(october_deals()).await;
    let r1 = o.badges("r1").await;
    assert!(r1.contains(&("first_win".into(), "2026-10-05T10:00:00Z".into())), "{r1:?}");
    // The third win of 5 October, at 15:00.
    assert!(r1.contains(&("hat_trick".into(), "2026-10-05T15:00:00Z".into())), "{r1:?}");
    assert_eq!(o.badges("r2").await, vec![("first_win".into(), "2026-10-07T09:00:00Z".into())]);
    assert!(o.badges("r3").await.is_empty());

    // As if the catalogue were new today: everyone whose past qualifies gets them, dated then.
    sqlx::query("DELETE FROM badge_awards").execute(&o.app.pool).await.unwrap();
    // r1: first win, hat-trick, and October's largest deal (d2), dated when October ended; r2: first win.
    assert_eq!(store::badges::evaluate(&o.app.pool).await.unwrap(), 4);
    let r1 = o.badges("r1").await;
    assert!(r1.contains(&("hat_trick".into(), "2026-10-05T15:00:00Z".into())), "{r1:?}");
    assert!(r1.contains(&("deal_of_the_month".into(), "2026-11-01T00:00:00Z".into())), "{r1:?}");

    // r2's only win is lost after all: the badge goes.
    o.records(json!([deal("d5", "r2", 500.0, "lost", Some("2026-10-07T09:00:00Z"))])).await;
    assert!(o.badges("r2").await.is_empty());
    let (status, res) = o.get(&o.rep, "/api/v1/badges?user=r1").await;
    assert_eq!(status, 200, "{res}");
    let catalogue: Vec<&str> = res["catalogue"].as_array().unwrap().iter().map(|b| b["id"].as_str().unwrap()).collect();
    // The 14 of the catalogue, in its order; a challenge win's badge is not one of them.
    assert_eq!(
        catalogue,
        [
            "first_win",
            "hat_trick",
            "ten_wins",
            "target_100",
            "club_150",
            "response_ace",
            "streak_4w",
            "follow_up_master",
            "comeback",
            "deal_of_the_month",
            "marathon",
            "meeting_maker",
            "upseller",
            "customer_favourite",
        ]
    );
    assert_eq!(res["badges"][0]["records"], json!([{"kind": "deal", "id": "d1"}]));
}

/// After a change, badges are read over the window it can move only (the
/// earliest instant it touched, back to its day, week or month): this checks
/// that window's edges against the whole-history answer.
#[tokio::test]
async fn a_change_moves_badges_within_its_window_and_agrees_with_the_whole_history() {
    let o = org().await;
    o.records(october_deals()).await;
    let has = |badges: &[(String, String)], id: &str, at: &str| badges.contains(&(id.into(), at.into()));
    // A second hat-trick for r1 on 20 October: the one of 5 October stays, earned before this change.
    o.records(json!([
        deal("e1", "r1", 10.0, "won", Some("2026-10-20T09:00:00Z")),
        deal("e2", "r1", 10.0, "won", Some("2026-10-20T10:00:00Z")),
        deal("e3", "r1", 10.0, "won", Some("2026-10-20T11:00:00Z")),
    ]))
    .await;
    let r1 = o.badges("r1").await;
    assert!(has(&r1, "hat_trick", "2026-10-05T15:00:00Z"), "{r1:?}");
    assert!(has(&r1, "deal_of_the_month", "2026-11-01T00:00:00Z"), "d2 (1,000) is October's largest: {r1:?}");

    // d2 was lost after all: 5 October has two wins left, so the hat-trick moves to
    // 20 October, after the change's span; October's largest deal is now r2's d5 (500).
    o.records(json!([deal("d2", "r1", 1000.0, "lost", Some("2026-10-05T12:00:00Z"))])).await;
    let r1 = o.badges("r1").await;
    assert!(has(&r1, "hat_trick", "2026-10-20T11:00:00Z"), "{r1:?}");
    assert!(!r1.iter().any(|(id, _)| id == "deal_of_the_month"), "{r1:?}");
    assert!(has(&o.badges("r2").await, "deal_of_the_month", "2026-11-01T00:00:00Z"));

    // A deal at the very instant October closed: r2's award, dated that instant, rests on
    // October, which this change did not touch; it stays. November's largest is r3's.
    o.records(json!([deal("n1", "r3", 5.0, "won", Some("2026-11-01T00:00:00Z"))])).await;
    assert!(has(&o.badges("r2").await, "deal_of_the_month", "2026-11-01T00:00:00Z"));
    let r3 = o.badges("r3").await;
    assert!(has(&r3, "first_win", "2026-11-01T00:00:00Z"), "{r3:?}");
    assert!(has(&r3, "deal_of_the_month", "2026-12-01T00:00:00Z"), "{r3:?}");

    // What the windows left is what the whole history gives.
    let awards = || async {
        sqlx::query_as::<_, (String, String, chrono::DateTime<chrono::Utc>, String)>(
            "SELECT user_id, badge, earned_at, records::text FROM badge_awards ORDER BY user_id, badge COLLATE \"C\"",
        )
        .fetch_all(&o.app.pool)
        .await
        .unwrap()
    };
    let incremental = awards().await;
    let held: Vec<(&str, &str)> = incremental.iter().map(|a| (a.0.as_str(), a.1.as_str())).collect();
    // r3 also came back: bottom half in October (no revenue), top three in November.
    assert_eq!(
        held,
        [
            ("r1", "first_win"),
            ("r1", "hat_trick"),
            ("r2", "deal_of_the_month"),
            ("r2", "first_win"),
            ("r3", "comeback"),
            ("r3", "deal_of_the_month"),
            ("r3", "first_win"),
        ]
    );
    assert_eq!(store::badges::evaluate(&o.app.pool).await.unwrap(), 0);
    assert_eq!(awards().await, incremental);
}

#[tokio::test]
async fn challenge_drafts_are_hidden_from_reps_and_winners_get_a_badge_when_it_ends() {
    let o = org().await;
    o.records(october_deals()).await;
    let top_revenue = json!({"name": "Октябрьский спринт", "kind": "top_n", "top_n": 1, "basis": "revenue",
        "starts_at": "2026-10-01T00:00:00Z", "ends_at": "2026-11-01T00:00:00Z",
        "participants": ["r1", "r2"], "prize": "Ужин"});
    let (status, res) = o.post(&o.manager, "/api/v1/challenges", top_revenue.clone()).await;
    assert_eq!(status, 200, "{res}");
    let id = res["id"].as_i64().unwrap();

    // A draft: the manager checks the scoring, reps see nothing, and it does not finish.
    let (_, seen) = o.get(&o.manager, &format!("/api/v1/challenges/{id}")).await;
    assert_eq!(seen["challenge"]["status"], "draft");
    let standings: Vec<(i64, &str, f64, bool)> = seen["standings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["rank"].as_i64().unwrap(),
                s["id"].as_str().unwrap(),
                s["value"].as_f64().unwrap(),
                s["winning"].as_bool().unwrap(),
            )
        })
        .collect();
    // r1: 250.50 + 1000 + 99.99 = 1350.49; r2: 500.
    assert_eq!(standings, vec![(1, "r1", 1350.49, true), (2, "r2", 500.0, false)]);
    assert_eq!(o.get(&o.rep, &format!("/api/v1/challenges/{id}")).await.0, 404);
    let (_, list) = o.get(&o.rep, "/api/v1/challenges").await;
    assert_eq!(list["challenges"], json!([]));
    assert!(!o.badges("r1").await.iter().any(|(b, _)| b.starts_with("challenge:")));

    // Launched after its end: it finishes at once, and its winner gets the badge dated at the end.
    assert_eq!(o.post(&o.rep, &format!("/api/v1/challenges/{id}/launch"), json!({})).await.0, 403);
    assert_eq!(o.post(&o.manager, &format!("/api/v1/challenges/{id}/launch"), json!({})).await.0, 200);
    let (_, seen) = o.get(&o.rep, &format!("/api/v1/challenges/{id}")).await;
    assert_eq!(seen["challenge"]["status"], "finished");
    assert_eq!(seen["challenge"]["winners"], json!(["r1"]));
    assert!(o.badges("r1").await.contains(&(format!("challenge:{id}"), "2026-11-01T00:00:00Z".into())));
    assert!(!o.badges("r2").await.iter().any(|(b, _)| b.starts_with("challenge:")));

    // Team vs team on revenue: t1 (1350.49 + 500) beats t2 (0); every t1 rep wins.
    let (status, res) = o
        .post(
            &o.admin,
            "/api/v1/challenges",
            json!({"name": "T1 vs T2", "kind": "team_vs_team", "basis": "revenue",
            "starts_at": "2026-10-01T00:00:00Z", "ends_at": "2026-11-01T00:00:00Z", "participants": ["t1", "t2"],
            "launch": true}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    let team_id = res["id"].as_i64().unwrap();
    assert!(o.badges("r2").await.contains(&(format!("challenge:{team_id}"), "2026-11-01T00:00:00Z".into())));
    assert!(!o.badges("r3").await.iter().any(|(b, _)| b.starts_with("challenge:")));

    // A manager may enter only their own team's reps; a race needs its target.
    let mut other = top_revenue.clone();
    other["participants"] = json!(["r1", "r3"]);
    assert_eq!(o.post(&o.manager, "/api/v1/challenges", other).await.0, 403);
    let mut race = top_revenue;
    race["kind"] = json!("race");
    let (status, res) = o.post(&o.manager, "/api/v1/challenges", race).await;
    assert_eq!((status, res["message"].as_str().unwrap()), (400, "A race needs the target to reach."));
}

#[tokio::test]
async fn neighbours_view_and_anonymised_names() {
    let o = org().await;
    o.records(october_deals()).await;
    // Seven more reps, each with one October win, so that Анна (r1, 1350.49) ranks 7th of 10.
    let mut more = Vec::new();
    for (id, name, amount) in [
        ("r4", "Глеб Орлов", 9000.0),
        ("r5", "Дина", 8000.0),
        ("r6", "Егор", 7000.0),
        ("r7", "Жанна", 6000.0),
        ("r8", "Зоя", 5000.0),
        ("r9", "Илья", 4000.0),
        ("r10", "Кира", 1000.0),
    ] {
        more.push(json!({"kind": "user", "id": id, "name": name, "email": format!("{id}@example.com"), "role": "rep",
                         "team": "t2"}));
        more.push(deal(&format!("w-{id}"), id, amount, "won", Some("2026-10-12T10:00:00Z")));
    }
    o.records(Value::Array(more)).await;

    let (status, res) = o.get(&o.rep, "/api/v1/leaderboard?by=revenue&period=2026-10").await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(
        rows(&res),
        vec![
            (1, "r4", 9000.0),
            (2, "r5", 8000.0),
            (3, "r6", 7000.0),
            (4, "r7", 6000.0),
            (5, "r8", 5000.0),
            (6, "r9", 4000.0),
            (7, "r1", 1350.49),
            (8, "r10", 1000.0),
            (9, "r2", 500.0),
            (10, "r3", 0.0),
        ]
    );
    // r1's view: the top 3, then ranks 5 to 9 (two either side of their 7th); 4th and 10th are left out.
    let (status, res) = o.get(&o.rep, "/api/v1/leaderboard?by=revenue&period=2026-10&view=neighbours").await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(
        rows(&res),
        vec![
            (1, "r4", 9000.0),
            (2, "r5", 8000.0),
            (3, "r6", 7000.0),
            (5, "r8", 5000.0),
            (6, "r9", 4000.0),
            (7, "r1", 1350.49),
            (8, "r10", 1000.0),
            (9, "r2", 500.0),
        ]
    );

    let (status, res) = o.get(&o.rep, "/api/v1/leaderboard?by=revenue&period=2026-10&names=initials").await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["entries"][0]["user"], json!({"id": null, "name": "Г. О."}));
    let (status, res) = o.get(&o.rep, "/api/v1/leaderboard?by=revenue&period=2026-10&names=none").await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["entries"][1]["user"], json!({"id": null, "name": "#2"}));
}

#[tokio::test]
async fn anti_gaming_flags_show_late_and_undone_wins_and_activity_spikes_with_their_records() {
    let o = org().await;
    let (now, _) = just_now();
    let mut records = vec![
        // Closed in October, logged now: after its month closed.
        deal("late", "r1", 100.0, "won", Some("2026-10-05T10:00:00Z")),
        deal("flip", "r1", 100.0, "won", Some(&now.to_rfc3339())),
    ];
    // r2: one activity a day on 1–28 October, then 20 on the 29th (mean 1 a day before it).
    for day in 1..=28 {
        records.push(json!({"kind": "activity", "id": format!("a{day}"), "owner": "r2", "activity_type": "call",
                            "at": format!("2026-10-{day:02}T09:00:00Z")}));
    }
    for n in 0..20 {
        records.push(json!({"kind": "activity", "id": format!("s{n}"), "owner": "r2", "activity_type": "call",
                            "at": format!("2026-10-29T{:02}:00:00Z", n % 20)}));
    }
    o.records(Value::Array(records)).await;
    // Won, then lost within the week.
    o.records(json!([deal("flip", "r1", 100.0, "lost", Some(&now.to_rfc3339()))])).await;

    let (status, res) = o.get(&o.manager, "/api/v1/flags").await;
    assert_eq!(status, 200, "{res}");
    let mut flags: Vec<(String, String, usize)> = res["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().into(),
                f["user_id"].as_str().unwrap().into(),
                f["records"].as_array().unwrap().len(),
            )
        })
        .collect();
    flags.sort();
    assert_eq!(
        flags,
        vec![
            ("activity_spike".into(), "r2".into(), 20),
            ("late_record".into(), "r1".into(), 1),
            ("won_then_undone".into(), "r1".into(), 1),
        ]
    );
    assert_eq!(o.get(&o.rep, "/api/v1/flags").await.0, 403);
    assert_eq!(o.get(&o.manager, "/api/v1/flags?team=t2").await.0, 403);
}

#[tokio::test]
async fn the_team_report_csv_lists_each_kpi_per_rep_and_for_the_team() {
    let o = org().await;
    o.records(october_deals()).await;
    let res = o
        .app
        .client
        .put(o.app.url("/api/v1/targets"))
        .bearer_auth(&o.manager)
        .json(&json!({"kpi": "revenue", "scope": "rep:r1", "period": "2026-10", "value": 1000}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    crate::auth::sign_in(&o.app, "boss@example.com", crate::helpers::PASSWORD).await;
    // In English: commas and decimal points (the Russian convention is `report::the_csv_download_*`).
    let english = |path: &str| o.app.client.get(o.app.url(path)).header("accept-language", "en").send();
    let res = english("/team/report.csv?period=2026-10").await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let bytes = res.bytes().await.unwrap();
    assert!(bytes.starts_with("\u{feff}".as_bytes()), "a UTF-8 byte-order mark for Excel");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("scope,name,period,kpi,kpi_name,value,target,attainment_percent"));
    let revenue: Vec<&str> = text.lines().filter(|l| l.contains(",revenue,")).collect();
    // The team (250.50 + 1000 + 99.99 + 500), then Анна (1350.49 of a 1000 target) and Борис (500).
    assert_eq!(revenue.len(), 3);
    // Money to the cent, attainment (135.049 %) to one decimal.
    assert_eq!(revenue[0], "team:t1,(team),2026-10,revenue,Revenue,1850.49,,");
    assert_eq!(revenue[1], "r1,Анна,2026-10,revenue,Revenue,1350.49,1000.00,135.0");
    assert_eq!(revenue[2], "r2,Борис,2026-10,revenue,Revenue,500.00,,");
    // A manager exports only their own team.
    let res = o.app.client.get(o.app.url("/team/report.csv?team=t2&period=2026-10")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    // A name a CRM sent as a formula reaches the spreadsheet as text; the file name is plain.
    let evil = json!([{"kind": "user", "id": "r9", "name": "=HYPERLINK(\"http://evil.example\")",
                       "email": "r9@example.com", "role": "rep", "team": "t1"}]);
    assert_eq!(o.app.post_records(&o.admin, &evil).await.0, 200);
    let res = english("/team/report.csv?period=2026-10").await.unwrap();
    assert_eq!(res.headers()["content-disposition"], "attachment; filename=\"team-t1-2026-10.csv\"");
    let text = res.text().await.unwrap();
    let r9 = text.lines().find(|l| l.starts_with("r9,") && l.contains(",revenue,")).expect("r9's revenue row");
    assert_eq!(r9, "r9,\"'=HYPERLINK(\"\"http://evil.example\"\")\",2026-10,revenue,Revenue,0.00,,");
}
