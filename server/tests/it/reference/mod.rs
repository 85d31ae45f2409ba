//! An independent reference implementation of KPIS.md, checked through the API on seeded random organisations.
//!
//! Each seed builds a small organisation whose timestamps crowd around the period boundaries of its time
//! zone, posts it through `POST /api/v1/records` in batches, re-sends part of it changed, then compares
//! every KPI of every scope over many periods, and some leaderboards, with naive loops written straight
//! from KPIS.md (never from the engine's code). Every mismatch is collected, printed, then the test fails.
//!
//! Where KPIS.md is silent the reference follows docs/KPI-CHOICES.md: feedback with neither owner nor
//! customer counts for `org` only; a won deal with no region is left out of `sales_by_region`; a product
//! whose competitors' mean price is 0 is left out of `competitor_price_index`; a target applies only to
//! exactly the calendar period it was set for; leaderboard ties are listed by name.

mod generator;
mod model;
mod records;

use crate::helpers::TestApp;
use app::auth::Role;
use chrono::{DateTime, Datelike, Duration, DurationRound, FixedOffset, NaiveDate, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;
use generator::*;
use model::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use records::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

type Time = DateTime<Utc>;

/// When a seed sets its organisation's time zone: before the records (rollups built in that zone), after
/// them (rollups rebuilt), or first another zone then this one between two rounds of changes (rebuilt from a
/// zone that is not UTC, then kept up to date by the changes that follow).
#[derive(Clone, Copy, Debug)]
enum ZoneSet {
    Never,
    BeforeRecords,
    AfterRecords,
    MovedFrom(&'static str),
}

#[tokio::test]
async fn reference_seed_1_berlin_zone_set_before_the_records() {
    run_seed(1, "Europe/Berlin", ZoneSet::BeforeRecords).await;
}

#[tokio::test]
async fn reference_seed_2_moscow_zone_set_after_the_records() {
    run_seed(2, "Europe/Moscow", ZoneSet::AfterRecords).await;
}

#[tokio::test]
async fn reference_seed_3_new_york_zone_set_after_the_records() {
    run_seed(3, "America/New_York", ZoneSet::AfterRecords).await;
}

#[tokio::test]
async fn reference_seed_4_utc() {
    run_seed(4, "UTC", ZoneSet::Never).await;
}

#[tokio::test]
async fn reference_seed_5_berlin_after_new_york_with_changes_on_both_sides() {
    run_seed(5, "Europe/Berlin", ZoneSet::MovedFrom("America/New_York")).await;
}

// ---------------------------------------------------------------------------------------------------
// Running a seed.

struct Check {
    seed: u64,
    zone: String,
    comparisons: usize,
    /// Comparisons of a number other than 0: the ones a constant answer could not pass.
    telling: usize,
    mismatches: Vec<String>,
}

impl Check {
    fn compare(&mut self, at: &str, what: &str, want: &Want, got: &Value) {
        self.comparisons += 1;
        if want.number().is_some_and(|x| x != 0.0) {
            self.telling += 1;
        }
        if !want.matches(got) {
            self.fail(at, what, want, got);
        }
    }

    fn fail(&mut self, at: &str, what: &str, want: impl fmt::Display, got: impl fmt::Display) {
        self.mismatches.push(format!("seed {} ({}) {at} {what}: expected {want}, got {got}", self.seed, self.zone));
    }
}

/// The JSON of a 200 answer; any other status is a mismatch of its own (and no body to compare).
async fn get(app: &TestApp, token: &str, path: &str, query: &[(&str, String)], check: &mut Check) -> Option<Asked> {
    let sent = app::clock::now();
    let res = app.client.get(app.url(path)).bearer_auth(token).query(query).send().await.unwrap();
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    let received = app::clock::now();
    check.comparisons += 1;
    if status != 200 {
        check.fail(&format!("GET {path} {query:?}"), "status", 200, format!("{status} {body}"));
        return None;
    }
    Some(Asked { body, sent, received })
}

/// An answer and the instants between which the engine took its now.
struct Asked {
    body: Value,
    sent: Time,
    received: Time,
}

async fn post(app: &TestApp, token: &str, batch: Vec<Value>) {
    let (status, body) = app.post_records(token, &Value::Array(batch)).await;
    assert_eq!(status, 200, "{body}");
}

async fn set_zone(app: &TestApp, zone: &str) {
    sqlx::query("UPDATE org_settings SET time_zone = $1").bind(zone).execute(&app.pool).await.unwrap();
}

fn periods(gen: &mut Gen) -> Vec<Period> {
    let tz = gen.tz;
    let today = gen.now.with_timezone(&tz).date_naive();
    let mut labels: Vec<String> = [
        "2026-03-08",
        "2026-03-29",
        "2026-10-01",
        "2026-10-25",
        "2026-11-01",
        "2026-12-01",
        "2026-W01",
        "2026-W13",
        "2026-W40",
        "2026-W44",
        "2026-W48",
        "2026-W53",
        "2025-12",
        "2026-01",
        "2026-03",
        "2026-10",
        "2026-11",
        "2026-12",
        "2026-Q1",
        "2026-Q3",
        "2026-Q4",
        "2027-Q1",
        "2025",
        "2026",
        "2027",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let week = today.iso_week();
    labels.push(today.format("%Y-%m-%d").to_string());
    labels.push(format!("{}-W{:02}", week.year(), week.week()));
    labels.push(today.format("%Y-%m").to_string());
    labels.sort();
    labels.dedup();
    let mut all: Vec<Period> = labels.iter().map(|l| named_period(tz, l)).collect();
    let fixed = [
        ("2026-03-29T01:30:00+02:00", "2026-03-30T00:00:00+02:00"),
        ("2026-10-25T02:30:00+01:00", "2026-11-23T12:00:00-05:00"),
        ("2026-09-30T22:00:00Z", "2026-11-01T00:00:01+01:00"),
        ("2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00"),
        ("2026-11-27T23:59:59Z", "2026-12-31T00:00:00+03:00"),
        ("2025-01-01T00:00:00Z", "2028-01-01T00:00:00Z"),
    ];
    for (from, to) in fixed {
        all.push(custom_period(from, to));
    }
    while all.len() < labels.len() + fixed.len() + 5 {
        let (a, b) = (gen.instant(), gen.instant());
        if a == b {
            continue;
        }
        let (from, to) = (gen.stamp(a.min(b)), gen.stamp(a.max(b)));
        all.push(custom_period(from.as_str().unwrap(), to.as_str().unwrap()));
    }
    // Bounds near now need no care: no record is near now, so any asof there reads the same.
    all
}

async fn run_seed(seed: u64, zone: &str, zone_set: ZoneSet) {
    let started = std::time::Instant::now();
    let app = TestApp::spawn().await;
    let token = app.sync_token().await;
    let admin = app.user_with_token("admin@example.com", "Admin", Role::Admin, None).await;
    // The organisation is built around the app's clock, on the hour (whole seconds: the
    // generator's instants are made from it, and the database keeps microseconds). No record
    // is within an hour before or three after it, so the minutes a run takes change no value,
    // and the same KPI_ARENA_TEST_NOW rebuilds exactly the same organisation.
    let now = app::clock::now().duration_trunc(Duration::hours(1)).unwrap();
    println!(
        "reference seed {seed} ({zone}) built around {now}; to reproduce: \
         KPI_ARENA_TEST_NOW={} cargo test --release -p kpi-arena-server --test it reference",
        now.to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    let tz: Tz = zone.parse().unwrap();
    let mut gen = Gen::new(seed, tz, now);
    let mut org = gen.organisation();

    match zone_set {
        ZoneSet::BeforeRecords => set_zone(&app, zone).await,
        ZoneSet::MovedFrom(first) => set_zone(&app, first).await,
        ZoneSet::Never | ZoneSet::AfterRecords => {}
    }
    let mut records: Vec<Value> = Vec::new();
    for (kind, id) in org.order.clone() {
        records.push(gen.record(&org, kind, &id));
    }
    let mut rest = records.as_slice();
    while !rest.is_empty() {
        let size = gen.rng.gen_range(20..160).min(rest.len());
        post(&app, &token, rest[..size].to_vec()).await;
        rest = &rest[size..];
    }
    let mut changed = gen.change(&mut org);
    let resent: Vec<Value> = changed.iter().map(|(kind, id)| gen.record(&org, *kind, id)).collect();
    let (first, second) = resent.split_at(resent.len() / 2);
    post(&app, &token, first.to_vec()).await;
    post(&app, &token, second.to_vec()).await;
    match zone_set {
        ZoneSet::AfterRecords => set_zone(&app, zone).await,
        ZoneSet::MovedFrom(_) => {
            set_zone(&app, zone).await;
            let again = gen.change(&mut org);
            let resent: Vec<Value> = again.iter().map(|(kind, id)| gen.record(&org, *kind, id)).collect();
            post(&app, &token, resent).await;
            changed.extend(again);
        }
        ZoneSet::Never | ZoneSet::BeforeRecords => {}
    }

    let periods = periods(&mut gen);
    let mut scopes = vec![Scope::Org];
    scopes.extend(org.teams.keys().map(|t| Scope::Team(t.clone())));
    let regions: BTreeSet<String> = org.teams.values().map(|t| t.region.clone()).collect();
    scopes.extend(regions.iter().map(|r| Scope::Region(r.clone())));
    scopes.extend(org.users.keys().map(|u| Scope::Rep(u.clone())));

    // Targets on a few calendar periods and scopes, set through the API.
    let mut targets: BTreeMap<(String, String, String), f64> = BTreeMap::new();
    let calendar: Vec<String> = periods.iter().filter_map(|p| p.target_key.clone()).collect();
    for _ in 0..25 {
        let scope = gen.pick(&scopes);
        if let Scope::Region(_) = scope {
            continue;
        }
        let kpi = gen.pick(&KPI_IDS);
        if kpi == "competitor_price_index" || !applies(kpi, &scope) {
            continue;
        }
        let period = gen.pick(&calendar);
        let value = gen.pick(&[0.0, 1.0, 12.5, 50.0, 1000.0, 25_000.75]);
        let body = json!({"kpi": kpi, "scope": scope.to_string(), "period": period, "value": value});
        let res = app.client.put(app.url("/api/v1/targets")).bearer_auth(&admin).json(&body).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200, "PUT /api/v1/targets {body}");
        targets.insert((kpi.to_string(), scope.to_string(), period), value);
    }

    let reference = Reference { org: &org, tz };
    let mut check = Check { seed, zone: zone.into(), comparisons: 0, telling: 0, mismatches: Vec::new() };
    let mut requests = 0;
    for scope in &scopes {
        for period in &periods {
            let mut query = vec![("scope", scope.to_string())];
            query.extend(period.query.iter().cloned());
            requests += 1;
            let Some(body) = get(&app, &token, "/api/v1/kpis", &query, &mut check).await else { continue };
            let at = format!("scope {scope} period {}", period.label);
            compare_card(&mut check, &at, &body, &reference, scope, period, &targets);
        }
    }

    // Leaderboards: every rep KPI over the organisation, a few over teams and regions.
    let named: Vec<&Period> = periods.iter().filter(|p| p.target_key.is_some() || p.label.len() == 10).collect();
    for (i, period) in named.iter().step_by(3).enumerate() {
        for scope in &scopes {
            let kpis: Vec<&str> = match scope {
                Scope::Org => KPI_IDS.iter().copied().filter(|k| applies(k, &Scope::Rep(String::new()))).collect(),
                Scope::Team(_) | Scope::Region(_) if i % 3 == 0 => {
                    vec!["revenue", "win_rate", "response_time", "acquisition_cost", "touchpoints", "retention_rate"]
                }
                _ => continue,
            };
            for kpi in kpis {
                let query =
                    vec![("period", period.label.clone()), ("by", kpi.to_string()), ("scope", scope.to_string())];
                requests += 1;
                let Some(body) = get(&app, &token, "/api/v1/leaderboard", &query, &mut check).await else { continue };
                let at = format!("leaderboard scope {scope} period {} by {kpi}", period.label);
                compare_board(&mut check, &at, &body, &reference, scope, period, kpi);
            }
        }
    }

    println!(
        "reference seed {seed} ({zone}, zone {zone_set:?}): {} records + {} re-sent, {requests} requests, \
         {} comparisons ({} of a non-zero number), {} mismatches, {:.1} s",
        records.len(),
        changed.len(),
        check.comparisons,
        check.telling,
        check.mismatches.len(),
        started.elapsed().as_secs_f64()
    );
    for m in &check.mismatches {
        println!("MISMATCH {m}");
    }
    assert!(
        check.mismatches.is_empty(),
        "seed {seed} around {now}: {} of {} comparisons disagree with KPIS.md; first: {}",
        check.mismatches.len(),
        check.comparisons,
        check.mismatches[..check.mismatches.len().min(5)].join("\n")
    );
}

#[allow(clippy::too_many_arguments)]
fn compare_card(
    check: &mut Check,
    at: &str,
    asked: &Asked,
    reference: &Reference,
    scope: &Scope,
    period: &Period,
    targets: &BTreeMap<(String, String, String), f64>,
) {
    let body = &asked.body;
    let start = body["period"]["start"].as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok());
    let end = body["period"]["end"].as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok());
    check.comparisons += 1;
    if start.map(|t| t.to_utc()) != Some(period.start) || end.map(|t| t.to_utc()) != Some(period.end) {
        check.fail(at, "period bounds", format!("{} .. {}", period.start, period.end), &body["period"]);
    }
    let expected = reference.kpis(scope, period.start, period.end, asked.sent);
    let later = reference.kpis(scope, period.start, period.end, asked.received);
    let got: BTreeMap<&str, &Value> =
        body["kpis"].as_array().unwrap().iter().map(|k| (k["id"].as_str().unwrap(), k)).collect();
    let want_ids: BTreeSet<&str> = KPI_IDS.iter().copied().filter(|k| applies(k, scope)).collect();
    let got_ids: BTreeSet<&str> = got.keys().copied().collect();
    check.comparisons += 1;
    if want_ids != got_ids {
        check.fail(at, "KPI list", format!("{want_ids:?}"), format!("{got_ids:?}"));
    }
    for kpi in want_ids {
        let (Some(entry), Some(want)) = (got.get(kpi), expected.get(kpi)) else { continue };
        let want_later = &later[kpi].value;
        let at = format!("{at} kpi {kpi}");
        check.compare(&at, "value", &either(&want.value, want_later), &entry["value"]);
        check.comparisons += 1;
        if entry["better"] != better(kpi) {
            check.fail(&at, "better", better(kpi), &entry["better"]);
        }
        if let Some(breakdown) = &want.breakdown {
            match entry["breakdown"].as_object() {
                None => check.fail(&at, "breakdown", format!("{breakdown:?}"), &entry["breakdown"]),
                Some(got) => {
                    let want_keys: BTreeSet<&String> = breakdown.keys().collect();
                    let got_keys: BTreeSet<&String> = got.keys().collect();
                    check.comparisons += 1;
                    if want_keys != got_keys {
                        check.fail(&at, "breakdown keys", format!("{breakdown:?}"), Value::Object(got.clone()));
                    }
                    for (key, want) in breakdown {
                        if let Some(g) = got.get(key) {
                            check.compare(&at, &format!("breakdown[{key}]"), want, g);
                        }
                    }
                }
            }
        }
        if let Some(negative) = &want.negative_share {
            check.compare(&at, "negative_share", negative, &entry["negative_share"]);
        }
        let target =
            period.target_key.as_ref().and_then(|p| targets.get(&(kpi.to_string(), scope.to_string(), p.clone())));
        let target_want = target.map_or(Want::Null, |t| Want::Real(*t));
        check.compare(&at, "target", &target_want, &entry["target"]);
        if kpi != "competitor_price_index" {
            let attained =
                either(&attainment(kpi, &want.value, target.copied()), &attainment(kpi, want_later, target.copied()));
            check.compare(&at, "attainment", &attained, &entry["attainment"]);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn compare_board(
    check: &mut Check,
    at: &str,
    asked: &Asked,
    reference: &Reference,
    scope: &Scope,
    period: &Period,
    kpi: &str,
) {
    let body = &asked.body;
    let org = reference.org;
    let mut rows: Vec<(Option<f64>, Want, &str, &str)> = org
        .users
        .iter()
        .filter(|(id, u)| u.role == "rep" && reference.owns(scope, id))
        .map(|(id, u)| {
            let rep = Scope::Rep(id.clone());
            let want = reference.kpis(&rep, period.start, period.end, asked.sent).remove(kpi).unwrap().value;
            let later = reference.kpis(&rep, period.start, period.end, asked.received).remove(kpi).unwrap().value;
            (want.number(), either(&want, &later), id.as_str(), u.name.as_str())
        })
        .collect();
    let lower = better(kpi) == "lower";
    rows.sort_by(|a, b| match (a.0, b.0) {
        (Some(x), Some(y)) if !same(x, y) => {
            let order = x.partial_cmp(&y).unwrap();
            if lower {
                order
            } else {
                order.reverse()
            }
        }
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        _ => a.3.cmp(b.3),
    });
    let mut ranks = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let rank = match (i, row.0) {
            (0, _) => 1,
            (_, None) if rows[i - 1].0.is_none() => ranks[i - 1],
            (_, Some(x)) if rows[i - 1].0.is_some_and(|y| same(x, y)) => ranks[i - 1],
            _ => i + 1,
        };
        ranks.push(rank);
    }
    let entries = body["entries"].as_array().unwrap();
    check.comparisons += 1;
    let want_order: Vec<(usize, &str)> = rows.iter().zip(&ranks).map(|(r, rank)| (*rank, r.2)).collect();
    let got_order: Vec<(u64, &str)> =
        entries.iter().map(|e| (e["rank"].as_u64().unwrap_or(0), e["user"]["id"].as_str().unwrap_or("?"))).collect();
    if want_order.len() != got_order.len()
        || want_order.iter().zip(&got_order).any(|(w, g)| w.0 as u64 != g.0 || w.1 != g.1)
    {
        let values: Vec<String> = rows.iter().map(|r| format!("{}={}", r.2, r.1)).collect();
        check.fail(
            at,
            "(rank, user) order",
            format!("{want_order:?} [{}]", values.join(", ")),
            format!("{got_order:?}"),
        );
    }
    for (row, entry) in rows.iter().zip(entries) {
        if entry["user"]["id"] == row.2 {
            check.compare(at, &format!("value of {}", row.2), &row.1, &entry["value"]);
            check.comparisons += 1;
            if entry["user"]["name"] != row.3 {
                check.fail(at, &format!("name of {}", row.2), row.3, &entry["user"]["name"]);
            }
        }
    }
}

/// Equal for ranking: the same number up to the reference's float rounding.
fn same(x: f64, y: f64) -> bool {
    (x - y).abs() <= 1e-12 * x.abs().max(y.abs())
}

/// The smallest reproduction of an engine disagreement the random seeds found: a custom range with no whole
/// day inside it is a period like any other (KPIS.md: "a custom `from`/`to`"), so it has a card; the engine
/// answers 500 to every such range, whatever the zone, scope or records.
#[tokio::test]
async fn reference_a_custom_range_without_a_whole_day_has_a_card() {
    let app = TestApp::spawn().await;
    let token = app.sync_token().await;
    let (status, body) = app.post_records(&token, &crate::kpis::fixture()).await;
    assert_eq!(status, 200, "{body}");
    // [2026-10-04T23:00Z, 2026-10-05T22:00Z): d1 won at 10-05T00:00Z (1000.10), a1 at 10-05T00:00Z; no lost deal.
    let query = [("scope", "org"), ("from", "2026-10-04T23:00:00Z"), ("to", "2026-10-05T22:00:00Z")];
    let res = app.client.get(app.url("/api/v1/kpis")).bearer_auth(&token).query(&query).send().await.unwrap();
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "{body}");
    let kpi = |id: &str| body["kpis"].as_array().unwrap().iter().find(|k| k["id"] == id).unwrap()["value"].clone();
    assert_eq!(kpi("revenue"), 1000.1);
    assert_eq!(kpi("touchpoints"), 1.0);
    assert_eq!(kpi("win_rate"), 100.0);
}

/// The second disagreement, smallest form: a custom range's bounds are instants, fractions of a second
/// included (RFC 3339); the card must report them as sent.
#[tokio::test]
async fn reference_a_custom_range_keeps_the_fraction_of_its_bounds() {
    let app = TestApp::spawn().await;
    let token = app.sync_token().await;
    let (status, body) = app.post_records(&token, &crate::kpis::fixture()).await;
    assert_eq!(status, 200, "{body}");
    // d1 won and a1 happened at 2026-10-05T00:00:00Z, one millisecond before the range; a2 (10-06) is in it.
    let query = [("scope", "org"), ("from", "2026-10-05T00:00:00.001Z"), ("to", "2026-10-07T00:00:00Z")];
    let res = app.client.get(app.url("/api/v1/kpis")).bearer_auth(&token).query(&query).send().await.unwrap();
    let body: Value = res.json().await.unwrap();
    let kpi = |id: &str| body["kpis"].as_array().unwrap().iter().find(|k| k["id"] == id).unwrap()["value"].clone();
    assert_eq!(kpi("revenue"), 0.0);
    assert_eq!(kpi("touchpoints"), 1.0);
    let start = DateTime::parse_from_rfc3339(body["period"]["start"].as_str().unwrap()).unwrap();
    assert_eq!(start, DateTime::parse_from_rfc3339("2026-10-05T00:00:00.001Z").unwrap(), "{}", body["period"]);
}
