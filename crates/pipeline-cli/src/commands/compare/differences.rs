//! The spec keys whose values differ between runs, read from each run's
//! resolved spec and flattened to the paths `--set` takes (`model.layers.0.units`).
//!
//! Layers are aligned with the first run's (`align.rs`) before their keys
//! are compared: a layer key is numbered as in the first run, and a layer
//! another run inserts or removes is one [`LayerChange`], not a row per
//! later layer.

use std::collections::{BTreeMap, BTreeSet};

use pipeline_registry::{RunId, RunRecord};
use pipeline_spec::flatten_spec;
use serde::Serialize;

use super::align::{Layer, Step, align, describe};

const LAYERS: &str = "model.layers.";

/// One key and each run's value (`None` where a run's spec lacks it).
#[derive(Debug, Serialize)]
pub struct Difference {
    pub key: String,
    pub values: Vec<Option<String>>,
}

/// A layer a run inserted or removed, against the first run's layers.
#[derive(Debug, Serialize)]
pub struct LayerChange {
    pub run: RunId,
    /// `inserted` or `removed`.
    pub change: &'static str,
    /// The layer in one phrase: `dropout(rate=0.5)`.
    pub layer: String,
    /// Inserted: the first run's layer it follows (`None`: first of all);
    /// removed: the first run's layer removed.
    pub reference_layer: Option<usize>,
    /// `+ dropout(rate=0.5) after layer 2`, `− relu (layer 1)`.
    pub text: String,
}

/// The keys that differ, sorted, and the layers inserted or removed.
#[derive(Debug, Default)]
pub struct SpecDifferences {
    pub keys: Vec<Difference>,
    pub layer_changes: Vec<LayerChange>,
}

/// Compares the runs' resolved specs.
pub fn spec_differences(records: &[RunRecord]) -> SpecDifferences {
    let flat: Vec<BTreeMap<String, String>> = records
        .iter()
        .map(|r| {
            flatten_spec(&r.spec_toml)
                .into_iter()
                .map(|(key, value)| (key, value.to_string()))
                .collect()
        })
        .collect();
    let layers: Vec<Vec<Layer>> = flat.iter().map(layers_of).collect();
    let Some(reference) = layers.first() else {
        return SpecDifferences::default();
    };
    let alignments: Vec<Vec<Step>> = layers.iter().map(|l| align(reference, l)).collect();

    let keys: BTreeSet<&String> = flat
        .iter()
        .flat_map(|f| f.keys())
        .filter(|k| !k.starts_with(LAYERS))
        .collect();
    let mut differences: Vec<Difference> = keys
        .into_iter()
        .filter_map(|key| {
            let values: Vec<Option<String>> = flat.iter().map(|f| f.get(key).cloned()).collect();
            let first = values.first()?;
            values.iter().any(|v| v != first).then(|| Difference {
                key: key.clone(),
                values,
            })
        })
        .collect();
    differences.extend(layer_differences(reference, &layers, &alignments));
    differences.sort_by_key(|d| natural(&d.key));

    let layer_changes = records
        .iter()
        .zip(&layers)
        .zip(&alignments)
        .flat_map(|((record, own), steps)| changes(&record.id, reference, own, steps))
        .collect();
    SpecDifferences {
        keys: differences,
        layer_changes,
    }
}

/// `model.layers.N.field` values as one map per layer, in order.
fn layers_of(flat: &BTreeMap<String, String>) -> Vec<Layer> {
    let mut by_index: BTreeMap<usize, Layer> = BTreeMap::new();
    for (key, value) in flat {
        let Some(rest) = key.strip_prefix(LAYERS) else {
            continue;
        };
        if let Some((index, field)) = rest.split_once('.')
            && let Ok(index) = index.parse::<usize>()
        {
            by_index
                .entry(index)
                .or_default()
                .insert(field.to_string(), value.clone());
        }
    }
    by_index.into_values().collect()
}

/// The settings of the first run's layers that differ among the runs that
/// kept the layer, keyed as in the first run.
fn layer_differences(
    reference: &[Layer],
    layers: &[Vec<Layer>],
    alignments: &[Vec<Step>],
) -> Vec<Difference> {
    let mut out = Vec::new();
    for index in 0..reference.len() {
        // Each run's counterpart of this layer, if it kept it.
        let counterparts: Vec<Option<&Layer>> = alignments
            .iter()
            .zip(layers)
            .map(|(steps, own)| {
                steps.iter().find_map(|s| match s {
                    Step::Matched(i, j) if *i == index => own.get(*j),
                    _ => None,
                })
            })
            .collect();
        let fields: BTreeSet<&String> = counterparts
            .iter()
            .flatten()
            .flat_map(|l| l.keys())
            .collect();
        for field in fields {
            let values: Vec<Option<String>> = counterparts
                .iter()
                .map(|l| l.and_then(|l| l.get(field).cloned()))
                .collect();
            let kept: Vec<&Option<String>> = values
                .iter()
                .zip(&counterparts)
                .filter(|(_, l)| l.is_some())
                .map(|(v, _)| v)
                .collect();
            if kept.iter().any(|v| *v != kept[0]) {
                out.push(Difference {
                    key: format!("{LAYERS}{index}.{field}"),
                    values,
                });
            }
        }
    }
    out
}

/// The layers `own` inserted or removed against `reference`.
fn changes(run: &RunId, reference: &[Layer], own: &[Layer], steps: &[Step]) -> Vec<LayerChange> {
    let mut after: Option<usize> = None;
    let mut out = Vec::new();
    for step in steps {
        match *step {
            Step::Matched(i, _) => after = Some(i),
            Step::Removed(i) => {
                let layer = reference.get(i).map(describe).unwrap_or_default();
                out.push(LayerChange {
                    run: run.clone(),
                    change: "removed",
                    text: format!("− {layer} (layer {i})"),
                    layer,
                    reference_layer: Some(i),
                });
                after = Some(i);
            }
            Step::Inserted(j) => {
                let layer = own.get(j).map(describe).unwrap_or_default();
                let place = match after {
                    Some(i) => format!("after layer {i}"),
                    None => "before layer 0".to_string(),
                };
                out.push(LayerChange {
                    run: run.clone(),
                    change: "inserted",
                    text: format!("+ {layer} {place}"),
                    layer,
                    reference_layer: after,
                });
            }
        }
    }
    out
}

/// A sort key that orders `model.layers.10` after `model.layers.9`.
fn natural(key: &str) -> Vec<(u64, String)> {
    key.split('.')
        .map(|part| match part.parse::<u64>() {
            Ok(n) => (n, String::new()),
            Err(_) => (u64::MAX, part.to_string()),
        })
        .collect()
}
