use super::*;
use domain::kpi::Better;

fn v(name: &str, value: Option<f64>) -> (String, String, Option<f64>) {
    (name.to_lowercase(), name.to_string(), value)
}

#[test]
fn equal_values_share_a_rank_and_nulls_come_last_together() {
    let ranked =
        rank(vec![v("D", None), v("A", Some(5.0)), v("B", Some(7.0)), v("C", Some(5.0)), v("E", None)], Better::Higher);
    let got: Vec<(usize, &str)> = ranked.iter().map(|r| (r.rank, r.name.as_str())).collect();
    assert_eq!(got, vec![(1, "B"), (2, "A"), (2, "C"), (4, "D"), (4, "E")]);
}

#[test]
fn a_cost_date_is_in_a_period_when_its_local_midnight_is() {
    use chrono::TimeZone;
    let moscow: chrono_tz::Tz = "Europe/Moscow".parse().unwrap();
    let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    // Moscow's 2 November starts at 1 November 21:00 UTC.
    assert_eq!(first_date_from(Utc.with_ymd_and_hms(2026, 11, 1, 21, 0, 0).unwrap(), moscow), day(2));
    assert_eq!(first_date_from(Utc.with_ymd_and_hms(2026, 11, 1, 21, 0, 1).unwrap(), moscow), day(3));
    assert_eq!(first_date_from(Utc.with_ymd_and_hms(2026, 11, 1, 20, 59, 59).unwrap(), moscow), day(2));
    assert_eq!(first_date_from(Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap(), chrono_tz::UTC), day(2));
}

#[test]
fn lower_is_better_ranks_ascending() {
    let ranked = rank(vec![v("A", Some(30.0)), v("B", Some(12.5)), v("C", None)], Better::Lower);
    let got: Vec<(usize, &str)> = ranked.iter().map(|r| (r.rank, r.name.as_str())).collect();
    assert_eq!(got, vec![(1, "B"), (2, "A"), (3, "C")]);
}
