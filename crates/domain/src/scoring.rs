//! Points: the rule types, how events and attainment become ledger entries,
//! how a recomputation turns into reversal and adjustment rows, and levels.
//! Pure: no database, unit-tested with hand-worked numbers.

use crate::lang::Lang;
use crate::period::{Period, PeriodKind};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

mod reason;
pub use reason::{reason_in, Cap, Reason};

/// What a per-unit rule counts: one kind of event behind a KPI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measure {
    pub id: &'static str,
    /// The KPI this event feeds, for display next to it.
    pub kpi: &'static str,
    pub name_en: &'static str,
    pub name_ru: &'static str,
    /// Money measures count whole multiples of the rule's `per`; the others count records.
    pub money: bool,
}

pub const MEASURES: [Measure; 10] = [
    Measure {
        id: "won_deals", kpi: "win_rate", name_en: "won deal", name_ru: "выигранная сделка", money: false
    },
    Measure { id: "revenue", kpi: "revenue", name_en: "revenue", name_ru: "выручка", money: true },
    Measure {
        id: "new_opportunities",
        kpi: "new_opportunities",
        name_en: "new opportunity",
        name_ru: "новая возможность",
        money: false,
    },
    Measure { id: "touchpoints", kpi: "touchpoints", name_en: "touchpoint", name_ru: "касание", money: false },
    Measure {
        id: "accepted_meetings",
        kpi: "meeting_acceptance_rate",
        name_en: "accepted meeting",
        name_ru: "принятая встреча",
        money: false,
    },
    Measure {
        id: "converted_leads",
        kpi: "customer_acquisition_rate",
        name_en: "converted lead",
        name_ru: "конвертированный лид",
        money: false,
    },
    Measure {
        id: "followed_up_leads",
        kpi: "lead_follow_up_rate",
        name_en: "followed-up lead",
        name_ru: "отработанный лид",
        money: false,
    },
    Measure {
        id: "qualified_leads",
        kpi: "qualified_lead_conversion",
        name_en: "qualified lead",
        name_ru: "квалифицированный лид",
        money: false,
    },
    Measure {
        id: "upsells",
        kpi: "upsell_rate",
        name_en: "upsell or cross-sell won",
        name_ru: "допродажа",
        money: false,
    },
    Measure {
        id: "positive_feedback",
        kpi: "positive_feedback_rate",
        name_en: "positive feedback",
        name_ru: "положительный отзыв",
        money: false,
    },
];

pub fn measure(id: &str) -> Option<&'static Measure> {
    MEASURES.iter().find(|m| m.id == id)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    PerUnit,
    Attainment,
    Threshold,
}

impl RuleKind {
    pub fn parse(text: &str) -> Option<RuleKind> {
        match text {
            "per_unit" => Some(RuleKind::PerUnit),
            "attainment" => Some(RuleKind::Attainment),
            "threshold" => Some(RuleKind::Threshold),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::PerUnit => "per_unit",
            RuleKind::Attainment => "attainment",
            RuleKind::Threshold => "threshold",
        }
    }
}

/// Attainment-based rules cap attainment here unless told otherwise: it levels large and small territories.
pub const DEFAULT_ATTAINMENT_CAP: f64 = 150.0;

/// One points rule, as stored in `points_rules`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: i64,
    pub kind: RuleKind,
    /// A measure id (per unit) or a KPI id (attainment, threshold).
    pub basis: String,
    /// Per unit: points per unit. Attainment: the weight per attainment %. Threshold: the bonus.
    pub points: i64,
    /// Money measures: the size of one unit (1 point per `per` of revenue).
    pub per: Decimal,
    pub threshold: Option<f64>,
    pub attainment_cap: Option<f64>,
    pub period_kind: Option<PeriodKind>,
    pub cap_points: Option<i64>,
    pub cap_per: Option<PeriodKind>,
    pub label: String,
}

/// A reference to the record an entry came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RecordRef {
    pub kind: String,
    pub id: String,
}

/// One event that per-unit rules count: a won deal, an activity, ...
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub owner: String,
    pub measure: &'static str,
    pub record: RecordRef,
    pub at: DateTime<Utc>,
    /// The deal amount for money measures.
    pub amount: Decimal,
}

/// A rep's result on a period rule's KPI for one calendar period.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodResult {
    pub owner: String,
    pub rule_id: i64,
    pub period: Period,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub target: f64,
    pub attainment: Option<f64>,
}

/// An entry the ledger should hold: what the rules give today.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub owner: String,
    pub rule_id: i64,
    pub key: String,
    pub at: DateTime<Utc>,
    pub period_end: Option<DateTime<Utc>>,
    pub points: i64,
    pub reason: Reason,
    pub records: Vec<RecordRef>,
}

/// The local day, ISO week or month an instant falls in, as the first day of it.
fn bucket(kind: PeriodKind, at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    Period::containing(kind, at.with_timezone(&tz).date_naive()).first_day()
}

/// What the rules give for these events and period results. Per-unit events are
/// taken in time order, so a cap cuts the latest ones of a day, week or month.
pub fn score(rules: &[Rule], events: &[Event], results: &[PeriodResult], tz: Tz) -> Vec<Entry> {
    let mut entries = Vec::new();
    for rule in rules {
        match rule.kind {
            RuleKind::PerUnit => score_units(rule, events, tz, &mut entries),
            RuleKind::Attainment | RuleKind::Threshold => {
                for r in results.iter().filter(|r| r.rule_id == rule.id) {
                    if let Some(entry) = score_period(rule, r) {
                        entries.push(entry);
                    }
                }
            }
        }
    }
    entries
}

fn score_units(rule: &Rule, events: &[Event], tz: Tz, entries: &mut Vec<Entry>) {
    let Some(m) = measure(&rule.basis) else { return };
    let mut mine: Vec<&Event> = events.iter().filter(|e| e.measure == m.id).collect();
    mine.sort_by(|a, b| (&a.owner, a.at, &a.record.id).cmp(&(&b.owner, b.at, &b.record.id)));
    let mut used: HashMap<(&str, NaiveDate), i64> = HashMap::new();
    for e in mine {
        let units = if m.money { (e.amount / rule.per).floor().to_i64().unwrap_or(0) } else { 1 };
        let full = rule.points * units;
        let mut points = full;
        let mut cut = None;
        if let (Some(cap), Some(per)) = (rule.cap_points, rule.cap_per) {
            let spent = used.entry((e.owner.as_str(), bucket(per, e.at, tz))).or_default();
            points = full.min(cap - *spent);
            *spent += points;
            if points < full {
                cut = Some(Cap { points: cap, per });
            }
        }
        if points <= 0 {
            continue;
        }
        let reason = if m.money {
            Reason::PerMoney {
                measure: m.id.to_string(),
                record: e.record.clone(),
                amount: e.amount.to_string(),
                units,
                points: rule.points,
                per: rule.per.to_string(),
                cap: cut,
            }
        } else {
            Reason::PerUnit { measure: m.id.to_string(), record: e.record.clone(), points: rule.points, cap: cut }
        };
        entries.push(Entry {
            owner: e.owner.clone(),
            rule_id: rule.id,
            key: format!("{}:{}", e.record.kind, e.record.id),
            at: e.at,
            period_end: None,
            points,
            reason,
            records: vec![e.record.clone()],
        });
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn score_period(rule: &Rule, r: &PeriodResult) -> Option<Entry> {
    let attainment = r.attainment.filter(|a| *a > 0.0)?;
    let (kpi, target, period) = (rule.basis.clone(), r.target, r.period.to_string());
    let (mut points, mut reason) = match rule.kind {
        RuleKind::Attainment => {
            let cap = rule.attainment_cap.unwrap_or(DEFAULT_ATTAINMENT_CAP);
            let counted = attainment.min(cap);
            let points = (rule.points as f64 * counted).round() as i64;
            let capped_at = (attainment > cap).then_some(cap);
            let weight = rule.points;
            (points, Reason::Attainment { kpi, attainment, target, period, capped_at, weight, points_cap: None })
        }
        RuleKind::Threshold => {
            let threshold = rule.threshold.unwrap_or(100.0);
            if attainment < threshold {
                return None;
            }
            (rule.points, Reason::Threshold { kpi, attainment, target, period, threshold, points_cap: None })
        }
        RuleKind::PerUnit => return None,
    };
    if let Some(cap) = rule.cap_points {
        if points > cap {
            points = cap;
            if let Reason::Attainment { points_cap, .. } | Reason::Threshold { points_cap, .. } = &mut reason {
                *points_cap = Some(cap);
            }
        }
    }
    (points > 0).then(|| Entry {
        owner: r.owner.clone(),
        rule_id: rule.id,
        key: r.period.to_string(),
        at: r.start,
        period_end: Some(r.end),
        points,
        reason,
        records: Vec::new(),
    })
}

/// A rule in words, in the reader's language (the pages show it; the English
/// is what the rules read like before there were two languages).
pub fn describe(rule: &Rule, lang: crate::lang::Lang) -> String {
    use crate::lang::Message;
    let period = |k: Option<PeriodKind>, form: &'static str| {
        lang.t(&format!("rule.{form}.{}", k.map(PeriodKind::as_str).unwrap_or("period")))
    };
    // The KPI a target-based rule reads: its name in Russian, its id in English as before.
    let basis = match crate::kpi::KPIS.iter().find(|k| k.id == rule.basis) {
        Some(kpi) if lang == crate::lang::Lang::Ru => kpi.name_ru.to_string(),
        _ => rule.basis.clone(),
    };
    let message = match rule.kind {
        RuleKind::PerUnit => match measure(&rule.basis) {
            Some(m) if m.money => {
                Message::new("rule.per_money").with("per", &rule.per).with("measure", lang.pick(m.name_ru, m.name_en))
            }
            Some(m) => Message::new("rule.per_unit").with("measure", lang.pick(m.name_ru, m.name_en)),
            None => Message::new("rule.per_unit").with("measure", &rule.basis),
        },
        RuleKind::Attainment => Message::new("rule.attainment")
            .with("period", period(rule.period_kind, "of"))
            .with("basis", &basis)
            .with("cap", rule.attainment_cap.unwrap_or(DEFAULT_ATTAINMENT_CAP)),
        RuleKind::Threshold => Message::new("rule.threshold")
            .with("threshold", rule.threshold.unwrap_or(100.0))
            .with("period", period(rule.period_kind, "of"))
            .with("basis", &basis),
    };
    let mut text = message.with("points", rule.points).in_lang(lang);
    if let Some(cap) = rule.cap_points {
        let cap =
            Message::new("rule.cap").with("cap", cap).with("period", period(rule.cap_per.or(rule.period_kind), "per"));
        text.push_str(&cap.in_lang(lang));
    }
    text
}

/// What the ledger holds today for one entry identity (user, rule, key, at).
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    pub owner: String,
    pub rule_id: i64,
    pub key: String,
    pub at: DateTime<Utc>,
    pub period_end: Option<DateTime<Utc>>,
    pub net: i64,
    /// The reason of its latest award or adjustment, for the reversal's.
    pub last_reason: Reason,
    pub records: Vec<RecordRef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    Award,
    Reversal,
    Adjustment,
}

impl RowKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RowKind::Award => "award",
            RowKind::Reversal => "reversal",
            RowKind::Adjustment => "adjustment",
        }
    }
}

/// The rows to append so that the ledger holds `wanted`: nothing when it
/// already does (re-sending a record never counts twice), a reversal for what
/// no longer counts, an adjustment for what changed.
pub fn reconcile(held: &[Held], wanted: &[Entry]) -> Vec<(RowKind, Entry)> {
    type Id<'a> = (&'a str, i64, &'a str, DateTime<Utc>);
    let held_by: BTreeMap<Id, &Held> =
        held.iter().map(|h| ((h.owner.as_str(), h.rule_id, h.key.as_str(), h.at), h)).collect();
    let mut rows = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for w in wanted {
        let id = (w.owner.as_str(), w.rule_id, w.key.as_str(), w.at);
        seen.insert(id);
        let net = held_by.get(&id).map_or(0, |h| h.net);
        let delta = w.points - net;
        if delta == 0 {
            continue;
        }
        let (kind, reason) = if net == 0 {
            (RowKind::Award, w.reason.clone())
        } else {
            (RowKind::Adjustment, Reason::Recomputed { of: Box::new(w.reason.clone()), was: net, now: w.points })
        };
        rows.push((kind, Entry { points: delta, reason, ..w.clone() }));
    }
    for (id, h) in held_by {
        if h.net != 0 && !seen.contains(&id) {
            rows.push((
                RowKind::Reversal,
                Entry {
                    owner: h.owner.clone(),
                    rule_id: h.rule_id,
                    key: h.key.clone(),
                    at: h.at,
                    period_end: h.period_end,
                    points: -h.net,
                    reason: Reason::Reversed { of: Box::new(h.last_reason.clone()) },
                    records: h.records.clone(),
                },
            ));
        }
    }
    rows
}

/// A named tier of lifetime points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tier {
    pub from: i64,
    pub name_en: &'static str,
    pub name_ru: &'static str,
}

pub const TIERS: [Tier; 6] = [
    Tier { from: 0, name_en: "Rookie", name_ru: "Новичок" },
    Tier { from: 500, name_en: "Hunter", name_ru: "Охотник" },
    Tier { from: 1_500, name_en: "Closer", name_ru: "Клоузер" },
    Tier { from: 4_000, name_en: "Pro", name_ru: "Профи" },
    Tier { from: 8_000, name_en: "Star", name_ru: "Звезда" },
    Tier { from: 15_000, name_en: "Legend", name_ru: "Легенда" },
];

/// A rep's level: the tier their lifetime points reach and how far the next one is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Level {
    /// 1-based.
    pub level: usize,
    pub name_en: String,
    pub name_ru: String,
    pub points: i64,
    pub next_at: Option<i64>,
    /// 0–100 towards the next tier; 100 at the top.
    pub progress: f64,
}

pub fn level(lifetime_points: i64) -> Level {
    let i = TIERS.iter().rposition(|t| lifetime_points >= t.from).unwrap_or(0);
    let tier = TIERS[i];
    let next = TIERS.get(i + 1).map(|t| t.from);
    let progress = match next {
        Some(n) => ((lifetime_points.max(0) - tier.from) as f64 * 100.0 / (n - tier.from) as f64).clamp(0.0, 100.0),
        None => 100.0,
    };
    Level {
        level: i + 1,
        name_en: tier.name_en.into(),
        name_ru: tier.name_ru.into(),
        points: lifetime_points,
        next_at: next,
        progress,
    }
}

/// The calendar periods of `kind` that overlap `[from, to)` in `tz`.
pub fn periods_overlapping(kind: PeriodKind, from: DateTime<Utc>, to: DateTime<Utc>, tz: Tz) -> Vec<Period> {
    let mut out = Vec::new();
    let mut p = Period::containing(kind, from.with_timezone(&tz).date_naive());
    loop {
        let (start, _) = p.bounds(tz);
        if start >= to {
            break;
        }
        out.push(p);
        p = p.next();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let got: Vec<(&str, &str, i64)> =
            entries.iter().map(|e| (e.owner.as_str(), e.key.as_str(), e.points)).collect();
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
        let results = [
            result("u1", 1, 1000.0, Some(99.9)),
            result("u2", 1, 1000.0, Some(100.0)),
            result("u1", 2, 40.0, Some(120.0)),
        ];
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
        let results = [
            result("u1", 3, 1000.0, Some(180.0)),
            result("u2", 3, 1000.0, Some(50.0)),
            result("u1", 4, 40.0, Some(120.0)),
        ];
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
}
