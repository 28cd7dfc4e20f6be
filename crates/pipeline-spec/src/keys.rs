//! Choosing and naming spec keys to show beside runs: the keys whose values
//! differ among some runs' flattened specs ([`crate::flatten_spec`]), less
//! the keys that differ without describing the configuration, and the
//! shortest unambiguous header of each (`learning_rate`, `layers.0.units`).

use std::collections::{BTreeMap, BTreeSet};

use crate::flat::FlatValue;

/// Keys that differ between runs without saying how they were configured:
/// seeds (repeats of one configuration differ by seed on purpose), file
/// paths (long, and the data's identity is its recorded sha256), the name
/// (shown as the experiment) and the prose description.
pub fn is_noise_key(key: &str) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key);
    last == "seed"
        || last == "path"
        || last.ends_with("_path")
        || key == "name"
        || key == "description"
}

/// The keys, sorted, whose value is not the same in every one of `specs`
/// (a key absent from some differs too), noise keys left out.
pub fn differing_keys(specs: &[&BTreeMap<String, FlatValue>]) -> Vec<String> {
    let all: BTreeSet<&String> = specs.iter().flat_map(|s| s.keys()).collect();
    all.into_iter()
        .filter(|key| !is_noise_key(key))
        .filter(|key| {
            let mut values = specs.iter().map(|s| s.get(*key));
            let first = values.next().flatten();
            values.any(|v| v != first)
        })
        .cloned()
        .collect()
}

/// A short header for each key: its shortest tail of segments that no other
/// of `keys` ends with, never starting at a list index or just after one
/// (`model.layers.0.units` is `layers.0.units`, not `units` or `0.units`;
/// `model.layers.length` is `layers.length`).
pub fn short_key_names(keys: &[String]) -> Vec<String> {
    let split: Vec<Vec<&str>> = keys.iter().map(|k| k.split('.').collect()).collect();
    let is_index = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    split
        .iter()
        .enumerate()
        .map(|(i, segments)| {
            let mut take = 1;
            while take < segments.len() {
                let tail = &segments[segments.len() - take..];
                // `length` (added by flattening) says little without its list.
                let starts_at_index = is_index(tail[0])
                    || tail[0] == "length"
                    || segments
                        .get(segments.len() - take - 1)
                        .is_some_and(|s| is_index(s));
                let shared = split
                    .iter()
                    .enumerate()
                    .any(|(j, other)| j != i && other.ends_with(tail));
                if !starts_at_index && !shared {
                    break;
                }
                take += 1;
            }
            segments[segments.len() - take..].join(".")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(pairs: &[(&str, FlatValue)]) -> BTreeMap<String, FlatValue> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn differing_keys_leave_out_equal_values_and_noise() {
        let a = spec(&[
            ("optimizer.learning_rate", FlatValue::Float(0.01)),
            ("model.layers.0.units", FlatValue::Integer(64)),
            ("seed", FlatValue::Integer(1)),
            ("data.path", FlatValue::Text("a.csv".into())),
            ("train.epochs", FlatValue::Integer(2)),
        ]);
        let b = spec(&[
            ("optimizer.learning_rate", FlatValue::Float(0.1)),
            ("model.layers.0.units", FlatValue::Integer(64)),
            ("seed", FlatValue::Integer(2)),
            ("data.path", FlatValue::Text("b.csv".into())),
            ("train.epochs", FlatValue::Integer(2)),
            ("model.layers.1.rate", FlatValue::Float(0.5)),
        ]);
        assert_eq!(
            differing_keys(&[&a, &b]),
            ["model.layers.1.rate", "optimizer.learning_rate"]
        );
        assert!(differing_keys(&[&a]).is_empty());
    }

    #[test]
    fn short_names_are_unambiguous_and_keep_the_list_name() {
        let keys: Vec<String> = [
            "optimizer.learning_rate",
            "model.layers.0.units",
            "model.layers.2.units",
            "model.layers.length",
            "train.early_stopping.patience",
            "a.type",
            "b.type",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            short_key_names(&keys),
            [
                "learning_rate",
                "layers.0.units",
                "layers.2.units",
                "layers.length",
                "patience",
                "a.type",
                "b.type"
            ]
        );
    }
}
