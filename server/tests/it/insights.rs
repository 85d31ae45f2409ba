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

/// A month under way, seen on 2 October 2026 at 12:00 UTC (the clock is passed in,
/// not read: 1.5 of October's 31 days have passed).
/// Teams t1 (Анна r1, Борис r2) and t2 (Вера r3); the organisation is in UTC.
/// September: Анна wins 1000 (1st, 10:00), 2000 (2nd, 09:00), 3000 (2nd, 15:00, after
///   the same point) and loses 100 (1st, 12:00); Борис wins 500 (1st) and 4000 (20th).
///   Анна's touchpoints: the 1st and 2nd at 10:00, the 2nd at 13:00, the 15th.
/// October so far: Анна wins 400 (1st) and 200 (2nd, 11:00); Борис wins 1000 (2nd,
///   09:00) and loses 300 (1st). Анна's touchpoints: the 1st at 10:00, the 2nd at 10:00 and 11:00.
/// October targets: Анна revenue 3100, touchpoints 124, win rate 80; Борис revenue
///   31000, win rate 80 and a response time of 60 minutes (he has no leads); the team revenue 31000.
mod running_month {
    use crate::helpers::TestApp;
    use app::kpi::{find, pace, Scope};
    use app::period::Period;
    use serde_json::json;
    use store::insights::{forecast, revenue_movers, weak_spots_at};
    use store::kpis::{card_history, KpiEntry};

    fn now() -> chrono::DateTime<chrono::Utc> {
        "2026-10-02T12:00:00Z".parse().unwrap()
    }

    fn october() -> Period {
        Period::parse("2026-10").unwrap()
    }

    async fn setup() -> TestApp {
        let app = TestApp::spawn().await;
        let token = app.sync_token().await;
        let deal = |id: &str, owner: &str, amount: f64, status: &str, closed: &str| {
            json!({"kind": "deal", "id": id, "owner": owner, "amount": amount, "status": status,
                   "created_at": "2026-08-20T00:00:00Z", "closed_at": closed})
        };
        let call = |id: &str, at: &str| json!({"kind": "activity", "id": id, "owner": "r1", "activity_type": "call", "at": at});
        let mut records = crate::helpers::two_teams_three_reps().as_array().unwrap().clone();
        records.extend([
            deal("s1", "r1", 1000.0, "won", "2026-09-01T10:00:00Z"),
            deal("s2", "r1", 2000.0, "won", "2026-09-02T09:00:00Z"),
            deal("s3", "r1", 3000.0, "won", "2026-09-02T15:00:00Z"),
            deal("s4", "r1", 100.0, "lost", "2026-09-01T12:00:00Z"),
            deal("s5", "r2", 500.0, "won", "2026-09-01T11:00:00Z"),
            deal("s6", "r2", 4000.0, "won", "2026-09-20T10:00:00Z"),
            deal("o1", "r1", 400.0, "won", "2026-10-01T10:00:00Z"),
            deal("o2", "r1", 200.0, "won", "2026-10-02T11:00:00Z"),
            deal("o3", "r2", 1000.0, "won", "2026-10-02T09:00:00Z"),
            deal("o4", "r2", 300.0, "lost", "2026-10-01T15:00:00Z"),
            call("a1", "2026-09-01T10:00:00Z"),
            call("a2", "2026-09-02T10:00:00Z"),
            call("a3", "2026-09-02T13:00:00Z"),
            call("a4", "2026-09-15T10:00:00Z"),
            call("a5", "2026-10-01T10:00:00Z"),
            call("a6", "2026-10-02T10:00:00Z"),
            call("a7", "2026-10-02T11:00:00Z"),
        ]);
        let (status, body) = app.post_records(&token, &json!(records)).await;
        assert_eq!(status, 200, "{body}");
        for (kpi, scope, value) in [
            ("revenue", "rep:r1", 3100.0),
            ("touchpoints", "rep:r1", 124.0),
            ("win_rate", "rep:r1", 80.0),
            ("revenue", "rep:r2", 31000.0),
            ("win_rate", "rep:r2", 80.0),
            ("response_time", "rep:r2", 60.0),
            ("revenue", "team:t1", 31000.0),
        ] {
            store::targets::set(&app.pool, kpi, scope, "2026-10", value, "r1").await.unwrap();
        }
        app
    }

    fn value(card: &[KpiEntry], id: &str) -> Option<f64> {
        card.iter().find(|e| e.id == id).unwrap_or_else(|| panic!("{id} on the card")).value
    }

    fn entry<'a>(card: &'a [KpiEntry], id: &str) -> &'a KpiEntry {
        card.iter().find(|e| e.id == id).unwrap()
    }

    fn near(got: f64, expected: f64) {
        assert!((got - expected).abs() < 1e-9, "got {got}, expected {expected}");
    }

    #[tokio::test]
    async fn the_card_compares_with_the_same_span_of_the_previous_month_and_paces_against_the_prorated_target() {
        let app = setup().await;
        let r1 = Scope::Rep("r1".into());
        let h = card_history(&app.pool, &r1, october(), chrono_tz::UTC, 6, now()).await.unwrap();
        assert_eq!(h.running, Some(1.5 / 31.0));
        let current = h.cards.last().unwrap();
        // So far: 400 + 200 won, 2 won and none lost, 3 touchpoints.
        assert_eq!(value(current, "revenue"), Some(600.0));
        assert_eq!(value(current, "win_rate"), Some(100.0));
        assert_eq!(value(current, "touchpoints"), Some(3.0));
        // Against 1 September 00:00 – 2 September 12:00, not all of September:
        // 1000 + 2000 won (3000 won after noon), one lost: 2 of 3; 2 touchpoints (not 4).
        assert_eq!(value(&h.previous, "revenue"), Some(3000.0));
        near(value(&h.previous, "win_rate").unwrap(), 200.0 / 3.0);
        assert_eq!(value(&h.previous, "touchpoints"), Some(2.0));
        // The trend keeps September whole: 6000.
        assert_eq!(value(&h.cards[h.cards.len() - 2], "revenue"), Some(6000.0));

        // Attainment stays against the whole month's target: 600 of 3100.
        let revenue = entry(current, "revenue");
        near(revenue.attainment.unwrap(), 600.0 * 100.0 / 3100.0);
        // Pace: 3100 × 1.5 / 31 = 150 due by now; 600 is 400 % of it.
        let def = find("revenue").unwrap();
        let p = pace(def, revenue.value, revenue.target, h.running.unwrap()).unwrap();
        near(p.expected, 150.0);
        near(p.attainment.unwrap(), 400.0);
        assert!(p.on_pace);
        // Touchpoints: 124 × 1.5 / 31 = 6 due, 3 done: 50 %, behind pace.
        let touch = entry(current, "touchpoints");
        let p = pace(find("touchpoints").unwrap(), touch.value, touch.target, h.running.unwrap()).unwrap();
        near(p.expected, 6.0);
        near(p.attainment.unwrap(), 50.0);
        assert!(!p.on_pace);
        // A win rate is not prorated: 100 % against 80 % is 125 %, on pace.
        let rate = entry(current, "win_rate");
        let p = pace(find("win_rate").unwrap(), rate.value, rate.target, h.running.unwrap()).unwrap();
        assert_eq!((p.expected, p.attainment, p.on_pace), (80.0, Some(125.0), true));
    }

    #[tokio::test]
    async fn a_closed_month_keeps_its_whole_figures_and_compares_with_the_whole_month_before() {
        let app = setup().await;
        let september = Period::parse("2026-09").unwrap();
        let h = card_history(&app.pool, &Scope::Team("t1".into()), september, chrono_tz::UTC, 6, now()).await.unwrap();
        assert_eq!(h.running, None);
        // All of September: 1000 + 2000 + 3000 + 500 + 4000; all of August: nothing.
        assert_eq!(value(h.cards.last().unwrap(), "revenue"), Some(10500.0));
        assert_eq!(value(&h.previous, "revenue"), Some(0.0));
    }

    #[tokio::test]
    async fn the_forecast_on_the_second_runs_at_the_months_pace() {
        let app = setup().await;
        let f = forecast(&app.pool, &Scope::Team("t1".into()), october(), chrono_tz::UTC, now()).await.unwrap();
        assert_eq!(f.elapsed, 1.5 / 31.0);
        // Won so far: 400 + 200 + 1000.
        assert_eq!(f.revenue_to_date, 1600.0);
        near(f.run_rate.unwrap(), 1600.0 * 31.0 / 1.5);
        // July–September: 5 won, 1 lost.
        near(f.recent_win_rate.unwrap(), 500.0 / 6.0);
        // 31000 × 1.5 / 31 = 1500 due by now; 1600 is 106.67 % of it, the run rate's share of the target.
        let p = f.pace.unwrap();
        near(p.expected, 1500.0);
        near(p.attainment.unwrap(), 1600.0 * 100.0 / 1500.0);
        near(p.attainment.unwrap(), f.run_rate.unwrap() * 100.0 / f.target.unwrap());
        assert!(p.on_pace);
    }

    #[tokio::test]
    async fn weak_spots_of_a_running_month_are_against_the_pace_and_skip_kpis_without_data() {
        let app = setup().await;
        let spots_at = |now: chrono::DateTime<chrono::Utc>| {
            let pool = app.pool.clone();
            async move { weak_spots_at(&pool, "t1", october(), chrono_tz::UTC, 70.0, now).await.unwrap() }
        };
        let rows = |spots: &[store::insights::WeakSpot]| {
            spots.iter().map(|s| (s.user_id.clone(), s.kpi.clone(), s.kpis_below, s.so_far)).collect::<Vec<_>>()
        };
        let row =
            |user: &str, kpi: &str, below: usize, so_far: bool| (user.to_string(), kpi.to_string(), below, so_far);

        // The 2nd: Анна has 3 of the 6 touchpoints due (50 %); Борис won 1 of 2 closed, 50 % of a
        // 80 % win rate is 62.5 %. Revenue is not judged yet: 150 and 1500 due are less than one
        // average won deal of the team in July–September ((1000 + 2000 + 3000 + 500 + 4000) / 5 =
        // 2100), so a rep at 0 would have missed nothing. Борис's response time has no leads
        // behind it: no data, not 0 %.
        let spots = spots_at(now()).await;
        assert_eq!(rows(&spots), vec![row("r1", "touchpoints", 1, true), row("r2", "win_rate", 1, true)]);
        near(spots[0].attainment, 50.0);
        near(spots[1].attainment, 62.5);

        // The 16th at noon, half of October (no record since the 2nd): 62 touchpoints due for
        // Анна (3: 4.84 %; her 1550 of revenue due is still under one deal), Борис 1000 of 15500 (6.45 %).
        let spots = spots_at("2026-10-16T12:00:00Z".parse().unwrap()).await;
        assert_eq!(rows(&spots), vec![row("r1", "touchpoints", 1, true), row("r2", "revenue", 2, true)]);
        near(spots[0].attainment, 300.0 / 62.0);
        near(spots[1].attainment, 100000.0 / 15500.0);

        // Once October has closed, the whole targets: Анна 3 of 124 touchpoints and 600 of 3100, Борис 1000 of 31000.
        let spots = spots_at("2026-11-05T00:00:00Z".parse().unwrap()).await;
        assert_eq!(rows(&spots), vec![row("r1", "touchpoints", 2, false), row("r2", "revenue", 2, false)]);
        near(spots[0].attainment, 300.0 / 124.0);
        near(spots[1].attainment, 100000.0 / 31000.0);
    }

    #[tokio::test]
    async fn movers_compare_with_the_same_span_of_the_previous_month() {
        let app = setup().await;
        let t1 = Scope::Team("t1".into());
        let all = revenue_movers(&app.pool, &t1, october(), chrono_tz::UTC, now()).await.unwrap();
        let (up, down) = app::insights::movers(all, 3);
        let rows = |m: &[app::insights::Mover]| {
            m.iter().map(|m| (m.user_id.clone(), m.previous, m.current, m.places())).collect::<Vec<_>>()
        };
        // Борис: 500 by this point of September, 1000 now, from second to first; against all of
        // September (4500) he would be "down". Анна: 3000 then, 600 now.
        assert_eq!(rows(&up), vec![("r2".to_string(), 500.0, 1000.0, 1)]);
        assert_eq!(rows(&down), vec![("r1".to_string(), 3000.0, 600.0, -1)]);
    }
}
