//! Number, money and date formatting for display, per language (values stay exact elsewhere).

use crate::i18n::Lang;

/// Thousands separator and decimal mark: Russian groups with a narrow no-break
/// space and a decimal comma, English with a comma and a decimal point.
fn marks(lang: Lang) -> (char, char) {
    match lang {
        Lang::Ru => ('\u{202F}', ','),
        Lang::En => (',', '.'),
    }
}

/// Groups the integer digits of a decimal string in threes and keeps two
/// fraction digits only when there are cents: `"1234567.50"` → `"1 234 567,50"`
/// in Russian, `"1,234,567.50"` in English.
pub fn group_decimal(text: &str, lang: Lang) -> String {
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let frac = frac.trim_end_matches('0');
    let frac = if frac.is_empty() { String::new() } else { format!("{frac:0<2}") };
    format!("{sign}{}", join(int, &frac, lang))
}

fn join(int: &str, frac: &str, lang: Lang) -> String {
    let (group, point) = marks(lang);
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(group);
        }
        grouped.push(ch);
    }
    if frac.is_empty() {
        grouped
    } else {
        format!("{grouped}{point}{frac}")
    }
}

/// A money amount with its currency sign: `"1234567.5", "RUB"` → `"1 234 567,50 ₽"`
/// in Russian (sign after), `"₽1,234,567.50"` in English (sign before).
pub fn money(text: &str, currency: &str, lang: Lang) -> String {
    let sign = match currency {
        "RUB" => "₽",
        "USD" => "$",
        "EUR" => "€",
        "GBP" => "£",
        other => other,
    };
    let amount = group_decimal(text, lang);
    match lang {
        Lang::Ru => format!("{amount}\u{00A0}{sign}"),
        Lang::En => {
            let (minus, amount) = amount.strip_prefix('-').map_or(("", amount.as_str()), |a| ("-", a));
            let gap = if sign.chars().count() > 1 { "\u{00A0}" } else { "" };
            format!("{minus}{sign}{gap}{amount}")
        }
    }
}

/// A number rounded to at most `decimals` places, grouped: `1234.5, 2` →
/// `"1 234,5"` in Russian, `"1,234.5"` in English.
pub fn number(value: f64, decimals: usize, lang: Lang) -> String {
    let text = format!("{value:.decimals$}");
    let text = if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_string() } else { text };
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    format!("{sign}{}", join(int, frac, lang))
}

/// A percentage: `"41,5 %"` in Russian, `"41.5%"` in English.
pub fn percent(value: f64, decimals: usize, lang: Lang) -> String {
    match lang {
        Lang::Ru => format!("{}\u{00A0}%", number(value, decimals, lang)),
        Lang::En => format!("{}%", number(value, decimals, lang)),
    }
}

/// A KPI value as shown on a card, by its unit; `—` for null.
pub fn kpi_value(value: Option<f64>, unit: crate::kpi::Unit, currency: &str, lang: Lang) -> String {
    use crate::kpi::Unit;
    let Some(v) = value else { return "—".into() };
    match unit {
        Unit::Money => money(&format!("{v:.2}"), currency, lang),
        Unit::Count => number(v, 0, lang),
        Unit::Percent => percent(v, 1, lang),
        Unit::Minutes => format!("{}\u{00A0}{}", number(v, 1, lang), lang.pick("мин", "min")),
        Unit::Days => format!("{}\u{00A0}{}", number(v, 1, lang), lang.pick("дн.", "days")),
        Unit::Ratio | Unit::PerCustomer => number(v, 2, lang),
    }
}

/// A date: `27.11.2026` in Russian, `27 Nov 2026` in English.
pub fn date(day: impl chrono::Datelike, lang: Lang) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    match lang {
        Lang::Ru => format!("{:02}.{:02}.{}", day.day(), day.month(), day.year()),
        Lang::En => format!("{} {} {}", day.day(), MONTHS[day.month0() as usize], day.year()),
    }
}

/// A date with its time of day (24-hour clock in both languages).
pub fn date_time<T: chrono::Datelike + chrono::Timelike>(at: T, lang: Lang) -> String {
    let (hour, minute) = (at.hour(), at.minute());
    format!("{} {hour:02}:{minute:02}", date(at, lang))
}

/// Day and month only, for recent events: `27.11` / `27 Nov`.
pub fn day_month<T: chrono::Datelike>(at: T, lang: Lang) -> String {
    let full = date(at, lang);
    match lang {
        Lang::Ru => full[..5].to_string(),
        Lang::En => full.rsplit_once(' ').map_or(full.clone(), |(d, _)| d.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang::{En, Ru};

    #[test]
    fn groups_thousands_and_keeps_cents() {
        assert_eq!(group_decimal("1234567.5", Ru), "1\u{202F}234\u{202F}567,50");
        assert_eq!(group_decimal("999", Ru), "999");
        assert_eq!(group_decimal("1000.00", Ru), "1\u{202F}000");
        assert_eq!(group_decimal("-12345.06", Ru), "-12\u{202F}345,06");
    }

    #[test]
    fn money_carries_the_currency_sign() {
        assert_eq!(money("523000", "RUB", Ru), "523\u{202F}000\u{00A0}₽");
    }

    #[test]
    fn english_groups_with_commas_and_a_decimal_point() {
        assert_eq!(group_decimal("1234567.5", En), "1,234,567.50");
        assert_eq!(group_decimal("-12345.06", En), "-12,345.06");
        assert_eq!(number(1234.5, 2, En), "1,234.5");
        assert_eq!(number(-1234567.0, 0, En), "-1,234,567");
    }

    #[test]
    fn english_money_puts_the_sign_first() {
        assert_eq!(money("1234567.50", "RUB", En), "₽1,234,567.50");
        assert_eq!(money("523000", "USD", En), "$523,000");
        assert_eq!(money("-20.5", "EUR", En), "-€20.50");
        assert_eq!(money("10", "GBP", En), "£10");
        assert_eq!(money("1234567.50", "RUB", Ru), "1\u{202F}234\u{202F}567,50\u{00A0}₽");
    }

    #[test]
    fn percentages_and_units_follow_the_language() {
        assert_eq!(percent(41.44, 1, Ru), "41,4\u{00A0}%");
        assert_eq!(percent(41.44, 1, En), "41.4%");
        assert_eq!(kpi_value(Some(90.0), crate::kpi::Unit::Minutes, "RUB", En), "90\u{00A0}min");
        assert_eq!(kpi_value(None, crate::kpi::Unit::Money, "RUB", En), "—");
    }

    #[test]
    fn dates_read_as_each_language_writes_them() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 7).unwrap();
        assert_eq!(date(day, Ru), "07.03.2026");
        assert_eq!(date(day, En), "7 Mar 2026");
        let at = day.and_hms_opt(9, 5, 0).unwrap();
        assert_eq!(date_time(at, Ru), "07.03.2026 09:05");
        assert_eq!(date_time(at, En), "7 Mar 2026 09:05");
        assert_eq!(day_month(at, Ru), "07.03");
        assert_eq!(day_month(at, En), "7 Mar");
    }
}

#[cfg(test)]
mod number_tests {
    use super::number;
    use crate::i18n::Lang::Ru;

    #[test]
    fn rounds_groups_and_drops_trailing_zeros() {
        assert_eq!(number(1234.5, 2, Ru), "1\u{202F}234,5");
        assert_eq!(number(41.4999, 1, Ru), "41,5");
        assert_eq!(number(3.0, 2, Ru), "3");
        assert_eq!(number(-0.25, 1, Ru), "-0,2");
    }
}
