//! The KPI engine through the API, against a small fixture worked out by hand
//! (period 2026-10 in UTC; asof = the period's end, 2026-11-01T00:00:00Z).

use crate::helpers::TestApp;
use app::auth::Role;
use serde_json::{json, Value};

pub fn fixture() -> Value {
    let t = |id: &str, region: &str| json!({"kind": "team", "id": id, "name": id.to_uppercase(), "region": region});
    let u = |id: &str, name: &str, role: &str, team: &str| json!({"kind": "user", "id": id, "name": name, "email": format!("{id}@example.com"), "role": role, "team": team});
    let c = |id: &str, owner: &str, region: &str, acquired: &str, churned: Option<&str>| json!({"kind": "customer", "id": id, "name": id, "region": region, "owner": owner, "acquired_at": acquired, "churned_at": churned});
    let deal = |id: &str, owner: &str, amount: f64, status: &str, created: &str, closed: Option<&str>, extra: Value| {
        let mut d = json!({"kind": "deal", "id": id, "owner": owner, "amount": amount, "status": status, "created_at": created});
        if let Some(closed) = closed {
            d["closed_at"] = json!(closed);
        }
        for (k, v) in extra.as_object().unwrap() {
            d[k] = v.clone();
        }
        d
    };
    let activity = |id: &str, owner: &str, at: &str, customer: Option<&str>| json!({"kind": "activity", "id": id, "owner": owner, "activity_type": "call", "at": at, "customer": customer});
    let meeting = |id: &str, owner: &str, at: &str, outcome: &str| json!({"kind": "meeting_request", "id": id, "owner": owner, "proposed_at": at, "outcome": outcome});
    let cost = |id: &str, at: &str, category: &str, amount: f64, team: Option<&str>| json!({"kind": "cost", "id": id, "at": at, "category": category, "amount": amount, "team": team});
    json!([
        t("t1", "North"), t("t2", "South"),
        u("r1", "Анна", "rep", "t1"), u("r2", "Борис", "rep", "t1"), u("r3", "Вера", "rep", "t2"), u("m1", "Мила", "manager", "t1"),
        {"kind": "product", "id": "p1", "name": "CRM", "price": 100},
        {"kind": "product", "id": "p2", "name": "Support", "price": 50},
        c("c1", "r1", "East", "2026-09-01T00:00:00Z", None),
        // Churned exactly at asof: still active at asof.
        c("c2", "r1", "North", "2026-10-10T00:00:00Z", Some("2026-11-01T00:00:00Z")),
        c("c3", "r2", "North", "2026-08-01T00:00:00Z", Some("2026-10-15T00:00:00Z")),
        c("c4", "r3", "South", "2026-10-20T00:00:00Z", None),
        deal("d1", "r1", 1000.10, "won", "2026-09-20T00:00:00Z", Some("2026-10-05T00:00:00Z"), json!({"product": "p1", "customer": "c1"})),
        // 2026-10-31T23:00-01:00 is 2026-11-01T00:00Z: November, and active at asof.
        deal("d2", "r1", 500.0, "won", "2026-10-01T00:00:00Z", Some("2026-10-31T23:00:00-01:00"), json!({"product": "p2", "customer": "c1", "deal_type": "upsell"})),
        deal("d3", "r1", 300.0, "lost", "2026-10-02T00:00:00Z", Some("2026-10-12T00:00:00Z"), json!({})),
        deal("d4", "r1", 700.0, "open", "2026-10-25T00:00:00Z", None, json!({})),
        // 2026-10-01T02:00+03:00 is 2026-09-30T23:00Z: September.
        deal("d5", "r1", 200.0, "won", "2026-09-11T00:00:00Z", Some("2026-10-01T02:00:00+03:00"), json!({"customer": "c2", "deal_type": "cross_sell"})),
        deal("d6", "r2", 400.0, "won", "2026-10-03T00:00:00Z", Some("2026-10-14T00:00:00Z"), json!({"product": "p1", "customer": "c3"})),
        deal("d7", "r2", 100.0, "won", "2026-10-04T00:00:00Z", Some("2026-11-01T00:00:00Z"), json!({})),
        deal("d8", "r3", 50.0, "lost", "2026-09-01T00:00:00Z", Some("2026-10-03T00:00:00Z"), json!({})),
        deal("d9", "r3", 250.0, "won", "2026-10-20T00:00:00Z", Some("2026-10-21T10:00:00+03:00"), json!({"product": "p2", "customer": "c4"})),
        {"kind": "lead", "id": "l1", "owner": "r1", "created_at": "2026-10-02T00:00:00Z", "cost": 100, "source": "ads",
         "qualified_at": "2026-10-03T00:00:00Z", "first_contact_at": "2026-10-02T00:30:00Z", "followed_up_at": "2026-10-04T00:00:00Z",
         "converted_at": "2026-10-10T00:00:00Z", "customer": "c2"},
        {"kind": "lead", "id": "l2", "owner": "r1", "created_at": "2026-10-05T00:00:00Z", "cost": 50,
         "first_contact_at": "2026-10-05T01:30:00Z", "qualified_at": "2026-10-06T00:00:00Z"},
        {"kind": "lead", "id": "l3", "owner": "r2", "created_at": "2026-10-08T00:00:00Z",
         "first_contact_at": "2026-10-08T00:10:00Z", "followed_up_at": "2026-11-02T00:00:00Z", "converted_at": "2026-11-03T00:00:00Z"},
        {"kind": "lead", "id": "l4", "owner": "r3", "created_at": "2026-10-20T00:00:00Z", "first_contact_at": "2026-11-05T00:00:00Z",
         "qualified_at": "2026-09-28T00:00:00Z", "converted_at": "2026-10-21T00:00:00Z", "cost": 30},
        {"kind": "lead", "id": "l5", "owner": "r3", "created_at": "2026-09-25T00:00:00Z", "first_contact_at": "2026-09-25T01:00:00Z",
         "qualified_at": "2026-10-01T00:00:00Z", "followed_up_at": "2026-10-03T00:00:00Z", "converted_at": "2026-10-02T00:00:00Z"},
        activity("a1", "r1", "2026-10-05T00:00:00Z", Some("c1")),
        {"kind": "activity", "id": "a2", "owner": "r1", "activity_type": "email", "at": "2026-10-06T00:00:00Z", "lead": "l1"},
        activity("a3", "r2", "2026-10-07T00:00:00Z", Some("c3")),
        activity("a4", "r3", "2026-09-30T23:59:59Z", Some("c4")),
        activity("a5", "r3", "2026-10-31T23:59:59Z", Some("c4")),
        meeting("mr1", "r1", "2026-10-03T00:00:00Z", "accepted"),
        meeting("mr2", "r1", "2026-10-04T00:00:00Z", "declined"),
        meeting("mr3", "r2", "2026-10-05T00:00:00Z", "pending"),
        meeting("mr4", "r3", "2026-11-01T00:00:00Z", "accepted"),
        {"kind": "feedback", "id": "f1", "owner": "r1", "at": "2026-10-05T00:00:00Z", "sentiment": "positive"},
        {"kind": "feedback", "id": "f2", "customer": "c3", "at": "2026-10-06T00:00:00Z", "sentiment": "negative"},
        {"kind": "feedback", "id": "f3", "at": "2026-10-07T00:00:00Z", "sentiment": "positive"},
        {"kind": "feedback", "id": "f4", "owner": "r3", "at": "2026-10-08T00:00:00Z", "sentiment": "neutral"},
        cost("k1", "2026-10-01", "marketing", 600.0, Some("t1")),
        cost("k2", "2026-10-15", "sales", 400.0, None),
        cost("k3", "2026-09-30", "marketing", 1000.0, Some("t2")),
        cost("k4", "2026-10-31", "marketing", 300.0, Some("t2")),
        {"kind": "competitor_price", "id": "cp1", "competitor": "A", "product": "p1", "price": 110, "at": "2026-10-05T00:00:00Z"},
        {"kind": "competitor_price", "id": "cp2", "competitor": "B", "product": "p1", "price": 90, "at": "2026-10-06T00:00:00Z"},
        {"kind": "competitor_price", "id": "cp3", "competitor": "A", "product": "p2", "price": 40, "at": "2026-10-07T00:00:00Z"},
        {"kind": "competitor_price", "id": "cp4", "competitor": "A", "product": "p2", "price": 1000, "at": "2026-09-01T00:00:00Z"},
    ])
}

async fn setup() -> (TestApp, String) {
    let app = TestApp::spawn().await;
    let token = app.sync_token().await;
    let (status, body) = app.post_records(&token, &fixture()).await;
    assert_eq!(status, 200, "{body}");
    (app, token)
}

async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    let res = app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

/// A leaderboard's (rank, user id, value) rows.
fn ranks(body: &Value) -> Vec<(u64, &str, f64)> {
    body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["rank"].as_u64().unwrap(), e["user"]["id"].as_str().unwrap(), e["value"].as_f64().unwrap()))
        .collect()
}

/// The KPI entries of a card, by id.
async fn card(app: &TestApp, token: &str, scope: &str) -> std::collections::HashMap<String, Value> {
    let (status, body) = get(app, token, &format!("/api/v1/kpis?scope={scope}&period=2026-10")).await;
    assert_eq!(status, 200, "{body}");
    body["kpis"].as_array().unwrap().iter().map(|k| (k["id"].as_str().unwrap().to_string(), k.clone())).collect()
}

fn close(kpis: &std::collections::HashMap<String, Value>, id: &str, expected: f64) {
    let got = kpis[id]["value"].as_f64().unwrap_or_else(|| panic!("{id} is null"));
    assert!((got - expected).abs() < 1e-9, "{id}: got {got}, expected {expected}");
}

#[tokio::test]
async fn the_org_card_matches_the_hand_worked_values() {
    let (app, token) = setup().await;
    let (_, body) = get(&app, &token, "/api/v1/kpis?scope=org&period=2026-10").await;
    assert_eq!(body["scope"], "org");
    assert_eq!(body["period"], json!({"start": "2026-10-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"}));
    let k = card(&app, &token, "org").await;
    assert_eq!(k.len(), 24);
    close(&k, "active_deals", 3.0); // d4 open; d2 and d7 closed exactly at asof
    close(&k, "avg_deal_size", 1650.10 / 3.0);
    close(&k, "win_rate", 60.0); // won d1 d6 d9, lost d3 d8
    close(&k, "cac", 650.0); // (600 + 400 + 300) / 2 customers acquired (c2, c4)
    close(&k, "revenue_by_product", 1650.1);
    assert_eq!(k["revenue_by_product"]["breakdown"], json!({"p1": 1400.1, "p2": 250.0}));
    close(&k, "cost_per_lead", 225.0); // 900 marketing / 4 leads created
    close(&k, "acquisition_cost", 130.0 / 3.0); // l1 100, l4 30, l5 missing = 0
    close(&k, "competitor_price_index", 112.5); // p1 100 %, p2 125 %
    assert_eq!(k["competitor_price_index"]["breakdown"], json!({"p1": 100.0, "p2": 125.0}));
    assert_eq!(k["competitor_price_index"]["better"], "none");
    close(&k, "sales_by_region", 1650.1);
    assert_eq!(k["sales_by_region"]["breakdown"], json!({"East": 1000.1, "North": 400.0, "South": 250.0}));
    close(&k, "new_opportunities", 6.0); // d2 d3 d4 d6 d7 d9
    close(&k, "customer_engagement", 1.0); // a1 a3 a5 name customers / c1 c2 c4 active at asof
    close(&k, "upsell_rate", 0.0); // no upsell won in October, 3 new won
    close(&k, "qualified_lead_conversion", 200.0 / 3.0); // l1 l2 l5 qualified; l1 l5 converted
    close(&k, "customer_acquisition_rate", 50.0); // l1 l4 of l1..l4
    close(&k, "response_time", 30.0); // median of 10, 30, 90
    close(&k, "positive_feedback_rate", 50.0);
    assert_eq!(k["positive_feedback_rate"]["negative_share"], 25.0);
    close(&k, "lead_follow_up_rate", 100.0 / 3.0); // l1 of l1 l2 l3
    close(&k, "meeting_acceptance_rate", 100.0 / 3.0);
    close(&k, "touchpoints", 4.0);
    close(&k, "won_lost_ratio", 1.5);
    close(&k, "avg_customer_lifetime", 42.5); // (61 + 22 + 75 + 12) / 4 days
    close(&k, "retention_rate", 50.0); // c1 c3 active at start; c1 at asof
    close(&k, "revenue_per_customer", 1650.10 / 3.0);
    close(&k, "revenue", 1650.1);
    assert!(k.values().all(|e| e.get("target").is_some() && e.get("attainment").is_some()));
}

#[tokio::test]
async fn a_rep_card_has_the_rep_kpis_and_an_even_count_median() {
    let (app, token) = setup().await;
    let k = card(&app, &token, "rep:r1").await;
    assert_eq!(k.len(), 21, "no cac, cost_per_lead or competitor_price_index for a rep");
    assert!(!k.contains_key("cac"));
    close(&k, "revenue", 1000.1);
    close(&k, "win_rate", 50.0);
    close(&k, "active_deals", 2.0); // d4, d2
    close(&k, "response_time", 60.0); // mean of the middle two of 30, 90

    // d1 (new) is r1's only October win: d2 (upsell) closes at November's first instant, d5
    // (cross-sell) at 30 Sep 23:00Z. 0 of 1 × 100.
    close(&k, "upsell_rate", 0.0);
    // September to November holds all three: d2 and d5 against d1, 2 / 1 × 100.
    let (status, body) =
        get(&app, &token, "/api/v1/kpis?scope=rep:r1&from=2026-09-01T00:00:00Z&to=2026-12-01T00:00:00Z").await;
    assert_eq!(status, 200, "{body}");
    let upsell = body["kpis"].as_array().unwrap().iter().find(|kpi| kpi["id"] == "upsell_rate").unwrap();
    assert_eq!(upsell["value"], 200.0);
    let empty = card(&app, &token, "rep:m1").await;
    assert_eq!(empty["win_rate"]["value"], Value::Null, "no deals: null, not 0");
    assert_eq!(empty["upsell_rate"]["value"], Value::Null, "no new deal won to divide by");
    assert_eq!(empty["revenue"]["value"], 0.0);
}

#[tokio::test]
async fn team_and_region_scopes_count_their_members_records() {
    let (app, token) = setup().await;
    let t1 = card(&app, &token, "team:t1").await;
    assert_eq!(t1.len(), 23);
    close(&t1, "revenue", 1400.1); // r1 1000.10 + r2 400
    close(&t1, "cac", 600.0); // t1's cost k1 / c2
    close(&t1, "cost_per_lead", 200.0); // 600 / l1 l2 l3
    close(&t1, "positive_feedback_rate", 50.0); // f1 (r1), f2 (c3's owner r2)
    assert_eq!(t1["positive_feedback_rate"]["negative_share"], 50.0); // f2
    assert!(t1.values().filter(|k| k.get("negative_share").is_some()).count() == 1, "beside that KPI only");
    // No feedback in 2025-10: the share is there, and null.
    let (_, body) = get(&app, &token, "/api/v1/kpis?scope=team:t1&period=2025-10").await;
    let feedback = body["kpis"].as_array().unwrap().iter().find(|k| k["id"] == "positive_feedback_rate").unwrap();
    assert_eq!((&feedback["value"], feedback.get("negative_share")), (&Value::Null, Some(&Value::Null)));
    let south = card(&app, &token, "region:South").await;
    assert_eq!(south.len(), 21);
    close(&south, "revenue", 250.0);
    let (status, body) = get(&app, &token, "/api/v1/kpis?scope=team:nope&period=2026-10").await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn custom_ranges_and_bad_periods() {
    let (app, token) = setup().await;
    let (status, body) =
        get(&app, &token, "/api/v1/kpis?scope=org&from=2026-10-05T00:00:00%2B03:00&to=2026-10-06T00:00:00Z").await;
    assert_eq!(status, 200, "{body}");
    let revenue = body["kpis"].as_array().unwrap().iter().find(|k| k["id"] == "revenue").unwrap().clone();
    assert_eq!(revenue["value"], 1000.1, "d1 closed 2026-10-05T00:00Z is inside [10-04T21:00Z, 10-06)");
    assert_eq!(revenue["target"], Value::Null);
    let (status, _) = get(&app, &token, "/api/v1/kpis?scope=org&period=2026-13").await;
    assert_eq!(status, 400);
    // A custom range spans at most five years (1,827 days): one day more is 400, naming the limit.
    for path in ["/api/v1/kpis?scope=org&", "/api/v1/leaderboard?by=revenue&"] {
        let ok = format!("{path}from=2021-10-01T00:00:00Z&to=2026-10-02T00:00:00Z");
        let (status, body) = get(&app, &token, &ok).await;
        assert_eq!(status, 200, "{ok}: {body}");
        let (status, body) =
            get(&app, &token, &format!("{path}from=1900-01-01T00:00:00Z&to=2100-01-01T00:00:00Z")).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["message"], "a custom range may span at most 5 years (1827 days); ask for several");
    }
}

/// Ranking by sales_by_region reads only the breakdown's total (won revenue less
/// the deals with no region); it must agree with the breakdown itself.
#[tokio::test]
async fn ranking_by_a_breakdown_counts_only_deals_that_have_its_label() {
    let (app, token) = setup().await;
    let more = json!([
        {"kind": "user", "id": "r4", "name": "Глеб", "email": "r4@example.com", "role": "rep"},
        // No customer and no team: no region, so not in sales_by_region (but in revenue).
        {"kind": "deal", "id": "d10", "owner": "r4", "amount": 300, "status": "won",
         "created_at": "2026-10-01T00:00:00Z", "closed_at": "2026-10-09T00:00:00Z"},
        // Its customer's region counts, team or not.
        {"kind": "deal", "id": "d11", "owner": "r4", "amount": 120, "status": "won", "customer": "c1",
         "created_at": "2026-10-01T00:00:00Z", "closed_at": "2026-10-10T00:00:00Z"},
    ]);
    assert_eq!(app.post_records(&token, &more).await.0, 200);
    let (status, body) = get(&app, &token, "/api/v1/leaderboard?period=2026-10&by=sales_by_region").await;
    assert_eq!(status, 200, "{body}");
    let by_region = ranks(&body);
    // r1: d1 1000.10 (East); r2: d6 400 (North; d7 closes in November); r3: d9 250; r4: d11 120 only.
    assert_eq!(by_region, vec![(1, "r1", 1000.1), (2, "r2", 400.0), (3, "r3", 250.0), (4, "r4", 120.0)]);
    let (_, body) = get(&app, &token, "/api/v1/kpis?scope=rep:r4&period=2026-10").await;
    let kpi = |id: &str| body["kpis"].as_array().unwrap().iter().find(|k| k["id"] == id).unwrap().clone();
    assert_eq!(kpi("sales_by_region")["value"], 120.0);
    assert_eq!(kpi("sales_by_region")["breakdown"], json!({"East": 120.0}));
    assert_eq!(kpi("revenue")["value"], 420.0);
    // By product: d10 and d11 name none, so r4 has 0; r1's d5 (no product) is left out too.
    let (status, body) = get(&app, &token, "/api/v1/leaderboard?period=2026-10&by=revenue_by_product").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ranks(&body), vec![(1, "r1", 1000.1), (2, "r2", 400.0), (3, "r3", 250.0), (4, "r4", 0.0)]);
}

#[tokio::test]
async fn leaderboards_rank_with_ties_direction_and_nulls_last() {
    let (app, token) = setup().await;
    let (status, body) = get(&app, &token, "/api/v1/leaderboard?period=2026-10&by=revenue&scope=org").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"by": "revenue", "entries": [
            {"rank": 1, "user": {"id": "r1", "name": "Анна"}, "value": 1000.1},
            {"rank": 2, "user": {"id": "r2", "name": "Борис"}, "value": 400.0},
            {"rank": 3, "user": {"id": "r3", "name": "Вера"}, "value": 250.0}]})
    );
    let (_, body) = get(&app, &token, "/api/v1/leaderboard?period=2026-10&by=win_rate").await;
    let ranks = ranks(&body);
    assert_eq!(ranks, vec![(1, "r2", 100.0), (2, "r1", 50.0), (2, "r3", 50.0)]);
    // Lower is better, and a rep with nothing to measure comes last with null.
    let (_, body) = get(&app, &token, "/api/v1/leaderboard?period=2026-10&by=response_time").await;
    assert_eq!(body["entries"][0]["user"]["id"], "r2");
    assert_eq!(body["entries"][0]["value"], 10.0);
    assert_eq!(body["entries"][1]["value"], 60.0);
    assert_eq!(body["entries"][2], json!({"rank": 3, "user": {"id": "r3", "name": "Вера"}, "value": null}));
    let (_, body) = get(&app, &token, "/api/v1/leaderboard?period=2026-10&by=revenue&scope=team:t1").await;
    assert_eq!(body["entries"].as_array().unwrap().len(), 2, "only t1's reps, not its manager");
    let (status, _) = get(&app, &token, "/api/v1/leaderboard?period=2026-10&by=cac").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_won_deal_resent_as_lost_leaves_the_revenue() {
    let (app, token) = setup().await;
    let lost = json!([{"kind": "deal", "id": "d1", "owner": "r1", "amount": 1000.10, "status": "lost",
                       "created_at": "2026-09-20T00:00:00Z", "closed_at": "2026-10-05T00:00:00Z"}]);
    assert_eq!(app.post_records(&token, &lost).await.0, 200);
    let k = card(&app, &token, "org").await;
    close(&k, "revenue", 650.0);
    close(&k, "win_rate", 40.0);
}

#[tokio::test]
async fn targets_give_attainment_and_follow_the_permission_rules() {
    let (app, admin_like) = setup().await;
    let manager = app.user_with_token("lead@example.com", "Team lead", Role::Manager, Some("t1")).await;
    let rep = app.user_with_token("rep@example.com", "Rep", Role::Rep, Some("t1")).await;
    let put = |token: String, body: Value| {
        let app = &app;
        async move {
            let res = app.client.put(app.url("/api/v1/targets")).bearer_auth(token).json(&body).send().await.unwrap();
            res.status().as_u16()
        }
    };
    let target =
        |kpi: &str, scope: &str, value: f64| json!({"kpi": kpi, "scope": scope, "period": "2026-10", "value": value});
    assert_eq!(put(manager.clone(), target("revenue", "team:t1", 2000.0)).await, 200);
    assert_eq!(put(manager.clone(), target("response_time", "team:t1", 20.0)).await, 200);
    assert_eq!(put(manager.clone(), target("revenue", "rep:r1", 500.0)).await, 200);
    assert_eq!(put(manager.clone(), target("revenue", "team:t2", 1.0)).await, 403);
    assert_eq!(put(manager.clone(), target("revenue", "rep:r3", 1.0)).await, 403);
    assert_eq!(put(manager.clone(), target("revenue", "org", 1.0)).await, 403);
    assert_eq!(put(rep, target("revenue", "rep:r1", 1.0)).await, 403);
    assert_eq!(put(manager.clone(), target("no_such_kpi", "team:t1", 1.0)).await, 400);
    assert_eq!(
        put(manager.clone(), json!({"kpi": "revenue", "scope": "team:t1", "period": "2026-10-05", "value": 1})).await,
        400
    );
    // The token from `setup` is a CRM sync's, an admin's: every team is theirs.
    assert_eq!(put(admin_like, target("revenue", "team:t1", 2000.0)).await, 200);

    let t1 = card(&app, &manager, "team:t1").await;
    assert_eq!(t1["revenue"]["target"], 2000.0);
    close(&t1, "revenue", 1400.1);
    assert!((t1["revenue"]["attainment"].as_f64().unwrap() - 70.005).abs() < 1e-9);
    // Lower is better: target / actual × 100 = 20 / 30 × 100.
    assert!((t1["response_time"]["attainment"].as_f64().unwrap() - 200.0 / 3.0).abs() < 1e-9);
    let r1 = card(&app, &manager, "rep:r1").await;
    assert!((r1["revenue"]["attainment"].as_f64().unwrap() - 200.02).abs() < 1e-9);
    // Setting again replaces.
    assert_eq!(put(manager.clone(), target("revenue", "team:t1", 1400.1)).await, 200);
    let t1 = card(&app, &manager, "team:t1").await;
    assert!((t1["revenue"]["attainment"].as_f64().unwrap() - 100.0).abs() < 1e-9);
}

#[tokio::test]
async fn ranking_by_attainment_levels_large_and_small_targets() {
    let (app, token) = setup().await;
    store::targets::set(&app.pool, "revenue", "rep:r1", "2026-10", 2000.0, "m1").await.unwrap();
    store::targets::set(&app.pool, "revenue", "rep:r2", "2026-10", 400.0, "m1").await.unwrap();
    let (status, body) = get(&app, &token, "/api/v1/leaderboard?period=2026-10&by=revenue&measure=attainment").await;
    assert_eq!(status, 200, "{body}");
    let got: Vec<(u64, &str, Option<f64>)> = body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["rank"].as_u64().unwrap(), e["user"]["id"].as_str().unwrap(), e["value"].as_f64()))
        .collect();
    // r2 reached all of 400; r1 1000.10 of 2000; r3 has no target: null, last.
    assert_eq!(got, vec![(1, "r2", Some(100.0)), (2, "r1", Some(50.005)), (3, "r3", None)]);
    let (status, _) =
        get(&app, &token, "/api/v1/leaderboard?from=2026-10-01T00:00:00Z&to=2026-10-02T00:00:00Z&measure=attainment")
            .await;
    assert_eq!(status, 400);
}

/// A custom range that starts and ends inside days: whole days come from the
/// rollups, the partial ones from the records; asof is the range's end.
#[tokio::test]
async fn a_range_with_partial_days_matches_the_hand_worked_values_and_follows_a_changed_deal() {
    let (app, token) = setup().await;
    let range = "/api/v1/kpis?scope=org&from=2026-10-04T12:00:00Z&to=2026-10-21T09:00:00Z";
    let read = |body: Value| -> std::collections::HashMap<String, Value> {
        body["kpis"].as_array().unwrap().iter().map(|k| (k["id"].as_str().unwrap().to_string(), k.clone())).collect()
    };
    let (status, body) = get(&app, &token, range).await;
    assert_eq!(status, 200, "{body}");
    let k = read(body);
    close(&k, "revenue", 1650.1); // d1 (Oct 5), d6 (Oct 14), d9 (Oct 21 07:00Z, in the partial last day)
    close(&k, "win_rate", 75.0); // lost: d3 only (d8 is Oct 3)
    close(&k, "new_opportunities", 1.0); // d9; d7 was created Oct 4 00:00, before the range
    close(&k, "active_deals", 2.0); // d2 and d7 still open at Oct 21 09:00
    close(&k, "touchpoints", 3.0); // a1 a2 a3
    close(&k, "meeting_acceptance_rate", 0.0); // mr3 pending; mr2 (Oct 4 00:00) is before the range
    close(&k, "positive_feedback_rate", 50.0); // f1 + f3 of f1..f4, f2 belongs to c3's owner
    close(&k, "response_time", 50.0); // l2 90 min, l3 10 min; l4's first contact is after asof
    close(&k, "customer_acquisition_rate", 100.0 / 3.0); // l4 of l2 l3 l4 (l3 converts after asof)
    close(&k, "lead_follow_up_rate", 0.0); // l2 never, l3 after asof
    close(&k, "qualified_lead_conversion", 0.0); // l2
    close(&k, "retention_rate", 50.0); // c1 c3 active at start; c3 churned Oct 15
    close(&k, "avg_customer_lifetime", 138.125 / 4.0); // c1 50.375, c2 11.375, c3 75, c4 1.375 days
    close(&k, "customer_engagement", 2.0 / 3.0); // a1 a3 / c1 c2 c4

    // The same counts when the partial days are read as whole days less their other part
    // (06:00 is nearer its day's start, 20:00 its day's end): d7 and mr2 (Oct 4 00:00) stay out.
    let (status, body) =
        get(&app, &token, "/api/v1/kpis?scope=org&from=2026-10-04T06:00:00Z&to=2026-10-21T20:00:00Z").await;
    assert_eq!(status, 200, "{body}");
    let near = read(body);
    for (id, expected) in [
        ("revenue", 1650.1),
        ("win_rate", 75.0),
        ("new_opportunities", 1.0),
        ("active_deals", 2.0),
        ("touchpoints", 3.0),
        ("meeting_acceptance_rate", 0.0),
    ] {
        close(&near, id, expected);
    }

    // d6 (won Oct 14, a whole day in the rollup) re-sent as lost: the rollup follows the change.
    let d6 = json!([{"kind": "deal", "id": "d6", "owner": "r2", "amount": 400.0, "status": "lost",
        "created_at": "2026-10-03T00:00:00Z", "closed_at": "2026-10-14T00:00:00Z", "product": "p1", "customer": "c3"}]);
    let (status, body) = app.post_records(&token, &d6).await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = get(&app, &token, range).await;
    let k = read(body);
    close(&k, "revenue", 1250.1);
    close(&k, "win_rate", 50.0); // d1 d9 won, d3 d6 lost
    let r2 = card(&app, &token, "rep:r2").await;
    close(&r2, "revenue", 0.0);
    close(&r2, "won_lost_ratio", 0.0); // d6 lost, nothing won in October
}

#[tokio::test]
async fn the_organisations_own_rollups_follow_a_moved_customer_a_moved_deal_and_a_new_time_zone() {
    let (app, token) = setup().await;
    let month = |period: &str| format!("/api/v1/kpis?scope=org&period={period}");
    let read = |body: Value| -> std::collections::HashMap<String, Value> {
        body["kpis"].as_array().unwrap().iter().map(|k| (k["id"].as_str().unwrap().to_string(), k.clone())).collect()
    };
    // c1 moves from East to West: its won deal d1 (October) takes its revenue along.
    let c1 = json!([{"kind": "customer", "id": "c1", "name": "c1", "region": "West", "owner": "r1",
        "acquired_at": "2026-09-01T00:00:00Z"}]);
    assert_eq!(app.post_records(&token, &c1).await.0, 200);
    // d9 (c4, p2, 250) closes on 2 November instead of 21 October.
    let d9 = json!([{"kind": "deal", "id": "d9", "owner": "r3", "amount": 250.0, "status": "won",
        "created_at": "2026-10-20T00:00:00Z", "closed_at": "2026-11-02T00:00:00Z", "product": "p2", "customer": "c4"}]);
    assert_eq!(app.post_records(&token, &d9).await.0, 200);

    let k = read(get(&app, &token, &month("2026-10")).await.1);
    assert_eq!(k["sales_by_region"]["breakdown"], json!({"West": 1000.1, "North": 400.0}));
    assert_eq!(k["revenue_by_product"]["breakdown"], json!({"p1": 1400.1}));
    close(&k, "revenue_per_customer", 1400.1 / 2.0); // d1 (c1) and d6 (c3)
    let k = read(get(&app, &token, &month("2026-11")).await.1);
    // d2 (c1, West), d7 (no customer: r2's team t1, North), d9 (c4, South).
    assert_eq!(k["sales_by_region"]["breakdown"], json!({"West": 500.0, "North": 100.0, "South": 250.0}));
    assert_eq!(k["revenue_by_product"]["breakdown"], json!({"p2": 750.0}));
    close(&k, "revenue_per_customer", 750.0 / 2.0); // d2 (c1) and d9 (c4)

    // Moscow time (+03:00): October is [30 Sep 21:00Z, 31 Oct 21:00Z). d5 (30 Sep 23:00Z) joins it;
    // d2 and d7 (1 Nov 00:00Z) stay in November.
    sqlx::query("UPDATE org_settings SET time_zone = 'Europe/Moscow'").execute(&app.pool).await.unwrap();
    let k = read(get(&app, &token, &month("2026-10")).await.1);
    close(&k, "revenue", 1600.1); // d1, d6, d5
    assert_eq!(k["sales_by_region"]["breakdown"], json!({"West": 1000.1, "North": 600.0}));
    assert_eq!(k["revenue_by_product"]["breakdown"], json!({"p1": 1400.1}));
    close(&k, "revenue_per_customer", 1600.1 / 3.0); // c1, c3, c2
                                                     // l1 30, l2 90, l3 10 minutes (l4 is contacted after asof, l5 created in September).
    close(&k, "response_time", 30.0);
}

/// The text of the element carrying `marker` (an attribute), up to its closing `</p>`.
fn paragraph(html: &str, marker: &str) -> String {
    let from = html.find(marker).unwrap_or_else(|| panic!("`{marker}` in the page: {html}"));
    let rest = &html[from..];
    let inner = &rest[rest.find('>').unwrap() + 1..rest.find("</p>").unwrap()];
    let mut text = String::new();
    let mut in_tag = false;
    for ch in inner.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn the_kpi_card_names_whose_it_is_and_the_period_in_words() {
    let (app, _) = setup().await;
    store::users::set_password(&app.pool, "r1@example.com", crate::helpers::PASSWORD.into()).await.unwrap();
    let anna = crate::admin::browser(&app, "r1@example.com", crate::helpers::PASSWORD).await;
    let page = |path: &'static str, lang: &'static str| {
        let anna = &anna;
        let app = &app;
        async move {
            let res = anna.get(app.url(path)).header("accept-language", lang).send().await.unwrap();
            assert_eq!(res.status(), 200);
            res.text().await.unwrap()
        }
    };
    let html = page("/kpis?scope=rep:r1&period=2026-10", "en").await;
    assert_eq!(paragraph(&html, r#"data-testid="kpi-scope""#), "Анна · October 2026");
    assert!(!html.contains("rep:r1 ·"), "no ids in the subtitle");
    // October 2026 has closed: whole-period figures, no pace, the previous period whole.
    assert!(!html.contains(r#"data-testid="kpi-so-far""#) && !html.contains(r#"data-testid="kpi-pace""#));
    assert!(html.contains("vs previous period"));
    let html = page("/kpis?scope=rep:r1&period=2026-10", "ru").await;
    assert_eq!(paragraph(&html, r#"data-testid="kpi-scope""#), "Анна · октябрь 2026");
    let html = page("/kpis?scope=team:t1&period=2026-Q4", "en").await;
    assert_eq!(paragraph(&html, r#"data-testid="kpi-scope""#), "T1 · Q4 2026");
    let html = page("/kpis?scope=region:North&period=2026", "ru").await;
    assert_eq!(paragraph(&html, r#"data-testid="kpi-scope""#), "Регион: North · 2026");
}

#[tokio::test]
async fn ranking_by_attainment_without_any_target_says_so_instead_of_ranking_everyone_first() {
    let (app, token) = setup().await;
    // Monthly targets only: the year 2026 has none.
    store::targets::set(&app.pool, "revenue", "rep:r1", "2026-10", 2000.0, "m1").await.unwrap();
    let (status, body) = get(&app, &token, "/api/v1/leaderboard?period=2026&by=revenue&measure=attainment").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["entries"], json!([]), "nobody ranked without a target");
    // October has one: the ranking is as before.
    let (_, body) = get(&app, &token, "/api/v1/leaderboard?period=2026-10&by=revenue&measure=attainment").await;
    assert_eq!(body["entries"].as_array().unwrap().len(), 3);

    store::users::set_password(&app.pool, "r1@example.com", crate::helpers::PASSWORD.into()).await.unwrap();
    let anna = crate::admin::browser(&app, "r1@example.com", crate::helpers::PASSWORD).await;
    for (lang, words) in [("en", "No targets set for this period."), ("ru", "На этот период целей не задано.")]
    {
        let res = anna
            .get(app.url("/leaderboard?period=2026&by=revenue&measure=attainment"))
            .header("accept-language", lang)
            .send()
            .await
            .unwrap();
        let html = res.text().await.unwrap();
        assert!(html.contains(r#"data-testid="no-targets""#) && html.contains(words), "{lang}: {html}");
        assert!(!html.contains(r#"data-user="r1""#), "no rows ranked #1 with no value");
    }
}
