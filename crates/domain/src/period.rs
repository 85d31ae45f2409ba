//! Calendar periods (`2026-11-27`, `2026-W48`, `2026-11`, `2026-Q4`, `2026`) as
//! half-open intervals in the organisation's time zone.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A calendar period as KPIS.md names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Period {
    Day(NaiveDate),
    Week { year: i32, week: u32 },
    Month { year: i32, month: u32 },
    Quarter { year: i32, quarter: u32 },
    Year(i32),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a period: use a day (2026-11-27), ISO week (2026-W48), month (2026-11), quarter (2026-Q4) or year (2026)")]
pub struct PeriodParseError(pub String);

impl Period {
    pub fn parse(text: &str) -> Result<Period, PeriodParseError> {
        let bad = || PeriodParseError(text.to_string());
        let t = text.trim();
        let parsed = if let Some((y, w)) = t.split_once("-W") {
            let (year, week) = (y.parse().map_err(|_| bad())?, w.parse().map_err(|_| bad())?);
            NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).map(|_| Period::Week { year, week })
        } else if let Some((y, q)) = t.split_once("-Q") {
            let (year, quarter) = (y.parse().map_err(|_| bad())?, q.parse().map_err(|_| bad())?);
            ((1..=4).contains(&quarter) && y.len() == 4).then_some(Period::Quarter { year, quarter })
        } else {
            match t.len() {
                4 => t.parse().ok().map(Period::Year),
                7 => {
                    let (y, m) = t.split_once('-').ok_or_else(bad)?;
                    let (year, month) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
                    ((1..=12).contains(&month)).then_some(Period::Month { year, month })
                }
                10 => NaiveDate::parse_from_str(t, "%Y-%m-%d").ok().map(Period::Day),
                _ => None,
            }
        };
        parsed.ok_or_else(bad)
    }

    /// The period of the given kind that contains `day`.
    pub fn containing(kind: PeriodKind, day: NaiveDate) -> Period {
        match kind {
            PeriodKind::Day => Period::Day(day),
            PeriodKind::Week => {
                let iso = day.iso_week();
                Period::Week { year: iso.year(), week: iso.week() }
            }
            PeriodKind::Month => Period::Month { year: day.year(), month: day.month() },
            PeriodKind::Quarter => Period::Quarter { year: day.year(), quarter: (day.month() - 1) / 3 + 1 },
            PeriodKind::Year => Period::Year(day.year()),
        }
    }

    pub fn kind(&self) -> PeriodKind {
        match self {
            Period::Day(_) => PeriodKind::Day,
            Period::Week { .. } => PeriodKind::Week,
            Period::Month { .. } => PeriodKind::Month,
            Period::Quarter { .. } => PeriodKind::Quarter,
            Period::Year(_) => PeriodKind::Year,
        }
    }

    /// First day of the period (inclusive), as a local calendar date.
    pub fn first_day(&self) -> NaiveDate {
        match *self {
            Period::Day(d) => d,
            Period::Week { year, week } => {
                NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).expect("validated week")
            }
            Period::Month { year, month } => NaiveDate::from_ymd_opt(year, month, 1).expect("validated month"),
            Period::Quarter { year, quarter } => {
                NaiveDate::from_ymd_opt(year, (quarter - 1) * 3 + 1, 1).expect("validated quarter")
            }
            Period::Year(year) => NaiveDate::from_ymd_opt(year, 1, 1).expect("valid year"),
        }
    }

    /// First day after the period (exclusive end), as a local calendar date.
    pub fn end_day(&self) -> NaiveDate {
        self.next().first_day()
    }

    pub fn next(&self) -> Period {
        match *self {
            Period::Day(d) => Period::Day(d + Duration::days(1)),
            Period::Week { .. } => Period::containing(PeriodKind::Week, self.first_day() + Duration::days(7)),
            Period::Month { year, month } if month == 12 => Period::Month { year: year + 1, month: 1 },
            Period::Month { year, month } => Period::Month { year, month: month + 1 },
            Period::Quarter { year, quarter } if quarter == 4 => Period::Quarter { year: year + 1, quarter: 1 },
            Period::Quarter { year, quarter } => Period::Quarter { year, quarter: quarter + 1 },
            Period::Year(y) => Period::Year(y + 1),
        }
    }

    pub fn previous(&self) -> Period {
        Period::containing(self.kind(), self.first_day() - Duration::days(1))
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Day(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Period::Week { year, week } => write!(f, "{year}-W{week:02}"),
            Period::Month { year, month } => write!(f, "{year}-{month:02}"),
            Period::Quarter { year, quarter } => write!(f, "{year}-Q{quarter}"),
            Period::Year(y) => write!(f, "{y}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeriodKind {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl PeriodKind {
    pub fn parse(text: &str) -> Option<PeriodKind> {
        match text {
            "day" => Some(PeriodKind::Day),
            "week" => Some(PeriodKind::Week),
            "month" => Some(PeriodKind::Month),
            "quarter" => Some(PeriodKind::Quarter),
            "year" => Some(PeriodKind::Year),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PeriodKind::Day => "day",
            PeriodKind::Week => "week",
            PeriodKind::Month => "month",
            PeriodKind::Quarter => "quarter",
            PeriodKind::Year => "year",
        }
    }
}

pub use bounds::*;

mod bounds {
    use super::Period;
    use chrono::{DateTime, NaiveDate, TimeZone, Utc};
    use chrono_tz::Tz;

    /// The instant local midnight of `day` starts in `tz` (the earliest one if
    /// a DST change makes midnight ambiguous or skipped).
    pub fn local_midnight(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
        let mut t = day.and_hms_opt(0, 0, 0).expect("midnight exists");
        loop {
            if let Some(dt) = tz.from_local_datetime(&t).earliest() {
                return dt.with_timezone(&Utc);
            }
            t += chrono::Duration::minutes(30);
        }
    }

    impl Period {
        /// `[start, end)` as instants, in the organisation's time zone.
        pub fn bounds(&self, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
            (local_midnight(self.first_day(), tz), local_midnight(self.end_day(), tz))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind_and_prints_it_back() {
        for text in ["2026-11-27", "2026-W48", "2026-11", "2026-Q4", "2026", "2020-W53"] {
            assert_eq!(Period::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn rejects_what_is_not_a_period() {
        for text in ["2026-13", "2026-Q5", "2025-W53", "26", "2026-02-30", "last month", ""] {
            assert!(Period::parse(text).is_err(), "{text} should be rejected");
        }
    }

    #[test]
    fn iso_week_48_of_2026_runs_monday_to_monday() {
        let p = Period::parse("2026-W48").unwrap();
        assert_eq!(p.first_day(), NaiveDate::from_ymd_opt(2026, 11, 23).unwrap());
        assert_eq!(p.end_day(), NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
    }

    #[test]
    fn previous_and_next_cross_year_ends() {
        assert_eq!(Period::parse("2026-01").unwrap().previous().to_string(), "2025-12");
        assert_eq!(Period::parse("2026-Q4").unwrap().next().to_string(), "2027-Q1");
        assert_eq!(Period::parse("2027-W01").unwrap().previous().to_string(), "2026-W53");
    }

    #[test]
    fn month_bounds_follow_the_time_zone() {
        let (start, end) = Period::parse("2026-11").unwrap().bounds(chrono_tz::Europe::Moscow);
        assert_eq!(start.to_rfc3339(), "2026-10-31T21:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2026-11-30T21:00:00+00:00");
    }
}
