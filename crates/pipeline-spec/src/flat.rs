//! A resolved spec flattened to `key = value` pairs, with keys written the
//! way `--set` takes them (`model.layers.0.units`, `optimizer.learning_rate`).
//! `runs --columns` and `--where` on spec keys, `compare`'s differences and
//! its legends all read specs through this one function, so a key printed
//! anywhere can be typed back into `--set`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// One flattened value: numbers stay numbers so that `--where` can compare
/// them and tables can align them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum FlatValue {
    Integer(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}

impl FlatValue {
    /// The value as a number, when it is one (booleans are not).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            #[allow(clippy::cast_precision_loss)]
            FlatValue::Integer(i) => Some(*i as f64),
            FlatValue::Float(f) => Some(*f),
            FlatValue::Bool(_) | FlatValue::Text(_) => None,
        }
    }
}

impl fmt::Display for FlatValue {
    /// As TOML would write it, with text unquoted (`relu`, `1e-3` as `0.001`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlatValue::Integer(i) => write!(f, "{i}"),
            FlatValue::Float(x) => write!(f, "{}", toml::Value::Float(*x)),
            FlatValue::Bool(b) => write!(f, "{b}"),
            FlatValue::Text(s) => f.write_str(s),
        }
    }
}

/// Flattens a spec's TOML text. Tables nest with `.`; an array of tables (or
/// of arrays) gives `key.length` and one `key.N.…` per item; an array of
/// plain values is one value, written as TOML (`[1, 2]`). Text that is not
/// TOML gives nothing.
pub fn flatten_spec(spec_toml: &str) -> BTreeMap<String, FlatValue> {
    let mut out = BTreeMap::new();
    if let Ok(table) = spec_toml.parse::<toml::Table>() {
        flatten("", &toml::Value::Table(table), &mut out);
    }
    out
}

fn flatten(prefix: &str, value: &toml::Value, out: &mut BTreeMap<String, FlatValue>) {
    let join = |key: &str| {
        if prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{prefix}.{key}")
        }
    };
    match value {
        toml::Value::Table(table) => {
            for (key, v) in table {
                flatten(&join(key), v, out);
            }
        }
        toml::Value::Array(items) if items.iter().any(|i| i.is_table() || i.is_array()) => {
            let length = i64::try_from(items.len()).unwrap_or(i64::MAX);
            out.insert(join("length"), FlatValue::Integer(length));
            for (index, item) in items.iter().enumerate() {
                flatten(&join(&index.to_string()), item, out);
            }
        }
        toml::Value::Integer(i) => {
            out.insert(prefix.to_owned(), FlatValue::Integer(*i));
        }
        toml::Value::Float(f) => {
            out.insert(prefix.to_owned(), FlatValue::Float(*f));
        }
        toml::Value::Boolean(b) => {
            out.insert(prefix.to_owned(), FlatValue::Bool(*b));
        }
        toml::Value::String(s) => {
            out.insert(prefix.to_owned(), FlatValue::Text(s.clone()));
        }
        other => {
            out.insert(prefix.to_owned(), FlatValue::Text(other.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn flattens_tables_and_arrays_of_tables_with_set_paths() {
        let out = flatten_spec(
            "seed = 1\n[model]\nlayers = [{ units = 4 }, { type = \"relu\" }]\n\
             [optimizer]\nlearning_rate = 1e-3\n[data]\nfeatures = [\"a\", \"b\"]\n",
        );
        assert_eq!(out["seed"], FlatValue::Integer(1));
        assert_eq!(out["model.layers.length"], FlatValue::Integer(2));
        assert_eq!(out["model.layers.0.units"], FlatValue::Integer(4));
        assert_eq!(out["model.layers.1.type"], FlatValue::Text("relu".into()));
        assert_eq!(out["optimizer.learning_rate"].as_f64(), Some(1e-3));
        assert_eq!(out["optimizer.learning_rate"].to_string(), "0.001");
        assert_eq!(out["data.features"].to_string(), "[\"a\", \"b\"]");
    }

    #[test]
    fn text_that_is_not_toml_gives_nothing() {
        assert!(flatten_spec("not = [toml").is_empty());
    }
}
