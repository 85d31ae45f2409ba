//! Self-logged deals that cannot be gamed (issue 16, item 4): the deal form refuses
//! a win at 0 and a close date in the future and logs one deal per submission;
//! the records API accepts both but flags them; per-unit points skip wins below
//! the rule's minimum (default: more than 0), and so do badges and the TV. Flags
//! a manager resolves (item 14), and the form's answer without JavaScript.

use crate::admin::{browser, call};
use crate::helpers::{TestApp, PASSWORD};
use app::auth::Role;
use serde_json::{json, Value};

struct Org {
    app: TestApp,
    admin: String,
    /// boss@'s API token: the manager of t1.
    manager: String,
}

/// Teams t1 (reps r1, r2; manager boss@) and t2 (rep r3; manager south@), an admin;
/// passwords `PASSWORD`. With `rules`, the default rules are replaced by 10 per won
/// deal and 1 per whole 100 of revenue.
async fn org(rules: bool) -> Org {
    let app = TestApp::spawn().await;
    let admin = app.user_with_token("admin@example.com", "Admin", Role::Admin, None).await;
    assert_eq!(app.post_records(&admin, &crate::helpers::two_teams_three_reps()).await.0, 200);
    for r in ["r1", "r2", "r3"] {
        store::users::set_password(&app.pool, &format!("{r}@example.com"), PASSWORD.into()).await.unwrap();
    }
    let manager = app.user_with_token("boss@example.com", "Мила", Role::Manager, Some("t1")).await;
    app.user_with_token("south@example.com", "Юг", Role::Manager, Some("t2")).await;
    let o = Org { app, admin, manager };
    if rules {
        o.app.without_default_rules(&o.admin).await;
        o.rule(json!({"kind": "per_unit", "basis": "won_deals", "points": 10, "label": "Won deal"})).await;
        o.rule(json!({"kind": "per_unit", "basis": "revenue", "points": 1, "per": 100, "label": "Revenue"})).await;
    }
    o
}

impl Org {
    async fn rule(&self, body: Value) -> i64 {
        let url = self.app.url("/api/v1/points/rules");
        let res = self.app.client.post(url).bearer_auth(&self.admin).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 200);
        res.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
    }

    async fn records(&self, body: Value) {
        let (status, res) = self.app.post_records_scored(&self.admin, &body).await;
        assert_eq!((status, &res["scores"]), (200, &json!("current")), "{res}");
    }

    /// The open flags of t1 about wins dated ahead or at 0, as (kind, deal id), and their JSON.
    /// (Deals of a closed month stored now are also "logged late": not these tests' subject.)
    async fn flags(&self) -> (Vec<(String, String)>, Vec<Value>) {
        let url = self.app.url("/api/v1/flags");
        let res = self.app.client.get(url).bearer_auth(&self.manager).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let mut flags = res.json::<Value>().await.unwrap()["flags"].as_array().unwrap().clone();
        flags.retain(|f| f["kind"] == "zero_win" || f["kind"] == "future_win");
        let mut kinds: Vec<(String, String)> = flags
            .iter()
            .map(|f| (f["kind"].as_str().unwrap().to_string(), f["records"][0]["id"].as_str().unwrap().to_string()))
            .collect();
        kinds.sort();
        (kinds, flags)
    }

    async fn badges(&self, user: &str) -> Vec<(String, Value)> {
        let url = self.app.url(&format!("/api/v1/badges?user={user}"));
        let res = self.app.client.get(url).bearer_auth(&self.admin).send().await.unwrap();
        let body: Value = res.json().await.unwrap();
        body["badges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| (b["id"].as_str().unwrap().into(), b["records"].clone()))
            .collect()
    }
}

fn won(id: &str, owner: &str, amount: f64, closed: &str) -> Value {
    json!({"kind": "deal", "id": id, "owner": owner, "amount": amount, "status": "won",
           "created_at": "2026-09-01T00:00:00Z", "closed_at": closed})
}

/// A second ago on the app's clock, but not before this month began (RFC 3339).
fn just_now() -> String {
    use chrono::Datelike;
    let now = app::clock::now();
    let month_start = chrono::NaiveDate::from_ymd_opt(now.year(), now.month(), 1)
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .expect("the first of a month")
        .and_utc();
    ((now - chrono::Duration::seconds(1)).max(month_start)).to_rfc3339()
}

/// A local `datetime-local` value (the organisation's zone is UTC) `minutes` from now.
fn local_in(minutes: i64) -> String {
    (app::clock::now() + chrono::Duration::minutes(minutes)).format("%Y-%m-%dT%H:%M").to_string()
}

#[tokio::test]
async fn the_form_refuses_a_win_at_zero_and_a_close_date_ahead_in_the_readers_language_and_stores_nothing() {
    let o = org(false).await;
    let app = &o.app;
    let rep = browser(app, "r1@example.com", PASSWORD).await;
    let log = |amount: &'static str, closed_at: String, lang: &'static str| {
        let rep = rep.clone();
        async move {
            let res = rep
                .post(app.url("/api/log_deal"))
                .header("accept-language", lang)
                .form(&[("owner", "r1"), ("amount", amount), ("closed_at", &closed_at), ("deal_type", "new")])
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    let (status, body) = log("0", local_in(-60), "ru").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("Сумма выигранной сделки должна быть больше нуля."), "{body}");
    let (status, body) = log("0.00", local_in(-60), "en").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("A won deal's amount must be more than zero."), "{body}");
    // A day ahead, and 20 minutes ahead: beyond the 10 minutes a clock may be off.
    for ahead in [24 * 60, 20] {
        let (status, body) = log("5000", local_in(ahead), "ru").await;
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("Дата закрытия в будущем"), "{body}");
    }
    let (status, body) = log("5000", local_in(24 * 60), "en").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("The close date is in the future"), "{body}");
    assert_eq!(app.count("deals").await, 0, "nothing refused is stored");
    assert_eq!(app.points_of("r1").await, 0);

    // Within the skew (5 minutes ahead, minutes cut off) it is the rep's clock, not a future deal.
    let (status, body) = log("5000", local_in(5), "ru").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.count("deals").await, 1);
}

#[tokio::test]
async fn the_same_submission_sent_twice_logs_one_deal_and_one_set_of_points() {
    let o = org(false).await;
    let app = &o.app;
    let rep = browser(app, "r1@example.com", PASSWORD).await;
    let form = || async {
        let (status, body) = call(&rep, app, "deal_form", &[]).await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<Value>(&body).unwrap()["submission"].as_str().unwrap().to_string()
    };
    let first = form().await;
    assert_ne!(first, form().await, "each form gets its own submission id");
    let closed = local_in(-60);
    let send = |submission: String, id: &'static str| {
        let (rep, closed) = (rep.clone(), closed.clone());
        async move {
            let fields = [
                ("owner", "r1"),
                ("amount", "25000"),
                ("deal_type", "new"),
                ("closed_at", closed.as_str()),
                ("id", id),
                ("submission", submission.as_str()),
            ];
            call(&rep, app, "log_deal", &fields).await
        }
    };
    // One after the other (a resent form), then two at once (a double click).
    let (status, a) = send(first.clone(), "").await;
    assert_eq!(status, 200, "{a}");
    let (status, b) = send(first.clone(), "").await;
    assert_eq!((status, &b), (200, &a), "the second sending answers with the same deal");
    assert_eq!(a, json!(format!("app-{first}")).to_string());
    let second = form().await;
    let ((s1, c), (s2, d)) = tokio::join!(send(second.clone(), ""), send(second.clone(), ""));
    assert_eq!((s1, s2), (200, 200), "{c} {d}");
    assert_eq!(c, d);
    // With an id of its own, twice: the same won deal is the one already logged.
    let third = form().await;
    assert_eq!(send(third.clone(), "crm-7").await.0, 200);
    assert_eq!(send(third, "crm-7").await, (200, json!("crm-7").to_string()));
    assert_eq!(app.count("deals").await, 3, "three deals, however often each was sent");
    // Default rules: 50 per won deal (at most 200 a day) and 1 per whole 10 000: 3 × (50 + 2).
    for _ in 0..200 {
        if store::work::pending(&app.pool).await.unwrap() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(app.points_of("r1").await, 156);
    let awards: i64 = sqlx::query_scalar("SELECT count(*) FROM points_entries WHERE user_id = 'r1'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(awards, 6, "one won-deal and one revenue award per deal, nothing reversed");
}

#[tokio::test]
async fn without_javascript_the_form_comes_back_saying_the_deal_was_saved() {
    let o = org(false).await;
    let app = &o.app;
    let rep = browser(app, "r1@example.com", PASSWORD).await;
    let page = rep.get(app.url("/deals/new")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("name=\"submission\""), "the form carries its submission id");
    let res = rep
        .post(app.url("/api/log_deal"))
        .header("accept", "text/html")
        .header("referer", app.url("/deals/new"))
        .form(&[("owner", "r1"), ("amount", "1200"), ("closed_at", &local_in(-30)), ("id", "paper-1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/deals/new?saved=paper-1");
    let page = rep.get(app.url("/deals/new?saved=paper-1")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Сделка paper-1 записана."), "{page}");
    assert_eq!(app.count("deals").await, 1);
}

#[tokio::test]
async fn api_wins_at_zero_or_dated_ahead_are_stored_flagged_and_earn_nothing_a_zero_win_counts_for_no_badge() {
    let o = org(true).await;
    let ahead = (app::clock::now() + chrono::Duration::days(2)).to_rfc3339();
    // 3 November: a win at 0 and two of 100 and 250; a win dated two days ahead.
    o.records(json!([
        won("z", "r1", 0.0, "2026-11-03T09:00:00Z"),
        won("a", "r1", 100.0, "2026-11-03T10:00:00Z"),
        won("b", "r1", 250.0, "2026-11-03T11:00:00Z"),
        won("f", "r1", 5000.0, &ahead),
    ]))
    .await;
    assert_eq!(o.app.count("deals").await, 4, "the API takes what KPIS.md allows");
    let (kinds, flags) = o.flags().await;
    assert_eq!(kinds, vec![("future_win".into(), "f".into()), ("zero_win".into(), "z".into())]);
    let zero = flags.iter().find(|f| f["kind"] == "zero_win").unwrap();
    assert!(zero["detail"].as_str().unwrap().starts_with("deal z was logged as won at 0, "), "{zero}");
    assert_eq!(zero["resolution"], Value::Null);

    // z earns nothing (default minimum: more than 0); a: 10 + 1; b: 10 + 2; f counts when it happens.
    assert_eq!(o.app.points_of("r1").await, 23);
    // Three wins on 3 November, one of them at 0: no hat-trick; the first win is a, not z.
    let badges = o.badges("r1").await;
    assert!(!badges.iter().any(|(b, _)| b == "hat_trick"), "{badges:?}");
    let first = badges.iter().find(|(b, _)| b == "first_win").expect("a first win");
    assert_eq!(first.1, json!([{"kind": "deal", "id": "a"}]));
    o.records(json!([won("c", "r1", 300.0, "2026-11-03T12:00:00Z")])).await;
    let hat = o.badges("r1").await.into_iter().find(|(b, _)| b == "hat_trick").expect("a, b and c make a hat-trick");
    assert_eq!(hat.1, json!([{"kind": "deal", "id": "a"}, {"kind": "deal", "id": "b"}, {"kind": "deal", "id": "c"}]));
    // The TV celebrates no win at 0, even when asked to.
    let wins = store::directory::recent_wins(&o.app.pool, &None, &["z".to_string(), "a".to_string()]).await.unwrap();
    assert!(wins.iter().all(|w| w.0 != "z"), "{wins:?}");
    assert!(wins.iter().any(|w| w.0 == "a" && w.4));
}

#[tokio::test]
async fn per_unit_rules_on_won_deals_count_from_their_minimum_amount() {
    let o = org(false).await;
    o.app.without_default_rules(&o.admin).await;
    let won_rule = o
        .rule(json!({"kind": "per_unit", "basis": "won_deals", "points": 10, "min_deal_amount": 200, "label": "Won"}))
        .await;
    o.rule(json!({"kind": "per_unit", "basis": "revenue", "points": 1, "per": 100, "label": "Revenue"})).await;
    let rules: Value = o
        .app
        .client
        .get(o.app.url("/api/v1/points/rules"))
        .bearer_auth(&o.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stored = rules["rules"].as_array().unwrap().iter().find(|r| r["id"] == won_rule).unwrap().clone();
    assert_eq!(stored["min_deal_amount"], json!("200.00"), "{stored}");
    // This month: a rule change recomputes the periods still running.
    let now = just_now();
    o.records(json!([won("a", "r1", 100.0, &now), won("b", "r1", 200.0, &now), won("z", "r1", 0.0, &now)])).await;
    // Won deals from 200: b only (10); revenue: 1 for a, 2 for b, nothing for z.
    assert_eq!(o.app.points_of("r1").await, 13);
    // Back to the default ("more than 0"): a earns its 10 too; z still nothing.
    o.rule(json!({"id": won_rule, "kind": "per_unit", "basis": "won_deals", "points": 10, "label": "Won"})).await;
    assert_eq!(o.app.points_of("r1").await, 23);
    // A minimum means something only for won deals.
    let url = o.app.url("/api/v1/points/rules");
    let body = json!({"kind": "per_unit", "basis": "touchpoints", "points": 1, "min_deal_amount": 5, "label": "T"});
    let res = o.app.client.post(url).bearer_auth(&o.admin).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn a_manager_resolves_a_flag_of_their_team_and_it_leaves_the_open_list_another_teams_manager_may_not() {
    let o = org(false).await;
    let app = &o.app;
    // Won this month, so it is not also "logged late".
    o.records(json!([won("z", "r1", 0.0, &just_now())])).await;
    let (kinds, flags) = o.flags().await;
    assert_eq!(kinds, vec![("zero_win".to_string(), "z".to_string())]);
    let key = flags[0]["key"].as_str().unwrap().to_string();

    let resolve = |c: reqwest::Client, verdict: &'static str, note: &'static str| {
        let key = key.clone();
        async move { call(&c, app, "resolve_flag", &[("key", key.as_str()), ("verdict", verdict), ("note", note)]).await }
    };
    let south = browser(app, "south@example.com", PASSWORD).await;
    let (status, body) = resolve(south, "fine", "не моё").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("только по сигналам своей команды"), "{body}");
    let rep = browser(app, "r1@example.com", PASSWORD).await;
    assert_eq!(resolve(rep, "fine", "").await.0, 403);
    let boss = browser(app, "boss@example.com", PASSWORD).await;
    let (status, body) = resolve(boss.clone(), "guilty", "").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(o.flags().await.0.len(), 1, "still open");
    let resolved: i64 = sqlx::query_scalar("SELECT count(*) FROM flag_resolutions").fetch_one(&app.pool).await.unwrap();
    assert_eq!(resolved, 0, "no refusal wrote anything");

    let (status, body) = resolve(boss.clone(), "acted_on", "Поговорили с Анной").await;
    assert_eq!(status, 200, "{body}");
    assert!(o.flags().await.0.is_empty(), "it left the open list");
    let (status, body) = call(&boss, app, "flags_view", &[]).await;
    assert_eq!(status, 200, "{body}");
    let view: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(view["rows"], json!([]));
    let history = view["resolved"].as_array().unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        history[0]["resolution"],
        json!(["Приняты меры", "Поговорили с Анной", "Мила", history[0]["resolution"][3]])
    );
    // The detail reads in the reader's language.
    assert!(history[0]["detail"].as_str().unwrap().starts_with("сделка z записана выигранной на сумму 0"), "{body}");
    // An admin may judge anyone's.
    let admin = browser(app, "admin@example.com", PASSWORD).await;
    assert_eq!(resolve(admin, "fine", "").await.0, 200);
}
