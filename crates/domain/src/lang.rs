//! The two languages (Russian and English), how a request's headers name one,
//! and the translated words (`locales/app.yml`, rust-i18n). Every layer
//! returns a `Message` (a key and its values), never words: the words are
//! chosen where a reader sees them.

use serde::{Deserialize, Serialize};

/// The language of the page being rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    Ru,
    En,
}

/// The cookie that holds the reader's own choice (set by `GET /lang/{code}`).
pub const COOKIE: &str = "lang";

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Ru, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    /// `ru`, `en`, or a tag whose primary language is one of them (`en-US`).
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "ru" => Some(Lang::Ru),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The translation of `key` (the key itself when it has none).
    pub fn t(self, key: &str) -> String {
        rust_i18n::t!(key, locale = self.code()).into_owned()
    }

    /// `key`'s form for `count` with `%{count}` filled: `Lang::Ru.plural("count.deals", 22)` → "22 сделки".
    pub fn plural(self, key: &'static str, count: i64) -> String {
        Message::plural(key, count).in_lang(self)
    }

    /// The words of `key`, or `or` when app.yml has none (a kind it does not know):
    /// `lang.word("record.deal", "deal")` → "сделка".
    pub fn word(self, key: &str, or: &str) -> String {
        match self.t(key) {
            words if words == key => or.to_string(),
            words => words,
        }
    }

    /// One of two texts the data carries in both languages (KPI and badge names).
    pub fn pick<'a>(self, ru: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Ru => ru,
            Lang::En => en,
        }
    }
}

/// A message whose words are chosen when it is shown: an `app.yml` key and the
/// values its `%{name}` placeholders take. The domain layers return these, so
/// they stay free of any one language; `Display` is the English text (the
/// public API's and the logs' language), `in_lang` the reader's.
///
/// A key counted with `plural` has a text per CLDR plural category
/// (`key.one`, `key.few`, `key.many`, `key.other`); the count picks one in the
/// reader's language and fills `%{count}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    key: &'static str,
    count: Option<i64>,
    args: Vec<(&'static str, Arg)>,
}

/// A placeholder's value: plain text, a word that has its own key (a record
/// kind, a field), or a whole message of its own (a counted phrase).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Arg {
    Text(String),
    /// The key's words; `or` when app.yml has no such key.
    Word {
        key: String,
        or: String,
    },
    Nested(Message),
    /// A day, as the language writes dates.
    Date(chrono::NaiveDate),
    /// A decimal number's text (`12.5`), grouped and with the language's decimal mark.
    Decimal(String),
    /// A money amount's text (`1250000.00`), grouped, cents only when there are any.
    Amount(String),
}

impl Message {
    pub fn new(key: &'static str) -> Message {
        Message { key, count: None, args: Vec::new() }
    }

    /// `key`'s form for `count` (`key.one`, `key.few`, …): `Message::plural("count.deals", 5)`
    /// reads "5 сделок" in Russian and "5 deals" in English. `%{count}` is the
    /// count, grouped as the language groups numbers.
    pub fn plural(key: &'static str, count: i64) -> Message {
        Message { key, count: Some(count), args: Vec::new() }
    }

    /// The value of the `%{name}` placeholder (a later value for the same name replaces it).
    pub fn with(self, name: &'static str, value: impl ToString) -> Message {
        self.arg(name, Arg::Text(value.to_string()))
    }

    /// The `%{name}` placeholder takes the words of `key` in the reader's
    /// language, or `or` when app.yml has no such key (a kind it does not know).
    pub fn with_word(self, name: &'static str, key: impl Into<String>, or: impl Into<String>) -> Message {
        self.arg(name, Arg::Word { key: key.into(), or: or.into() })
    }

    /// The `%{name}` placeholder takes `message`, worded in the same language.
    pub fn with_message(self, name: &'static str, message: Message) -> Message {
        self.arg(name, Arg::Nested(message))
    }

    /// The `%{name}` placeholder takes `day` as the reader's language writes dates.
    pub fn with_date(self, name: &'static str, day: chrono::NaiveDate) -> Message {
        self.arg(name, Arg::Date(day))
    }

    /// The `%{name}` placeholder takes the decimal number `text` (`"12.5"`) as the
    /// reader's language writes numbers (`12,5`).
    pub fn with_decimal(self, name: &'static str, text: impl Into<String>) -> Message {
        self.arg(name, Arg::Decimal(text.into()))
    }

    /// The `%{name}` placeholder takes the amount `text` (`"1250000.00"`), grouped (`1 250 000`).
    pub fn with_amount(self, name: &'static str, text: impl Into<String>) -> Message {
        self.arg(name, Arg::Amount(text.into()))
    }

    fn arg(mut self, name: &'static str, value: Arg) -> Message {
        self.args.retain(|(n, _)| *n != name);
        self.args.push((name, value));
        self
    }

    pub fn key(&self) -> &'static str {
        self.key
    }

    pub fn in_lang(&self, lang: Lang) -> String {
        let mut names: Vec<&str> = Vec::with_capacity(self.args.len() + 1);
        let mut values: Vec<String> = Vec::with_capacity(self.args.len() + 1);
        for (name, value) in &self.args {
            names.push(name);
            values.push(match value {
                Arg::Text(text) => text.clone(),
                Arg::Word { key, or } => lang.word(key, or),
                Arg::Nested(message) => message.in_lang(lang),
                Arg::Date(day) => crate::format::date(*day, lang),
                Arg::Decimal(text) => crate::format::decimal(text, lang),
                Arg::Amount(text) => crate::format::group_decimal(text, lang),
            });
        }
        // A counted key named through `Message::new` or `tr!` counts by its `count` or `n`.
        let plain = lang.t(self.key);
        let count = self.count.or_else(|| {
            let other = format!("{}.other", self.key);
            let counted = plain == self.key && lang.t(&other) != other;
            let value = |name| self.args.iter().find(|(n, _)| *n == name).map(|(_, v)| v);
            match (counted, value("count").or_else(|| value("n"))) {
                (true, Some(Arg::Text(text))) => text.trim().parse().ok(),
                _ => None,
            }
        });
        let text = match count {
            None => plain,
            Some(count) => {
                if !names.contains(&"count") {
                    names.push("count");
                    values.push(crate::format::number(count as f64, 0, lang));
                }
                lang.t(&format!("{}.{}", self.key, plural_category(lang, count.unsigned_abs())))
            }
        };
        rust_i18n::replace_patterns(&text, &names, &values)
    }
}

/// The CLDR plural category of the whole number `n` in `lang` (Unicode's rules,
/// through ICU4X): Russian `one` (1, 21, 101), `few` (2–4, 22–24), `many`
/// (0, 5–20, 25–30, 111); English `one` (1) and `other`.
pub fn plural_category(lang: Lang, n: u64) -> &'static str {
    use icu_plurals::{PluralCategory, PluralRules};
    // ICU4X's rules are not `Sync`: each thread keeps its own (two small tables).
    thread_local! {
        static RULES: [PluralRules; 2] = [icu_locale_core::langid!("ru"), icu_locale_core::langid!("en")]
            .map(|id| PluralRules::try_new_cardinal(id.into()).expect("ICU4X ships ru and en plural rules"));
    }
    let category = RULES.with(|rules| rules[matches!(lang, Lang::En) as usize].category_for(n));
    match category {
        PluralCategory::Zero => "zero",
        PluralCategory::One => "one",
        PluralCategory::Two => "two",
        PluralCategory::Few => "few",
        PluralCategory::Many => "many",
        PluralCategory::Other => "other",
    }
}

impl From<&'static str> for Message {
    fn from(key: &'static str) -> Message {
        Message::new(key)
    }
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.in_lang(Lang::En))
    }
}

/// The first of ru/en an `Accept-Language` header names (`"de, en-US;q=0.8, ru;q=0.5"` → en).
pub fn from_accept_language(header: &str) -> Option<Lang> {
    header.split(',').filter_map(|item| item.split(';').next()).find_map(Lang::parse)
}

/// The value of the `lang` cookie in a `Cookie` header, when it names ru or en.
pub fn from_cookie_header(header: &str) -> Option<Lang> {
    header.split(';').filter_map(|pair| pair.trim().split_once('=')).find(|(name, _)| *name == COOKIE).and_then(
        |(_, value)| match value.trim() {
            "ru" => Some(Lang::Ru),
            "en" => Some(Lang::En),
            _ => None,
        },
    )
}

/// What the reader asked for: their own choice (the cookie), else their browser's.
pub fn preferred(cookie: Option<&str>, accept_language: Option<&str>) -> Option<Lang> {
    cookie.and_then(from_cookie_header).or_else(|| accept_language.and_then(from_accept_language))
}

/// The cookie beats `Accept-Language`, which beats the organisation's default; else Russian.
pub fn choose(cookie: Option<&str>, accept_language: Option<&str>, org_default: Option<&str>) -> Lang {
    preferred(cookie, accept_language).or_else(|| org_default.and_then(Lang::parse)).unwrap_or_default()
}

/// The words of `key` in `lang` with its `%{name}` placeholders filled:
/// `domain::tr!(lang, "home.level", n = 3)` (a `Cow`, as rust-i18n's `t!` gives).
#[macro_export]
macro_rules! tr {
    ($lang:expr, $key:expr $(, $name:ident = $value:expr)* $(,)?) => {
        ::std::borrow::Cow::<'static, str>::Owned(
            $crate::lang::Message::new($key)$(.with(stringify!($name), &$value))*.in_lang($lang),
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key the code names is in `locales/app.yml`, with both languages.
    #[test]
    fn every_key_in_the_code_has_both_translations() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let locales = std::fs::read_to_string(dir.join("locales/app.yml")).expect("locales/app.yml");
        let mut keys = std::collections::HashMap::new();
        let mut current = None;
        for line in locales.lines() {
            if let Some(key) = line.strip_suffix(':').filter(|k| !k.starts_with([' ', '#'])) {
                current = Some(key.to_string());
                keys.insert(key.to_string(), 0);
            } else if let (Some(key), Some(lang)) = (&current, line.trim_start().split(':').next()) {
                if line.starts_with("  ") && ["ru", "en"].contains(&lang) {
                    *keys.get_mut(key).expect("key") += 1;
                }
            }
        }
        for (key, count) in &keys {
            assert_eq!(*count, 2, "`{key}` needs exactly a ru and an en text");
        }
        let namespaces: std::collections::HashSet<&str> =
            keys.keys().filter_map(|k| k.split_once('.')).map(|(space, _)| space).collect();
        // Every crate that names keys: this one, the store's, the services', the UI's and the server's.
        let mut files: Vec<_> =
            ["src", "../store/src", "../services/src", "../../app/src", "../../server/src"].map(|d| dir.join(d)).into();
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(std::fs::read_dir(&path).expect("src").map(|e| e.expect("entry").path()));
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("source");
            // Any string literal shaped `namespace.key` whose namespace app.yml uses is a key.
            for literal in text.split('"').skip(1).step_by(2) {
                let Some((space, rest)) = literal.split_once('.') else { continue };
                let shaped = |t: &str| {
                    !t.is_empty() && t.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
                };
                if shaped(space) && shaped(rest) && namespaces.contains(space) {
                    // A counted key (`Message::plural`) has its texts under `key.one`, `key.other`, ….
                    let counted = keys.contains_key(&format!("{literal}.other"));
                    assert!(
                        keys.contains_key(literal) || counted,
                        "{} names `{literal}`, missing from app.yml",
                        path.display()
                    );
                }
            }
        }
    }

    #[test]
    fn cldr_plural_categories_of_russian_and_english() {
        let ru = |n| plural_category(Lang::Ru, n);
        assert_eq!([1, 2, 5, 11, 21, 22].map(ru), ["one", "few", "many", "many", "one", "few"]);
        assert_eq!(
            [0, 4, 12, 14, 25, 101, 111, 1000].map(ru),
            ["many", "few", "many", "many", "many", "one", "many", "many"]
        );
        let en = |n| plural_category(Lang::En, n);
        assert_eq!([0, 1, 2, 5, 11, 21].map(en), ["other", "one", "other", "other", "other", "other"]);
    }

    /// Every counted key has the forms its languages use: Russian one, few and
    /// many (and other, for fractions); English one and other.
    #[test]
    fn counted_words_agree_with_their_number() {
        let deals = |lang: Lang, n| lang.plural("count.deals", n);
        assert_eq!(
            [1, 2, 5, 11, 21, 22].map(|n| deals(Lang::Ru, n)),
            ["1 сделка", "2 сделки", "5 сделок", "11 сделок", "21 сделка", "22 сделки"]
        );
        assert_eq!([1, 2, 5, 21].map(|n| deals(Lang::En, n)), ["1 deal", "2 deals", "5 deals", "21 deals"]);
        assert_eq!(Lang::Ru.plural("count.points", 1234), "1\u{202F}234 очка");
        assert_eq!(Lang::Ru.plural("count.points", -5), "-5 очков");
        assert_eq!(Lang::En.plural("count.points", 1), "1 point");
        // A counted phrase inside a sentence, and a word with its own key.
        let m = Message::new("ledger.per_money")
            .with("measure", "Выручка")
            .with_word("kind", "record.deal", "deal")
            .with("id", "d-1")
            .with_amount("amount", "1500.50")
            .with_message("points", Message::plural("count.points", 3))
            .with("per", "100")
            .with("units", 15);
        assert_eq!(m.in_lang(Lang::Ru), "Выручка: сделка d-1 на 1\u{202F}500,50, 3 очка за каждые 100 × 15");
        // `tr!` on a counted key counts by its `n` (or `count`).
        let pass = |lang, n: u64| crate::tr!(lang, "home.deals_to_pass", n = n, average = "x", rank = 2, name = "Анна");
        assert_eq!(pass(Lang::Ru, 3), "Ещё 3 выигранные сделки вашего среднего размера (x) — и вы обгоните #2 Анна");
        assert_eq!(pass(Lang::Ru, 5), "Ещё 5 выигранных сделок вашего среднего размера (x) — и вы обгоните #2 Анна");
        assert_eq!(pass(Lang::En, 1), "1 more won deal of your average size (x) passes #2 Анна");
        let unknown = Message::new("ledger.reversed").with_word("reason", "record.nothing_like_it", "as stored");
        assert_eq!(unknown.in_lang(Lang::En), "Reversed, no longer counts: as stored");

        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let locales = std::fs::read_to_string(dir.join("locales/app.yml")).expect("locales/app.yml");
        let counted: std::collections::BTreeSet<&str> =
            locales.lines().filter_map(|l| l.strip_suffix(".other:")).filter(|k| !k.starts_with(' ')).collect();
        assert!(counted.contains("count.deals"));
        for key in counted {
            for form in ["one", "few", "many", "other"] {
                let full = format!("{key}.{form}");
                for lang in Lang::ALL {
                    assert_ne!(lang.t(&full), full, "`{full}` in {lang:?}");
                }
            }
        }
    }

    /// Every key of `locales/app.yml` has one Russian and one English text, and
    /// rust-i18n serves each: neither language quietly falls back to the other's words.
    #[test]
    fn both_languages_translate_the_same_keys() {
        use std::collections::{BTreeMap, BTreeSet};
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let locales = std::fs::read_to_string(dir.join("locales/app.yml")).expect("locales/app.yml");
        // rust-i18n's version 2 layout: a key at the margin, then `  ru: text` and `  en: text` under it.
        let mut texts: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
        let mut current = None;
        for (n, line) in locales.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') || line.starts_with("_version:") {
                continue;
            }
            if let Some(key) = line.strip_suffix(':').filter(|k| !k.starts_with(' ')) {
                assert!(texts.insert(key, Vec::new()).is_none(), "line {}: `{key}` is there twice", n + 1);
                current = Some(key);
                continue;
            }
            let key = current.unwrap_or_else(|| panic!("line {}: a text before any key", n + 1));
            let (lang, text) = line
                .strip_prefix("  ")
                .and_then(|l| l.split_once(':'))
                .unwrap_or_else(|| panic!("line {}: `{line}` is neither a key nor `  lang: text`", n + 1));
            // The file quotes with "…" only, and escapes nothing.
            let text = text.trim();
            let text = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
            texts.get_mut(key).expect("the current key").push((lang, text));
        }
        assert_eq!(texts.get("nav.leaderboard"), Some(&vec![("ru", "Рейтинг"), ("en", "Leaderboard")]));

        let (mut ru, mut en) = (BTreeSet::new(), BTreeSet::new());
        for (key, pairs) in &texts {
            for (lang, _) in pairs.iter().filter(|(_, text)| !text.is_empty()) {
                match *lang {
                    "ru" => ru.insert(*key),
                    "en" => en.insert(*key),
                    _ => false,
                };
            }
        }
        let only_ru: Vec<_> = ru.difference(&en).collect();
        assert!(only_ru.is_empty(), "keys with a Russian text only: {only_ru:?}");
        let only_en: Vec<_> = en.difference(&ru).collect();
        assert!(only_en.is_empty(), "keys with an English text only: {only_en:?}");
        for (key, pairs) in &texts {
            let mut langs: Vec<&str> = pairs.iter().map(|(lang, _)| *lang).collect();
            langs.sort_unstable();
            assert_eq!(langs, ["en", "ru"], "`{key}` needs exactly one ru and one en text");
            for (lang, text) in pairs {
                let served = Lang::parse(lang).expect("ru or en").t(key);
                assert_eq!(served, *text, "`{key}` in {lang}");
            }
        }
    }
}
