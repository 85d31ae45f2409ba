//! The homes of the people who run the floor: a manager's team month and an
//! admin's organisation month, on the KPI fixture of `kpis.rs` (October 2026, UTC).

use crate::admin::browser;
use crate::helpers::{TestApp, PASSWORD};
use app::period::Period;
use services::overview::{org_month, team_month};

async fn setup() -> TestApp {
    let app = TestApp::spawn().await;
    let token = app.sync_token().await;
    assert_eq!(app.post_records(&token, &crate::kpis::fixture()).await.0, 200);
    for (scope, value) in [("rep:r1", 2000.0), ("team:t1", 2800.0), ("org", 4000.0)] {
        store::targets::set(&app.pool, "revenue", scope, "2026-10", value, "m1").await.unwrap();
    }
    app
}

#[tokio::test]
async fn a_managers_home_is_their_teams_month() {
    let app = setup().await;
    let october = Period::parse("2026-10").unwrap();
    let m = team_month(&app.pool, "t1", october, chrono_tz::UTC).await.unwrap();
    // October's won revenue: r1 d1 1000.10 (d2 closes in November, d5 in September), r2 d6 400 (d7 November).
    let standings: Vec<(usize, &str, Option<f64>)> =
        m.standings.iter().map(|r| (r.rank, r.id.as_str(), r.value)).collect();
    assert_eq!(standings, vec![(1, "r1", Some(1000.10)), (2, "r2", Some(400.0))]);
    // r1 against their own 2000 target: 50.005 %; r2 has none.
    let r1 = m.attainment.iter().find(|r| r.id == "r1").unwrap().value.unwrap();
    assert!((r1 - 50.005).abs() < 1e-9, "{r1}");
    assert_eq!(m.attainment.iter().find(|r| r.id == "r2").unwrap().value, None);
    // The team card: 1400.10 of 2800 = 50.0036 %.
    let revenue = m.card.iter().find(|k| k.id == "revenue").unwrap();
    assert_eq!((revenue.value, revenue.target), (Some(1400.1), Some(2800.0)));
    assert!((revenue.attainment.unwrap() - 50.003_571).abs() < 1e-5);
    // Who needs support (under 70 %): r1 on revenue, 19.995 points under.
    let support: Vec<(&str, &str)> = m.weak_spots.iter().map(|w| (w.user_id.as_str(), w.kpi.as_str())).collect();
    assert_eq!(support, vec![("r1", "revenue")]);
    // Only t1's people: Вера (t2) is nowhere.
    assert!(m.wins.iter().all(|w| w.1 != "Вера"));
    assert!(m.flags.iter().all(|f| f.user_id != "r3"));
}

#[tokio::test]
async fn an_admins_home_is_the_organisation_and_what_is_left_to_set_up() {
    let app = setup().await;
    // A rep nobody has put in a team yet, and a revoked API token beside the sync one.
    app.user_with_token("loner@example.com", "Lone Rep", app::auth::Role::Rep, None).await;
    let october = Period::parse("2026-10").unwrap();
    let m = org_month(&app.pool, october, chrono_tz::UTC).await.unwrap();
    // t1: 1000.10 + 400 against 2800; t2: Вера's d9 (250) without a target. Most revenue first.
    let teams: Vec<(&str, usize, f64, Option<f64>)> =
        m.teams.iter().map(|t| (t.id.as_str(), t.reps, t.revenue, t.target)).collect();
    assert_eq!(teams, vec![("t1", 2, 1400.1, Some(2800.0)), ("t2", 1, 250.0, None)]);
    // The organisation: 1650.10 of 4000.
    let revenue = m.card.iter().find(|k| k.id == "revenue").unwrap();
    assert_eq!((revenue.value, revenue.target), (Some(1650.1), Some(4000.0)));
    let without: Vec<&str> = m.without_team.iter().map(|u| u.1.as_str()).collect();
    assert_eq!(without, vec!["Lone Rep"]);
    // Мила manages t1; nobody manages t2.
    assert_eq!(m.unmanaged, vec!["T2".to_string()]);
    assert_eq!(m.displays_active, 0);
    // The admin's sync token and the loner's.
    assert_eq!(m.tokens, 2);
}

#[tokio::test]
async fn each_role_gets_its_own_home_page() {
    let app = TestApp::spawn().await;
    app.user_with_token("boss@example.com", "Boss", app::auth::Role::Manager, None).await;
    app.user_with_token("chief@example.com", "Chief", app::auth::Role::Admin, None).await;
    app.user_with_token("seller@example.com", "Seller", app::auth::Role::Rep, None).await;
    for (email, mark) in [
        ("boss@example.com", r#"data-testid="no-team""#),
        ("chief@example.com", r#"data-testid="org-home""#),
        ("seller@example.com", r#"data-testid="my-rank""#),
    ] {
        let user = browser(&app, email, PASSWORD).await;
        let html = user.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        assert!(html.contains(mark), "{email}'s home is rendered on the server with {mark}");
    }
}
