//! The Bitrix24 connector against a fake portal on real HTTP (`crm::bitrix24`): the preview,
//! a backfill through `start` paging and `QUERY_LIMIT_EXCEEDED`, an unmapped owner's deal waiting,
//! and outbound events checked by their application token and portal, read back with
//! `crm.deal.get`, applied once. Numbers by hand from the fixture:
//! | deal | owner    | amount | stage           | changed (Nov) |
//! | 41   | 7 Anna   | 1000   | WON (S)         | 10 |
//! | 42   | 8 Boris  | 250    | C2:WON (S)      | 11 |
//! | 43   | 7 Anna   | 400    | NEW (P)         | 12 |
//! | 44   | 9 Vera   | 700    | WON (S)         | 13 | Vera has no account here
//! | 45   | 8 Boris  | 300    | LOSE (F)        | 14 |
//! Default points: 50 per won deal.

use crate::crm::bitrix24::{deal_json, event_body, FakeBitrix};
use crate::crm::common::{backfill_state, events, people, points, post_hook, revenue, until, user_id};
use crate::helpers::TestApp;
use chrono::{TimeZone, Utc};
use domain::access::CurrentUser;
use serde_json::json;

const SECRET: &str = "w3bh00ks3cr3t";

async fn fixture() -> (TestApp, FakeBitrix, String, CurrentUser) {
    let app = TestApp::spawn().await;
    let (token, admin) = people(&app).await;
    let users = vec![
        json!({"ID": "7", "NAME": "Анна", "LAST_NAME": "Петрова", "EMAIL": "anna@example.com", "ACTIVE": true}),
        json!({"ID": "8", "NAME": "Борис", "LAST_NAME": "", "EMAIL": "boris@example.com", "ACTIVE": true}),
        json!({"ID": "9", "NAME": "Вера", "LAST_NAME": "", "EMAIL": "vera@example.com", "ACTIVE": true}),
    ];
    let deals = vec![
        deal_json(41, 7, 1000, "WON", "S", 10),
        deal_json(42, 8, 250, "C2:WON", "S", 11),
        deal_json(43, 7, 400, "NEW", "P", 12),
        deal_json(44, 9, 700, "WON", "S", 13),
        deal_json(45, 8, 300, "LOSE", "F", 14),
    ];
    let bitrix = FakeBitrix::start(SECRET, users, deals).await;
    (app, bitrix, token, admin)
}

fn access(bitrix: &FakeBitrix) -> connectors::setup::Access<'_> {
    connectors::setup::Access { kind: "bitrix24", base_url: "", token: &bitrix.webhook }
}

fn portal(bitrix: &FakeBitrix) -> String {
    bitrix.webhook.split("://").nth(1).unwrap().split('/').next().unwrap().to_string()
}

#[tokio::test]
async fn bitrix24_preview_backfill_and_mapping_give_the_hand_worked_revenue() {
    let (app, bitrix, token, admin) = fixture().await;
    let keyring = connectors::Keyring::from_env().unwrap();
    let since = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    bitrix.set(|s| s.throttle = 1);
    let seen = connectors::setup::preview(&admin, access(&bitrix), since).await.unwrap();
    assert_eq!(seen.account, portal(&bitrix));
    assert_eq!((seen.users.len(), seen.stages.len(), seen.deals), (3, 6, 5));
    let won: Vec<&str> =
        seen.stages.iter().filter(|s| s.outcome == connectors::Outcome::Won).map(|s| s.key.as_str()).collect();
    assert_eq!(won, vec!["0:WON", "2:C2:WON"]);
    assert_eq!(seen.users[0].name, "Анна Петрова");
    assert_eq!(bitrix.state.lock().unwrap().throttled, 1, "QUERY_LIMIT_EXCEEDED was waited out");
    // Not an inbound webhook's address: named, nothing asked.
    let wrong = connectors::setup::Access { kind: "bitrix24", base_url: "", token: "abc123" };
    let e = connectors::setup::preview(&admin, wrong, since).await.unwrap_err();
    assert!(e.to_string().contains("inbound webhook's address"), "{e}");

    let id = connectors::setup::create(&app.pool, Some(&keyring), &admin, access(&bitrix)).await.unwrap();
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT secret FROM connectors").fetch_one(&app.pool).await.unwrap();
    assert!(!sealed.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()), "the webhook's secret is sealed");
    bitrix.set(|s| s.throttle = 2);
    assert_eq!(connectors::setup::start_backfill(&app.pool, Some(&keyring), &admin, id, since).await.unwrap(), 5);
    until("the backfill ends", ("done".to_string(), 5, Some(5)), || backfill_state(&app)).await;
    until("revenue without Vera's deal", 1250.0, || revenue(&app, &token)).await;
    let (anna, boris) = (user_id(&app, "anna@example.com").await, user_id(&app, "boris@example.com").await);
    let stored: Vec<(String, String, String)> =
        sqlx::query_as("SELECT id, owner_id, status FROM deals ORDER BY id").fetch_all(&app.pool).await.unwrap();
    assert_eq!(
        stored,
        vec![
            ("bitrix24:41".into(), anna.clone(), "won".into()),
            ("bitrix24:42".into(), boris.clone(), "won".into()),
            ("bitrix24:43".into(), anna.clone(), "open".into()),
            ("bitrix24:45".into(), boris.clone(), "lost".into()),
        ]
    );
    // A closed deal is closed at its CLOSEDATE: 15:00 Moscow is 12:00 UTC.
    let closed: chrono::DateTime<Utc> =
        sqlx::query_scalar("SELECT closed_at FROM deals WHERE id = 'bitrix24:41'").fetch_one(&app.pool).await.unwrap();
    assert_eq!(closed, Utc.with_ymd_and_hms(2026, 11, 10, 12, 0, 0).unwrap());
    until("Anna's points", 50, || points(&app, &token, &anna)).await;

    // Vera mapped to Anna (one person, two accounts in the CRM): her deal is Anna's now, 1250 + 700.
    connectors::setup::map_person(&app.pool, &admin, id, "9", connectors::setup::Mapping::User(anna.clone()))
        .await
        .unwrap();
    until("revenue with Vera's deal", 1950.0, || revenue(&app, &token)).await;
    until("Anna's points", 100, || points(&app, &token, &anna)).await;
}

#[tokio::test]
async fn bitrix24_events_need_the_application_token_and_are_applied_once() {
    let (app, bitrix, token, admin) = fixture().await;
    let keyring = connectors::Keyring::from_env().unwrap();
    let id = connectors::setup::create(&app.pool, Some(&keyring), &admin, access(&bitrix)).await.unwrap();
    let since = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    connectors::setup::start_backfill(&app.pool, Some(&keyring), &admin, id, since).await.unwrap();
    until("the backfill ends", ("done".to_string(), 5, Some(5)), || backfill_state(&app)).await;
    until("revenue after the backfill", 1250.0, || revenue(&app, &token)).await;
    let key: String = sqlx::query_scalar("SELECT hook_key FROM connectors").fetch_one(&app.pool).await.unwrap();
    let domain = portal(&bitrix);
    let path = format!("/api/v1/hooks/bitrix24/{key}");
    let post = |body: String| post_hook(&app, &path, &[("content-type", "application/x-www-form-urlencoded")], body);
    let ts = 1_795_176_000;
    bitrix.put_deal(deal_json(43, 7, 400, "WON", "S", 20));

    // Before the application token is set, events are refused and nothing is queued.
    let (status, body) = post(event_body("ONCRMDEALUPDATE", 43, ts, &domain, "app-token-1")).await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("no application token"), "{body}");
    connectors::setup::set_hook_secret(&app.pool, Some(&keyring), &admin, id, "app-token-1").await.unwrap();
    // A forged token, or another portal: refused, nothing queued.
    let (status, _) = post(event_body("ONCRMDEALUPDATE", 43, ts, &domain, "forged")).await;
    assert_eq!(status, 400);
    let (status, body) = post(event_body("ONCRMDEALUPDATE", 43, ts, "evil.bitrix24.ru", "app-token-1")).await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("evil.bitrix24.ru"), "{body}");
    assert_eq!(events(&app).await, 0);

    // The real event: 43 read back with crm.deal.get, now won: 1250 + 400.
    let (status, body) = post(event_body("ONCRMDEALUPDATE", 43, ts, &domain, "app-token-1")).await;
    assert_eq!((status, body["queued"].as_u64()), (200, Some(1)));
    until("revenue with 43 won", 1650.0, || revenue(&app, &token)).await;
    assert!(bitrix.state.lock().unwrap().calls.contains(&"crm.deal.get".to_string()));
    // The same delivery again queues nothing.
    let (status, body) = post(event_body("ONCRMDEALUPDATE", 43, ts, &domain, "app-token-1")).await;
    assert_eq!((status, body["queued"].as_u64()), (200, Some(0)));
    // 42 moves won → lost: 1650 − 250; a deletion keeps the record (the team's history).
    bitrix.put_deal(deal_json(42, 8, 250, "C2:LOSE", "F", 21));
    post(event_body("ONCRMDEALUPDATE", 42, ts + 60, &domain, "app-token-1")).await;
    until("revenue with 42 lost", 1400.0, || revenue(&app, &token)).await;
    let (status, body) = post(event_body("ONCRMDEALDELETE", 41, ts + 120, &domain, "app-token-1")).await;
    assert_eq!((status, body["queued"].as_u64()), (200, Some(0)));

    // The inbound webhook revoked in Bitrix24: the reason is shown.
    bitrix.set(|s| s.token = "rotated".into());
    post(event_body("ONCRMDEALUPDATE", 45, ts + 180, &domain, "app-token-1")).await;
    until("the error is shown", true, || async {
        let error: Option<String> =
            sqlx::query_scalar("SELECT last_error FROM connectors").fetch_one(&app.pool).await.unwrap();
        error.is_some_and(|e| e.contains("refused the token") && !e.contains(SECRET))
    })
    .await;
    assert_eq!(revenue(&app, &token).await, 1400.0);
}

/// Completed activities, typed by `TYPE_ID`, at their end (Moscow time in the CRM):
/// | activity | owner   | type        | completed | ends (Nov, Moscow) | UTC            |
/// | 61       | 7 Anna  | 2 call      | yes       | 10th 11:00         | 10th 08:00     |
/// | 62       | 8 Boris | 1 meeting   | yes       | 11th 16:00         | 11th 13:00     |
/// | 63       | 7 Anna  | 4 e-mail    | yes       | 12th 10:00         | 12th 07:00     |
/// | 64       | 8 Boris | 2 call      | no        | 13th 10:00         | planned: none  |
/// | 65       | 7 Anna  | 6 message   | yes       | 30th 02:00         | 29th 23:00     |
/// | 66       | 9 Vera  | 2 call      | yes       | 14th 10:00         | waits for Vera |
/// Default points: 1 per touchpoint, 50 per won deal (Anna 41, Boris 42).
#[tokio::test]
async fn completed_activities_arrive_typed_at_their_end_and_score_touchpoints() {
    use crate::crm::bitrix24::activity_json;
    use crate::crm::common::{activities, touchpoints};
    let (app, bitrix, token, admin) = fixture().await;
    bitrix.set(|s| {
        s.activities = vec![
            activity_json(61, 7, 2, true, 10, 11),
            activity_json(62, 8, 1, true, 11, 16),
            activity_json(63, 7, 4, true, 12, 10),
            activity_json(64, 8, 2, false, 13, 10),
            activity_json(65, 7, 6, true, 30, 2),
            activity_json(66, 9, 2, true, 14, 10),
        ]
    });
    let keyring = connectors::Keyring::from_env().unwrap();
    let since = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let seen = connectors::setup::preview(&admin, access(&bitrix), since).await.unwrap();
    assert_eq!((seen.deals, seen.activities), (5, 5));
    let id = connectors::setup::create(&app.pool, Some(&keyring), &admin, access(&bitrix)).await.unwrap();
    assert_eq!(connectors::setup::start_backfill(&app.pool, Some(&keyring), &admin, id, since).await.unwrap(), 10);
    until("the backfill ends", ("done".to_string(), 10, Some(10)), || backfill_state(&app)).await;
    let (anna, boris) = (user_id(&app, "anna@example.com").await, user_id(&app, "boris@example.com").await);
    let utc = |d, h| Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap();
    assert_eq!(
        activities(&app).await,
        vec![
            ("bitrix24:activity:61".into(), anna.clone(), "call".into(), utc(10, 8)),
            ("bitrix24:activity:62".into(), boris.clone(), "meeting".into(), utc(11, 13)),
            ("bitrix24:activity:63".into(), anna.clone(), "email".into(), utc(12, 7)),
            ("bitrix24:activity:65".into(), anna.clone(), "message".into(), utc(29, 23)),
        ]
    );
    until("touchpoints", 4.0, || touchpoints(&app, &token)).await;
    until("Anna's points", 53, || points(&app, &token, &anna)).await;
    until("Boris's points", 51, || points(&app, &token, &boris)).await;

    // A call Boris completes on the 20th: its event carries only the id, read back with
    // `crm.activity.get`; one more touchpoint, one more point.
    connectors::setup::set_hook_secret(&app.pool, Some(&keyring), &admin, id, "app-token-1").await.unwrap();
    bitrix.set(|s| s.activities.push(activity_json(67, 8, 2, true, 20, 12)));
    let key: String = sqlx::query_scalar("SELECT hook_key FROM connectors").fetch_one(&app.pool).await.unwrap();
    let body = event_body("ONCRMACTIVITYADD", 67, 1_795_176_000, &portal(&bitrix), "app-token-1");
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let (status, answer) = post_hook(&app, &format!("/api/v1/hooks/bitrix24/{key}"), &form, body).await;
    assert_eq!((status, answer["queued"].as_u64()), (200, Some(1)));
    until("touchpoints with the call", 5.0, || touchpoints(&app, &token)).await;
    until("Boris's points with the call", 52, || points(&app, &token, &boris)).await;

    // Deleting the connector keeps what it brought: the team's history.
    assert_eq!(connectors::setup::delete(&app.pool, &admin, id, false).await.unwrap(), 0);
    let left: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM deals), (SELECT count(*) FROM activities), (SELECT count(*) FROM connectors)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(left, (4, 5, 0), "deals 41, 42, 43, 45 (44 waits for Vera); activities 61, 62, 63, 65 and 67");
    assert_eq!(touchpoints(&app, &token).await, 5.0);
    let e = connectors::setup::delete(&app.pool, &admin, id, true).await.unwrap_err();
    assert!(e.to_string().contains(&format!("no connector {id}")), "{e}");
}

/// A list field mapped to the deal type: Bitrix24 sends the chosen item's id (44, 45), the page
/// shows its label. Deal 41 is "Новая" (44), 42 "Допродажа" (45).
#[tokio::test]
async fn a_list_field_is_shown_by_its_labels_and_gives_the_deal_type() {
    let (app, bitrix, _token, admin) = fixture().await;
    bitrix.set(|s| {
        s.deals[0]["UF_CRM_TYPE"] = json!("44");
        s.deals[1]["UF_CRM_TYPE"] = json!("45");
    });
    let keyring = connectors::Keyring::from_env().unwrap();
    let id = connectors::setup::create(&app.pool, Some(&keyring), &admin, access(&bitrix)).await.unwrap();
    let since = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    connectors::setup::start_backfill(&app.pool, Some(&keyring), &admin, id, since).await.unwrap();
    until("the backfill ends", ("done".to_string(), 5, Some(5)), || backfill_state(&app)).await;
    let status = &connectors::setup::statuses(&app.pool, Some(&keyring), &admin).await.unwrap()[0];
    let fields: Vec<(&str, &str)> = status.fields.iter().map(|f| (f.key.as_str(), f.name.as_str())).collect();
    assert_eq!(fields, vec![("COMPANY_ID", "Компания"), ("UF_CRM_TYPE", "Тип сделки")]);

    connectors::setup::set_fields(&app.pool, &admin, id, None, None, Some("UF_CRM_TYPE".into())).await.unwrap();
    let status = &connectors::setup::statuses(&app.pool, Some(&keyring), &admin).await.unwrap()[0];
    assert_eq!(
        status.deal_type_values,
        vec![("44".into(), "Новая".into(), 1, None), ("45".into(), "Допродажа".into(), 1, None)]
    );
    connectors::setup::set_deal_type(&app.pool, &admin, id, "45", Some("cross_sell")).await.unwrap();
    let types: Vec<(String, String)> =
        sqlx::query_as("SELECT id, deal_type FROM deals WHERE id IN ('bitrix24:41', 'bitrix24:42') ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(types, vec![("bitrix24:41".into(), "new".into()), ("bitrix24:42".into(), "cross_sell".into())]);
    // Another deal-type field forgets what the values meant.
    connectors::setup::set_fields(&app.pool, &admin, id, None, None, Some("COMPANY_ID".into())).await.unwrap();
    let status = &connectors::setup::statuses(&app.pool, Some(&keyring), &admin).await.unwrap()[0];
    assert!(status.field_map.deal_types.is_empty());
    let upsold: i64 =
        sqlx::query_scalar("SELECT count(*) FROM deals WHERE deal_type <> 'new'").fetch_one(&app.pool).await.unwrap();
    assert_eq!(upsold, 0);
}

/// Leads (`crm.lead.list`), created in November (Moscow time, 10:00):
/// | lead | owner   | source | state         | made | changed |
/// | 71   | 7 Anna  | WEB    | S converted   | 3rd  | 8th     |
/// | 72   | 8 Boris | CALL   | P in work     | 5th  | 5th     |
/// | 73   | 7 Anna  | WEB    | F junk        | 6th  | 9th     |
/// | 74   | 9 Vera  | WEB    | P in work     | 7th  | 7th     | waits for Vera
/// | 75   | 8 Boris | CALL   | S converted   | 4th  | 10th    | by its event, after the backfill
/// customer_acquisition_rate = leads created in P converted by now / leads created in P × 100:
/// 1 / 3 after the backfill, 2 / 4 with lead 75, 2 / 5 once Vera is mapped.
#[tokio::test]
async fn leads_arrive_with_their_source_and_conversion() {
    use crate::crm::bitrix24::lead_json;
    let (app, bitrix, token, admin) = fixture().await;
    bitrix.set(|s| {
        s.leads = vec![
            lead_json(71, 7, "WEB", "S", 3, 8),
            lead_json(72, 8, "CALL", "P", 5, 5),
            lead_json(73, 7, "WEB", "F", 6, 9),
            lead_json(74, 9, "WEB", "P", 7, 7),
        ]
    });
    let keyring = connectors::Keyring::from_env().unwrap();
    let id = connectors::setup::create(&app.pool, Some(&keyring), &admin, access(&bitrix)).await.unwrap();
    let since = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    // 5 deals, no activities, 4 leads.
    assert_eq!(connectors::setup::start_backfill(&app.pool, Some(&keyring), &admin, id, since).await.unwrap(), 9);
    until("the backfill ends", ("done".to_string(), 9, Some(9)), || backfill_state(&app)).await;
    let (anna, boris) = (user_id(&app, "anna@example.com").await, user_id(&app, "boris@example.com").await);
    let leads: Vec<(String, String, Option<String>, Option<chrono::DateTime<Utc>>)> =
        sqlx::query_as("SELECT id, owner_id, source, converted_at FROM leads ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let converted = Utc.with_ymd_and_hms(2026, 11, 8, 7, 0, 0).unwrap();
    assert_eq!(
        leads,
        vec![
            ("bitrix24:lead:71".into(), anna.clone(), Some("WEB".into()), Some(converted)),
            ("bitrix24:lead:72".into(), boris.clone(), Some("CALL".into()), None),
            ("bitrix24:lead:73".into(), anna.clone(), Some("WEB".into()), None),
        ]
    );
    let rate = || async {
        let card = app.get_json(&token, "/api/v1/kpis?scope=org&period=2026-11").await;
        let kpi = card["kpis"].as_array().unwrap().iter().find(|k| k["id"] == "customer_acquisition_rate").cloned();
        kpi.and_then(|k| k["value"].as_f64()).map(|v| (v * 1e6).round() / 1e6)
    };
    until("one of three leads converted", Some(33.333333), rate).await;
    // A lead converted on the 10th arrives by its event, read back with `crm.lead.get`: 2 of 4.
    connectors::setup::set_hook_secret(&app.pool, Some(&keyring), &admin, id, "app-token-1").await.unwrap();
    bitrix.set(|s| s.leads.push(lead_json(75, 8, "CALL", "S", 4, 10)));
    let key: String = sqlx::query_scalar("SELECT hook_key FROM connectors").fetch_one(&app.pool).await.unwrap();
    let body = event_body("ONCRMLEADUPDATE", 75, 1_795_176_000, &portal(&bitrix), "app-token-1");
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let (status, _) = post_hook(&app, &format!("/api/v1/hooks/bitrix24/{key}"), &form, body).await;
    assert_eq!(status, 200);
    until("two of four leads converted", Some(50.0), rate).await;
    connectors::setup::map_person(&app.pool, &admin, id, "9", connectors::setup::Mapping::Invite).await.unwrap();
    until("two of five", Some(40.0), rate).await;

    // Deleted with what it brought: the leads go too.
    let removed = connectors::setup::delete(&app.pool, &admin, id, true).await.unwrap();
    // Deals 41, 42, 43, 44 (Vera's, now mapped), 45 and five leads.
    assert_eq!(removed, 10);
    assert_eq!(app.count("leads").await, 0);
}
