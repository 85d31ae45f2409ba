use super::*;
use crate::lang::Lang;
use chrono::TimeZone;

fn t(d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap()
}

fn rule(id: i64, kind: RuleKind, basis: &str, points: i64) -> Rule {
    Rule {
        id,
        kind,
        basis: basis.into(),
        points,
        per: Decimal::ONE,
        threshold: None,
        attainment_cap: None,
        period_kind: (kind != RuleKind::PerUnit).then_some(PeriodKind::Month),
        cap_points: None,
        cap_per: None,
        label: format!("rule {id}"),
    }
}

#[test]
fn a_rule_reads_in_english_as_before_and_in_russian() {
    use crate::lang::Lang::{En, Ru};
    let mut won = rule(1, RuleKind::PerUnit, "won_deals", 50);
    (won.cap_points, won.cap_per) = (Some(200), Some(PeriodKind::Day));
    assert_eq!(describe(&won, En), "50 per won deal, at most 200 per day");
    assert_eq!(describe(&won, Ru), "50 очк. за единицу (выигранная сделка), не более 200 за день");
    let mut revenue = rule(2, RuleKind::PerUnit, "revenue", 1);
    revenue.per = Decimal::from(10_000);
    assert_eq!(describe(&revenue, En), "1 per 10000 of revenue");
    assert_eq!(describe(&revenue, Ru), "1 очк. за каждые 10000 (выручка)");
    let attainment = rule(3, RuleKind::Attainment, "revenue", 2);
    assert_eq!(
        describe(&attainment, En),
        "2 × attainment % of the month's revenue target (attainment capped at 150 %)"
    );
    assert_eq!(
        describe(&attainment, Ru),
        "2 × % выполнения цели месяца по показателю «Выручка» (выполнение учитывается не выше 150 %)"
    );
    let mut bonus = rule(4, RuleKind::Threshold, "win_rate", 100);
    (bonus.threshold, bonus.period_kind) = (Some(120.0), Some(PeriodKind::Quarter));
    assert_eq!(describe(&bonus, En), "+100 on reaching 120 % of the quarter's win_rate target");
    assert_eq!(
        describe(&bonus, Ru),
        "+100 при выполнении цели квартала по показателю «Процент выигранных сделок» на 120 %"
    );
    // Every period word exists in both languages.
    for kind in [PeriodKind::Day, PeriodKind::Week, PeriodKind::Month, PeriodKind::Quarter, PeriodKind::Year] {
        for lang in [En, Ru] {
            let mut r = rule(5, RuleKind::Threshold, "revenue", 1);
            (r.period_kind, r.cap_points) = (Some(kind), Some(1));
            assert!(!describe(&r, lang).contains("rule."), "{kind:?} {lang:?}: {}", describe(&r, lang));
        }
    }
}

fn event(owner: &str, measure: &'static str, id: &str, at: DateTime<Utc>, amount: i64) -> Event {
    Event {
        owner: owner.into(),
        measure,
        record: RecordRef { kind: "deal".into(), id: id.into() },
        at,
        amount: Decimal::from(amount),
    }
}

fn result(owner: &str, rule_id: i64, target: f64, attainment: Option<f64>) -> PeriodResult {
    PeriodResult {
        owner: owner.into(),
        rule_id,
        period: Period::parse("2026-11").unwrap(),
        start: t(1, 0),
        end: Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
        target,
        attainment,
    }
}

#[test]
fn per_unit_gives_points_per_record_and_whole_money_units() {
    let mut revenue = rule(2, RuleKind::PerUnit, "revenue", 1);
    revenue.per = Decimal::from(1000);
    let rules = [rule(1, RuleKind::PerUnit, "won_deals", 10), revenue];
    let events = [
        event("u1", "won_deals", "d1", t(2, 10), 0),
        event("u1", "won_deals", "d2", t(3, 10), 0),
        event("u1", "revenue", "d1", t(2, 10), 125_500),
        event("u1", "revenue", "d2", t(3, 10), 999),
    ];
    let entries = score(&rules, &events, &[], chrono_tz::UTC);
    let got: Vec<(i64, &str, i64)> = entries.iter().map(|e| (e.rule_id, e.key.as_str(), e.points)).collect();
    // 10 per won deal; 125,500 is 125 whole thousands; 999 is none (no entry).
    assert_eq!(got, vec![(1, "deal:d1", 10), (1, "deal:d2", 10), (2, "deal:d1", 125)]);
}

#[test]
fn a_daily_cap_cuts_the_latest_events_of_the_day() {
    let mut r = rule(1, RuleKind::PerUnit, "won_deals", 20);
    (r.cap_points, r.cap_per) = (Some(50), Some(PeriodKind::Day));
    let events = [
        event("u1", "won_deals", "a", t(2, 9), 0),
        event("u1", "won_deals", "b", t(2, 11), 0),
        event("u1", "won_deals", "c", t(2, 15), 0),
        event("u1", "won_deals", "d", t(2, 16), 0),
        event("u1", "won_deals", "e", t(3, 9), 0),
        event("u2", "won_deals", "f", t(2, 9), 0),
    ];
    let entries = score(&[r], &events, &[], chrono_tz::UTC);
    let got: Vec<(&str, &str, i64)> = entries.iter().map(|e| (e.owner.as_str(), e.key.as_str(), e.points)).collect();
    // u1 on the 2nd: 20 + 20 + 10 (cap 50 reached), d gets nothing; the 3rd starts afresh.
    assert_eq!(
        got,
        vec![
            ("u1", "deal:a", 20),
            ("u1", "deal:b", 20),
            ("u1", "deal:c", 10),
            ("u1", "deal:e", 20),
            ("u2", "deal:f", 20)
        ]
    );
    assert!(entries[2].reason.english().contains("capped at 50 per day"));
}

#[test]
fn attainment_rule_is_weight_times_attainment_capped_at_150() {
    let rules = [rule(1, RuleKind::Attainment, "revenue", 2)];
    let results =
        [result("u1", 1, 1000.0, Some(85.0)), result("u2", 1, 1000.0, Some(180.0)), result("u3", 1, 1000.0, None)];
    let entries = score(&rules, &[], &results, chrono_tz::UTC);
    let got: Vec<(&str, i64)> = entries.iter().map(|e| (e.owner.as_str(), e.points)).collect();
    // 2 × 85 = 170; 2 × min(180, 150) = 300; no attainment, no entry.
    assert_eq!(got, vec![("u1", 170), ("u2", 300)]);
    assert_eq!(entries[0].key, "2026-11");
    assert!(entries[1].reason.english().contains("capped at 150 %"));
}

#[test]
fn threshold_bonus_needs_the_threshold_and_respects_its_cap() {
    let mut r = rule(1, RuleKind::Threshold, "revenue", 200);
    r.threshold = Some(100.0);
    let mut capped = rule(2, RuleKind::Attainment, "win_rate", 5);
    capped.cap_points = Some(400);
    let results =
        [result("u1", 1, 1000.0, Some(99.9)), result("u2", 1, 1000.0, Some(100.0)), result("u1", 2, 40.0, Some(120.0))];
    let entries = score(&[r, capped], &[], &results, chrono_tz::UTC);
    let got: Vec<(&str, i64, i64)> = entries.iter().map(|e| (e.owner.as_str(), e.rule_id, e.points)).collect();
    // 99.9 % misses the 100 % bonus; 5 × 120 = 600 is capped at 400.
    assert_eq!(got, vec![("u2", 1, 200), ("u1", 2, 400)]);
}

fn held(e: &Entry, net: i64) -> Held {
    Held {
        owner: e.owner.clone(),
        rule_id: e.rule_id,
        key: e.key.clone(),
        at: e.at,
        period_end: e.period_end,
        net,
        last_reason: e.reason.clone(),
        records: e.records.clone(),
    }
}

#[test]
fn reconcile_appends_nothing_when_nothing_changed() {
    let rules = [rule(1, RuleKind::PerUnit, "won_deals", 10)];
    let wanted = score(&rules, &[event("u1", "won_deals", "d1", t(2, 10), 0)], &[], chrono_tz::UTC);
    let ledger: Vec<Held> = wanted.iter().map(|e| held(e, e.points)).collect();
    assert!(reconcile(&ledger, &wanted).is_empty());
}

#[test]
fn reconcile_reverses_what_no_longer_counts_and_adjusts_what_changed() {
    let rules = [rule(1, RuleKind::PerUnit, "won_deals", 10), rule(2, RuleKind::Attainment, "revenue", 2)];
    let before = score(
        &rules,
        &[event("u1", "won_deals", "d1", t(2, 10), 0), event("u1", "won_deals", "d2", t(3, 10), 0)],
        &[result("u1", 2, 1000.0, Some(50.0))],
        chrono_tz::UTC,
    );
    let ledger: Vec<Held> = before.iter().map(|e| held(e, e.points)).collect();
    // d2 was re-sent as lost; attainment moved from 50 % to 40 %.
    let after = score(
        &rules,
        &[event("u1", "won_deals", "d1", t(2, 10), 0)],
        &[result("u1", 2, 1000.0, Some(40.0))],
        chrono_tz::UTC,
    );
    let rows = reconcile(&ledger, &after);
    let got: Vec<(RowKind, &str, i64)> = rows.iter().map(|(k, e)| (*k, e.key.as_str(), e.points)).collect();
    assert_eq!(got, vec![(RowKind::Adjustment, "2026-11", -20), (RowKind::Reversal, "deal:d2", -10)]);
    assert!(rows[1].1.reason.english().starts_with("Reversed"));
}

/// Every shape `score` and `reconcile` write: capped and not, per unit, money, attainment, threshold.
fn every_kind_of_reason() -> Vec<String> {
    every_reason().iter().map(Reason::english).collect()
}

fn every_reason() -> Vec<Reason> {
    let mut won = rule(1, RuleKind::PerUnit, "won_deals", 20);
    (won.cap_points, won.cap_per) = (Some(30), Some(PeriodKind::Day));
    let mut revenue = rule(2, RuleKind::PerUnit, "revenue", 1);
    revenue.per = Decimal::from(1000);
    let attainment = rule(3, RuleKind::Attainment, "revenue", 2);
    let mut threshold = rule(4, RuleKind::Threshold, "win_rate", 500);
    (threshold.threshold, threshold.cap_points) = (Some(100.0), Some(300));
    let rules = [won, revenue, attainment, threshold];
    let events = [event("u1", "won_deals", "d1", t(2, 9), 0), event("u1", "won_deals", "d2", t(2, 10), 0)];
    let money = [event("u1", "revenue", "d1", t(2, 9), 125_500)];
    let results =
        [result("u1", 3, 1000.0, Some(180.0)), result("u2", 3, 1000.0, Some(50.0)), result("u1", 4, 40.0, Some(120.0))];
    let all: Vec<Event> = events.iter().chain(&money).cloned().collect();
    let before = score(&rules, &all, &results, chrono_tz::UTC);
    let ledger: Vec<Held> = before.iter().map(|e| held(e, e.points)).collect();
    let after = score(&rules, &events[..1], &[result("u2", 3, 1000.0, Some(40.0))], chrono_tz::UTC);
    let rows = reconcile(&ledger, &after);
    before.iter().map(|e| e.reason.clone()).chain(rows.into_iter().map(|(_, e)| e.reason)).collect()
}

/// A reason stored as data and the same reason stored as its English text
/// (a row from before reasons were data) read the same in both languages.
#[test]
fn every_reason_in_words_is_the_reworded_english_of_it() {
    for r in every_reason() {
        for lang in Lang::ALL {
            assert_eq!(r.in_lang(lang), reason_in(&r.english(), lang), "{r:?}");
        }
        let stored = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Reason>(&stored).unwrap(), r);
    }
    let text = Reason::Text { text: "Bonus typed by hand".into() };
    assert_eq!(text.in_lang(Lang::Ru), "Bonus typed by hand");
}

#[test]
fn the_english_rewording_of_every_reason_is_the_stored_text() {
    // Proves the pages understand every shape the ledger is written in.
    let reasons = every_kind_of_reason();
    assert_eq!(reasons.len(), 11, "{reasons:#?}");
    for r in &reasons {
        assert_eq!(reason::reworded(r, Lang::En).as_deref(), Some(r.as_str()));
        assert_ne!(reason_in(r, Lang::Ru), *r);
    }
}

#[test]
fn a_russian_reader_sees_the_reason_in_russian() {
    let reasons = every_kind_of_reason();
    assert_eq!(reasons[0], "Won deal deal d1: 20 per won deal");
    assert_eq!(reason_in(&reasons[0], Lang::Ru), "Выигранная сделка (deal d1): 20 за штуку");
    assert_eq!(reasons[1], "Won deal deal d2: 20 per won deal (capped at 30 per day)");
    assert_eq!(reason_in(&reasons[1], Lang::Ru), "Выигранная сделка (deal d2): 20 за штуку (не больше 30 в день)");
    let reversed = reasons.iter().find(|r| r.starts_with("Reversed")).expect("a reversal");
    assert_eq!(reversed, "Reversed, no longer counts: Won deal deal d2: 20 per won deal (capped at 30 per day)");
    assert_eq!(
        reason_in(reversed, Lang::Ru),
        "Отменено, больше не засчитывается: Выигранная сделка (deal d2): 20 за штуку (не больше 30 в день)"
    );
    assert_eq!(reason_in("Bonus typed by hand", Lang::Ru), "Bonus typed by hand");
    assert_eq!(reason_in(&reasons[0], Lang::En), reasons[0]);
}

#[test]
fn levels_name_the_tier_and_the_way_to_the_next() {
    assert_eq!(level(0).level, 1);
    let l = level(1000);
    assert_eq!((l.level, l.name_en.as_str(), l.next_at), (2, "Hunter", Some(1500)));
    assert_eq!(l.progress, 50.0); // (1000 − 500) / (1500 − 500)
    let top = level(20_000);
    assert_eq!((top.level, top.next_at, top.progress), (6, None, 100.0));
}

#[test]
fn periods_overlapping_a_window_include_partial_ones() {
    let got: Vec<String> = periods_overlapping(PeriodKind::Week, t(1, 0), t(10, 0), chrono_tz::UTC)
        .iter()
        .map(|p| p.to_string())
        .collect();
    // 1 Nov 2026 is a Sunday (W44); the 10th is in W46.
    assert_eq!(got, vec!["2026-W44", "2026-W45", "2026-W46"]);
}
