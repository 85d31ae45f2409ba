//! The badge catalogue: what each badge is for. The rules that award them are
//! SQL over the whole history (`store::badges`), so a badge added here goes to
//! everyone whose past already qualifies, dated when they qualified.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_has_fourteen_distinct_badges() {
        let ids: std::collections::HashSet<&str> = CATALOGUE.iter().map(|b| b.id).collect();
        assert_eq!(ids.len(), 14, "14 badges, each with its own id");
        assert_eq!(find("challenge:7").unwrap().id, "challenge");
        assert_eq!(find("challenge"), None, "a challenge win's badge is named with the challenge");
    }
}
