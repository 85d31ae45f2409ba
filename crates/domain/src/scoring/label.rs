//! A rule's label in the reader's language. A label is what an admin typed and
//! is shown as typed; the default rules a new organisation starts with
//! (migration `score_work`) were stored with English labels, so those seven are
//! shown by their name in the reader's language.

use crate::lang::Lang;

/// The default rules' stored labels and the keys of their names.
const DEFAULTS: [(&str, &str); 7] = [
    ("Won deal", "rule_label.won_deal"),
    ("Revenue (1 per 10 000)", "rule_label.revenue"),
    ("Touchpoint", "rule_label.touchpoint"),
    ("Accepted meeting", "rule_label.accepted_meeting"),
    ("Revenue attainment", "rule_label.revenue_attainment"),
    ("Revenue target reached", "rule_label.revenue_target"),
    ("Win-rate target reached", "rule_label.win_rate_target"),
];

/// `label` as the reader sees it: a default rule's name in `lang`, any other as typed.
pub fn rule_label(label: &str, lang: Lang) -> String {
    match DEFAULTS.iter().find(|(stored, _)| *stored == label) {
        Some((_, key)) => lang.t(key),
        None => label.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_rules_read_in_the_readers_language_and_typed_labels_as_typed() {
        assert_eq!(rule_label("Won deal", Lang::Ru), "Выигранная сделка");
        assert_eq!(rule_label("Win-rate target reached", Lang::Ru), "Цель по проценту выигранных сделок выполнена");
        assert_eq!(rule_label("Revenue (1 per 10 000)", Lang::En), "Revenue (1 per 10,000)");
        assert_eq!(rule_label("Бонус за осень", Lang::En), "Бонус за осень");
        for (stored, _) in DEFAULTS {
            assert_ne!(rule_label(stored, Lang::Ru), stored);
        }
    }
}
