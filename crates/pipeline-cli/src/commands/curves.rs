//! A stored run's curves and final metrics as `show` and `compare` read
//! them from its record: one metric's values per epoch, the train and
//! validation losses side by side, a final metric, the metrics recorded.

use std::collections::BTreeMap;

use pipeline_registry::RunRecord;
use pipeline_spec::MetricName;
use pipeline_train::generalization::LossPoint;

/// Per-epoch values of `split`/`metric`, by epoch.
pub fn curve(record: &RunRecord, split: &str, metric: &str) -> Vec<(f64, f64)> {
    record
        .epochs
        .iter()
        .filter(|e| e.split == split && e.metric == metric)
        .map(|e| (f64::from(e.epoch), e.value))
        .collect()
}

/// Training and validation loss per epoch.
pub fn loss_curve(record: &RunRecord) -> Vec<LossPoint> {
    let mut by_epoch: BTreeMap<u32, (Option<f64>, Option<f64>)> = BTreeMap::new();
    for e in record.epochs.iter().filter(|e| e.metric == "loss") {
        let entry = by_epoch.entry(e.epoch).or_default();
        match e.split.as_str() {
            "train" => entry.0 = Some(e.value),
            "validation" => entry.1 = Some(e.value),
            _ => {}
        }
    }
    by_epoch
        .into_iter()
        .filter_map(|(epoch, (train, validation))| {
            Some(LossPoint {
                epoch,
                train: train?,
                validation: validation?,
            })
        })
        .collect()
}

/// A final metric of the run (at its best epoch).
pub fn final_metric(record: &RunRecord, split: &str, metric: &str) -> Option<f64> {
    record
        .final_metrics
        .iter()
        .find(|m| m.split == split && m.metric == metric)
        .map(|m| m.value)
}

/// The metrics the runs recorded, in the order tables show them
/// ([`MetricName::ALL`]: the regression ones, then classification's);
/// per-class scores are left out.
pub fn metric_names(records: &[&RunRecord]) -> Vec<&'static str> {
    MetricName::ALL
        .iter()
        .map(|m| m.as_str())
        .filter(|name| {
            records
                .iter()
                .any(|r| r.final_metrics.iter().any(|m| m.metric == *name))
        })
        .collect()
}
