//! CRM connectors against a fake amoCRM on real HTTP (`crm::amocrm`): the "Test" preview, a
//! backfill through paging and a rate-limit answer, deals waiting for an unmapped owner and
//! stored once mapped, webhooks (repeated, late, won → lost, carrying only an id, forged), and a
//! refused token. Revenue and points are worked out by hand from the fixture below.
//!
//! Fixture (November 2026, noon UTC on the day named; each lead created the day before):
//! | lead | CRM owner | price  | status   | changed |
//! | 501  | 11 Anna   | 1000   | won 142  | 10th    |
//! | 502  | 12 Boris  | 250    | won 142  | 11th    |
//! | 503  | 11 Anna   | 400    | open 1   | 12th    |
//! | 504  | 13 Vera   | 700    | won 142  | 13th    | Vera has no account here
//! | 505  | 12 Boris  | 300    | lost 143 | 14th    |
//! Default points: 50 per won deal (revenue points are 1 per 10,000: none here).

use crate::crm::amocrm::{hook_body, lead_json, FakeAmo, ACCOUNT};
use crate::crm::common::{backfill_state, events, people, points, post_hook, queued, revenue, until, user_id};
use crate::helpers::TestApp;
use chrono::{TimeZone, Utc};
use domain::access::CurrentUser;
use serde_json::json;

const TOKEN: &str = "amo-long-lived-token-7d1f";

fn nov(day: i64) -> i64 {
    1_793_534_400 + (day - 1) * 86_400
}

async fn fixture() -> (TestApp, FakeAmo, String, CurrentUser) {
    let app = TestApp::spawn().await;
    let (admin_token, admin) = people(&app).await;
    let users = vec![
        json!({"id": 11, "name": "Анна", "email": "anna@example.com"}),
        json!({"id": 12, "name": "Борис", "email": "BORIS@example.com"}),
        json!({"id": 13, "name": "Вера", "email": "vera@example.com"}),
    ];
    let leads = vec![
        lead_json(501, 11, 1000, 142, nov(10)),
        lead_json(502, 12, 250, 142, nov(11)),
        lead_json(503, 11, 400, 1, nov(12)),
        lead_json(504, 13, 700, 142, nov(13)),
        lead_json(505, 12, 300, 143, nov(14)),
    ];
    let amo = FakeAmo::start(TOKEN, users, leads).await;
    (app, amo, admin_token, admin)
}

fn access(amo: &FakeAmo) -> connectors::setup::Access<'_> {
    connectors::setup::Access { kind: "amocrm", base_url: &amo.base, token: TOKEN }
}

/// Connects, backfills and maps: the state the webhook tests start from.
async fn connected() -> (TestApp, FakeAmo, String, CurrentUser, i64) {
    let (app, amo, token, admin) = fixture().await;
    let id = connectors::setup::create(&app.pool, connectors::Keyring::from_env().ok().as_ref(), &admin, access(&amo))
        .await
        .unwrap();
    connectors::setup::start_backfill(
        &app.pool,
        connectors::Keyring::from_env().ok().as_ref(),
        &admin,
        id,
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
    )
    .await
    .unwrap();
    until("the backfill ends", ("done".to_string(), 5, Some(5)), || backfill_state(&app)).await;
    (app, amo, token, admin, id)
}

#[tokio::test]
async fn test_shows_what_the_token_sees_and_stores_nothing() {
    let (app, amo, _, admin) = fixture().await;
    amo.set(|s| s.throttle = 1);
    let since = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let seen = connectors::setup::preview(&admin, access(&amo), since).await.unwrap();
    assert_eq!(seen.account, ACCOUNT.to_string());
    assert_eq!((seen.users.len(), seen.stages.len(), seen.deals), (3, 3, 5));
    // The first page (two leads: the fake's pages are small), oldest change first.
    let first: Vec<(&str, &str, String)> =
        seen.first.iter().map(|d| (d.id.as_str(), d.owner.as_str(), d.amount.to_string())).collect();
    assert_eq!(first, vec![("501", "11", "1000".into()), ("502", "12", "250".into())]);
    assert_eq!(amo.state.lock().unwrap().throttled, 1, "the 429 was waited out");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM connectors").fetch_one(&app.pool).await.unwrap();
    let deals: i64 = sqlx::query_scalar("SELECT count(*) FROM deals").fetch_one(&app.pool).await.unwrap();
    assert_eq!((stored, deals), (0, 0), "a preview stores nothing");

    // A wrong token is named as such, and a rep may not even look.
    let wrong = connectors::setup::Access { kind: "amocrm", base_url: &amo.base, token: "expired" };
    let e = connectors::setup::preview(&admin, wrong, since).await.unwrap_err();
    assert!(e.to_string().contains("refused the token (HTTP 401)"), "{e}");
    let rep = store::users::find_login(&app.pool, "anna@example.com").await.unwrap().unwrap().0;
    let e = connectors::setup::preview(&rep, access(&amo), since).await.unwrap_err();
    assert!(matches!(e, connectors::setup::SetupError::Forbidden), "{e}");
    let bad = connectors::setup::Access { kind: "amocrm", base_url: "ftp://acme", token: TOKEN };
    let e = connectors::setup::preview(&admin, bad, since).await.unwrap_err();
    assert!(e.to_string().contains("not an http(s) address"), "{e}");
}

#[tokio::test]
async fn a_backfill_pages_through_history_and_an_unmapped_owners_deal_waits_until_mapped() {
    let (app, amo, token, admin) = fixture().await;
    let keyring = connectors::Keyring::from_env().unwrap();
    let id = connectors::setup::create(&app.pool, Some(&keyring), &admin, access(&amo)).await.unwrap();
    // The token is sealed at rest.
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT secret FROM connectors").fetch_one(&app.pool).await.unwrap();
    assert!(!sealed.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()));
    // People matched by email (case aside); Vera is not here.
    let people: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT crm_user, user_id FROM connector_people ORDER BY crm_user")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let (anna, boris) = (user_id(&app, "anna@example.com").await, user_id(&app, "boris@example.com").await);
    assert_eq!(
        people,
        vec![("11".into(), Some(anna.clone())), ("12".into(), Some(boris.clone())), ("13".into(), None)]
    );

    amo.set(|s| s.throttle = 2);
    let total = connectors::setup::start_backfill(
        &app.pool,
        Some(&keyring),
        &admin,
        id,
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(total, 5);
    until("the backfill ends", ("done".to_string(), 5, Some(5)), || backfill_state(&app)).await;
    // Stored: 501 (won 1000), 502 (won 250), 503 (open), 505 (lost); 504 waits for Vera.
    until("revenue without Vera's deal", 1250.0, || revenue(&app, &token)).await;
    let waiting = connectors::setup::statuses(&app.pool, Some(&keyring), &admin).await.unwrap()[0].waiting;
    assert_eq!(waiting, 1);
    let stored: Vec<(String, String, String)> =
        sqlx::query_as("SELECT id, owner_id, status FROM deals ORDER BY id").fetch_all(&app.pool).await.unwrap();
    assert_eq!(
        stored,
        vec![
            ("amocrm:501".into(), anna.clone(), "won".into()),
            ("amocrm:502".into(), boris.clone(), "won".into()),
            ("amocrm:503".into(), anna.clone(), "open".into()),
            ("amocrm:505".into(), boris.clone(), "lost".into()),
        ]
    );
    until("Anna's points", 50, || points(&app, &token, &anna)).await;
    until("Boris's points", 50, || points(&app, &token, &boris)).await;

    // Inviting Vera stores her deal at once: revenue 1250 + 700.
    let invite =
        connectors::setup::map_person(&app.pool, &admin, id, "13", connectors::setup::Mapping::Invite).await.unwrap();
    assert!(invite.is_some(), "an invite was made");
    let vera = user_id(&app, "vera@example.com").await;
    until("revenue with Vera's deal", 1950.0, || revenue(&app, &token)).await;
    until("Vera's points", 50, || points(&app, &token, &vera)).await;
    let status = &connectors::setup::statuses(&app.pool, Some(&keyring), &admin).await.unwrap()[0];
    assert_eq!((status.waiting, status.token.as_str()), (0, "••••7d1f"));
    assert_eq!(status.stages.len(), 3, "the pipeline's stages are listed");

    // The team counts stage 1 ("Первичный контакт") as won: 503 (open there) is won now, 1950 + 400;
    // back to the CRM's meaning, it is open again.
    connectors::setup::set_stage(&app.pool, &admin, id, "7:1", Some(connectors::Outcome::Won)).await.unwrap();
    until("revenue with stage 1 as won", 2350.0, || revenue(&app, &token)).await;
    connectors::setup::set_stage(&app.pool, &admin, id, "7:1", None).await.unwrap();
    until("revenue with stage 1 open again", 1950.0, || revenue(&app, &token)).await;
    let e = connectors::setup::set_stage(&app.pool, &admin, id, "7:999", None).await.unwrap_err();
    assert!(e.to_string().contains("no stage `7:999`"), "{e}");
}

#[tokio::test]
async fn webhooks_are_applied_once_newest_version_wins_and_forgeries_store_nothing() {
    let (app, amo, token, _admin, id) = connected().await;
    let key: String = sqlx::query_scalar("SELECT hook_key FROM connectors").fetch_one(&app.pool).await.unwrap();
    let hook = |body: String, key: String| {
        let path = format!("/api/v1/hooks/amocrm/{key}");
        let app = &app;
        async move { post_hook(app, &path, &[("content-type", "application/x-www-form-urlencoded")], body).await }
    };
    let anna = user_id(&app, "anna@example.com").await;
    let boris = user_id(&app, "boris@example.com").await;
    until("revenue after the backfill", 1250.0, || revenue(&app, &token)).await;

    // 503 is won: revenue 1250 + 400 = 1650; Anna 2 won deals = 100 points.
    let won = lead_json(503, 11, 400, 142, nov(20));
    let (status, body) = hook(hook_body(ACCOUNT, "status", &[won.clone()]), key.clone()).await;
    assert_eq!((status, body["queued"].as_u64()), (200, Some(1)));
    until("revenue with 503 won", 1650.0, || revenue(&app, &token)).await;
    until("Anna's points", 100, || points(&app, &token, &anna)).await;

    // The same delivery again queues nothing; an older change of 503 (open, the 15th) arrives late and changes nothing.
    let (status, body) = hook(hook_body(ACCOUNT, "status", &[won]), key.clone()).await;
    assert_eq!((status, body["queued"].as_u64()), (200, Some(0)));
    let late = lead_json(503, 11, 400, 1, nov(15));
    let (status, body) = hook(hook_body(ACCOUNT, "update", &[late]), key.clone()).await;
    assert_eq!((status, body["queued"].as_u64()), (200, Some(1)));
    until("the late delivery done", 0, || queued(&app)).await;
    let status_503: String =
        sqlx::query_scalar("SELECT status FROM deals WHERE id = 'amocrm:503'").fetch_one(&app.pool).await.unwrap();
    assert_eq!(status_503, "won", "a late, older change does not undo a newer one");
    assert_eq!(revenue(&app, &token).await, 1650.0);

    // 502 moves won → lost: revenue 1650 − 250 = 1400; Boris's 50 points are taken back.
    let (status, _) = hook(hook_body(ACCOUNT, "status", &[lead_json(502, 12, 250, 143, nov(21))]), key.clone()).await;
    assert_eq!(status, 200);
    until("revenue with 502 lost", 1400.0, || revenue(&app, &token)).await;
    until("Boris's points", 0, || points(&app, &token, &boris)).await;

    // A delivery carrying only the id: the lead is read from the API (505 now won, 300).
    amo.put_lead(lead_json(505, 12, 300, 142, nov(22)));
    let (status, _) =
        hook(hook_body(ACCOUNT, "update", &[json!({"id": 505, "updated_at": nov(22)})]), key.clone()).await;
    assert_eq!(status, 200);
    until("revenue with 505 won", 1700.0, || revenue(&app, &token)).await;
    assert!(amo.state.lock().unwrap().calls.contains(&"/api/v4/leads/505".to_string()));

    // Forged: a wrong secret (404) or another account (400) stores nothing.
    let before = events(&app).await;
    let forged = hook_body(ACCOUNT, "status", &[lead_json(501, 11, 99_999, 142, nov(30))]);
    let (status, _) = hook(forged, "0".repeat(48)).await;
    assert_eq!(status, 404);
    let other = hook_body(31337, "status", &[lead_json(501, 11, 99_999, 142, nov(25))]);
    let (status, body) = hook(other, key.clone()).await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("account 31337"), "{body}");
    assert_eq!(events(&app).await, before, "nothing queued");
    assert_eq!(revenue(&app, &token).await, 1700.0);

    // A change no webhook announced (501 now 1,100) arrives with the reconcile: 1,700 + 100. It
    // also reads the CRM's people again, outside the reconcile's own transactions.
    amo.put_lead(lead_json(501, 11, 1100, 142, nov(23)));
    // As if the connector had been saved on 1 November: the reconcile reads changes since then.
    sqlx::query("UPDATE connectors SET reconciled_to = '2026-11-01T00:00:00Z'").execute(&app.pool).await.unwrap();
    amo.set(|s| s.users.push(json!({"id": 14, "name": "Глеб", "email": "gleb@example.com"})));
    connectors::setup::reconcile_now(&app.pool, &_admin, id).await.unwrap();
    until("revenue after the reconcile", 1800.0, || revenue(&app, &token)).await;
    until("the new CRM user listed", 4i64, || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM connector_people").fetch_one(&app.pool).await.unwrap()
    })
    .await;
    let key_again: String = sqlx::query_scalar("SELECT hook_key FROM connectors").fetch_one(&app.pool).await.unwrap();
    assert_eq!(key_again, key, "the connector row is not held: it can be read and webhooks queued");

    // /metrics: Vera's deal waits; the backfill read 5 of 5; no delivery waits now.
    let metrics = app.client.get(app.url("/metrics")).bearer_auth(&token).send().await.unwrap().text().await.unwrap();
    for line in [
        "kpi_arena_connector_deals_waiting{kind=\"amocrm\"} 1",
        "kpi_arena_connector_backfill_deals{kind=\"amocrm\",of=\"done\"} 5",
        "kpi_arena_connector_backfill_deals{kind=\"amocrm\",of=\"total\"} 5",
        "kpi_arena_connector_events{kind=\"amocrm\",state=\"queued\"} 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "/metrics lacks `{line}`");
    }
    assert!(metrics.contains("kpi_arena_connector_webhooks_total{kind=\"amocrm\",answer=\"refused\"}"));
    assert!(metrics.contains("kpi_arena_connector_deals_total{kind=\"amocrm\",result=\"stale\"}"));

    // An expired token: a delivery that needs the API fails with the reason, visible, and is retried.
    amo.set(|s| s.token = "rotated".into());
    let (status, _) =
        hook(hook_body(ACCOUNT, "update", &[json!({"id": 501, "updated_at": nov(26)})]), key.clone()).await;
    assert_eq!(status, 200);
    until("the error is shown", true, || async {
        let error: Option<String> =
            sqlx::query_scalar("SELECT last_error FROM connectors").fetch_one(&app.pool).await.unwrap();
        error.is_some_and(|e| e.contains("refused the token"))
    })
    .await;
    let (attempts, state): (i32, String) =
        sqlx::query_as("SELECT attempts, state FROM connector_events WHERE crm_id = '501'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(attempts >= 1 && (state == "queued" || state == "failed"), "{attempts} {state}");
}

/// The activities a done task brings, in id order over two pages:
/// | task | CRM owner | type          | done | due            | changed |
/// | 801  | 11 Anna   | 1 call        | yes  | 10th, 11:00    | 10th    | at its due time
/// | 802  | 12 Boris  | 2 meeting     | yes  | 11th, 14:00    | 11th    | done early: still at its due time
/// | 803  | 11 Anna   | 1 call        | no   | 12th           | 12th    | planned: no touchpoint
/// | 804  | 13 Vera   | 1 call        | yes  | 13th           | 13th    | waits for Vera
/// | 805  | 11 Anna   | 3 (own type)  | yes  | 14th           | 14th    | other
/// Default points: 1 per touchpoint (at most 20 a day), 50 per won deal.
#[tokio::test]
async fn done_tasks_become_touchpoints_and_an_unmapped_owners_task_waits_like_a_deal() {
    use crate::crm::amocrm::task_json;
    use crate::crm::common::{activities, touchpoints};
    let (app, amo, token, admin) = fixture().await;
    amo.set(|s| {
        s.tasks = vec![
            task_json(801, 11, 1, true, nov(10) - 3600, nov(10)),
            task_json(802, 12, 2, true, nov(11) + 7200, nov(11)),
            task_json(803, 11, 1, false, nov(12), nov(12)),
            task_json(804, 13, 1, true, nov(13), nov(13)),
            task_json(805, 11, 3, true, nov(14), nov(14)),
        ]
    });
    let keyring = connectors::Keyring::from_env().unwrap();
    let id = connectors::setup::create(&app.pool, Some(&keyring), &admin, access(&amo)).await.unwrap();
    let since = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let seen = connectors::setup::preview(&admin, access(&amo), since).await.unwrap();
    assert_eq!((seen.deals, seen.activities), (5, 4));
    // 5 deals and 4 done tasks.
    let total = connectors::setup::start_backfill(&app.pool, Some(&keyring), &admin, id, since).await.unwrap();
    assert_eq!(total, 9);
    until("the backfill ends", ("done".to_string(), 9, Some(9)), || backfill_state(&app)).await;
    let (anna, boris) = (user_id(&app, "anna@example.com").await, user_id(&app, "boris@example.com").await);
    let at = |t: i64| Utc.timestamp_opt(t, 0).unwrap();
    assert_eq!(
        activities(&app).await,
        vec![
            ("amocrm:task:801".into(), anna.clone(), "call".into(), at(nov(10) - 3600)),
            ("amocrm:task:802".into(), boris.clone(), "meeting".into(), at(nov(11) + 7200)),
            ("amocrm:task:805".into(), anna.clone(), "other".into(), at(nov(14))),
        ]
    );
    until("touchpoints without Vera's call", 3.0, || touchpoints(&app, &token)).await;
    // Anna: won 501 (50) and two touchpoints; Boris: won 502 (50) and one.
    until("Anna's points", 52, || points(&app, &token, &anna)).await;
    until("Boris's points", 51, || points(&app, &token, &boris)).await;
    let waiting = connectors::setup::statuses(&app.pool, Some(&keyring), &admin).await.unwrap()[0].waiting;
    assert_eq!(waiting, 2, "Vera's deal 504 and her call 804");

    connectors::setup::map_person(&app.pool, &admin, id, "13", connectors::setup::Mapping::Invite).await.unwrap();
    let vera = user_id(&app, "vera@example.com").await;
    until("touchpoints with Vera's call", 4.0, || touchpoints(&app, &token)).await;
    until("Vera's points", 51, || points(&app, &token, &vera)).await;

    // In the CRM Boris's meeting passes to Anna; the reconcile brings the change.
    amo.set(|s| s.tasks[1] = task_json(802, 11, 2, true, nov(11) + 7200, nov(15)));
    // (Its mark from the connector's creation is today; the fixture's changes are in November.)
    sqlx::query("UPDATE connectors SET reconciled_to = '2026-11-01T00:00:00Z'").execute(&app.pool).await.unwrap();
    connectors::setup::reconcile_now(&app.pool, &admin, id).await.unwrap();
    until("Anna's points with the meeting", 53, || points(&app, &token, &anna)).await;
    until("Boris's points without it", 50, || points(&app, &token, &boris)).await;
    let moved: Vec<_> = activities(&app).await.into_iter().filter(|a| a.0 == "amocrm:task:802").collect();
    assert_eq!(moved, vec![("amocrm:task:802".into(), anna.clone(), "meeting".into(), at(nov(11) + 7200))]);
    assert_eq!(touchpoints(&app, &token).await, 4.0, "the same meeting, not a second one");

    // Deleting the connector with what it brought: five deals and four activities go, and the
    // points they gave with them.
    let removed = connectors::setup::delete(&app.pool, &admin, id, true).await.unwrap();
    assert_eq!(removed, 9);
    for (who, user) in [("Anna", &anna), ("Boris", &boris), ("Vera", &vera)] {
        until(&format!("{who}'s points gone"), 0, || points(&app, &token, user)).await;
    }
    let left: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM deals), (SELECT count(*) FROM activities), (SELECT count(*) FROM connectors)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(left, (0, 0, 0));
}

/// The leads' own fields mapped: 9001 "Тип сделки" to the deal type, 9002 "ИНН клиента" to the
/// customer, 9003 "Артикул" to the product. Only customer 7701 and product SKU-1 exist here.
/// | lead | status | 9001      | 9002 | 9003  |
/// | 501  | won    | Новая     | 7701 | SKU-1 |
/// | 502  | won    | Допродажа | 9999 | SKU-1 | customer 9999 is not known: left out
/// | 503  | open   | Новая     |      |       |
/// upsell_rate = won upsells and cross-sells / won new deals × 100: 0 / 2 before the values get a
/// meaning, 1 / 1 after.
#[tokio::test]
async fn deal_fields_mapped_on_the_page_give_customer_product_and_type() {
    use crate::crm::amocrm::with_fields;
    let (app, amo, token, admin) = fixture().await;
    let anna = user_id(&app, "anna@example.com").await;
    let catalogue = json!([
        {"kind": "product", "id": "SKU-1", "name": "Лицензия", "price": "100"},
        {"kind": "customer", "id": "7701", "name": "ООО Ромашка", "region": "Москва", "owner": anna, "acquired_at": "2026-01-01T00:00:00Z"}
    ]);
    assert_eq!(app.post_records(&token, &catalogue).await.0, 200);
    amo.set(|s| {
        s.leads[0] = with_fields(s.leads[0].clone(), &[(9001, "Новая"), (9002, "7701"), (9003, "SKU-1")]);
        s.leads[1] = with_fields(s.leads[1].clone(), &[(9001, "Допродажа"), (9002, "9999"), (9003, "SKU-1")]);
        s.leads[2] = with_fields(s.leads[2].clone(), &[(9001, "Новая")]);
    });
    let keyring = connectors::Keyring::from_env().unwrap();
    let id = connectors::setup::create(&app.pool, Some(&keyring), &admin, access(&amo)).await.unwrap();
    let since = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    connectors::setup::start_backfill(&app.pool, Some(&keyring), &admin, id, since).await.unwrap();
    until("the backfill ends", ("done".to_string(), 5, Some(5)), || backfill_state(&app)).await;
    let upsell_rate = || async {
        let card = app.get_json(&token, "/api/v1/kpis?scope=org&period=2026-11").await;
        card["kpis"].as_array().unwrap().iter().find(|k| k["id"] == "upsell_rate").unwrap()["value"].as_f64()
    };
    until("no upsells before the mapping", Some(0.0), upsell_rate).await;
    let status = &connectors::setup::statuses(&app.pool, Some(&keyring), &admin).await.unwrap()[0];
    let fields: Vec<(&str, &str)> = status.fields.iter().map(|f| (f.key.as_str(), f.name.as_str())).collect();
    assert_eq!(fields, vec![("9001", "Тип сделки"), ("9002", "ИНН клиента"), ("9003", "Артикул")]);

    // A field the CRM does not have is named; a rep may not map.
    let e = connectors::setup::set_fields(&app.pool, &admin, id, Some("42".into()), None, None).await.unwrap_err();
    assert!(e.to_string().contains("no deal field `42` (for the customer)"), "{e}");
    let rep = store::users::find_login(&app.pool, "anna@example.com").await.unwrap().unwrap().0;
    let e = connectors::setup::set_fields(&app.pool, &rep, id, None, None, None).await.unwrap_err();
    assert!(matches!(e, connectors::setup::SetupError::Forbidden), "{e}");
    let e = connectors::setup::set_deal_type(&app.pool, &admin, id, "Допродажа", Some("upsell")).await.unwrap_err();
    assert!(e.to_string().contains("deal-type field first"), "{e}");

    let (customer, product, deal_type) = (Some("9002".to_string()), Some("9003".to_string()), Some("9001".to_string()));
    connectors::setup::set_fields(&app.pool, &admin, id, customer, product, deal_type).await.unwrap();
    let deals = || async {
        sqlx::query_as::<_, (String, Option<String>, Option<String>, String)>(
            "SELECT id, customer_id, product_id, deal_type FROM deals WHERE id IN ('amocrm:501', 'amocrm:502') ORDER BY id",
        )
        .fetch_all(&app.pool)
        .await
        .unwrap()
    };
    let row = |id: &str, c: Option<&str>, p: Option<&str>, t: &str| {
        (id.to_string(), c.map(str::to_string), p.map(str::to_string), t.to_string())
    };
    assert_eq!(
        deals().await,
        vec![row("amocrm:501", Some("7701"), Some("SKU-1"), "new"), row("amocrm:502", None, Some("SKU-1"), "new")]
    );
    // The deal-type field's values, most deals first, none given a meaning yet.
    let status = &connectors::setup::statuses(&app.pool, Some(&keyring), &admin).await.unwrap()[0];
    assert_eq!(
        status.deal_type_values,
        vec![("Новая".into(), "Новая".into(), 2, None), ("Допродажа".into(), "Допродажа".into(), 1, None)]
    );
    connectors::setup::set_deal_type(&app.pool, &admin, id, "Допродажа", Some("upsell")).await.unwrap();
    connectors::setup::set_deal_type(&app.pool, &admin, id, "Новая", Some("new")).await.unwrap();
    let e = connectors::setup::set_deal_type(&app.pool, &admin, id, "Новая", Some("resale")).await.unwrap_err();
    assert!(e.to_string().contains("`resale` is no deal type"), "{e}");
    assert_eq!(deals().await[1], row("amocrm:502", None, Some("SKU-1"), "upsell"));
    until("one upsell per new deal", Some(100.0), upsell_rate).await;

    // A webhook carrying 502 with its custom fields keeps what they give.
    let key: String = sqlx::query_scalar("SELECT hook_key FROM connectors").fetch_one(&app.pool).await.unwrap();
    let lead = lead_json(502, 12, 300, 142, nov(20));
    let mut body = hook_body(ACCOUNT, "status", &[lead]);
    for (i, (field, value)) in [(9001, "Допродажа"), (9003, "SKU-1")].iter().enumerate() {
        body.push_str(&format!(
            "&leads%5Bstatus%5D%5B0%5D%5Bcustom_fields%5D%5B{i}%5D%5Bid%5D={field}\
             &leads%5Bstatus%5D%5B0%5D%5Bcustom_fields%5D%5B{i}%5D%5Bvalues%5D%5B0%5D%5Bvalue%5D={}",
            form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>()
        ));
    }
    let headers = [("content-type", "application/x-www-form-urlencoded")];
    let (status, _) = post_hook(&app, &format!("/api/v1/hooks/amocrm/{key}"), &headers, body).await;
    assert_eq!(status, 200);
    // Revenue: 501 (1000) and 502 at its new amount (300).
    until("revenue with 502 at 300", 1300.0, || revenue(&app, &token)).await;
    assert_eq!(deals().await[1], row("amocrm:502", None, Some("SKU-1"), "upsell"));
}

/// OAuth 2.0 instead of a long-lived token: the integration's code gives an access and a refresh
/// token; a code is good once; an access token about to expire is refreshed before the CRM is
/// called, and the new pair is kept.
#[tokio::test]
async fn oauth_tokens_come_from_a_code_and_are_refreshed_before_they_expire() {
    use crate::crm::amocrm::{CLIENT_ID, CLIENT_SECRET, REDIRECT};
    let (app, amo, token, admin) = fixture().await;
    amo.set(|s| {
        s.token = "no-token-yet".into();
        s.codes = vec!["def5020041a6".into()];
    });
    let authorize = |secret: &'static str| {
        let (admin, base) = (admin.clone(), amo.base.clone());
        async move { connectors::setup::authorize(&admin, &base, CLIENT_ID, secret, "def5020041a6", REDIRECT).await }
    };
    let e = authorize("guessed").await.unwrap_err();
    assert!(e.to_string().contains("amoCRM refused the authorization"), "{e}");
    let oauth = authorize(CLIENT_SECRET).await.unwrap();
    let e = authorize(CLIENT_SECRET).await.unwrap_err();
    assert!(e.to_string().contains("good once"), "a code is spent: {e}");
    let rep = store::users::find_login(&app.pool, "anna@example.com").await.unwrap().unwrap().0;
    let e = connectors::setup::authorize(&rep, &amo.base, CLIENT_ID, CLIENT_SECRET, "x", REDIRECT).await.unwrap_err();
    assert!(matches!(e, connectors::setup::SetupError::Forbidden), "{e}");

    let since = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let access = connectors::setup::Access { kind: "amocrm", base_url: &amo.base, token: &oauth };
    assert_eq!(connectors::setup::preview(&admin, access, since).await.unwrap().deals, 5);
    let keyring = connectors::Keyring::from_env().unwrap();
    let id = connectors::setup::create(&app.pool, Some(&keyring), &admin, access).await.unwrap();
    let status = &connectors::setup::statuses(&app.pool, Some(&keyring), &admin).await.unwrap()[0];
    assert_eq!(status.token, "OAuth 2.0 · ••••cc-1");

    // Five minutes before the access token expires, the backfill refreshes it first.
    let stored = || async {
        let sealed: Vec<u8> = sqlx::query_scalar("SELECT secret FROM connectors").fetch_one(&app.pool).await.unwrap();
        connectors::amocrm::OAuth::parse(&keyring.open(&sealed).unwrap()).unwrap()
    };
    let mut due = stored().await;
    due.expires_at = domain::clock::now() + chrono::Duration::minutes(5);
    sqlx::query("UPDATE connectors SET secret = $1")
        .bind(keyring.seal(&due.to_token()))
        .execute(&app.pool)
        .await
        .unwrap();
    connectors::setup::start_backfill(&app.pool, Some(&keyring), &admin, id, since).await.unwrap();
    until("the backfill ends", ("done".to_string(), 5, Some(5)), || backfill_state(&app)).await;
    until("revenue", 1250.0, || revenue(&app, &token)).await;
    let kept = stored().await;
    assert_eq!((kept.access_token.as_str(), kept.refresh_token.as_str()), ("acc-2", "ref-2"));
    assert!(kept.expires_at > domain::clock::now() + chrono::Duration::hours(23));
    let s = amo.state.lock().unwrap();
    assert_eq!((s.granted, s.refreshed), (1, 1), "refreshed once");
}
