//! The stored overfitting summary of a run: the gap at the best epoch, test
//! minus train loss of the kept model, and the onset of overfitting.

use pipeline_registry::Overfitting;
use pipeline_spec::{Spec, defaults};
use pipeline_train::generalization::{LossPoint, gap_at, onset};
use pipeline_train::{Outcome, SplitMetrics};

/// The summary of `outcome`; `metrics`: its final metrics, `None` for a run
/// that stopped before them.
pub fn overfitting(spec: &Spec, outcome: &Outcome, metrics: Option<&SplitMetrics>) -> Overfitting {
    let curve: Vec<LossPoint> = outcome
        .history
        .iter()
        .map(|e| LossPoint {
            epoch: e.epoch,
            train: e.train.loss(),
            validation: e.validation.loss(),
        })
        .collect();
    let patience = spec
        .train
        .early_stopping
        .map_or(defaults::ONSET_PATIENCE, |e| e.patience);
    let finite = |v: f64| v.is_finite().then_some(v);
    Overfitting {
        gap_at_best: outcome
            .best_epoch
            .and_then(|epoch| gap_at(&curve, epoch))
            .and_then(finite),
        test_train_gap: metrics.and_then(|m| finite(m.test.loss() - m.train.loss())),
        onset: onset(&curve, patience),
    }
}
