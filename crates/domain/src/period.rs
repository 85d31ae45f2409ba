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

impl Period {
    /// The period as a reader says it: "декабрь 2026" / "December 2026",
    /// "2 декабря 2026", "неделя 48, 2026" / "week 48, 2026", "4 квартал 2026" / "Q4 2026", "2026".
    pub fn in_words(&self, lang: crate::lang::Lang) -> String {
        use crate::lang::Lang;
        const RU: [&str; 12] = [
            "январь",
            "февраль",
            "март",
            "апрель",
            "май",
            "июнь",
            "июль",
            "август",
            "сентябрь",
            "октябрь",
            "ноябрь",
            "декабрь",
        ];
        /// Of the month: "2 декабря".
        const RU_OF: [&str; 12] = [
            "января",
            "февраля",
            "марта",
            "апреля",
            "мая",
            "июня",
            "июля",
            "августа",
            "сентября",
            "октября",
            "ноября",
            "декабря",
        ];
        const EN: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        match (*self, lang) {
            (Period::Day(d), Lang::Ru) => format!("{} {} {}", d.day(), RU_OF[d.month0() as usize], d.year()),
            (Period::Day(d), Lang::En) => format!("{} {} {}", d.day(), EN[d.month0() as usize], d.year()),
            (Period::Week { year, week }, Lang::Ru) => format!("неделя {week}, {year}"),
            (Period::Week { year, week }, Lang::En) => format!("week {week}, {year}"),
            (Period::Month { year, month }, Lang::Ru) => format!("{} {year}", RU[month as usize - 1]),
            (Period::Month { year, month }, Lang::En) => format!("{} {year}", EN[month as usize - 1]),
            (Period::Quarter { year, quarter }, Lang::Ru) => format!("{quarter} квартал {year}"),
            (Period::Quarter { year, quarter }, Lang::En) => format!("Q{quarter} {year}"),
            (Period::Year(year), _) => year.to_string(),
        }
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
    use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveDateTime, TimeZone, Utc};
    use chrono_tz::Tz;

    /// The instant local midnight of `day` starts in `tz` (the earliest one if
    /// a DST change makes midnight ambiguous or skipped).
    pub fn local_midnight(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
        local_instant(day.and_hms_opt(0, 0, 0).expect("midnight exists"), tz)
    }

    /// The instant a local date and time happens in `tz` (the earliest one when a
    /// DST change repeats it, the first after it when a DST change skips it).
    pub fn local_instant(at: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
        let mut t = at;
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

        /// Whether the period has begun and not ended at `now`: its figures are "so far".
        pub fn is_running(&self, tz: Tz, now: DateTime<Utc>) -> bool {
            let (start, end) = self.bounds(tz);
            start <= now && now < end
        }

        /// The share of the period that has passed at `now`, 0–1, by elapsed time
        /// (0 before it begins, 1 once it has ended).
        pub fn elapsed_share(&self, tz: Tz, now: DateTime<Utc>) -> f64 {
            let (start, end) = self.bounds(tz);
            let passed = now.clamp(start, end) - start;
            passed.num_milliseconds() as f64 / (end - start).num_milliseconds() as f64
        }

        /// The span of the previous period to compare this one with at `now`, like
        /// with like. While this period runs: the previous one from its start up to
        /// the same point, which is the same local date and time one period back (a
        /// day: the day before; a week: seven days before; a month, quarter or year:
        /// the same day of the month 1, 3 or 12 months before). A day the shorter
        /// month does not have (the 29th to the 31st) stands for the end of that
        /// month: on 31 March all of February compares. A closed period (or one not
        /// yet begun) compares with the whole previous period.
        pub fn comparable_previous(&self, tz: Tz, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
            let (start, end) = self.previous().bounds(tz);
            if !self.is_running(tz, now) {
                return (start, end);
            }
            let local = now.with_timezone(&tz).naive_local();
            let back = match self {
                Period::Day(_) => local - chrono::Duration::days(1),
                Period::Week { .. } => local - chrono::Duration::days(7),
                Period::Month { .. } => months_back(local, 1),
                Period::Quarter { .. } => months_back(local, 3),
                Period::Year(_) => months_back(local, 12),
            };
            (start, local_instant(back, tz).clamp(start, end))
        }
    }

    /// `at` moved `n` months back, keeping the day of the month and the time; a
    /// day that month does not have gives the start of the month after it.
    fn months_back(at: NaiveDateTime, n: u32) -> NaiveDateTime {
        let first = at.date().with_day(1).expect("every month has a 1st") - Months::new(n);
        match first.with_day(at.day()) {
            Some(day) => day.and_time(at.time()),
            None => (first + Months::new(1)).and_hms_opt(0, 0, 0).expect("midnight exists"),
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

    /// An instant given as local time in Moscow (UTC+3 all year).
    fn msk(text: &str) -> chrono::DateTime<chrono::Utc> {
        let local = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
        local_instant(local, chrono_tz::Europe::Moscow)
    }

    /// The previous period's span to compare `period` with at `now` (Moscow), in local time.
    fn compared(period: &str, now: &str) -> (String, String) {
        let tz = chrono_tz::Europe::Moscow;
        let (start, end) = Period::parse(period).unwrap().comparable_previous(tz, msk(now));
        let local = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
        (local(start), local(end))
    }

    fn span(start: &str, end: &str) -> (String, String) {
        (start.to_string(), end.to_string())
    }

    #[test]
    fn a_running_month_compares_with_the_same_days_of_the_previous_month() {
        // 2 December, 10:00: 1 December 00:00–10:00 on the 2nd against 1–2 November to 10:00.
        assert_eq!(compared("2026-12", "2026-12-02 10:00"), span("2026-11-01 00:00", "2026-11-02 10:00"));
        // January against December crosses the year.
        assert_eq!(compared("2027-01", "2027-01-31 18:00"), span("2026-12-01 00:00", "2026-12-31 18:00"));
        // 28 February (a 28-day month) against 28 January: the same date, not the same share.
        assert_eq!(compared("2027-02", "2027-02-28 12:00"), span("2027-01-01 00:00", "2027-01-28 12:00"));
        // 28 March against February's last day, to the same hour.
        assert_eq!(compared("2027-03", "2027-03-28 15:00"), span("2027-02-01 00:00", "2027-02-28 15:00"));
    }

    #[test]
    fn the_31st_against_a_shorter_month_compares_with_all_of_it() {
        // February 2027 has 28 days: on the 29th, 30th and 31st of March all of February compares.
        for day in ["2027-03-29 09:00", "2027-03-30 12:00", "2027-03-31 23:59"] {
            assert_eq!(compared("2027-03", day), span("2027-02-01 00:00", "2027-03-01 00:00"), "{day}");
        }
        // A leap year's February has a 29th.
        assert_eq!(compared("2028-03", "2028-03-29 09:00"), span("2028-02-01 00:00", "2028-02-29 09:00"));
        assert_eq!(compared("2028-03", "2028-03-30 09:00"), span("2028-02-01 00:00", "2028-03-01 00:00"));
        // 31 May against April's 30 days; 31 July against June's.
        assert_eq!(compared("2027-05", "2027-05-31 10:00"), span("2027-04-01 00:00", "2027-05-01 00:00"));
        assert_eq!(compared("2027-07", "2027-07-31 10:00"), span("2027-06-01 00:00", "2027-07-01 00:00"));
    }

    #[test]
    fn days_weeks_quarters_and_years_compare_one_period_back() {
        assert_eq!(compared("2026-12-02", "2026-12-02 10:30"), span("2026-12-01 00:00", "2026-12-01 10:30"));
        // Wednesday 14:00 of ISO week 2027-W01 against Wednesday 14:00 of 2026-W53.
        assert_eq!(compared("2027-W01", "2027-01-06 14:00"), span("2026-12-28 00:00", "2026-12-30 14:00"));
        // 31 May in Q2 against 31 February, which is not: Q1 up to the end of February.
        assert_eq!(compared("2027-Q2", "2027-05-31 10:00"), span("2027-01-01 00:00", "2027-03-01 00:00"));
        assert_eq!(compared("2027-Q2", "2027-04-02 10:00"), span("2027-01-01 00:00", "2027-01-02 10:00"));
        // 29 February 2028 against 2027, which has none: up to the end of February 2027.
        assert_eq!(compared("2028", "2028-02-29 10:00"), span("2027-01-01 00:00", "2027-03-01 00:00"));
    }

    #[test]
    fn closed_and_future_periods_compare_with_the_whole_previous_period() {
        let whole = span("2026-11-01 00:00", "2026-12-01 00:00");
        assert_eq!(compared("2026-12", "2027-01-02 10:00"), whole);
        assert_eq!(compared("2026-12", "2026-11-15 10:00"), whole);
        // The first instant of the month runs it: nothing of November compares yet.
        assert_eq!(compared("2026-12", "2026-12-01 00:00"), span("2026-11-01 00:00", "2026-11-01 00:00"));
    }

    #[test]
    fn the_elapsed_share_is_the_time_passed_over_the_periods_length() {
        let tz = chrono_tz::Europe::Moscow;
        let december = Period::parse("2026-12").unwrap();
        assert_eq!(december.elapsed_share(tz, msk("2026-12-02 12:00")), 1.5 / 31.0);
        assert!(december.is_running(tz, msk("2026-12-02 12:00")));
        let february = Period::parse("2027-02").unwrap();
        assert_eq!(february.elapsed_share(tz, msk("2027-02-08 00:00")), 0.25);
        assert_eq!(february.elapsed_share(tz, msk("2027-01-31 23:00")), 0.0);
        assert_eq!(february.elapsed_share(tz, msk("2027-03-01 00:00")), 1.0);
        assert!(!february.is_running(tz, msk("2027-03-01 00:00")));
    }

    #[test]
    fn periods_read_as_words_in_both_languages() {
        use crate::lang::Lang::{En, Ru};
        let words = |text: &str| {
            let p = Period::parse(text).unwrap();
            (p.in_words(Ru), p.in_words(En))
        };
        assert_eq!(words("2026-12"), ("декабрь 2026".into(), "December 2026".into()));
        assert_eq!(words("2027-01"), ("январь 2027".into(), "January 2027".into()));
        assert_eq!(words("2026-12-02"), ("2 декабря 2026".into(), "2 December 2026".into()));
        assert_eq!(words("2026-W48"), ("неделя 48, 2026".into(), "week 48, 2026".into()));
        assert_eq!(words("2026-Q4"), ("4 квартал 2026".into(), "Q4 2026".into()));
        assert_eq!(words("2026"), ("2026".into(), "2026".into()));
    }

    #[test]
    fn month_bounds_follow_the_time_zone() {
        let (start, end) = Period::parse("2026-11").unwrap().bounds(chrono_tz::Europe::Moscow);
        assert_eq!(start.to_rfc3339(), "2026-10-31T21:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2026-11-30T21:00:00+00:00");
    }
}
