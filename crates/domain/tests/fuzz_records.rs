//! Fuzzing the records parser with proptest: records of every kind with any
//! mix of fields, types and text (NUL characters, very long strings, other
//! scripts). The parser must never panic, and whatever it accepts must be
//! storable: its text has no NUL and fits the limits, so PostgreSQL cannot
//! refuse it with a 500. The first run found the NUL character
//! (`records::nul_characters_and_overlong_text_are_422_naming_the_field` keeps it).

use domain::records::{parse_record, text_limit, FieldType, Kind};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9-]{1,12}",
        "\\PC{0,40}",
        Just("a\u{0}b".to_string()),
        Just("\u{0}".to_string()),
        (200usize..300).prop_map(|n| "x".repeat(n)),
        Just("2026-11-27T14:30:00+03:00".to_string()),
        Just("2026-11-27".to_string()),
        Just("won".to_string()),
        Just("  ".to_string()),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => text().prop_map(Value::String),
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => (-1e6f64..1e12).prop_map(|f| json!(f)),
        1 => any::<i64>().prop_map(|i| json!(i)),
        1 => Just(json!([1, "a"])),
    ]
}

fn record() -> impl Strategy<Value = Value> {
    let kinds = Kind::ALL.to_vec();
    (proptest::sample::select(kinds), proptest::collection::vec((0usize..12, value()), 0..12)).prop_map(
        |(kind, fields)| {
            let names = kind.fields();
            let mut obj = Map::new();
            obj.insert("kind".into(), json!(kind.name()));
            for (i, v) in fields {
                let name = names.get(i % names.len()).map(|f| f.name).unwrap_or("id");
                obj.insert(name.into(), v);
            }
            Value::Object(obj)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn accepted_records_hold_only_text_postgresql_can_store(v in record()) {
        let result = parse_record(&v);
        if result.is_ok() {
            let kind = Kind::from_name(v["kind"].as_str().unwrap()).unwrap();
            for field in kind.fields().iter().filter(|f| f.ty == FieldType::Text) {
                if let Some(Value::String(s)) = v.get(field.name) {
                    prop_assert!(!s.contains('\0'), "{} kept a NUL: {v}", field.name);
                    prop_assert!(s.chars().count() <= text_limit(field.name), "{} too long: {v}", field.name);
                }
            }
        }
    }
}
