//! Why a ledger row exists: `Reason`, stored as data and worded for the
//! reader; and the reading of reasons stored as English text only.

use super::{capitalised, measure, Measure, RecordRef, MEASURES};
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

    /// The reason in the reader's language.
    pub fn in_lang(&self, lang: Lang) -> String {
        if lang == Lang::En {
            return self.english();
        }
        let say = |m: Message| m.in_lang(lang);
        let capped_per = |inner: String, cap: &Option<Cap>| match cap {
            Some(c) => say(Message::new("ledger.capped_per").with("reason", inner).with("cap", c.points).with(
                "per",
                lang.t(match c.per {
                    PeriodKind::Day => "rules.per_day",
                    PeriodKind::Week => "rules.per_week",
                    _ => "rules.per_month",
                }),
            )),
            None => inner,
        };
        let capped_points = |inner: String, cap: &Option<i64>| match cap {
            Some(c) => say(Message::new("ledger.capped_points").with("reason", inner).with("cap", c)),
            None => inner,
        };
        let kpi_name = |id: &str| crate::kpi::find(id).map_or(id.to_string(), |k| lang.pick(k.name_ru, id).to_string());
        let measure_name =
            |id: &str| measure(id).map_or(id.to_string(), |m| capitalised(lang.pick(m.name_ru, m.name_en)));
        match self {
            Reason::PerMoney { measure, record, amount, units, points, per, cap } => capped_per(
                say(Message::new("ledger.per_money")
                    .with("measure", measure_name(measure))
                    .with("kind", &record.kind)
                    .with("id", &record.id)
                    .with("amount", amount)
                    .with("units", units)
                    .with("points", points)
                    .with("per", per)),
                cap,
            ),
            Reason::PerUnit { measure: id, record, points, cap } => capped_per(
                say(Message::new("ledger.per_unit")
                    .with("measure", measure_name(id))
                    .with("kind", &record.kind)
                    .with("id", &record.id)
                    .with("points", points)
                    .with("unit", measure(id).map_or(id.as_str(), |m| m.name_en))),
                cap,
            ),
            Reason::Attainment { kpi, attainment, target, period, capped_at, weight, points_cap } => capped_points(
                say(Message::new("ledger.attainment")
                    .with("kpi", kpi_name(kpi))
                    .with("attainment", format!("{attainment:.1}"))
                    .with("target", target)
                    .with("period", period)
                    .with(
                        "capped",
                        capped_at
                            .map(|c| say(Message::new("ledger.attainment_capped").with("cap", c)))
                            .unwrap_or_default(),
                    )
                    .with("weight", weight)),
                points_cap,
            ),
            Reason::Threshold { kpi, attainment, target, period, threshold, points_cap } => capped_points(
                say(Message::new("ledger.threshold")
                    .with("kpi", kpi_name(kpi))
                    .with("attainment", format!("{attainment:.1}"))
                    .with("target", target)
                    .with("period", period)
                    .with("threshold", threshold)),
                points_cap,
            ),
            Reason::Recomputed { of, was, now } => say(Message::new("ledger.recomputed")
                .with("reason", of.in_lang(lang))
                .with("was", was)
                .with("now", now)),
            Reason::Reversed { of } => say(Message::new("ledger.reversed").with("reason", of.in_lang(lang))),
            Reason::Text { text } => reason_in(text, lang),
        }
    }
}

/// A ledger reason stored as text only (rows written before reasons were data,
/// and bonuses typed by hand) in the reader's language: each English shape
/// `Reason::english` writes is re-worded; anything else is shown as stored.
pub fn reason_in(reason: &str, lang: Lang) -> String {
    if lang == Lang::En {
        return reason.to_string();
    }
    reworded(reason, lang).unwrap_or_else(|| reason.to_string())
}

pub(crate) fn reworded(reason: &str, lang: Lang) -> Option<String> {
    let say = |key: &'static str, args: &[(&'static str, String)]| {
        args.iter().fold(Message::new(key), |m, (name, value)| m.with(name, value)).in_lang(lang)
    };
    let inner = |text: &str| reason_in(text, lang);
    let number = |text: &str| !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == '-');
    if let Some(rest) = reason.strip_prefix("Reversed, no longer counts: ") {
        return Some(say("ledger.reversed", &[("reason", inner(rest))]));
    }
    if let Some((what, tail)) = reason.strip_suffix(')').and_then(|r| r.rsplit_once(" (recomputed: was ")) {
        let (was, now) = tail.split_once(", now ").filter(|(w, n)| number(w) && number(n))?;
        return Some(say("ledger.recomputed", &[("reason", inner(what)), ("was", was.into()), ("now", now.into())]));
    }
    if let Some((what, cap)) = reason.strip_suffix(" points").and_then(|r| r.rsplit_once(", capped at ")) {
        if number(cap) {
            return Some(say("ledger.capped_points", &[("reason", inner(what)), ("cap", cap.into())]));
        }
    }
    if let Some((what, tail)) = reason.strip_suffix(')').and_then(|r| r.rsplit_once(" (capped at ")) {
        if let Some((cap, per)) = tail.split_once(" per ").filter(|(c, _)| number(c)) {
            let per = lang.t(match per {
                "day" => "rules.per_day",
                "week" => "rules.per_week",
                _ => "rules.per_month",
            });
            return Some(say("ledger.capped_per", &[("reason", inner(what)), ("cap", cap.into()), ("per", per)]));
        }
    }
    // English names the KPI by its id, as stored; Russian by its name.
    let kpi_name = |id: &str| match crate::kpi::find(id) {
        Some(k) if lang == Lang::Ru => k.name_ru.to_string(),
        _ => id.to_string(),
    };
    // "{kpi} attainment {a} % of target {t} in {period}[ (capped at {cap} %)] × {weight}"
    if let Some((kpi, rest)) = reason.split_once(" attainment ") {
        let (attainment, rest) = rest.split_once(" % of target ")?;
        let (target, rest) = rest.split_once(" in ")?;
        let (period, weight) = rest.rsplit_once(" × ")?;
        let (period, capped) = match period.strip_suffix(" %)").and_then(|p| p.split_once(" (capped at ")) {
            Some((period, cap)) => (period, say("ledger.attainment_capped", &[("cap", cap.into())])),
            None => (period, String::new()),
        };
        return Some(say(
            "ledger.attainment",
            &[
                ("kpi", kpi_name(kpi)),
                ("attainment", attainment.into()),
                ("target", target.into()),
                ("period", period.into()),
                ("capped", capped),
                ("weight", weight.into()),
            ],
        ));
    }
    // "{kpi} reached {a} % of target {t} in {period} (bonus at {threshold} %)"
    if let Some((kpi, rest)) = reason.split_once(" reached ") {
        let (attainment, rest) = rest.split_once(" % of target ")?;
        let (target, rest) = rest.split_once(" in ")?;
        let (period, threshold) = rest.strip_suffix(" %)")?.rsplit_once(" (bonus at ")?;
        return Some(say(
            "ledger.threshold",
            &[
                ("kpi", kpi_name(kpi)),
                ("attainment", attainment.into()),
                ("target", target.into()),
                ("period", period.into()),
                ("threshold", threshold.into()),
            ],
        ));
    }
    // As the English sentence has it: "Won deal …", "revenue of …"; Russian starts each with a capital.
    let name = |m: &Measure, english: String| if lang == Lang::En { english } else { capitalised(m.name_ru) };
    // "{measure} of {kind} {id} ({amount}): {units} × {points} per {per}"
    for m in MEASURES.iter().filter(|m| m.money) {
        let Some(rest) = reason.strip_prefix(m.name_en).and_then(|r| r.strip_prefix(" of ")) else { continue };
        let (record, rest) = rest.rsplit_once("): ")?;
        let (record, amount) = record.rsplit_once(" (")?;
        let (kind, id) = record.split_once(' ')?;
        let (units, rest) = rest.split_once(" × ")?;
        let (points, per) = rest.split_once(" per ")?;
        return Some(say(
            "ledger.per_money",
            &[
                ("measure", name(m, m.name_en.into())),
                ("kind", kind.into()),
                ("id", id.into()),
                ("amount", amount.into()),
                ("units", units.into()),
                ("points", points.into()),
                ("per", per.into()),
            ],
        ));
    }
    // "{Measure} {kind} {id}: {points} per {measure}"
    for m in MEASURES.iter().filter(|m| !m.money) {
        let Some(rest) = reason.strip_prefix(&capitalised(m.name_en)).and_then(|r| r.strip_prefix(' ')) else {
            continue;
        };
        let Some(rest) = rest.strip_suffix(m.name_en).and_then(|r| r.strip_suffix(" per ")) else { continue };
        let (record, points) = rest.rsplit_once(": ")?;
        let (kind, id) = record.split_once(' ')?;
        return Some(say(
            "ledger.per_unit",
            &[
                ("measure", name(m, capitalised(m.name_en))),
                ("kind", kind.into()),
                ("id", id.into()),
                ("points", points.into()),
                ("unit", m.name_en.into()),
            ],
        ));
    }
    None
}
