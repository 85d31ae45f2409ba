//! The records validation's problems in a reader's language. `parse_record` and
//! `check_batch` write each problem in English (the records API's words, which
//! its callers read); a page that sends records for a person (the deal form)
//! shows them through `problems_in`, which reads each English shape back and
//! words it again, naming the field by its label. A problem of no known shape
//! is shown as written.

use crate::lang::{Lang, Message};

/// `text` (problems joined by "; ", as `RecordError::message` has them) in `lang`.
pub fn problems_in(text: &str, lang: Lang) -> String {
    text.split("; ")
        .map(|p| problem(p).map_or_else(|| p.to_string(), |m| m.in_lang(lang)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn problem(text: &str) -> Option<Message> {
    // "`name` …": the field the problem is about, then what is wrong with it.
    let field = |m: Message, name: &str| m.with_word("field", format!("field.{name}"), name.to_string());
    let value = |v: &str| v.trim_matches('"').to_string();
    if let Some(name) = text.strip_prefix("missing required field `").and_then(|r| r.strip_suffix('`')) {
        return Some(field(Message::new("problem.missing"), name));
    }
    if let Some((name, rest)) = text.strip_prefix('`').and_then(|r| r.split_once("` ")) {
        let m = |key| field(Message::new(key), name);
        if let Some(got) = rest.strip_prefix("must not be negative (got ").and_then(|r| r.strip_suffix(')')) {
            return Some(m("problem.negative").with("value", got));
        }
        if let Some(got) = rest.strip_prefix("must be a decimal number, not ") {
            return Some(m("problem.not_a_number").with("value", value(got)));
        }
        if let Some(got) = rest.strip_prefix("has more than 2 decimal places (got ").and_then(|r| r.strip_suffix(')')) {
            return Some(m("problem.decimals").with("value", got));
        }
        if rest.starts_with("is too large (got ") {
            return Some(m("problem.too_large"));
        }
        if rest == "must not be empty" {
            return Some(m("problem.empty"));
        }
        if rest.starts_with("must not contain the NUL character") {
            return Some(m("problem.nul"));
        }
        if let Some((limit, _)) = rest.strip_prefix("is longer than ").and_then(|r| r.split_once(" characters")) {
            let limit = limit.parse().ok()?;
            return Some(
                m("problem.too_long").with_message("limit", Message::plural("count.characters_genitive", limit)),
            );
        }
        if let Some((_, got)) = rest.strip_prefix("must be one of ").and_then(|r| r.rsplit_once(", not ")) {
            return Some(m("problem.choice").with("value", got.trim_matches('`')));
        }
        if let Some(got) = rest.strip_prefix("must be an RFC 3339 timestamp such as 2026-11-27T14:30:00+03:00, not ") {
            return Some(m("problem.not_a_time").with("value", value(got)));
        }
        return None;
    }
    // "{field} `{id}` is not a known {kind} (send it first, or earlier in the same batch)"
    if let Some((name, rest)) = text.split_once(" `") {
        let (id, kind) = rest.split_once("` is not a known ")?;
        let kind = kind.strip_suffix(" (send it first, or earlier in the same batch)")?;
        return Some(field(Message::new("problem.unknown_reference"), name).with("id", id).with_word(
            "kind",
            format!("record.{kind}"),
            kind.to_string(),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use Lang::{En, Ru};

    #[test]
    fn the_deal_forms_problems_read_as_sentences_with_the_fields_label() {
        assert_eq!(
            problems_in("`amount` must not be negative (got -5)", Ru),
            "Сумма: значение не может быть отрицательным (-5)."
        );
        assert_eq!(
            problems_in("`amount` must not be negative (got -5)", En),
            "Amount: the value cannot be negative (-5)."
        );
        assert_eq!(
            problems_in(r#"`amount` must be a decimal number, not "1 500""#, Ru),
            "Сумма: «1 500» — не число; пишите, например, 1500.50."
        );
        assert_eq!(
            problems_in(
                "`amount` has more than 2 decimal places (got 1.005); `id` is longer than 200 characters (201)",
                Ru
            ),
            "Сумма: не больше двух знаков после запятой (1.005). Поле «Номер» должно быть не длиннее 200 символов."
        );
        assert_eq!(
            problems_in("customer `c-9` is not a known customer (send it first, or earlier in the same batch)", Ru),
            "Поле «Клиент»: нет записи «c-9» (клиент). Проверьте id или сначала добавьте её."
        );
        assert_eq!(problems_in("missing required field `owner`", Ru), "Не заполнено поле «Чья сделка».");
        // A field without a label is named as sent; a problem of no known shape is shown as written.
        assert_eq!(problems_in("`zzz` must not be empty", En), "The field “zzz” must not be empty.");
        assert_eq!(problems_in("something else entirely", Ru), "something else entirely");
    }
}
