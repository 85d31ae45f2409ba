//! Numbers, money and percentages as each language writes them. The pages
//! (`app::format`, which adds dates and KPI units) and the domain's own
//! sentences (ledger reasons, badge details, counts) share these.

use crate::lang::Lang;

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

/// A decimal number's text as the language writes it, its digits kept:
/// `"1234.5"` → `"1 234,5"` in Russian, `"1,234.5"` in English.
pub fn decimal(text: &str, lang: Lang) -> String {
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    format!("{sign}{}", join(int, frac, lang))
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

/// A date: `27.11.2026` in Russian, `27 Nov 2026` in English.
pub fn date(day: impl chrono::Datelike, lang: Lang) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    match lang {
        Lang::Ru => format!("{:02}.{:02}.{}", day.day(), day.month(), day.year()),
        Lang::En => format!("{} {} {}", day.day(), MONTHS[day.month0() as usize], day.year()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Lang::{En, Ru};

    #[test]
    fn groups_thousands_and_keeps_cents() {
        assert_eq!(group_decimal("1234567.5", Ru), "1\u{202F}234\u{202F}567,50");
        assert_eq!(group_decimal("1000.00", Ru), "1\u{202F}000");
        assert_eq!(group_decimal("-12345.06", En), "-12,345.06");
        assert_eq!(number(1200000.0, 0, Ru), "1\u{202F}200\u{202F}000");
        assert_eq!(number(127.24, 1, Ru), "127,2");
        assert_eq!(percent(127.24, 1, En), "127.2%");
        assert_eq!(money("329000.00", "RUB", Ru), "329\u{202F}000\u{00A0}₽");
    }
}
