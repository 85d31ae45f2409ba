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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    key: &'static str,
    args: Vec<(&'static str, String)>,
}

impl Message {
    pub fn new(key: &'static str) -> Message {
        Message { key, args: Vec::new() }
    }

    /// The value of the `%{name}` placeholder.
    pub fn with(mut self, name: &'static str, value: impl ToString) -> Message {
        self.args.push((name, value.to_string()));
        self
    }

    pub fn key(&self) -> &'static str {
        self.key
    }

    pub fn in_lang(&self, lang: Lang) -> String {
        let (names, values): (Vec<&str>, Vec<String>) = self.args.iter().map(|(n, v)| (*n, v.clone())).unzip();
        rust_i18n::replace_patterns(&lang.t(self.key), &names, &values)
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
                    assert!(keys.contains_key(literal), "{} names `{literal}`, missing from app.yml", path.display());
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
