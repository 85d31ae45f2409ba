//! A badge award's detail in the reader's language. The store writes each
//! detail in English (the API's words, `badge_awards.detail`), one fixed shape
//! per badge; `detail_in` reads each shape back and words it again, with its
//! count agreeing ("3 выигранные сделки", "10 выигранных сделок"), dates and
//! amounts as the language writes them. A detail of no known shape is shown
//! as stored.

use crate::lang::{Lang, Message};

/// `detail` (as `store::badges` and `store::challenges` write it) in `lang`.
pub fn detail_in(detail: &str, lang: Lang) -> String {
    worded(detail).map(|m| m.in_lang(lang)).unwrap_or_else(|| detail.to_string())
}

fn worded(detail: &str) -> Option<Message> {
    let count = |text: &str| text.parse::<i64>().ok();
    let day = |text: &str| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
    let counted = |key: &'static str, n: i64| Message::plural(key, n);
    if let Some(id) = detail.strip_prefix("first won deal ") {
        return Some(Message::new("badge_detail.first_win").with("id", id));
    }
    if let Some(n) = detail.strip_suffix(" won deals").and_then(count) {
        return Some(Message::new("badge_detail.won_deals").with_message("deals", counted("count.won_deals", n)));
    }
    if let Some((n, on)) = detail.split_once(" deals won on ") {
        let (n, on) = (count(n)?, day(on)?);
        return Some(
            Message::new("badge_detail.won_on")
                .with_message("deals", counted("count.won_deals", n))
                .with_date("day", on),
        );
    }
    if let Some(n) =
        detail.strip_prefix("won deals in ").and_then(|r| r.strip_suffix(" weeks in a row")).and_then(count)
    {
        return Some(Message::new("badge_detail.weeks_in_a_row").with_message("weeks", counted("count.weeks", n)));
    }
    if let Some((median, month)) = detail.strip_prefix("median first response ").and_then(|r| r.split_once(" min in "))
    {
        median.parse::<f64>().ok()?;
        return Some(Message::new("badge_detail.response").with_decimal("minutes", median).with("month", month));
    }
    if let Some((n, hours)) = detail.strip_suffix(" hours").and_then(|r| r.split_once(" leads followed up within ")) {
        return Some(
            Message::new("badge_detail.followed_up")
                .with_message("leads", counted("count.leads", count(n)?))
                .with_message("hours", counted("count.hours_genitive", count(hours)?)),
        );
    }
    if let Some(month) = detail.strip_prefix("from the bottom half to the top 3 in ") {
        return Some(Message::new("badge_detail.comeback").with("month", month));
    }
    if let Some((month, amount)) = detail.strip_prefix("largest deal of ").and_then(|r| r.split_once(": ")) {
        return Some(Message::new("badge_detail.largest_deal").with("month", month).with_amount("amount", amount));
    }
    if let Some((n, week)) = detail.split_once(" touchpoints in the week of ") {
        return Some(
            Message::new("badge_detail.touchpoints")
                .with_message("touchpoints", counted("count.touchpoints", count(n)?))
                .with_date("week", day(week)?),
        );
    }
    if let Some((n, month)) = detail.split_once(" accepted meetings in ") {
        return Some(
            Message::new("badge_detail.meetings")
                .with_message("meetings", counted("count.accepted_meetings", count(n)?))
                .with("month", month),
        );
    }
    if let Some(n) = detail.strip_suffix(" upsell or cross-sell deals won").and_then(count) {
        return Some(Message::new("badge_detail.upsells").with_message("deals", counted("count.upsells", n)));
    }
    if let Some((period, id)) =
        detail.strip_prefix("revenue target of ").and_then(|r| r.split_once(" reached by deal "))
    {
        return Some(Message::new("badge_detail.target").with("period", period).with("id", id));
    }
    if let Some(rest) = detail.strip_prefix("won the challenge “") {
        let (name, prize) = rest.rsplit_once('”')?;
        return match prize.strip_prefix(" (prize: ").and_then(|p| p.strip_suffix(')')) {
            Some(prize) => Some(Message::new("badge_detail.challenge_prize").with("name", name).with("prize", prize)),
            None if prize.is_empty() => Some(Message::new("badge_detail.challenge").with("name", name)),
            None => None,
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use Lang::{En, Ru};

    #[test]
    fn every_shape_the_store_writes_reads_in_both_languages() {
        let cases = [
            ("first won deal deal-00002", "Первая выигранная сделка: deal-00002", "First won deal: deal-00002"),
            ("10 won deals", "10 выигранных сделок", "10 won deals"),
            (
                "3 deals won on 2026-12-02",
                "3 выигранные сделки за один день, 02.12.2026",
                "3 won deals in one day, 2 Dec 2026",
            ),
            ("won deals in 4 weeks in a row", "Выигранные сделки 4 недели подряд", "Won deals 4 weeks in a row"),
            (
                "median first response 12.5 min in 2026-08",
                "Медиана первого ответа 12,5 мин за 2026-08",
                "Median first response 12.5 min in 2026-08",
            ),
            (
                "20 leads followed up within 24 hours",
                "20 лидов с повторным контактом в течение 24 часов",
                "20 leads followed up within 24 hours",
            ),
            (
                "from the bottom half to the top 3 in 2026-08",
                "Из нижней половины рейтинга по выручке в тройку лидеров за 2026-08",
                "From the bottom half of the revenue ranking to the top 3 in 2026-08",
            ),
            (
                "largest deal of 2026-10: 1250000.00",
                "Самая крупная сделка за 2026-10: 1\u{202F}250\u{202F}000",
                "The largest deal of 2026-10: 1,250,000",
            ),
            (
                "50 touchpoints in the week of 2026-11-23",
                "50 касаний за неделю с 23.11.2026",
                "50 touchpoints in the week of 23 Nov 2026",
            ),
            ("10 accepted meetings in 2026-09", "10 принятых встреч за 2026-09", "10 accepted meetings in 2026-09"),
            ("5 upsell or cross-sell deals won", "5 выигранных допродаж", "5 upsells or cross-sells won"),
            (
                "revenue target of 2026-11 reached by deal deal-00071",
                "Цель по выручке за 2026-11 достигнута сделкой deal-00071",
                "Revenue target of 2026-11 reached with deal deal-00071",
            ),
            (
                "won the challenge “Ноябрьский спринт” (prize: пицца)",
                "Победа в соревновании «Ноябрьский спринт» (приз: пицца)",
                "Won the challenge “Ноябрьский спринт” (prize: пицца)",
            ),
            ("won the challenge “Sprint”", "Победа в соревновании «Sprint»", "Won the challenge “Sprint”"),
        ];
        for (stored, ru, en) in cases {
            assert_eq!(detail_in(stored, Ru), ru, "{stored}");
            assert_eq!(detail_in(stored, En), en, "{stored}");
        }
        assert_eq!(detail_in("typed by an admin", Ru), "typed by an admin");
        // The count agrees with its number.
        assert_eq!(detail_in("1 won deals", Ru), "1 выигранная сделка");
        assert_eq!(detail_in("2 deals won on 2026-12-02", Ru), "2 выигранные сделки за один день, 02.12.2026");
        assert_eq!(
            detail_in("21 leads followed up within 1 hours", Ru),
            "21 лид с повторным контактом в течение 1 часа"
        );
    }
}
