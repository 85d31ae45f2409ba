//! Upgrades: migrations only go forward, and a database that an earlier release
//! created, with data in it, is migrated by `serve` and reads the same afterwards.
//!
//! An earlier release's schema is this repository's migrations up to that release's
//! last one (a migration, once released, is never edited: sqlx checks each one's
//! checksum). The data is what that release stored: rows written straight into its
//! tables, its triggers keeping the rollups, as its own code did.

use crate::helpers::TestApp;
use serde_json::{json, Value};

/// The schemas a database is tested from, each the last migration applied, chosen so that the
/// paths cross every data-moving migration: the one the points ledger came with (the first the
/// data below fits; from it the rollups and their backfills, the work queue, ledger reasons as
/// data and rollups in one pass follow), the last before the scoring worker, and this build's
/// whole set, the previous release's (no migration is new since). Each starts an instance of
/// its own, which the test process keeps: three, not every migration, keeps the test server's
/// connections in bounds.
const SCHEMAS: [i64; 3] = [20261128000001, 20261204000001, 20261209160401];

/// A fresh database with the migrations up to `last` applied, and nothing after.
async fn database_at(last: i64) -> String {
    let url = TestApp::fresh_database().await;
    let dir = std::env::temp_dir().join(format!("kpi-arena-migrations-{last}-{}", rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let version: i64 = name.split('_').next().unwrap().parse().unwrap();
        if version <= last {
            std::fs::copy(&path, dir.join(&name)).unwrap();
        }
    }
    let earlier = sqlx::migrate::Migrator::new(dir.as_path()).await.unwrap();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    earlier.run(&pool).await.unwrap();
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version").fetch_all(&pool).await.unwrap();
    assert_eq!(applied.last(), Some(&last));
    old_release_data(&pool).await;
    pool.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
    url
}

/// What the earlier release stored: a team, an admin and two reps, March 2025's deals,
/// a revenue target, one points rule of the organisation's own (10 a won deal; the default
/// rules, where the schema came with them, switched off) and its ledger, awarded.
async fn old_release_data(pool: &sqlx::PgPool) {
    sqlx::raw_sql(
        "INSERT INTO teams (id, name, region) VALUES ('t1', 'North team', 'North');
         INSERT INTO users (id, name, email, role, team_id) VALUES
             ('a1', 'Admin', 'admin@example.com', 'admin', NULL),
             ('r1', 'Анна', 'r1@example.com', 'rep', 't1'),
             ('r2', 'Борис', 'r2@example.com', 'rep', 't1');
         INSERT INTO deals (id, owner_id, amount, created_at, status, closed_at) VALUES
             ('d1', 'r1', 1000.00, '2025-03-01T09:00:00Z', 'won',  '2025-03-05T10:00:00Z'),
             ('d2', 'r1',  500.50, '2025-03-02T09:00:00Z', 'won',  '2025-03-20T10:00:00Z'),
             ('d3', 'r1',  300.00, '2025-03-03T09:00:00Z', 'lost', '2025-03-22T10:00:00Z'),
             ('d4', 'r2',  200.00, '2025-03-04T09:00:00Z', 'won',  '2025-03-10T10:00:00Z'),
             ('d5', 'r2',  700.00, '2025-03-15T09:00:00Z', 'open', NULL);
         INSERT INTO targets (kpi, scope, period, value, set_by) VALUES ('revenue', 'rep:r1', '2025-03', 2000, 'a1');
         UPDATE points_rules SET active = false;
         INSERT INTO points_rules (kind, basis, points, label) VALUES ('per_unit', 'won_deals', 10, 'Won deal, 10');
         INSERT INTO points_entries (user_id, rule_id, key, at, points, kind, reason, records)
         SELECT e.user_id, r.id, e.key, e.at::timestamptz, 10, 'award', e.reason, e.records::jsonb
         FROM points_rules r, (VALUES
             ('r1', 'deal:d1', '2025-03-05T10:00:00Z', 'Won deal d1', '[{\"kind\": \"deal\", \"id\": \"d1\"}]'),
             ('r1', 'deal:d2', '2025-03-20T10:00:00Z', 'Won deal d2', '[{\"kind\": \"deal\", \"id\": \"d2\"}]'),
             ('r2', 'deal:d4', '2025-03-10T10:00:00Z', 'Won deal d4', '[{\"kind\": \"deal\", \"id\": \"d4\"}]')
         ) AS e (user_id, key, at, reason, records)
         WHERE r.label = 'Won deal, 10';",
    )
    .execute(pool)
    .await
    .expect("the earlier release's data fits its schema");
}

fn kpi<'a>(card: &'a Value, id: &str) -> &'a Value {
    card["kpis"].as_array().unwrap().iter().find(|k| k["id"] == id).unwrap()
}

/// Migrates a database left by an earlier release (`last`) and checks it reads as it did,
/// then keeps working: a new deal is stored and scored.
async fn upgrade_from(last: i64) {
    let url = database_at(last).await;
    let app = TestApp::on_database(&url).await;
    let missing = store::health::missing_migrations(&app.pool).await.unwrap();
    assert!(missing.is_empty(), "every migration applied: {missing:?} missing");
    let token = store::users::create_token(&app.pool, "admin@example.com", "upgrade").await.unwrap();

    // March 2025 for Anna: won 1,000 + 500.50, lost 300.
    let card = app.get_json(&token, "/api/v1/kpis?scope=rep:r1&period=2025-03").await;
    assert_eq!(kpi(&card, "revenue")["value"], 1500.5);
    assert_eq!(kpi(&card, "won_lost_ratio")["value"], 2.0);
    assert_eq!(kpi(&card, "avg_deal_size")["value"], 750.25);
    let win_rate = kpi(&card, "win_rate")["value"].as_f64().unwrap();
    assert!((win_rate - 200.0 / 3.0).abs() < 1e-9, "2 won of 3 closed: {win_rate}");
    assert_eq!(kpi(&card, "revenue")["target"], 2000.0);
    assert_eq!(kpi(&card, "revenue")["attainment"], 75.025);
    // The team: Anna's 1,500.50 and Boris's 200.
    let team = app.get_json(&token, "/api/v1/kpis?scope=team:t1&period=2025-03").await;
    assert_eq!(kpi(&team, "revenue")["value"], 1700.5);
    let board = app.get_json(&token, "/api/v1/leaderboard?scope=team:t1&period=2025-03&by=revenue").await;
    let ranked: Vec<(&str, f64)> = board["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["user"]["id"].as_str().unwrap(), e["value"].as_f64().unwrap()))
        .collect();
    assert_eq!(ranked, [("r1", 1500.5), ("r2", 200.0)]);

    // The ledger the earlier release wrote reads as it was: two awards of 10.
    let points = app.get_json(&token, "/api/v1/points?user=r1&period=2025-03").await;
    assert_eq!(points["total"], 20, "{points}");
    assert_eq!(points["entries"].as_array().unwrap().len(), 2, "{points}");

    // And the upgraded database keeps working: a new won deal is stored and scored.
    let deal = json!([{"kind": "deal", "id": "d6", "owner": "r1", "amount": 100, "status": "won",
                       "created_at": "2025-03-25T09:00:00Z", "closed_at": "2025-03-26T10:00:00Z"}]);
    let (status, body) = app.post_records_scored(&token, &deal).await;
    assert_eq!((status, body), (200, json!({"accepted": 1, "scores": "current"})));
    let card = app.get_json(&token, "/api/v1/kpis?scope=rep:r1&period=2025-03").await;
    assert_eq!(kpi(&card, "revenue")["value"], 1600.5);
    assert_eq!(kpi(&card, "won_lost_ratio")["value"], 3.0);
    let points = app.get_json(&token, "/api/v1/points?user=r1&period=2025-03").await;
    assert_eq!(points["total"], 30, "10 for each of d1, d2 and d6: {points}");
}

#[tokio::test]
async fn a_database_left_at_an_earlier_schema_with_data_is_migrated_and_reads_the_same() {
    let known: Vec<i64> = store::MIGRATOR.iter().map(|m| m.version).collect();
    for last in SCHEMAS {
        assert!(known.contains(&last), "{last} is one of the migrations");
        println!("upgrading a database left at migration {last}");
        upgrade_from(last).await;
    }
}
