//! `metrics.json` (final metrics per split, the best epoch, the selection
//! metric and the overfitting summary) and `receipt.json` (what reproduces
//! the run, and the checksums of the exported artifacts).

use pipeline_registry::{ArtifactRecord, Overfitting, RunId, RunRecord};
use serde::Serialize;

use crate::final_metrics::{FinalMetrics, final_metrics};

/// `metrics.json`.
#[derive(Debug, Clone, Serialize)]
pub struct MetricsFile<'a> {
    pub run: &'a RunId,
    pub status: String,
    #[serde(rename = "final")]
    pub final_metrics: FinalMetrics,
    pub best_epoch: Option<u32>,
    pub epochs_run: u32,
    pub selection: Selection<'a>,
    pub overfitting: &'a Overfitting,
    pub weights_digest: Option<&'a str>,
}

/// How the run's best epoch was chosen.
#[derive(Debug, Clone, Serialize)]
pub struct Selection<'a> {
    pub metric: &'a str,
    pub higher_is_better: bool,
    pub value: Option<f64>,
}

impl MetricsFile<'_> {
    pub fn new(record: &RunRecord) -> MetricsFile<'_> {
        MetricsFile {
            run: &record.id,
            status: record.status.to_string(),
            final_metrics: final_metrics(record),
            best_epoch: record.best_epoch,
            epochs_run: record.epochs_run,
            selection: Selection {
                metric: &record.selection_metric,
                higher_is_better: record.selection_higher_is_better,
                value: record.selection_value,
            },
            overfitting: &record.overfitting,
            weights_digest: record.weights_digest.as_deref(),
        }
    }
}

/// `receipt.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Receipt<'a> {
    pub run: &'a RunId,
    pub experiment: &'a str,
    pub status: String,
    pub spec_hash: &'a str,
    pub data_path: &'a str,
    pub data_sha256: &'a str,
    pub columns_hash: Option<&'a str>,
    pub seed: u64,
    pub device: &'a str,
    pub program_version: &'a str,
    pub git_commit: Option<&'a str>,
    pub deterministic: Option<bool>,
    pub started_at: &'a str,
    pub ended_at: Option<&'a str>,
    pub artifacts: ExportedArtifacts<'a>,
    /// `pipeline VERSION`: how `export --force` knows an earlier export.
    pub exported_by: String,
}

/// The checksums of the exported artifacts, by file name.
#[derive(Debug, Clone, Serialize)]
pub struct ExportedArtifacts<'a> {
    #[serde(rename = "model.safetensors")]
    pub weights: ArtifactSum<'a>,
    #[serde(rename = "preprocessing.json")]
    pub preprocessing: ArtifactSum<'a>,
}

/// A file's SHA-256 and size.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactSum<'a> {
    pub sha256: &'a str,
    pub bytes: u64,
}

impl<'a> ArtifactSum<'a> {
    fn of(artifact: &'a ArtifactRecord) -> ArtifactSum<'a> {
        ArtifactSum {
            sha256: &artifact.sha256,
            bytes: artifact.bytes,
        }
    }
}

impl<'a> Receipt<'a> {
    pub fn new(
        record: &'a RunRecord,
        weights: &'a ArtifactRecord,
        preprocessing: &'a ArtifactRecord,
    ) -> Receipt<'a> {
        Receipt {
            run: &record.id,
            experiment: &record.experiment,
            status: record.status.to_string(),
            spec_hash: &record.spec_hash,
            data_path: &record.data_path,
            data_sha256: &record.data_sha256,
            columns_hash: record.columns_hash.as_deref(),
            seed: record.seed,
            device: &record.device,
            program_version: &record.program_version,
            git_commit: record.git_commit.as_deref(),
            deterministic: record.deterministic,
            started_at: &record.started_at,
            ended_at: record.ended_at.as_deref(),
            artifacts: ExportedArtifacts {
                weights: ArtifactSum::of(weights),
                preprocessing: ArtifactSum::of(preprocessing),
            },
            exported_by: format!("pipeline {}", env!("CARGO_PKG_VERSION")),
        }
    }
}
