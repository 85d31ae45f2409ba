//! Why a ledger row exists: `Reason`, stored as data and worded for the
//! reader; and the reading of reasons stored as English text only.

use super::{capitalised, measure, RecordRef, MEASURES};
use crate::lang::{Lang, Message};
use crate::period::PeriodKind;
use serde::{Deserialize, Serialize};

/// A per-period cap that cut an entry: at most `points` per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Cap {
    pub points: i64,
    #[serde(with = "period_kind_name")]
    pub per: PeriodKind,
}

/// A period kind as the rules name it (`day`, `week`, ...).
mod period_kind_name {
    use crate::period::PeriodKind;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(kind: &PeriodKind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(kind.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PeriodKind, D::Error> {
        let text = String::deserialize(d)?;
        PeriodKind::parse(&text).ok_or_else(|| D::Error::custom(format!("no period kind `{text}`")))
    }
}

/// Why a ledger row exists, as data: the ledger stores it (`points_entries.reason_data`)
/// beside its English text (`reason`, what the API returns), and a page puts it
/// in its reader's words (`in_lang`); nothing parses a sentence back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// `units` whole `per`s of a money measure's `amount`, `points` each.
    PerMoney {
        measure: String,
        record: RecordRef,
        amount: String,
        units: i64,
        points: i64,
        per: String,
        cap: Option<Cap>,
    },
    /// One counted event, `points` each.
    PerUnit { measure: String, record: RecordRef, points: i64, cap: Option<Cap> },
    /// `weight` points per percent of a target attained (up to `capped_at` percent).
    Attainment {
        kpi: String,
        attainment: f64,
        target: f64,
        period: String,
        capped_at: Option<f64>,
        weight: i64,
        points_cap: Option<i64>,
    },
    /// A bonus for reaching `threshold` percent of a target.
    Threshold { kpi: String, attainment: f64, target: f64, period: String, threshold: f64, points_cap: Option<i64> },
    /// The same entry, scored again: it was worth `was`, now `now`.
    Recomputed { of: Box<Reason>, was: i64, now: i64 },
    /// What an entry was for, which no longer counts.
    Reversed { of: Box<Reason> },
    /// Typed by hand, or stored before reasons were data (shown as `reason_in` words it).
    Text { text: String },
}

impl Reason {
    /// The English sentence, as the ledger's `reason` column and the API have always had it.
    pub fn english(&self) -> String {
        let cap_note = |cap: &Option<Cap>| match cap {
            Some(c) => format!(" (capped at {} per {})", c.points, c.per.as_str()),
            None => String::new(),
        };
        let points_note = |cap: &Option<i64>| match cap {
            Some(c) => format!(", capped at {c} points"),
            None => String::new(),
        };
        let name = |id: &str| measure(id).map_or(id.to_string(), |m| m.name_en.to_string());
        match self {
            Reason::PerMoney { measure, record, amount, units, points, per, cap } => format!(
                "{} of {} {} ({amount}): {units} × {points} per {per}{}",
                name(measure),
                record.kind,
                record.id,
                cap_note(cap)
            ),
            Reason::PerUnit { measure, record, points, cap } => {
                let m = name(measure);
                format!("{} {} {}: {points} per {m}{}", capitalised(&m), record.kind, record.id, cap_note(cap))
            }
            Reason::Attainment { kpi, attainment, target, period, capped_at, weight, points_cap } => {
                let capped = capped_at.map(|c| format!(" (capped at {c} %)")).unwrap_or_default();
                format!(
                    "{kpi} attainment {attainment:.1} % of target {target} in {period}{capped} × {weight}{}",
                    points_note(points_cap)
                )
            }
            Reason::Threshold { kpi, attainment, target, period, threshold, points_cap } => format!(
                "{kpi} reached {attainment:.1} % of target {target} in {period} (bonus at {threshold} %){}",
                points_note(points_cap)
            ),
            Reason::Recomputed { of, was, now } => format!("{} (recomputed: was {was}, now {now})", of.english()),
            Reason::Reversed { of } => format!("Reversed, no longer counts: {}", of.english()),
            Reason::Text { text } => text.clone(),
        }
    }

    /// The reason in the reader's language: KPIs and measures by their names,
    /// records by their kind's word, numbers grouped, points counted
    /// ("1 очко", "50 очков"). The API keeps `english`.
    pub fn in_lang(&self, lang: Lang) -> String {
        use crate::format::{group_decimal, number, percent};
        let say = |m: Message| m.in_lang(lang);
        let points = |n: i64| Message::plural("count.points", n);
        // "не больше 21 очка": a limit counts in the genitive.
        let at_most = |n: i64| Message::plural("count.points_genitive", n);
        let per_period = |per: PeriodKind| {
            lang.t(match per {
                PeriodKind::Day => "rules.per_day",
                PeriodKind::Week => "rules.per_week",
                _ => "rules.per_month",
            })
        };
        let capped_per = |inner: String, cap: &Option<Cap>| match cap {
            Some(c) => say(Message::new("ledger.capped_per")
                .with("reason", inner)
                .with_message("cap", at_most(c.points))
                .with("per", per_period(c.per))),
            None => inner,
        };
        let capped_points = |inner: String, cap: &Option<i64>| match cap {
            Some(c) => say(Message::new("ledger.capped_points").with("reason", inner).with_message("cap", at_most(*c))),
            None => inner,
        };
        let kpi_name = |id: &str| crate::kpi::find(id).map_or(id.to_string(), |k| k.name(lang).to_string());
        let measure_name =
            |id: &str| measure(id).map_or(id.to_string(), |m| capitalised(lang.pick(m.name_ru, m.name_en)));
        let record = |m: Message, r: &RecordRef| {
            m.with_word("kind", format!("record.{}", r.kind), r.kind.clone()).with("id", &r.id)
        };
        match self {
            Reason::PerMoney { measure, record: r, amount, units, points: each, per, cap } => capped_per(
                say(record(Message::new("ledger.per_money"), r)
                    .with("measure", measure_name(measure))
                    .with("amount", group_decimal(amount, lang))
                    .with("units", number(*units as f64, 0, lang))
                    .with_message("points", points(*each))
                    .with("per", group_decimal(per, lang))),
                cap,
            ),
            Reason::PerUnit { measure: id, record: r, points: each, cap } => capped_per(
                say(record(Message::new("ledger.per_unit"), r)
                    .with("measure", measure_name(id))
                    .with_message("points", points(*each))),
                cap,
            ),
            Reason::Attainment { kpi, attainment, target, period, capped_at, weight, points_cap } => capped_points(
                say(Message::new("ledger.attainment")
                    .with("kpi", kpi_name(kpi))
                    .with("attainment", percent(*attainment, 1, lang))
                    .with("target", number(*target, 2, lang))
                    .with("period", period)
                    .with(
                        "capped",
                        capped_at
                            .map(|c| say(Message::new("ledger.attainment_capped").with("cap", percent(c, 1, lang))))
                            .unwrap_or_default(),
                    )
                    .with("weight", number(*weight as f64, 0, lang))),
                points_cap,
            ),
            Reason::Threshold { kpi, attainment, target, period, threshold, points_cap } => capped_points(
                say(Message::new("ledger.threshold")
                    .with("kpi", kpi_name(kpi))
                    .with("attainment", percent(*attainment, 1, lang))
                    .with("target", number(*target, 2, lang))
                    .with("period", period)
                    .with("threshold", percent(*threshold, 1, lang))),
                points_cap,
            ),
            Reason::Recomputed { of, was, now } => say(Message::new("ledger.recomputed")
                .with("reason", of.in_lang(lang))
                .with_message("was", points(*was))
                .with_message("now", points(*now))),
            Reason::Reversed { of } => say(Message::new("ledger.reversed").with("reason", of.in_lang(lang))),
            Reason::Text { text } => reason_in(text, lang),
        }
    }
}

/// A ledger reason stored as text only (rows written before reasons were data,
/// and bonuses typed by hand) in the reader's language: each English shape
/// `Reason::english` writes is read back as its `Reason` and worded as one;
/// anything else is shown as stored.
pub fn reason_in(reason: &str, lang: Lang) -> String {
    match from_english(reason) {
        Some(r) => r.in_lang(lang),
        None => reason.to_string(),
    }
}

/// The `Reason` whose `english` is `reason`, when it is one of those shapes.
pub(crate) fn from_english(reason: &str) -> Option<Reason> {
    let int = |text: &str| text.parse::<i64>().ok();
    let float = |text: &str| text.parse::<f64>().ok();
    if let Some(rest) = reason.strip_prefix("Reversed, no longer counts: ") {
        return Some(Reason::Reversed { of: Box::new(from_english(rest)?) });
    }
    if let Some((what, tail)) = reason.strip_suffix(')').and_then(|r| r.rsplit_once(" (recomputed: was ")) {
        let (was, now) = tail.split_once(", now ")?;
        return Some(Reason::Recomputed { of: Box::new(from_english(what)?), was: int(was)?, now: int(now)? });
    }
    // ", capped at {c} points" closes attainment and threshold reasons.
    let (body, points_cap) = match reason.strip_suffix(" points").and_then(|r| r.rsplit_once(", capped at ")) {
        Some((what, cap)) if int(cap).is_some() => (what, int(cap)),
        _ => (reason, None),
    };
    // "{kpi} attainment {a} % of target {t} in {period}[ (capped at {cap} %)] × {weight}"
    if let Some((kpi, rest)) = body.split_once(" attainment ") {
        let (attainment, rest) = rest.split_once(" % of target ")?;
        let (target, rest) = rest.split_once(" in ")?;
        let (period, weight) = rest.rsplit_once(" × ")?;
        let (period, capped_at) = match period.strip_suffix(" %)").and_then(|p| p.split_once(" (capped at ")) {
            Some((period, cap)) => (period, Some(float(cap)?)),
            None => (period, None),
        };
        return Some(Reason::Attainment {
            kpi: kpi.into(),
            attainment: float(attainment)?,
            target: float(target)?,
            period: period.into(),
            capped_at,
            weight: int(weight)?,
            points_cap,
        });
    }
    // "{kpi} reached {a} % of target {t} in {period} (bonus at {threshold} %)"
    if let Some((kpi, rest)) = body.split_once(" reached ") {
        let (attainment, rest) = rest.split_once(" % of target ")?;
        let (target, rest) = rest.split_once(" in ")?;
        let (period, threshold) = rest.strip_suffix(" %)")?.rsplit_once(" (bonus at ")?;
        return Some(Reason::Threshold {
            kpi: kpi.into(),
            attainment: float(attainment)?,
            target: float(target)?,
            period: period.into(),
            threshold: float(threshold)?,
            points_cap,
        });
    }
    // " (capped at {points} per {day|week|month})" closes per-unit reasons.
    let (body, cap) = match reason.strip_suffix(')').and_then(|r| r.rsplit_once(" (capped at ")) {
        Some((what, tail)) => {
            let (points, per) = tail.split_once(" per ")?;
            (what, Some(Cap { points: int(points)?, per: PeriodKind::parse(per)? }))
        }
        None => (reason, None),
    };
    let record = |text: &str| {
        let (kind, id) = text.split_once(' ')?;
        Some(RecordRef { kind: kind.into(), id: id.into() })
    };
    // "{measure} of {kind} {id} ({amount}): {units} × {points} per {per}"
    for m in MEASURES.iter().filter(|m| m.money) {
        let Some(rest) = body.strip_prefix(m.name_en).and_then(|r| r.strip_prefix(" of ")) else { continue };
        let (on, rest) = rest.rsplit_once("): ")?;
        let (on, amount) = on.rsplit_once(" (")?;
        let (units, rest) = rest.split_once(" × ")?;
        let (points, per) = rest.split_once(" per ")?;
        return Some(Reason::PerMoney {
            measure: m.id.into(),
            record: record(on)?,
            amount: amount.into(),
            units: int(units)?,
            points: int(points)?,
            per: per.into(),
            cap,
        });
    }
    // "{Measure} {kind} {id}: {points} per {measure}"
    for m in MEASURES.iter().filter(|m| !m.money) {
        let Some(rest) = body.strip_prefix(&capitalised(m.name_en)).and_then(|r| r.strip_prefix(' ')) else {
            continue;
        };
        let Some(rest) = rest.strip_suffix(m.name_en).and_then(|r| r.strip_suffix(" per ")) else { continue };
        let (on, points) = rest.rsplit_once(": ")?;
        return Some(Reason::PerUnit { measure: m.id.into(), record: record(on)?, points: int(points)?, cap });
    }
    None
}
