//! JSON rows read strictly: serde_json keeps the last of a key given twice
//! in one object (`{"age": 1, "age": 2}` is `{"age": 2}`), so a row could
//! lose a value silently. [`parse_rows`] reads JSON as serde_json does but
//! refuses such an object, naming the key and the row it is in.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why JSON text is not a set of rows.
#[derive(Debug, thiserror::Error)]
pub enum JsonRowsError {
    /// An object gives a key twice (`row` counts the rows from 1).
    #[error("row {row} gives the key `{key}` twice")]
    DuplicateKey { key: String, row: usize },
    /// Not JSON at all.
    #[error("{0}")]
    Invalid(#[source] serde_json::Error),
}

/// Parses `text` as serde_json does, refusing an object that gives a key
/// twice. Rows are the objects a body of rows holds: the text itself when
/// it is an object (row 1), each item when it is an array, and each item of
/// its `"rows"` array when it is an object with one.
pub fn parse_rows(text: &[u8]) -> Result<Value, JsonRowsError> {
    let duplicate = Cell::new(None);
    let seed = Strict {
        row: None,
        duplicate: &duplicate,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(text);
    let parsed = seed
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value));
    match (parsed, duplicate.take()) {
        (_, Some((key, row))) => Err(JsonRowsError::DuplicateKey { key, row }),
        (Ok(value), None) => Ok(value),
        (Err(e), None) => Err(JsonRowsError::Invalid(e)),
    }
}

/// A value read with duplicate keys refused. `row` is the row it belongs
/// to, `None` at the top (where an array's items are rows); the first
/// duplicate found is left in `duplicate`.
#[derive(Clone, Copy)]
struct Strict<'a> {
    row: Option<usize>,
    duplicate: &'a Cell<Option<(String, usize)>>,
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            // At the top, each item is a row of its own.
            let seed = Strict {
                row: Some(self.row.unwrap_or(items.len() + 1)),
                ..self
            };
            match seq.next_element_seed(seed)? {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let row = self.row.unwrap_or(1);
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            // A top-level `{"rows": [...]}`: its items are the rows.
            let top_rows = self.row.is_none() && key == "rows";
            let seed = Strict {
                row: if top_rows { None } else { Some(row) },
                ..self
            };
            let value = map.next_value_seed(seed)?;
            if object.contains_key(&key) {
                let message = format!("the key `{key}` is given twice");
                self.duplicate.set(Some((key, row)));
                return Err(de::Error::custom(message));
            }
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use serde_json::json;

    use super::*;

    fn duplicate(text: &str) -> (String, usize) {
        match parse_rows(text.as_bytes()).unwrap_err() {
            JsonRowsError::DuplicateKey { key, row } => (key, row),
            other => panic!("{other}"),
        }
    }

    /// Issue 18: `{"age":1,"age":2}` was read as `{"age":2}`.
    #[test]
    fn a_key_given_twice_is_named_with_its_row() {
        assert_eq!(duplicate(r#"{"age":1,"age":2}"#), ("age".into(), 1));
        assert_eq!(
            duplicate(r#"[{"age":1},{"bmi":2,"age":3,"bmi":4}]"#),
            ("bmi".into(), 2)
        );
        assert_eq!(
            duplicate(r#"{"rows":[{"a":1},{"a":1},{"b":[{"c":1,"c":2}]}]}"#),
            ("c".into(), 3)
        );
        assert_eq!(duplicate(r#"{"rows":[],"rows":[]}"#), ("rows".into(), 1));
        assert_eq!(
            JsonRowsError::DuplicateKey {
                key: "age".into(),
                row: 2
            }
            .to_string(),
            "row 2 gives the key `age` twice"
        );
    }

    #[test]
    fn other_json_reads_as_serde_json_reads_it() {
        for text in [
            r#"{"age":59,"sex":"m","w":1.5,"n":null,"b":true,"big":18446744073709551615}"#,
            r#"[{"a":-1},{"a":1e39},{"x":{"y":[1,2,{"z":"t"}]}}]"#,
            r#"{"rows":[{"a":1}]}"#,
            "[]",
        ] {
            let strict = parse_rows(text.as_bytes()).unwrap();
            assert_eq!(
                strict,
                serde_json::from_str::<Value>(text).unwrap(),
                "{text}"
            );
        }
        assert_eq!(parse_rows(br#"{"a":1}"#).unwrap(), json!({"a": 1}));
        assert!(matches!(
            parse_rows(br#"{"a":1} x"#),
            Err(JsonRowsError::Invalid(_))
        ));
        assert!(matches!(parse_rows(b"{"), Err(JsonRowsError::Invalid(_))));
    }
}
