//! Points: the rule types, how events and attainment become ledger entries,
//! how a recomputation turns into reversal and adjustment rows, and levels.
//! Pure: no database, unit-tested with hand-worked numbers.

use crate::period::{Period, PeriodKind};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

mod label;
mod reason;
pub use label::rule_label;
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

impl Measure {
    /// Whether each event is a won deal (won deals, their revenue, won upsells): such
    /// events count only from the rule's minimum deal amount (`Rule::counts_deal`).
    pub fn counts_won_deals(&self) -> bool {
        matches!(self.id, "won_deals" | "revenue" | "upsells")
    }
}

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
    /// Per-unit rules on won deals: the smallest deal amount that counts. `None`:
    /// any amount above 0 (a won deal at 0 earns nothing).
    pub min_deal_amount: Option<Decimal>,
    pub label: String,
}

impl Rule {
    /// Whether a won deal of `amount` counts for this rule.
    pub fn counts_deal(&self, amount: Decimal) -> bool {
        match self.min_deal_amount {
            None => amount > Decimal::ZERO,
            Some(min) => amount >= min,
        }
    }
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
        if m.counts_won_deals() && !rule.counts_deal(e.amount) {
            continue;
        }
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
    // The KPI a target-based rule reads, by its name.
    let basis = match crate::kpi::KPIS.iter().find(|k| k.id == rule.basis) {
        Some(kpi) => kpi.name(lang).to_string(),
        None => rule.basis.clone(),
    };
    let points = |n: i64| Message::plural("count.points", n);
    let message = match rule.kind {
        RuleKind::PerUnit => match measure(&rule.basis) {
            Some(m) if m.money => Message::new("rule.per_money")
                .with("per", crate::format::group_decimal(&rule.per.to_string(), lang))
                .with("measure", lang.pick(m.name_ru, m.name_en)),
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
    // Attainment rules weigh a percentage; the others give points.
    let message = match rule.kind {
        RuleKind::Attainment => message.with("points", rule.points),
        _ => message.with_message("points", points(rule.points)),
    };
    let mut text = message.in_lang(lang);
    if let Some(min) = rule.min_deal_amount {
        text.push_str(&Message::new("rule.min_deal_amount").with("amount", min).in_lang(lang));
    }
    if let Some(cap) = rule.cap_points {
        let cap = Message::new("rule.cap")
            .with_message("cap", Message::plural("count.points_genitive", cap))
            .with("period", period(rule.cap_per.or(rule.period_kind), "per"));
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
mod tests;
