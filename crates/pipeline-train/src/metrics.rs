//! Regression metrics, computed in f64 on the original target scale.

use pipeline_spec::{Loss, MetricName, SplitName};
use serde::Serialize;

/// The metrics of one split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Metrics {
    /// The spec's loss.
    pub loss: f64,
    pub mse: f64,
    pub rmse: f64,
    pub mae: f64,
    /// Coefficient of determination against the split's own mean, as
    /// scikit-learn's `r2_score`.
    pub r2: f64,
}

impl Metrics {
    pub fn get(&self, name: MetricName) -> f64 {
        match name {
            MetricName::Loss => self.loss,
            MetricName::Mse => self.mse,
            MetricName::Rmse => self.rmse,
            MetricName::Mae => self.mae,
            MetricName::R2 => self.r2,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (MetricName, f64)> + '_ {
        MetricName::ALL.into_iter().map(|m| (m, self.get(m)))
    }
}

/// Metrics of the three splits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SplitMetrics {
    pub train: Metrics,
    pub validation: Metrics,
    pub test: Metrics,
}

impl SplitMetrics {
    pub fn get(&self, split: SplitName) -> &Metrics {
        match split {
            SplitName::Train => &self.train,
            SplitName::Validation => &self.validation,
            SplitName::Test => &self.test,
        }
    }
}

/// Metrics of `predictions` against `targets` (same length).
pub fn regression_metrics(loss: &Loss, predictions: &[f32], targets: &[f32]) -> Metrics {
    let n = predictions.len().max(1) as f64;
    let (mut se, mut ae, mut loss_sum) = (0.0, 0.0, 0.0);
    for (p, t) in predictions.iter().zip(targets) {
        let d = f64::from(*p) - f64::from(*t);
        se += d * d;
        ae += d.abs();
        loss_sum += match *loss {
            Loss::Mse => d * d,
            Loss::Mae => d.abs(),
            Loss::Huber { delta } => {
                let q = d.abs().min(delta);
                0.5 * q * q + delta * (d.abs() - q)
            }
        };
    }
    let mean = targets.iter().map(|t| f64::from(*t)).sum::<f64>() / n;
    let total: f64 = targets.iter().map(|t| (f64::from(*t) - mean).powi(2)).sum();
    let mse = se / n;
    Metrics {
        loss: loss_sum / n,
        mse,
        rmse: mse.sqrt(),
        mae: ae / n,
        // Constant targets: 1 for perfect predictions, else 0 (scikit-learn's force_finite).
        r2: match (total > 0.0, se == 0.0) {
            (true, _) => 1.0 - se / total,
            (false, true) => 1.0,
            (false, false) => 0.0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // scikit-learn 1.x on y_true = [3, -0.5, 2, 7], y_pred = [2.5, 0.0, 2, 8]
    // (the examples of its docs): mean_squared_error 0.375,
    // mean_absolute_error 0.5, r2_score 0.9486081370449679.
    #[test]
    fn matches_scikit_learn_doc_examples() {
        let m = regression_metrics(&Loss::Mse, &[2.5, 0.0, 2.0, 8.0], &[3.0, -0.5, 2.0, 7.0]);
        assert!((m.mse - 0.375).abs() < 1e-12);
        assert!((m.rmse - 0.375f64.sqrt()).abs() < 1e-12);
        assert!((m.mae - 0.5).abs() < 1e-12);
        assert!((m.r2 - 0.948_608_137_044_967_9).abs() < 1e-12);
        assert_eq!(m.loss, m.mse);
        let huber = regression_metrics(
            &Loss::Huber { delta: 1.0 },
            &[2.5, 0.0, 2.0, 8.0],
            &[3.0, -0.5, 2.0, 7.0],
        );
        // torch.nn.functional.huber_loss: (0.125 + 0.125 + 0 + 0.5) / 4
        assert!((huber.loss - 0.1875).abs() < 1e-12);
    }

    // scikit-learn's r2_score on constant targets: 1.0 when the predictions
    // are perfect, 0.0 otherwise.
    #[test]
    fn r2_of_constant_targets_follows_scikit_learn() {
        assert_eq!(
            regression_metrics(&Loss::Mse, &[2.0, 2.0], &[2.0, 2.0]).r2,
            1.0
        );
        assert_eq!(
            regression_metrics(&Loss::Mse, &[1.0, 3.0], &[2.0, 2.0]).r2,
            0.0
        );
    }
}
