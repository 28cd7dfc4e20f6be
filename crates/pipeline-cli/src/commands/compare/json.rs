//! `compare --json`: every run with its metrics, gaps, verdict and curves,
//! the spec differences, and how each run reproduces the first.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::commands::curves::{curve, final_metric, metric_names};

use super::{Comparison, SPLITS, gaps};

pub fn to_json(comparison: &Comparison) -> Value {
    let records = &comparison.records;
    let runs: Vec<Value> = records
        .iter()
        .zip(&comparison.verdicts)
        .map(|(r, verdict)| {
            let metrics: BTreeMap<&str, BTreeMap<&str, Option<f64>>> = SPLITS
                .iter()
                .map(|split| (*split, metric_names(&[r]).iter().map(|m| (*m, final_metric(r, split, m))).collect()))
                .collect();
            let (validation_gap, test_gap) = gaps(r);
            json!({
                "id": r.id.as_str(),
                "experiment": r.experiment,
                "status": r.status,
                "best_epoch": r.best_epoch,
                "epochs_run": r.epochs_run,
                "metrics": metrics,
                "gap": { "validation_minus_train_loss": validation_gap, "test_minus_train_loss": test_gap },
                "verdict": verdict,
                "verdict_text": verdict.sentence(),
                "curves": { "train_loss": curve(r, "train", "loss"), "validation_loss": curve(r, "validation", "loss") },
            })
        })
        .collect();
    let differences: Vec<Value> = comparison
        .differences
        .iter()
        .map(|d| json!({ "key": d.key, "values": d.values }))
        .collect();
    let reproducibility: Vec<Value> = records
        .iter()
        .skip(1)
        .zip(&comparison.reproductions)
        .map(|(r, reproduction)| {
            let mut entry = serde_json::Map::new();
            entry.insert("id".into(), json!(r.id.as_str()));
            entry.insert(
                "matches_exactly".into(),
                json!(reproduction.matches_exactly()),
            );
            for input in &reproduction.inputs {
                entry.insert(format!("same_{}", input.name), json!(input.same()));
            }
            entry.insert("weights".into(), json!(reproduction.weights.as_str()));
            entry.insert(
                "final_metrics".into(),
                json!(reproduction.final_metrics.as_str()),
            );
            entry.insert("summary".into(), json!(reproduction.summary()));
            Value::Object(entry)
        })
        .collect();
    json!({
        "runs": runs,
        "spec_differences": differences,
        "reproducibility": {
            "reference": records.first().map(|r| r.id.as_str()),
            "runs": reproducibility,
        },
    })
}
