//! The summary of a completed run: what `pipeline run` prints as a table,
//! or as one JSON line with `--json` (this type's fields, in this order).

use pipeline_registry::RunId;
use pipeline_spec::{MetricRef, Spec};
use pipeline_train::evaluation::SplitReports;
use pipeline_train::{Outcome, SplitMetrics, StopReason};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub id: RunId,
    pub experiment: String,
    /// Always `completed`.
    pub status: &'static str,
    pub stop_reason: StopReason,
    pub epochs_run: usize,
    pub best_epoch: Option<u32>,
    /// The whole run, from planning to its registry commit.
    pub seconds: f64,
    /// The epochs' batches alone.
    pub train_seconds: f64,
    /// The final metrics (of the best epoch's weights) of each split.
    pub metrics: SplitMetrics,
    /// Class labels of a classification run (with `reports`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<String>>,
    /// Per-class scores and confusion matrices of a classification run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reports: Option<SplitReports>,
    /// The metric that chose the best epoch (text only).
    #[serde(skip)]
    pub monitor: MetricRef,
}

impl RunSummary {
    /// The summary of run `id`, which ended with `outcome` and `metrics`
    /// after `seconds`; `classes`: the labels of a classification run.
    pub fn new(
        id: &RunId,
        spec: &Spec,
        outcome: &Outcome,
        metrics: &SplitMetrics,
        classes: Option<&[String]>,
        seconds: f64,
    ) -> RunSummary {
        let (classes, reports) = match (classes, &outcome.final_reports) {
            (Some(classes), Some(reports)) => (Some(classes.to_vec()), Some(reports.clone())),
            _ => (None, None),
        };
        RunSummary {
            id: id.clone(),
            experiment: spec.name.to_string(),
            status: "completed",
            stop_reason: outcome.reason,
            epochs_run: outcome.history.len(),
            best_epoch: outcome.best_epoch,
            seconds,
            train_seconds: outcome.history.iter().map(|r| r.train_seconds).sum::<f64>(),
            metrics: metrics.clone(),
            classes,
            reports,
            monitor: spec.train.monitor,
        }
    }

    /// How it stopped: `12 epochs`, `early stopped after 12 epochs`.
    pub fn stop(&self) -> String {
        let epochs = self.epochs_run;
        match self.stop_reason {
            StopReason::EarlyStopped => format!("early stopped after {epochs} epochs"),
            _ => format!("{epochs} epochs"),
        }
    }
}
