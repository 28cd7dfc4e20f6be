//! The model files of a run: the weights (safetensors, with metadata) and
//! the preprocessing, written atomically through the registry; and the
//! stored per-class rows of a classification run's final reports.

use std::collections::HashMap;

use pipeline_data::Preprocessing;
use pipeline_registry::{ArtifactKind, ArtifactRecord, MetricValue, RunId};
use pipeline_spec::{Spec, SplitName};
use pipeline_train::classification::ClassificationReport;
use pipeline_train::{Metrics, Outcome};

use crate::error::RunError;
use crate::store::Store;

/// The metadata of a weights file. No run id: a rerun that reproduces the
/// weights writes the same tensors.
pub fn weights_metadata(spec: &Spec, preprocessing: &Preprocessing) -> HashMap<String, String> {
    HashMap::from([
        ("experiment".to_string(), spec.name.to_string()),
        ("spec_sha256".to_string(), spec.hash()),
        ("features".to_string(), preprocessing.features.join(",")),
        (
            "producer".to_string(),
            format!("pipeline {}", env!("CARGO_PKG_VERSION")),
        ),
    ])
}

/// Writes weights and preprocessing (temp file, fsync, rename); returns
/// their records and the digest of the weights' tensors.
pub fn write_model(
    store: Store<'_>,
    id: &RunId,
    spec: &Spec,
    outcome: &Outcome,
    preprocessing: &Preprocessing,
) -> Result<(Vec<ArtifactRecord>, String), RunError> {
    let weights = outcome
        .model
        .network
        .to_safetensors(weights_metadata(spec, preprocessing))?;
    let digest = pipeline_model::weights_digest(&weights)?;
    let weights = store.block_on(store.registry.write_artifact(
        id,
        ArtifactKind::Weights,
        "model.safetensors",
        &weights,
    ))?;
    let prep = store.block_on(store.registry.write_artifact(
        id,
        ArtifactKind::Preprocessing,
        "preprocessing.json",
        preprocessing.to_json().as_bytes(),
    ))?;
    Ok((vec![weights, prep], digest))
}

/// Writes the weights and preprocessing of an interrupted run and records
/// them as its checkpoint of `best_epoch`.
pub fn keep_checkpoint(
    store: Store<'_>,
    id: &RunId,
    spec: &Spec,
    outcome: &Outcome,
    best_epoch: u32,
    preprocessing: &Preprocessing,
) -> Result<(), RunError> {
    let (artifacts, digest) = write_model(store, id, spec, outcome, preprocessing)?;
    store.block_on(
        store
            .registry
            .keep_checkpoint(id, best_epoch, &digest, &artifacts),
    )?;
    Ok(())
}

/// The registry rows of `split`'s `metrics`.
pub fn metric_values(
    split: SplitName,
    metrics: &Metrics,
) -> impl Iterator<Item = MetricValue> + '_ {
    metrics.iter().map(move |(name, value)| MetricValue {
        split: split.as_str().to_string(),
        metric: name.as_str().to_string(),
        value,
    })
}

/// The registry rows of a report's per-class scores and confusion matrix:
/// `precision[CLASS]`, `recall[CLASS]`, `f1[CLASS]`, `support[CLASS]` and
/// `confusion[TRUE][PREDICTED]`.
pub fn class_metric_values(
    report: &ClassificationReport,
    classes: &[String],
) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for (class, scores) in classes.iter().zip(&report.per_class) {
        let values = [
            scores.precision,
            scores.recall,
            scores.f1,
            scores.support as f64,
        ];
        for (name, value) in ["precision", "recall", "f1", "support"].iter().zip(values) {
            out.push((format!("{name}[{class}]"), value));
        }
    }
    for (truth, row) in classes.iter().zip(&report.confusion_matrix) {
        for (predicted, count) in classes.iter().zip(row) {
            out.push((format!("confusion[{truth}][{predicted}]"), *count as f64));
        }
    }
    out
}
