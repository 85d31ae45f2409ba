//! The demo history's unit tests: determinism, references and the shape of the data.
use super::*;
use domain::records::Kind;
use std::collections::{HashMap, HashSet};

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn day(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(15, 0, 0).unwrap().and_utc()
}

const MOSCOW: Tz = chrono_tz::Europe::Moscow;
const LONDON: Tz = chrono_tz::Europe::London;

/// In Moscow: a late-month weekday afternoon, a Sunday that is the first of its month, the
/// first half hour of a month and of a year, and the last half hour of a year. In London: the
/// days the clocks go forward and back, and the first minutes of a month on summer time
/// (00:05 BST, when the UTC date is still the last of the previous month).
fn moments() -> [(DateTime<Utc>, Tz); 8] {
    [
        (day(2026, 11, 27), MOSCOW),
        (at("2026-03-01T07:00:00Z"), MOSCOW),
        (at("2027-06-30T21:30:00Z"), MOSCOW),
        (at("2027-12-31T21:05:00Z"), MOSCOW),
        (at("2027-12-31T20:30:00Z"), MOSCOW),
        (at("2027-03-28T11:00:00Z"), LONDON),
        (at("2027-10-31T12:00:00Z"), LONDON),
        (at("2027-03-31T23:05:00Z"), LONDON),
    ]
}

#[test]
fn the_same_day_gives_the_same_records() {
    assert_eq!(demo_records(day(2026, 11, 27), MOSCOW), demo_records(day(2026, 11, 27), MOSCOW));
}

#[test]
fn references_point_to_earlier_records_of_the_right_kind_and_ids_are_unique() {
    let records = demo_records(day(2026, 11, 27), MOSCOW);
    let mut seen: HashSet<(Kind, String)> = HashSet::new();
    for r in &records {
        for (field, kind, id) in r.references() {
            let earlier = seen.contains(&(kind, id.to_string()));
            assert!(earlier, "{} `{}`: {field} `{id}` is not an earlier {}", r.kind().name(), r.id(), kind.name());
        }
        assert!(seen.insert((r.kind(), r.id().to_string())), "duplicate {} id `{}`", r.kind().name(), r.id());
    }
}

#[test]
fn the_demo_logins_exist_with_their_roles_and_emails_are_unique() {
    let records = demo_records(day(2026, 11, 27), MOSCOW);
    let users: Vec<&User> =
        records.iter().filter_map(|r| if let Record::User(u) = r { Some(u) } else { None }).collect();
    for login in crate::demo::DEMO_LOGINS {
        let user = users.iter().find(|u| u.email == login.email).expect(login.email);
        assert_eq!(user.role, login.role, "{}", login.email);
    }
    let emails: HashSet<String> = users.iter().map(|u| u.email.to_lowercase()).collect();
    assert_eq!(emails.len(), users.len());
    assert_eq!(users.iter().filter(|u| u.role == "rep").count(), 25);
}

#[test]
fn closed_deals_are_in_the_past_and_only_closed_deals_have_closed_at() {
    for (cap, zone) in moments() {
        for r in demo_records(cap, zone) {
            let Record::Deal(d) = r else { continue };
            assert!(d.created_at <= cap, "{}", d.id);
            assert!(d.amount > Decimal::ZERO && d.amount.scale() <= 2, "{}", d.id);
            match (d.status.as_str(), d.closed_at) {
                ("open", None) => {}
                ("won" | "lost", Some(at)) => {
                    assert!(at <= cap && d.created_at <= at, "{}", d.id)
                }
                other => panic!("{}: status and closed_at disagree: {other:?}", d.id),
            }
        }
    }
}

/// Won revenue per month (`%Y-%m` in `zone`).
fn won_by_month(records: &[Record], zone: Tz) -> std::collections::BTreeMap<String, f64> {
    let mut months = std::collections::BTreeMap::new();
    for r in records {
        if let Record::Deal(d) = r {
            if let (Some(at), "won") = (d.closed_at, d.status.as_str()) {
                let amount = rust_decimal::prelude::ToPrimitive::to_f64(&d.amount).unwrap();
                *months.entry(at.with_timezone(&zone).format("%Y-%m").to_string()).or_insert(0.0) += amount;
            }
        }
    }
    months
}

#[test]
fn the_demo_login_rep_has_a_won_deal_in_the_current_month() {
    for (now, zone) in moments() {
        let month = |t: DateTime<Utc>| t.with_timezone(&zone).format("%Y-%m").to_string();
        let won = demo_records(now, zone).into_iter().any(|r| match r {
            Record::Deal(d) => {
                d.owner == "u-rep"
                    && d.status == "won"
                    && d.closed_at.is_some_and(|t| t <= now && month(t) == month(now))
            }
            _ => false,
        });
        assert!(won, "u-rep won nothing by {now} in {zone}");
    }
}

/// A month under way holds its share of a month's sales, not more: on its 2nd day as on its
/// 27th, its won revenue so far is about the average month's × the elapsed share. (The demo once
/// dated everything still to come to the last 90 minutes and gave every rep extra wins in the
/// current month: two days of December then held more than a whole November.)
#[test]
fn a_month_under_way_runs_at_the_pace_of_the_months_before_it() {
    let moments = [
        (at("2026-12-02T07:00:00Z"), MOSCOW),
        (at("2027-03-02T07:00:00Z"), MOSCOW),
        (at("2027-03-15T10:00:00Z"), MOSCOW),
        (day(2026, 11, 27), MOSCOW),
        (at("2027-10-31T12:00:00Z"), LONDON),
    ];
    for (now, zone) in moments {
        let months = won_by_month(&demo_records(now, zone), zone);
        let current = now.with_timezone(&zone).format("%Y-%m").to_string();
        // The whole months: not the first (the history begins inside it) nor the current one.
        let whole: Vec<f64> = months.iter().filter(|(m, _)| **m != current).skip(1).map(|(_, v)| *v).collect();
        let average = whole.iter().sum::<f64>() / whole.len() as f64;
        let month = domain::period::Period::containing(
            domain::period::PeriodKind::Month,
            now.with_timezone(&zone).date_naive(),
        );
        let due = average * month.elapsed_share(zone, now);
        let so_far = months.get(&current).copied().unwrap_or(0.0);
        // Twice the pace at most, plus the one deal the demo login rep may be given.
        assert!(so_far <= 2.0 * due + 1_000_000.0, "{now} in {zone}: {so_far} won so far, {due} due");
        if month.elapsed_share(zone, now) > 0.4 {
            assert!(so_far >= 0.5 * due, "{now} in {zone}: {so_far} won so far, {due} due");
        }
    }
}

/// Nothing still to come is dated just before now: a deal that closes next week is open
/// today, a customer who churns next month is active, a lead converted later is not yet.
#[test]
fn events_still_to_come_are_left_out_not_crowded_before_now() {
    let now = day(2026, 11, 27);
    let records = demo_records(now, MOSCOW);
    let recent = |t: Option<DateTime<Utc>>| t.is_some_and(|t| t > now - Duration::minutes(90));
    let mut closed = 0;
    let mut churned = 0;
    let mut converted = 0;
    for r in &records {
        match r {
            Record::Deal(d) => closed += recent(d.closed_at) as usize,
            Record::Customer(c) => {
                assert!(c.churned_at.is_none_or(|t| t <= now), "{}", c.id);
                churned += recent(c.churned_at) as usize;
            }
            Record::Lead(l) => {
                for t in [l.first_contact_at, l.qualified_at, l.followed_up_at, l.converted_at] {
                    assert!(t.is_none_or(|t| t <= now), "{}", l.id);
                }
                converted += recent(l.converted_at) as usize;
            }
            _ => {}
        }
    }
    // About a hundred deals close in a month: a handful an office day, not dozens in 90 minutes.
    assert!(closed <= 5 && churned <= 2 && converted <= 3, "{closed} closed, {churned} churned, {converted} converted");
}

#[test]
fn volumes_are_roughly_as_intended() {
    let mut counts: HashMap<Kind, usize> = HashMap::new();
    for r in demo_records(day(2026, 11, 27), MOSCOW) {
        *counts.entry(r.kind()).or_default() += 1;
    }
    let n = |k: Kind| counts.get(&k).copied().unwrap_or(0);
    assert!((1_800..=3_500).contains(&n(Kind::Deal)), "{counts:?}");
    assert!((4_000..=6_000).contains(&n(Kind::Lead)), "{counts:?}");
    assert!((10_000..=20_000).contains(&n(Kind::Activity)), "{counts:?}");
    assert!(n(Kind::Customer) > 300 && n(Kind::Feedback) > 300 && n(Kind::CompetitorPrice) > 100, "{counts:?}");
}
