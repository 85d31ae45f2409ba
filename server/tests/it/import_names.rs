//! CSV import by the names people know (issue 16, item 11): an owner by email,
//! a customer, product or team by name, ids first; a name that several
//! records share, or nothing has, is refused naming its row and the value. Each
//! template's example row passes its own import.

use crate::admin::{browser, call};
use crate::helpers::{TestApp, PASSWORD};
use crate::import::uploaded;
use app::auth::Role;
use serde_json::{json, Value};

/// Teams t1 (reps r1 Анна, r2 Борис; manager boss@) and t2 (rep r3 Вера); admin
/// admin@; the organisation in UTC. With `catalogue`: product p1 "CRM", and
/// customers c1 "Ромашка" (r1), c2 " ромашка" (r2: the same name, to a file),
/// c3 "Лютик" (r1) and c4, named "c3" (r1).
async fn org(catalogue: bool) -> (TestApp, String) {
    let app = TestApp::spawn().await;
    let admin = app.user_with_token("admin@example.com", "Admin", Role::Admin, None).await;
    assert_eq!(app.post_records(&admin, &crate::helpers::two_teams_three_reps()).await.0, 200);
    app.user_with_token("boss@example.com", "Boss", Role::Manager, Some("t1")).await;
    if catalogue {
        let at = "2026-10-01T09:00:00Z";
        let records = json!([
            {"kind": "product", "id": "p1", "name": "CRM", "price": 1000},
            {"kind": "customer", "id": "c1", "name": "Ромашка", "region": "North", "owner": "r1", "acquired_at": at},
            {"kind": "customer", "id": "c2", "name": " ромашка", "region": "North", "owner": "r2", "acquired_at": at},
            {"kind": "customer", "id": "c3", "name": "Лютик", "region": "North", "owner": "r1", "acquired_at": at},
            {"kind": "customer", "id": "c4", "name": "c3", "region": "North", "owner": "r1", "acquired_at": at},
        ]);
        let (status, body) = app.post_records(&admin, &records).await;
        assert_eq!(status, 200, "{body}");
    }
    (app, admin)
}

async fn view(c: &reqwest::Client, app: &TestApp, id: &str) -> Value {
    let (status, body) = call(c, app, "import_view", &[("id", id)]).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// Stores a ready import and waits for it: its final view.
async fn store(c: &reqwest::Client, app: &TestApp, id: &str) -> Value {
    let (status, body) = call(c, app, "start_import", &[("id", id)]).await;
    assert_eq!(status, 200, "{body}");
    for _ in 0..100 {
        let v = view(c, app, id).await;
        if v["status"] != "storing" {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("import {id} still storing after 10 s");
}

const NAMED: &str = "id,owner,customer,product,amount,status,created_at\n\
n1,R1@Example.COM,лютик,crm,1000,open,2026-11-02 10:00\n\
n2,r2,c3,p1,2000,open,2026-11-02 10:00\n\
n3,r2@example.com,Ромашка,,500,open,2026-11-02 10:00\n\
n4,nobody@example.com,ЛЮТИК,,700,open,2026-11-02 10:00\n\
n5,r1,Фиалка,CRM,100,open,2026-11-02 10:00\n\
n6,r3@example.com,,,100,open,2026-11-02 10:00\n";

#[tokio::test]
async fn owners_are_named_by_email_and_customers_and_products_by_name_unambiguous_or_refused_by_row() {
    let (app, admin) = org(true).await;
    let boss = browser(&app, "boss@example.com", PASSWORD).await;
    let id = uploaded(&boss, &app, "deal", NAMED.as_bytes().to_vec()).await;
    let v = view(&boss, &app, &id).await;
    assert_eq!((v["status"].as_str(), v["total"].as_i64()), (Some("invalid"), Some(6)), "{v}");
    // Lines 2 and 3 name everything (by email and names ignoring case; by ids). No
    // `Accept-Language`: the import's own words in the organisation's Russian.
    assert_eq!(
        v["errors"],
        json!([
            [4, "n3", "`customer`: название `Ромашка` носят несколько записей (c1, c2); укажите id нужной"],
            [5, "n4", "`owner`: нет пользователя с id или почтой `nobody@example.com`"],
            [6, "n5", "`customer`: нет записи с id или названием `Фиалка`"],
            // Named by email, Вера is found, and then she is not of boss@'s team t1.
            [7, "n6", "owner `r3` is not a member of your team `t1`"],
        ])
    );
    assert_eq!(v["error_count"], 4);
    // In English for an English reader.
    let res = boss
        .post(app.url("/api/import_view"))
        .header("accept-language", "en")
        .form(&[("id", id.as_str())])
        .send()
        .await
        .unwrap();
    let en: Value = res.json().await.unwrap();
    assert_eq!(
        en["errors"][0][2],
        "`customer`: several have the name `Ромашка` (c1, c2); write the id of the one you mean"
    );
    assert_eq!(en["errors"][2][2], "`customer`: no customer has the id or name `Фиалка`");
    assert_eq!(app.count("deals").await, 0);

    // Mended: the ambiguous customer by id, the unknown owner by another email.
    let mended = "id,owner,customer,product,amount,status,created_at\n\
                  n1,R1@Example.COM,лютик,crm,1000,open,2026-11-02 10:00\n\
                  n2,r2,c3,p1,2000,open,2026-11-02 10:00\n\
                  n3,r2@example.com,c2,,500,open,2026-11-02 10:00\n\
                  n4,Boss@example.com,ЛЮТИК,,700,open,2026-11-02 10:00\n";
    let id = uploaded(&boss, &app, "deal", mended.as_bytes().to_vec()).await;
    let v = view(&boss, &app, &id).await;
    assert_eq!(v["status"], "ready", "{v}");
    let boss_id: String =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'boss@example.com'").fetch_one(&app.pool).await.unwrap();
    // The preview shows the records as they will be stored: ids. `c3` is customer c3's id
    // (ids come first), though c4 has that name.
    assert_eq!(
        v["preview"],
        json!([
            ["n1", "r1", "c3", "p1", "1000", "open", "2026-11-02T10:00:00+00:00"],
            ["n2", "r2", "c3", "p1", "2000", "open", "2026-11-02T10:00:00+00:00"],
            ["n3", "r2", "c2", "", "500", "open", "2026-11-02T10:00:00+00:00"],
            ["n4", boss_id, "c3", "", "700", "open", "2026-11-02T10:00:00+00:00"],
        ])
    );
    let v = store(&boss, &app, &id).await;
    assert_eq!((v["status"].as_str(), v["stored"].as_i64()), (Some("done"), Some(4)), "{v}");
    let deals: Vec<(String, String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT id, owner_id, customer_id, product_id FROM deals ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let s = |x: &str| x.to_string();
    assert_eq!(
        deals,
        vec![
            (s("n1"), s("r1"), Some(s("c3")), Some(s("p1"))),
            (s("n2"), s("r2"), Some(s("c3")), Some(s("p1"))),
            (s("n3"), s("r2"), Some(s("c2")), None),
            (s("n4"), boss_id, Some(s("c3")), None),
        ]
    );

    // The records API keeps taking ids only, as API.md says.
    let (status, body) = app
        .post_records(
            &admin,
            &json!([{"kind": "deal", "id": "api-1", "owner": "r1@example.com", "amount": 10, "status": "open",
                      "created_at": "2026-11-02T10:00:00Z"}]),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("owner `r1@example.com` is not a known user"));
}

#[tokio::test]
async fn a_team_is_named_by_name_in_a_file_of_users() {
    let (app, _) = org(false).await;
    let admin = browser(&app, "admin@example.com", PASSWORD).await;
    let file = "id,name,email,role,team\nu-dina,Дина,dina@example.com,rep,t2\nu-ivan,Иван,ivan@example.com,rep,t1 \n\
                u-olga,Ольга,olga@example.com,rep,Юг\n";
    // "t2" and "t1" are ids; "Юг" names nothing.
    let id = uploaded(&admin, &app, "user", file.as_bytes().to_vec()).await;
    let v = view(&admin, &app, &id).await;
    assert_eq!(v["errors"], json!([[4, "u-olga", "`team`: нет записи с id или названием `Юг`"]]));
    let file = "id,name,email,role,team\nu-dina,Дина,dina@example.com,rep,T2\n";
    let id = uploaded(&admin, &app, "user", file.as_bytes().to_vec()).await;
    let v = view(&admin, &app, &id).await;
    assert_eq!(v["status"], "ready", "{v}");
    assert_eq!(v["preview"][0], json!(["u-dina", "Дина", "dina@example.com", "rep", "t2"]), "T2 is t2's name");
}

/// Downloads `kind`'s template as `c` and imports it as it is: it must be ready and store.
async fn round_trip(c: &reqwest::Client, app: &TestApp, kind: &str) -> String {
    let res = c.get(app.url(&format!("/import/template/{kind}.csv"))).send().await.unwrap();
    assert_eq!(res.status(), 200, "{kind}");
    let bytes = res.bytes().await.unwrap().to_vec();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let id = uploaded(c, app, kind, bytes).await;
    let v = view(c, app, &id).await;
    assert_eq!(v["status"], "ready", "{kind}: {text}\n{v}");
    let v = store(c, app, &id).await;
    assert_eq!((v["status"].as_str(), v["stored"].as_i64()), (Some("done"), Some(1)), "{kind}: {v}");
    text
}

#[tokio::test]
async fn every_template_passes_its_own_import() {
    let (app, _) = org(false).await;
    let boss = browser(&app, "boss@example.com", PASSWORD).await;
    // A manager's kinds, in the order their references need (the product and customer
    // the later examples name are the earlier templates' own).
    let mut texts = Vec::new();
    for kind in
        ["product", "customer", "lead", "deal", "activity", "meeting_request", "feedback", "cost", "competitor_price"]
    {
        texts.push(round_trip(&boss, &app, kind).await);
    }
    // The deal template names boss@'s first rep by email, the customer and the product by
    // name, in the reader's (Russian) spreadsheet convention: `;`, a decimal comma, a BOM.
    let deal = &texts[3];
    assert_eq!(
        deal.trim_start_matches('\u{feff}').lines().collect::<Vec<_>>(),
        vec![
            "id;owner;customer;product;amount;deal_type;created_at;status;closed_at",
            "d-1;r1@example.com;OOO Romashka;CRM licence;125000,00;new;2026-11-02T10:00:00+03:00;won;2026-11-20T16:45:00+03:00",
        ]
    );
    assert!(deal.starts_with('\u{feff}'));
    let cost = texts[7].trim_start_matches('\u{feff}').lines().nth(1).unwrap().to_string();
    assert_eq!(cost, "cost-1;2026-11-01;marketing;50000,00;T1", "boss@'s own team, by name");
    let stored: (String, Option<String>, Option<String>) =
        sqlx::query_as("SELECT owner_id, customer_id, product_id FROM deals WHERE id = 'd-1'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored, ("r1".to_string(), Some("c-1".to_string()), Some("p-crm".to_string())));
    // Teams and users are an admin's; their templates pass too.
    let admin = browser(&app, "admin@example.com", PASSWORD).await;
    for kind in ["team", "user"] {
        round_trip(&admin, &app, kind).await;
    }
    let team: Option<String> =
        sqlx::query_scalar("SELECT team_id FROM users WHERE id = 'u-anna'").fetch_one(&app.pool).await.unwrap();
    assert_eq!(team.as_deref(), Some("t-north"), "the first team by name: North");
    // In English: commas and a decimal point.
    let res = admin.get(app.url("/import/template/product.csv")).header("accept-language", "en").send().await.unwrap();
    let text = res.text().await.unwrap();
    assert_eq!(text.trim_start_matches('\u{feff}').lines().nth(1), Some("p-crm,CRM licence,1200.00"));
}
