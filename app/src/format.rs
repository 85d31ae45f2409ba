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
