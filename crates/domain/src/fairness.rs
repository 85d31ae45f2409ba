//! Fairness: a neighbours-only view for reps, anonymised names for the TV, and
//! the anti-gaming flags a manager judges (what each says, and the verdicts).
//! Pure; unit-tested.

use crate::lang::{Lang, Message};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// How many rows above and below a rep's own the neighbours view shows, besides the top.
pub const NEIGHBOURS: usize = 2;
pub const TOP: usize = 3;

/// The row indexes a rep sees in the neighbours view: the top 3, then their
/// own row with 2 above and 2 below, in order and without repeats.
pub fn neighbour_rows(len: usize, mine: Option<usize>) -> Vec<usize> {
    let mut rows: Vec<usize> = (0..TOP.min(len)).collect();
    if let Some(i) = mine.filter(|i| *i < len) {
        rows.extend(i.saturating_sub(NEIGHBOURS)..(i + NEIGHBOURS + 1).min(len));
    }
    rows.sort_unstable();
    rows.dedup();
    rows
}

/// How many rows a leaderboard page shows at first; the rest are a click away ("show everyone").
/// A 1,000-rep board is 1,001 rows (about 100 KB) that every open page would re-read after each
/// won deal, and a phone would draw.
pub const PAGE_TOP: usize = 50;

/// The row indexes a leaderboard page shows at first: the top [`PAGE_TOP`], and the reader's own
/// row after them when it ranks below.
pub fn top_rows(len: usize, mine: Option<usize>) -> Vec<usize> {
    let mut rows: Vec<usize> = (0..PAGE_TOP.min(len)).collect();
    rows.extend(mine.filter(|i| (PAGE_TOP..len).contains(i)));
    rows
}

/// How names appear on a shared screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    Full,
    Initials,
    Hidden,
}

impl Names {
    pub fn parse(text: &str) -> Option<Names> {
        match text {
            "full" => Some(Names::Full),
            "initials" => Some(Names::Initials),
            "none" => Some(Names::Hidden),
            _ => None,
        }
    }

    /// The name as this mode shows it; `rank` stands in when names are hidden.
    pub fn show(self, name: &str, rank: usize) -> String {
        match self {
            Names::Full => name.to_string(),
            Names::Initials => name
                .split_whitespace()
                .filter_map(|w| w.chars().next())
                .flat_map(char::to_uppercase)
                .map(|c| format!("{c}."))
                .collect::<Vec<_>>()
                .join(" "),
            Names::Hidden => format!("#{rank}"),
        }
    }
}

/// How far ahead of the clock a close date may be before it counts as "in the
/// future": the clocks of a phone and the server may differ by a few minutes.
pub const CLOCK_SKEW_MINUTES: i64 = 10;

/// Whether a win closed at `closed_at` is dated in the future of `now` (beyond the skew).
pub fn dated_ahead(closed_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    closed_at > now + Duration::minutes(CLOCK_SKEW_MINUTES)
}

/// What a flag points at, as data: the words are chosen per reader (`in_lang`);
/// the public API keeps the English (`english`). Dates are already local text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "about", rename_all = "snake_case")]
pub enum FlagDetail {
    /// Logged as won after the month it closed in had closed.
    LateMonth { deal: String, closed: String, logged: String },
    /// Logged as won more than 2 days late during a running challenge.
    LateChallenge { deal: String, closed: String, logged: String, challenge: String },
    /// Won, then lost or reopened (`status`) within 7 days.
    Undone { deal: String, won: String, status: String, changed: String },
    /// Far more activities on `day` than the rep's own 28-day norm.
    Spike { count: i64, day: String, norm: f64 },
    /// A win whose close date was ahead of the time it was logged.
    FutureWin { deal: String, closed: String, logged: String },
    /// A win at zero amount.
    ZeroWin { deal: String, logged: String },
}

impl FlagDetail {
    pub fn message(&self, lang: Lang) -> Message {
        match self {
            FlagDetail::LateMonth { deal, closed, logged } => {
                Message::new("flags.about.late_month").with("deal", deal).with("closed", closed).with("logged", logged)
            }
            FlagDetail::LateChallenge { deal, closed, logged, challenge } => Message::new("flags.about.late_challenge")
                .with("deal", deal)
                .with("closed", closed)
                .with("logged", logged)
                .with("challenge", challenge),
            FlagDetail::Undone { deal, won, status, changed } => {
                let key = if status == "lost" { "flags.about.won_then_lost" } else { "flags.about.won_then_reopened" };
                Message::new(key).with("deal", deal).with("won", won).with("changed", changed)
            }
            FlagDetail::Spike { count, day, norm } => {
                let norm = format!("{norm:.1}");
                let norm = if lang == Lang::Ru { norm.replace('.', ",") } else { norm };
                Message::new("flags.about.spike").with("count", count).with("day", day).with("norm", norm)
            }
            FlagDetail::FutureWin { deal, closed, logged } => {
                Message::new("flags.about.future_win").with("deal", deal).with("closed", closed).with("logged", logged)
            }
            FlagDetail::ZeroWin { deal, logged } => {
                Message::new("flags.about.zero_win").with("deal", deal).with("logged", logged)
            }
        }
    }

    /// The flag in the reader's language.
    pub fn in_lang(&self, lang: Lang) -> String {
        self.message(lang).in_lang(lang)
    }

    /// The flag in English, as the records API and the logs read it.
    pub fn english(&self) -> String {
        self.in_lang(Lang::En)
    }
}

/// A manager's verdict on a flag: nothing wrong, or dealt with. Either takes it off the open list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Fine,
    ActedOn,
}

impl Verdict {
    pub const ALL: [Verdict; 2] = [Verdict::Fine, Verdict::ActedOn];

    pub fn parse(text: &str) -> Option<Verdict> {
        match text.trim() {
            "fine" => Some(Verdict::Fine),
            "acted_on" => Some(Verdict::ActedOn),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Fine => "fine",
            Verdict::ActedOn => "acted_on",
        }
    }

    /// Its words' key in `app.yml`.
    pub fn key(self) -> &'static str {
        match self {
            Verdict::Fine => "flags.verdict.fine",
            Verdict::ActedOn => "flags.verdict.acted_on",
        }
    }
}

/// The longest note a verdict may carry, in characters.
pub const NOTE_MAX: usize = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_close_date_is_ahead_only_beyond_the_clock_skew() {
        let now = DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z").unwrap().with_timezone(&Utc);
        assert!(!dated_ahead(now + Duration::minutes(10), now), "10 minutes is clock skew");
        assert!(dated_ahead(now + Duration::minutes(10) + Duration::seconds(1), now));
        assert!(!dated_ahead(now - Duration::days(30), now));
    }

    #[test]
    fn verdicts_read_back_as_written() {
        for v in Verdict::ALL {
            assert_eq!(Verdict::parse(v.as_str()), Some(v));
        }
        assert_eq!(Verdict::parse("guilty"), None);
    }

    #[test]
    fn a_flag_reads_in_both_languages_with_its_numbers() {
        let spike = FlagDetail::Spike { count: 20, day: "2026-10-29".into(), norm: 1.0 };
        assert_eq!(spike.english(), "20 activities on 2026-10-29 against a 28-day mean of 1.0 a day");
        assert_eq!(spike.in_lang(Lang::Ru), "2026-10-29: активностей — 20 при среднем 1,0 в день за 28 дней");
        let zero = FlagDetail::ZeroWin { deal: "d9".into(), logged: "2026-12-02 10:00".into() };
        assert_eq!(zero.english(), "deal d9 was logged as won at 0, 2026-12-02 10:00");
        assert_eq!(zero.in_lang(Lang::Ru), "сделка d9 записана выигранной на сумму 0, 2026-12-02 10:00");
    }

    #[test]
    fn neighbours_are_the_top_three_and_two_either_side() {
        // Row 9 of 20: top 0..3, then 7..=11.
        assert_eq!(neighbour_rows(20, Some(9)), vec![0, 1, 2, 7, 8, 9, 10, 11]);
        // Near the top the two sets overlap; at the bottom the window is cut.
        assert_eq!(neighbour_rows(20, Some(3)), vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(neighbour_rows(6, Some(5)), vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(neighbour_rows(20, None), vec![0, 1, 2]);
    }

    #[test]
    fn a_page_shows_the_top_fifty_and_the_readers_own_row_below_them() {
        let first_fifty: Vec<usize> = (0..50).collect();
        assert_eq!(top_rows(1000, Some(700)), [first_fifty.clone(), vec![700]].concat());
        assert_eq!(top_rows(1000, Some(49)), first_fifty);
        assert_eq!(top_rows(1000, None), first_fifty);
        assert_eq!(top_rows(51, Some(50)), [first_fifty, vec![50]].concat());
        assert_eq!(top_rows(3, Some(2)), vec![0, 1, 2]);
        assert_eq!(top_rows(3, Some(7)), vec![0, 1, 2], "a row that is not there is not shown");
    }

    #[test]
    fn names_can_be_initials_or_hidden() {
        assert_eq!(Names::Initials.show("Анна Смирнова", 1), "А. С.");
        assert_eq!(Names::Hidden.show("Anna", 4), "#4");
        assert_eq!(Names::Full.show("Anna", 4), "Anna");
    }
}
