//! Number, money and date formatting for display, per language (values stay exact elsewhere).

use crate::i18n::Lang;

// Numbers, money and percentages are the domain's (its sentences use them too).
pub use domain::format::{date, group_decimal, money, number, percent};

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
