//! The stored overfitting summary of a run: the gap at the best epoch, test
//! minus train loss of the kept model, the onset of overfitting, and the
//! graded diagnosis (`pipeline_train::diagnosis`) with the skill over a
//! trivial baseline it rests on.

use pipeline_registry::{Overfitting, StoredDiagnosis};
use pipeline_spec::{MetricName, Spec, defaults};
use pipeline_train::diagnosis::{Diagnosis, Evidence, diagnose};
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
    let diagnosis = diagnose(Evidence {
        curve: &curve,
        best_epoch: outcome.best_epoch,
        skill: skill(outcome, metrics),
    });
    Overfitting {
        gap_at_best: outcome
            .best_epoch
            .and_then(|epoch| gap_at(&curve, epoch))
            .and_then(finite),
        test_train_gap: metrics.and_then(|m| finite(m.test.loss() - m.train.loss())),
        onset: onset(&curve, patience),
        diagnosis: stored(&diagnosis),
    }
}

/// Validation skill of the kept model over a constant predictor.
/// Regression: R² (0: no better than the train mean), from the final
/// metrics, else the best epoch's. Classification: accuracy above the
/// validation split's majority-class share, scaled so 1 is perfect (needs
/// the final per-class report: `None` for an interrupted run).
fn skill(outcome: &Outcome, metrics: Option<&SplitMetrics>) -> Option<f64> {
    let best = outcome
        .best_epoch
        .and_then(|b| outcome.history.iter().find(|e| e.epoch == b))
        .map(|e| &e.validation);
    let validation = metrics.map(|m| &m.validation).or(best)?;
    if let Some(r2) = validation.get(MetricName::R2) {
        return Some(r2);
    }
    let accuracy = validation.get(MetricName::Accuracy)?;
    let report = &outcome.final_reports.as_ref()?.validation;
    let total: u64 = report.per_class.iter().map(|c| c.support).sum();
    let majority = report.per_class.iter().map(|c| c.support).max()?;
    if total == 0 || majority == total {
        return None;
    }
    let share = majority as f64 / total as f64;
    Some((accuracy - share) / (1.0 - share))
}

/// The registry's words for `diagnosis`.
pub fn stored(diagnosis: &Diagnosis) -> StoredDiagnosis {
    StoredDiagnosis {
        verdict: Some(diagnosis.verdict.as_str().to_string()),
        verdict_grade: diagnosis.grade.map(|g| g.as_str().to_string()),
        verdict_findings: diagnosis.findings.iter().map(|f| f.as_stored()).collect(),
        val_above_min: diagnosis.val_above_min,
        train_drop: diagnosis.train_drop,
        val_recent_drop: diagnosis.val_recent_drop,
        skill: diagnosis.skill,
    }
}
