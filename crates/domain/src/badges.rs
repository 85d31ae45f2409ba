//! The badge catalogue: what each badge is for, and where the evidence for it
//! can lie. The rules that award them are SQL (`store::badges`): over the whole
//! history at start and once a day (a badge added here goes to everyone whose
//! past already qualifies, dated when they qualified), and after a change only
//! over the window that change can move (`window_start`).

use crate::period::{Period, PeriodKind};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

mod detail;
pub use detail::detail_in;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Badge {
    pub id: &'static str,
    pub icon: &'static str,
    pub name_en: &'static str,
    pub name_ru: &'static str,
    pub description_en: &'static str,
    pub description_ru: &'static str,
}

pub const CATALOGUE: [Badge; 14] = [
    Badge {
        id: "first_win",
        icon: "🥇",
        name_en: "First win",
        name_ru: "Первая победа",
        description_en: "Won your first deal.",
        description_ru: "Первая выигранная сделка.",
    },
    Badge {
        id: "hat_trick",
        icon: "🎩",
        name_en: "Hat-trick",
        name_ru: "Хет-трик",
        description_en: "Won three deals on one day.",
        description_ru: "Три выигранные сделки за один день.",
    },
    Badge {
        id: "ten_wins",
        icon: "🔟",
        name_en: "Ten wins",
        name_ru: "Десять побед",
        description_en: "Won ten deals.",
        description_ru: "Десять выигранных сделок.",
    },
    Badge {
        id: "target_100",
        icon: "🎯",
        name_en: "On target",
        name_ru: "В цель",
        description_en: "Reached 100 % of a revenue target.",
        description_ru: "Выполнен план по выручке на 100 %.",
    },
    Badge {
        id: "club_150",
        icon: "🚀",
        name_en: "150 % club",
        name_ru: "Клуб 150 %",
        description_en: "Reached 150 % of a revenue target.",
        description_ru: "Выполнен план по выручке на 150 %.",
    },
    Badge {
        id: "response_ace",
        icon: "⚡",
        name_en: "Response-time ace",
        name_ru: "Мастер быстрого ответа",
        description_en: "A whole month with a median first response of 15 minutes or less (at least 5 leads).",
        description_ru: "Месяц с медианой первого ответа не более 15 минут (от 5 лидов).",
    },
    Badge {
        id: "streak_4w",
        icon: "🔥",
        name_en: "Four-week streak",
        name_ru: "Серия 4 недели",
        description_en: "Won a deal in each of four weeks in a row.",
        description_ru: "Выигранная сделка четыре недели подряд.",
    },
    Badge {
        id: "follow_up_master",
        icon: "📬",
        name_en: "Follow-up master",
        name_ru: "Мастер повторного контакта",
        description_en: "Followed up 20 leads within 24 hours of the first contact.",
        description_ru: "20 лидов с повторным контактом в течение 24 часов после первого.",
    },
    Badge {
        id: "comeback",
        icon: "📈",
        name_en: "Comeback",
        name_ru: "Камбэк",
        description_en: "From the bottom half of the revenue ranking one month to the top 3 the next.",
        description_ru: "Из нижней половины рейтинга по выручке в тройку лидеров за месяц.",
    },
    Badge {
        id: "deal_of_the_month",
        icon: "🐋",
        name_en: "Deal of the month",
        name_ru: "Сделка месяца",
        description_en: "Won the largest deal of a month in the organisation.",
        description_ru: "Самая крупная выигранная сделка месяца в компании.",
    },
    Badge {
        id: "marathon",
        icon: "📞",
        name_en: "Marathon",
        name_ru: "Марафон",
        description_en: "50 touchpoints in one week.",
        description_ru: "50 касаний за одну неделю.",
    },
    Badge {
        id: "meeting_maker",
        icon: "🤝",
        name_en: "Meeting maker",
        name_ru: "Мастер встреч",
        description_en: "10 accepted meetings in one month.",
        description_ru: "10 принятых встреч за месяц.",
    },
    Badge {
        id: "upseller",
        icon: "➕",
        name_en: "Upseller",
        name_ru: "Мастер допродаж",
        description_en: "Won five upsell or cross-sell deals.",
        description_ru: "Пять выигранных допродаж или кросс-продаж.",
    },
    Badge {
        id: "customer_favourite",
        icon: "💚",
        name_en: "Customer favourite",
        name_ru: "Любимец клиентов",
        description_en: "Ten positive customer feedbacks.",
        description_ru: "Десять положительных отзывов клиентов.",
    },
];

/// The badge a challenge's winners get.
pub const CHALLENGE_WINNER: Badge = Badge {
    id: "challenge",
    icon: "🏆",
    name_en: "Challenge winner",
    name_ru: "Победитель соревнования",
    description_en: "Won a challenge.",
    description_ru: "Победа в соревновании.",
};

/// A badge id from the catalogue, or `challenge:<id>` for a challenge win.
pub fn find(id: &str) -> Option<&'static Badge> {
    if id.starts_with("challenge:") {
        return Some(&CHALLENGE_WINNER);
    }
    CATALOGUE.iter().find(|b| b.id == id)
}

/// Where the records that earn a badge lie, relative to when it is earned.
/// Every badge is dated at or after the last record it rests on, so an award
/// earned before a change's earliest instant cannot be moved by that change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// The first N records of a kind, however old: read the rep's whole history (by index probes).
    FirstRecords,
    /// Records within one local period of this kind, the last of them being the
    /// one that earns it; `back` more periods before it also count (a streak of
    /// four weeks reaches three weeks back).
    Within { kind: PeriodKind, back: u32 },
    /// Records within one local period, the badge earned when the period closes
    /// (the period before the change's may have closed after the change began).
    ClosedPeriod(PeriodKind),
    /// Reps compared over consecutive months, read from the monthly rollup: whole history.
    Rollup,
}

/// Where each catalogue badge's evidence lies.
pub fn evidence(badge: &str) -> Evidence {
    use Evidence::*;
    match badge {
        "hat_trick" => Within { kind: PeriodKind::Day, back: 0 },
        "streak_4w" => Within { kind: PeriodKind::Week, back: 3 },
        "marathon" => Within { kind: PeriodKind::Week, back: 0 },
        "meeting_maker" => Within { kind: PeriodKind::Month, back: 0 },
        "response_ace" | "deal_of_the_month" => ClosedPeriod(PeriodKind::Month),
        "comeback" => Rollup,
        _ => FirstRecords,
    }
}

/// The earliest instant a re-evaluation after a change whose earliest record
/// instant is `from` must read for this badge: the start of the local period
/// that holds `from` (so a day, week or month partly before the change is read
/// whole), `back` periods earlier for streaks, and one period earlier for a
/// badge earned when a period closes. `None`: the whole history.
pub fn window_start(badge: &str, from: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
    let day = from.with_timezone(&tz).date_naive();
    let (kind, back) = match evidence(badge) {
        Evidence::Within { kind, back } => (kind, back),
        Evidence::ClosedPeriod(kind) => (kind, 1),
        Evidence::FirstRecords | Evidence::Rollup => return None,
    };
    let mut period = Period::containing(kind, day);
    for _ in 0..back {
        period = period.previous();
    }
    Some(period.bounds(tz).0)
}

/// The instant a whole-history evaluation reads from (before any sales record).
pub fn history_start() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(-2_208_988_800, 0).expect("1900-01-01")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_change_is_read_back_to_the_start_of_the_period_its_badge_lives_in() {
        let moscow: Tz = "Europe/Moscow".parse().unwrap();
        // Wednesday 2026-11-11 01:30 in Moscow (UTC+3) is still Tuesday 22:30 in UTC.
        let from = utc("2026-11-10T22:30:00Z");
        let at = |s: &str| Some(utc(s));
        assert_eq!(window_start("hat_trick", from, moscow), at("2026-11-10T21:00:00Z"), "Moscow's Wednesday");
        assert_eq!(window_start("marathon", from, moscow), at("2026-11-08T21:00:00Z"), "Monday 9 November");
        assert_eq!(
            window_start("streak_4w", from, moscow),
            at("2026-10-18T21:00:00Z"),
            "three weeks before: 19 October"
        );
        assert_eq!(window_start("meeting_maker", from, moscow), at("2026-10-31T21:00:00Z"), "1 November");
        assert_eq!(
            window_start("deal_of_the_month", from, moscow),
            at("2026-09-30T21:00:00Z"),
            "October, closed in November"
        );
        assert_eq!(window_start("response_ace", from, moscow), at("2026-09-30T21:00:00Z"));
        assert_eq!(window_start("ten_wins", from, moscow), None, "the first ten, however old");
        assert_eq!(window_start("comeback", from, moscow), None);
        let london: Tz = "Europe/London".parse().unwrap();
        // 1 April 2027 00:05 BST is 31 March 23:05 UTC: April in London, March in UTC.
        let april = utc("2027-03-31T23:05:00Z");
        assert_eq!(window_start("meeting_maker", april, london), at("2027-03-31T23:00:00Z"), "1 April, BST");
        assert_eq!(window_start("deal_of_the_month", april, london), at("2027-03-01T00:00:00Z"), "1 March, GMT");
        assert!(history_start() < Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap());
    }

    #[test]
    fn the_catalogue_has_fourteen_distinct_badges() {
        let ids: std::collections::HashSet<&str> = CATALOGUE.iter().map(|b| b.id).collect();
        assert_eq!(ids.len(), 14, "14 badges, each with its own id");
        assert_eq!(find("challenge:7").unwrap().id, "challenge");
        assert_eq!(find("challenge"), None, "a challenge win's badge is named with the challenge");
    }
}
