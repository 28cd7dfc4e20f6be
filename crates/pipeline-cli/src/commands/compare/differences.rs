//! The spec keys whose values differ between runs, read from each run's
//! resolved spec and flattened to paths such as `model.layers[0].units`.

use std::collections::{BTreeMap, BTreeSet};

use pipeline_registry::RunRecord;
use serde::Serialize;

/// One key and each run's value (`None` where a run's spec lacks it).
#[derive(Debug, Serialize)]
pub struct Difference {
    pub key: String,
    pub values: Vec<Option<String>>,
}

/// Keys whose values differ between the runs' resolved specs, sorted.
pub fn spec_differences(records: &[RunRecord]) -> Vec<Difference> {
    let flat: Vec<BTreeMap<String, String>> = records
        .iter()
        .map(|r| {
            let mut out = BTreeMap::new();
            if let Ok(table) = r.spec_toml.parse::<toml::Table>() {
                flatten("", &toml::Value::Table(table), &mut out);
            }
            out
        })
        .collect();
    let keys: BTreeSet<&String> = flat.iter().flat_map(|f| f.keys()).collect();
    keys.into_iter()
        .filter_map(|key| {
            let values: Vec<Option<String>> = flat.iter().map(|f| f.get(key).cloned()).collect();
            let first = values.first()?;
            values.iter().any(|v| v != first).then(|| Difference {
                key: key.clone(),
                values,
            })
        })
        .collect()
}

/// Flattens a TOML value into `path = value` pairs (`model.layers[0].units`).
fn flatten(prefix: &str, value: &toml::Value, out: &mut BTreeMap<String, String>) {
    match value {
        toml::Value::Table(table) => {
            for (key, v) in table {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, v, out);
            }
        }
        toml::Value::Array(items) if items.iter().any(|i| i.is_table() || i.is_array()) => {
            out.insert(format!("{prefix}.length"), items.len().to_string());
            for (index, item) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{index}]"), item, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn flattens_tables_and_arrays_of_tables() {
        let table: toml::Table =
            "seed = 1\n[model]\nlayers = [{ units = 4 }, { type = \"relu\" }]\n"
                .parse()
                .unwrap();
        let mut out = BTreeMap::new();
        flatten("", &toml::Value::Table(table), &mut out);
        assert_eq!(out["seed"], "1");
        assert_eq!(out["model.layers.length"], "2");
        assert_eq!(out["model.layers[0].units"], "4");
        assert_eq!(out["model.layers[1].type"], "\"relu\"");
    }
}
