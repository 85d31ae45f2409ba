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
        min_deal_amount: None,
        label: format!("rule {id}"),
    }
}

#[test]
fn a_rule_reads_in_english_and_in_russian_with_points_counted() {
    use crate::lang::Lang::{En, Ru};
    let mut won = rule(1, RuleKind::PerUnit, "won_deals", 50);
    (won.cap_points, won.cap_per) = (Some(200), Some(PeriodKind::Day));
    assert_eq!(describe(&won, En), "50 points per won deal, at most 200 points per day");
    assert_eq!(describe(&won, Ru), "50 очков за единицу (выигранная сделка), не более 200 очков за день");
    let mut revenue = rule(2, RuleKind::PerUnit, "revenue", 1);
    revenue.per = Decimal::from(10_000);
    assert_eq!(describe(&revenue, En), "1 point per 10,000 of revenue");
    assert_eq!(describe(&revenue, Ru), "1 очко за каждые 10\u{202F}000 (выручка)");
    revenue.points = 2;
    assert_eq!(describe(&revenue, Ru), "2 очка за каждые 10\u{202F}000 (выручка)");
    let attainment = rule(3, RuleKind::Attainment, "revenue", 2);
    assert_eq!(
        describe(&attainment, En),
        "2 × attainment % of the month's Revenue target (attainment capped at 150 %)"
    );
    assert_eq!(
        describe(&attainment, Ru),
        "2 × % выполнения цели месяца по показателю «Выручка» (выполнение учитывается не выше 150 %)"
    );
    let mut bonus = rule(4, RuleKind::Threshold, "win_rate", 100);
    (bonus.threshold, bonus.period_kind) = (Some(120.0), Some(PeriodKind::Quarter));
    assert_eq!(describe(&bonus, En), "+100 points on reaching 120 % of the quarter's Win rate target");
    assert_eq!(
        describe(&bonus, Ru),
        "+100 очков при выполнении цели квартала по показателю «Процент выигранных сделок» на 120 %"
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
        event("u1", "won_deals", "d1", t(2, 10), 100),
        event("u1", "won_deals", "d2", t(3, 10), 100),
        event("u1", "revenue", "d1", t(2, 10), 125_500),
        event("u1", "revenue", "d2", t(3, 10), 999),
    ];
    let entries = score(&rules, &events, &[], chrono_tz::UTC);
    let got: Vec<(i64, &str, i64)> = entries.iter().map(|e| (e.rule_id, e.key.as_str(), e.points)).collect();
    // 10 per won deal; 125,500 is 125 whole thousands; 999 is none (no entry).
    assert_eq!(got, vec![(1, "deal:d1", 10), (1, "deal:d2", 10), (2, "deal:d1", 125)]);
}

#[test]
fn won_deals_count_from_the_minimum_amount_and_never_at_zero_by_default() {
    let mut revenue = rule(2, RuleKind::PerUnit, "revenue", 1);
    revenue.per = Decimal::from(100);
    let rules = [rule(1, RuleKind::PerUnit, "won_deals", 50), rule(3, RuleKind::PerUnit, "upsells", 5), revenue];
    let events = [
        event("u1", "won_deals", "zero", t(2, 10), 0),
        event("u1", "upsells", "zero", t(2, 10), 0),
        event("u1", "revenue", "zero", t(2, 10), 0),
        event("u1", "won_deals", "small", t(2, 11), 1),
        event("u1", "won_deals", "big", t(2, 12), 5_000),
        event("u1", "revenue", "big", t(2, 12), 5_000),
        // Not a won deal: touchpoints count whatever their amount.
        event("u1", "touchpoints", "a1", t(2, 13), 0),
    ];
    let key = |entries: Vec<Entry>| -> Vec<(i64, String, i64)> {
        entries.into_iter().map(|e| (e.rule_id, e.key, e.points)).collect()
    };
    // The default, "more than 0": the zero win earns nothing under any rule; 1 ₽ and 5000 ₽ count.
    assert_eq!(
        key(score(&rules, &events, &[], chrono_tz::UTC)),
        vec![(1, "deal:small".into(), 50), (1, "deal:big".into(), 50), (2, "deal:big".into(), 50)]
    );
    // A minimum of 1000 per won deal skips the 1 ₽ deal too; 1000 itself counts.
    let mut won = rule(1, RuleKind::PerUnit, "won_deals", 50);
    won.min_deal_amount = Some(Decimal::from(1000));
    assert!(won.counts_deal(Decimal::from(1000)) && !won.counts_deal(Decimal::new(99999, 2)));
    assert_eq!(key(score(&[won.clone()], &events, &[], chrono_tz::UTC)), vec![(1, "deal:big".into(), 50)]);
    assert!(describe(&won, Lang::En).ends_with(" won deal, deals of 1000 or more"), "{}", describe(&won, Lang::En));
    assert!(describe(&won, Lang::Ru).ends_with("(выигранная сделка), сделки от 1000"), "{}", describe(&won, Lang::Ru));
    let touch = rule(4, RuleKind::PerUnit, "touchpoints", 1);
    assert_eq!(key(score(&[touch], &events, &[], chrono_tz::UTC)), vec![(4, "deal:a1".into(), 1)]);
}

#[test]
fn a_daily_cap_cuts_the_latest_events_of_the_day() {
    let mut r = rule(1, RuleKind::PerUnit, "won_deals", 20);
    (r.cap_points, r.cap_per) = (Some(50), Some(PeriodKind::Day));
    let events = [
        event("u1", "won_deals", "a", t(2, 9), 100),
        event("u1", "won_deals", "b", t(2, 11), 100),
        event("u1", "won_deals", "c", t(2, 15), 100),
        event("u1", "won_deals", "d", t(2, 16), 100),
        event("u1", "won_deals", "e", t(3, 9), 100),
        event("u2", "won_deals", "f", t(2, 9), 100),
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
    let wanted = score(&rules, &[event("u1", "won_deals", "d1", t(2, 10), 100)], &[], chrono_tz::UTC);
    let ledger: Vec<Held> = wanted.iter().map(|e| held(e, e.points)).collect();
    assert!(reconcile(&ledger, &wanted).is_empty());
}

#[test]
fn reconcile_reverses_what_no_longer_counts_and_adjusts_what_changed() {
    let rules = [rule(1, RuleKind::PerUnit, "won_deals", 10), rule(2, RuleKind::Attainment, "revenue", 2)];
    let before = score(
        &rules,
        &[event("u1", "won_deals", "d1", t(2, 10), 100), event("u1", "won_deals", "d2", t(3, 10), 100)],
        &[result("u1", 2, 1000.0, Some(50.0))],
        chrono_tz::UTC,
    );
    let ledger: Vec<Held> = before.iter().map(|e| held(e, e.points)).collect();
    // d2 was re-sent as lost; attainment moved from 50 % to 40 %.
    let after = score(
        &rules,
        &[event("u1", "won_deals", "d1", t(2, 10), 100)],
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
    let events = [event("u1", "won_deals", "d1", t(2, 9), 100), event("u1", "won_deals", "d2", t(2, 10), 100)];
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
fn every_stored_english_shape_reads_back_as_its_reason() {
    // Proves the pages understand every shape the ledger is written in.
    let reasons = every_kind_of_reason();
    assert_eq!(reasons.len(), 11, "{reasons:#?}");
    for r in &reasons {
        assert_eq!(reason::from_english(r).map(|r| r.english()).as_deref(), Some(r.as_str()));
        // Both languages word it for a reader: names, not ids; points counted.
        assert_ne!(reason_in(r, Lang::Ru), *r);
        assert_ne!(reason_in(r, Lang::En), *r);
    }
}

#[test]
fn a_russian_reader_sees_the_reason_in_russian() {
    let reasons = every_kind_of_reason();
    assert_eq!(reasons[0], "Won deal deal d1: 20 per won deal");
    assert_eq!(reason_in(&reasons[0], Lang::Ru), "Выигранная сделка d1: 20 очков за штуку");
    assert_eq!(reason_in(&reasons[0], Lang::En), "Won deal d1: 20 points each");
    assert_eq!(reasons[1], "Won deal deal d2: 20 per won deal (capped at 30 per day)");
    assert_eq!(reason_in(&reasons[1], Lang::Ru), "Выигранная сделка d2: 20 очков за штуку (не больше 30 очков в день)");
    let reversed = reasons.iter().find(|r| r.starts_with("Reversed")).expect("a reversal");
    assert_eq!(reversed, "Reversed, no longer counts: Won deal deal d2: 20 per won deal (capped at 30 per day)");
    assert_eq!(
        reason_in(reversed, Lang::Ru),
        "Отменено, больше не засчитывается: Выигранная сделка d2: 20 очков за штуку (не больше 30 очков в день)"
    );
    assert_eq!(reason_in("Bonus typed by hand", Lang::Ru), "Bonus typed by hand");
}

/// What the points page showed raw ("target 1200000", `win_rate`, "deal deal-…"):
/// KPI names, grouped numbers, the record's kind in words, points counted.
#[test]
fn a_reason_names_the_kpi_and_groups_its_numbers_in_both_languages() {
    let attainment = Reason::Attainment {
        kpi: "win_rate".into(),
        attainment: 127.24,
        target: 1_200_000.0,
        period: "2026-11".into(),
        capped_at: Some(150.0),
        weight: 2,
        points_cap: Some(300),
    };
    assert_eq!(
        attainment.in_lang(Lang::Ru),
        "Процент выигранных сделок: выполнение 127,2\u{a0}% от цели 1\u{202f}200\u{202f}000 за 2026-11 \
         (учтено не больше 150\u{a0}%) × 2, не больше 300 очков"
    );
    assert_eq!(
        attainment.in_lang(Lang::En),
        "Win rate: 127.2% of the 1,200,000 target in 2026-11 (counted up to 150%) × 2, at most 300 points"
    );
    let threshold = Reason::Threshold {
        kpi: "revenue".into(),
        attainment: 100.0,
        target: 500_000.5,
        period: "2026-Q4".into(),
        threshold: 100.0,
        points_cap: None,
    };
    assert_eq!(
        threshold.in_lang(Lang::Ru),
        "Выручка: достигнуто 100\u{a0}% от цели 500\u{202f}000,5 за 2026-Q4 (бонус от 100\u{a0}%)"
    );
    let revenue = Reason::PerMoney {
        measure: "revenue".into(),
        record: RecordRef { kind: "deal".into(), id: "deal-01942".into() },
        amount: "329000.00".into(),
        units: 32,
        points: 1,
        per: "10000.00".into(),
        cap: None,
    };
    assert_eq!(
        revenue.in_lang(Lang::Ru),
        "Выручка: сделка deal-01942 на 329\u{202f}000, 1 очко за каждые 10\u{202f}000 × 32"
    );
    assert_eq!(revenue.in_lang(Lang::En), "Revenue: deal deal-01942 for 329,000, 1 point per 10,000 × 32");
    let meeting = Reason::PerUnit {
        measure: "accepted_meetings".into(),
        record: RecordRef { kind: "meeting_request".into(), id: "m-7".into() },
        points: 2,
        cap: Some(Cap { points: 21, per: PeriodKind::Week }),
    };
    assert_eq!(meeting.in_lang(Lang::Ru), "Принятая встреча m-7: 2 очка за штуку (не больше 21 очка в неделю)");
    let again = Reason::Recomputed { of: Box::new(meeting), was: 5, now: 1 };
    assert!(
        again.in_lang(Lang::Ru).ends_with("(пересчитано: было 5 очков, стало 1 очко)"),
        "{}",
        again.in_lang(Lang::Ru)
    );
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
