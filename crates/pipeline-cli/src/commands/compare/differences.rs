//! The spec keys whose values differ between runs, read from each run's
//! resolved spec and flattened to the paths `--set` takes (`model.layers.0.units`).

use std::collections::{BTreeMap, BTreeSet};

use pipeline_registry::RunRecord;
use pipeline_spec::flatten_spec;
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
            flatten_spec(&r.spec_toml)
                .into_iter()
                .map(|(key, value)| (key, value.to_string()))
                .collect()
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
