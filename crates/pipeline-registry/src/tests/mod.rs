//! Tests against real SQLite files in temporary folders: opening and
//! refusing databases, the run lifecycle, selectors and crash marking.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bucket;
mod checkpoints;
mod filter;
mod labels;
mod lifecycle;
mod migrate;
mod names;
mod open_checks;
mod params;
mod postgres;
mod reconcile;
mod remove;
mod resolve;
mod sweeps;
mod touch;
mod work;

use std::path::PathBuf;

use tempfile::TempDir;

use crate::{EpochMetric, MetricValue, NewRun, Registry};

/// A fresh folder and the registry path inside it (not yet created).
fn temp_db() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry").join("registry.db");
    (dir, path)
}

async fn open_temp() -> (TempDir, Registry) {
    let (dir, path) = temp_db();
    let reg = Registry::open(&path).await.unwrap();
    (dir, reg)
}

fn new_run(experiment: &str, higher_is_better: bool) -> NewRun {
    NewRun {
        experiment: experiment.to_owned(),
        spec_toml: "[model]\nlayers = [8]\n".to_owned(),
        spec_hash: "abc123".to_owned(),
        source_spec: "[model]\n".to_owned(),
        spec_path: "specs/demo.toml".to_owned(),
        data_path: "data/demo.csv".to_owned(),
        data_sha256: "00ff".to_owned(),
        columns_hash: Some("0123456789abcdef".to_owned()),
        seed: 42,
        device: "cpu".to_owned(),
        program_version: "0.1.0".to_owned(),
        git_commit: "0123abc".to_owned(),
        deterministic: true,
        tags: vec![],
        note: None,
        name: None,
        selection_metric: if higher_is_better {
            "val_r2"
        } else {
            "val_loss"
        }
        .to_owned(),
        selection_higher_is_better: higher_is_better,
        trial: None,
    }
}

fn metric(split: &str, name: &str, value: f64) -> MetricValue {
    MetricValue {
        split: split.to_owned(),
        metric: name.to_owned(),
        value,
    }
}

/// The train and validation losses of epochs `1..=epochs`, `value(epoch)`
/// each.
fn loss_curve(epochs: u32, value: impl Fn(u32) -> f64) -> Vec<EpochMetric> {
    (1..=epochs)
        .flat_map(|epoch| {
            ["train", "validation"].map(|split| EpochMetric {
                epoch,
                split: split.to_owned(),
                metric: "loss".to_owned(),
                value: value(epoch),
            })
        })
        .collect()
}

/// A completed run of 3 epochs whose weights are `weights`, with
/// preprocessing and test metrics.
async fn completed_run_with(reg: &Registry, weights: &[u8]) -> crate::RunId {
    let id = reg.create_run(&new_run("exp", false)).await.unwrap();
    for epoch in 1..=3u32 {
        let loss = 1.0 / f64::from(epoch);
        reg.record_epoch(
            &id,
            epoch,
            &[
                metric("train", "loss", loss),
                metric("validation", "loss", loss + 0.1),
            ],
        )
        .await
        .unwrap();
    }
    let weights = reg
        .write_artifact(
            &id,
            crate::ArtifactKind::Weights,
            "model.safetensors",
            weights,
        )
        .await
        .unwrap();
    let prep = reg
        .write_artifact(
            &id,
            crate::ArtifactKind::Preprocessing,
            "preprocessing.json",
            b"{\"mean\":1}",
        )
        .await
        .unwrap();
    reg.complete_run(
        &id,
        &crate::Completion {
            best_epoch: 3,
            epochs_run: 3,
            selection_value: 1.0 / 3.0 + 0.1,
            final_metrics: vec![metric("test", "mse", 0.25), metric("test", "rmse", 0.5)],
            artifacts: vec![weights, prep],
            overfitting: Default::default(),
            weights_digest: None,
        },
    )
    .await
    .unwrap();
    id
}

/// [`completed_run_with`] weights `weights-bytes`.
async fn completed_run(reg: &Registry) -> crate::RunId {
    completed_run_with(reg, b"weights-bytes").await
}
