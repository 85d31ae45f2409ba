//! Forecast and weak spots on the KPI fixture of `kpis.rs` (October 2026, UTC).

use crate::helpers::TestApp;
use app::kpi::Scope;
use app::period::Period;
use store::insights::{forecast, weak_spots};

async fn setup() -> TestApp {
    let app = TestApp::spawn().await;
    let token = app.sync_token().await;
    assert_eq!(app.post_records(&token, &crate::kpis::fixture()).await.0, 200);
    app
}

#[tokio::test]
async fn the_forecast_projects_by_run_rate_and_by_pipeline() {
    let app = setup().await;
    let october = Period::parse("2026-10").unwrap();
    store::targets::set(&app.pool, "revenue", "org", "2026-10", 3000.0, "r1").await.unwrap();
    // Halfway through October: 15.5 of 31 days.
    let now = "2026-10-16T12:00:00Z".parse().unwrap();
    let f = forecast(&app.pool, &Scope::Org, october, chrono_tz::UTC, now).await.unwrap();
    assert_eq!(f.elapsed, 0.5);
    assert_eq!(f.revenue_to_date, 1400.1); // d1 and d6; d9 closes on the 21st
    assert_eq!(f.run_rate, Some(2800.2));
    assert_eq!(f.open_pipeline, 700.0); // d4
    assert_eq!(f.recent_win_rate, Some(100.0)); // July–September: d5 won, nothing lost
    assert_eq!(f.pipeline, Some(2100.1));
    assert_eq!(f.target, Some(3000.0));

    // Team t2 has nothing won yet and no history: zero run rate, no pipeline projection.
    let t2 = forecast(&app.pool, &Scope::Team("t2".into()), october, chrono_tz::UTC, now).await.unwrap();
    assert_eq!((t2.revenue_to_date, t2.run_rate, t2.recent_win_rate, t2.pipeline), (0.0, Some(0.0), None, None));
}

#[tokio::test]
async fn weak_spots_list_reps_under_the_threshold_largest_gap_first() {
    let app = setup().await;
    for (scope, kpi, value) in [
        ("rep:r1", "revenue", 2000.0),    // 1000.10 → 50.005 %
        ("rep:r1", "win_rate", 50.0),     // 50 → 100 %
        ("rep:r1", "touchpoints", 10.0),  // 2 → 20 %
        ("rep:r2", "revenue", 500.0),     // 400 → 80 %
        ("rep:r2", "response_time", 5.0), // 10 minutes, lower is better → 50 %
        // r2 won d6 and lost nothing in October: won/lost has no value. That is
        // "no data", not a weak spot at "0 %".
        ("rep:r2", "won_lost_ratio", 2.0),
    ] {
        store::targets::set(&app.pool, kpi, scope, "2026-10", value, "m1").await.unwrap();
    }
    let spots = weak_spots(&app.pool, "t1", Period::parse("2026-10").unwrap(), chrono_tz::UTC, 70.0).await.unwrap();
    let got: Vec<(&str, &str, f64, usize)> = spots
        .iter()
        .map(|s| (s.user_id.as_str(), s.kpi.as_str(), (s.gap * 1000.0).round() / 1000.0, s.kpis_below))
        .collect();
    assert_eq!(got, vec![("r1", "touchpoints", 50.0, 2), ("r2", "response_time", 20.0, 1)]);
    assert_eq!(spots[0].attainment, 20.0);
}
