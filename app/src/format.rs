//! Number and money formatting for display (values stay exact elsewhere).

/// Groups the integer digits of a decimal string in threes with a narrow
/// no-break space and keeps two fraction digits only when there are cents:
/// `"1234567.50"` → `"1 234 567,50"` (Russian style, the default).
pub fn group_decimal(text: &str) -> String {
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push('\u{202F}');
        }
        grouped.push(ch);
    }
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped},{frac:0<2}")
    }
}

/// A money amount with its currency sign: `"1234567.5", "RUB"` → `"1 234 567,50 ₽"`.
pub fn money(text: &str, currency: &str) -> String {
    let sign = match currency {
        "RUB" => "₽",
        "USD" => "$",
        "EUR" => "€",
        "GBP" => "£",
        other => other,
    };
    format!("{}\u{00A0}{sign}", group_decimal(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands_and_keeps_cents() {
        assert_eq!(group_decimal("1234567.5"), "1\u{202F}234\u{202F}567,50");
        assert_eq!(group_decimal("999"), "999");
        assert_eq!(group_decimal("1000.00"), "1\u{202F}000");
        assert_eq!(group_decimal("-12345.06"), "-12\u{202F}345,06");
    }

    #[test]
    fn money_carries_the_currency_sign() {
        assert_eq!(money("523000", "RUB"), "523\u{202F}000\u{00A0}₽");
    }
}

/// A number rounded to at most `decimals` places, grouped, with a decimal comma:
/// `1234.5, 2` → `"1 234,5"`.
pub fn number(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    let text = if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_string() } else { text };
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let grouped = group_decimal(int);
    if frac.is_empty() {
        grouped
    } else {
        format!("{grouped},{frac}")
    }
}

#[cfg(test)]
mod number_tests {
    use super::number;

    #[test]
    fn rounds_groups_and_drops_trailing_zeros() {
        assert_eq!(number(1234.5, 2), "1\u{202F}234,5");
        assert_eq!(number(41.4999, 1), "41,5");
        assert_eq!(number(3.0, 2), "3");
        assert_eq!(number(-0.25, 1), "-0,2");
    }
}

/// A KPI value as shown on a card, by its unit; `—` for null.
pub fn kpi_value(value: Option<f64>, unit: crate::kpi::Unit, currency: &str) -> String {
    use crate::kpi::Unit;
    let Some(v) = value else { return "—".into() };
    match unit {
        Unit::Money => money(&format!("{v:.2}"), currency),
        Unit::Count => number(v, 0),
        Unit::Percent => format!("{}\u{00A0}%", number(v, 1)),
        Unit::Minutes => format!("{}\u{00A0}мин", number(v, 1)),
        Unit::Days => format!("{}\u{00A0}дн.", number(v, 1)),
        Unit::Ratio | Unit::PerCustomer => number(v, 2),
    }
}
