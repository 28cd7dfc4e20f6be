//! Ending a run that trained to its end: its model written, then the run
//! committed as completed with its final metrics (per-class rows of a
//! classification run included), overfitting summary and checksums.

use pipeline_data::Preprocessing;
use pipeline_registry::{Completion, MetricValue, RunId};
use pipeline_spec::{Spec, SplitName};
use pipeline_train::{Outcome, SplitMetrics};

use crate::artifacts::{class_metric_values, metric_values, write_model};
use crate::error::RunError;
use crate::overfitting::overfitting;
use crate::store::Store;

/// Writes the model, then commits the run as completed.
pub fn finish(
    store: Store<'_>,
    id: &RunId,
    spec: &Spec,
    outcome: &Outcome,
    metrics: &SplitMetrics,
    preprocessing: &Preprocessing,
) -> Result<(), RunError> {
    let (artifacts, digest) = write_model(store, id, spec, outcome, preprocessing)?;
    let selection = spec.selection.metric;
    let completion = Completion {
        best_epoch: outcome.best_epoch.unwrap_or(outcome.history.len() as u32),
        epochs_run: outcome.history.len() as u32,
        selection_value: metrics
            .get(selection.split)
            .get(selection.metric)
            .unwrap_or(f64::NAN),
        final_metrics: final_metrics(outcome, metrics, preprocessing),
        artifacts,
        overfitting: overfitting(spec, outcome, Some(metrics)),
        weights_digest: Some(digest),
    };
    store.block_on(store.registry.complete_run(id, &completion))?;
    Ok(())
}

/// Every split's metrics, then a classification run's per-class rows.
fn final_metrics(
    outcome: &Outcome,
    metrics: &SplitMetrics,
    preprocessing: &Preprocessing,
) -> Vec<MetricValue> {
    let mut values: Vec<MetricValue> = SplitName::ALL
        .into_iter()
        .flat_map(|split| metric_values(split, metrics.get(split)).collect::<Vec<_>>())
        .collect();
    if let (Some(reports), Some(classes)) =
        (&outcome.final_reports, preprocessing.targets.classes())
    {
        for split in SplitName::ALL {
            values.extend(
                class_metric_values(reports.get(split), classes)
                    .into_iter()
                    .map(|(metric, value)| MetricValue {
                        split: split.as_str().to_string(),
                        metric,
                        value,
                    }),
            );
        }
    }
    values
}
