//! Metrics of a split: the loss, then the task's own (regression: mse, rmse,
//! mae, r2 on the file's scale; classification: accuracy, precision, recall,
//! F1, log loss, ROC AUC), in f64.

use pipeline_spec::{Loss, MetricName, SplitName};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// The metrics of one split, in the task's order ([`MetricName::for_task`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    values: Vec<(MetricName, f64)>,
}

impl Metrics {
    pub fn new(values: Vec<(MetricName, f64)>) -> Metrics {
        Metrics { values }
    }

    /// `None` when the task does not record `name`.
    pub fn get(&self, name: MetricName) -> Option<f64> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }

    /// The spec's loss (every task records it).
    pub fn loss(&self) -> f64 {
        self.get(MetricName::Loss).unwrap_or(f64::NAN)
    }

    pub fn iter(&self) -> impl Iterator<Item = (MetricName, f64)> + '_ {
        self.values.iter().copied()
    }
}

impl Serialize for Metrics {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.values.len()))?;
        for (name, value) in &self.values {
            map.serialize_entry(name.as_str(), value)?;
        }
        map.end()
    }
}

/// Metrics of the three splits.
#[derive(Debug, Clone, PartialEq, Serialize)]
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

/// Regression metrics of `predictions` against `targets` (row-major, `width`
/// values per row, on the file's scale); `loss` is the spec's loss on the
/// model's scale when it differs (normalized targets), else `None` to
/// compute it here. With several targets each metric is the mean over the
/// targets (scikit-learn's `multioutput="uniform_average"`).
pub fn regression_metrics(
    loss: &Loss,
    predictions: &[f32],
    targets: &[f32],
    width: usize,
    model_scale_loss: Option<f64>,
) -> Metrics {
    let width = width.max(1);
    let rows = targets.len() / width;
    let n = rows.max(1) as f64;
    let (mut mse, mut mae, mut r2, mut loss_sum) = (0.0, 0.0, 0.0, 0.0);
    for c in 0..width {
        let column = |v: &[f32]| -> Vec<f64> {
            v.iter()
                .skip(c)
                .step_by(width)
                .map(|x| f64::from(*x))
                .collect()
        };
        let (p, t) = (column(predictions), column(targets));
        let (mut se, mut ae) = (0.0, 0.0);
        for (p, t) in p.iter().zip(&t) {
            let d = p - t;
            se += d * d;
            ae += d.abs();
            loss_sum += match *loss {
                Loss::Mae => d.abs(),
                Loss::Huber { delta } => {
                    let q = d.abs().min(delta);
                    0.5 * q * q + delta * (d.abs() - q)
                }
                _ => d * d,
            };
        }
        let mean = t.iter().sum::<f64>() / n;
        let total: f64 = t.iter().map(|t| (t - mean).powi(2)).sum();
        mse += se / n;
        mae += ae / n;
        // Constant targets: 1 for perfect predictions, else 0 (scikit-learn's force_finite).
        r2 += match (total > 0.0, se == 0.0) {
            (true, _) => 1.0 - se / total,
            (false, true) => 1.0,
            (false, false) => 0.0,
        };
    }
    let k = width as f64;
    let (mse, mae, r2) = (mse / k, mae / k, r2 / k);
    Metrics::new(vec![
        (
            MetricName::Loss,
            model_scale_loss.unwrap_or(loss_sum / (n * k)),
        ),
        (MetricName::Mse, mse),
        (MetricName::Rmse, mse.sqrt()),
        (MetricName::Mae, mae),
        (MetricName::R2, r2),
    ])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    // scikit-learn 1.x on y_true = [3, -0.5, 2, 7], y_pred = [2.5, 0.0, 2, 8]
    // (the examples of its docs): mean_squared_error 0.375,
    // mean_absolute_error 0.5, r2_score 0.9486081370449679.
    #[test]
    fn matches_scikit_learn_doc_examples() {
        let m = regression_metrics(
            &Loss::Mse,
            &[2.5, 0.0, 2.0, 8.0],
            &[3.0, -0.5, 2.0, 7.0],
            1,
            None,
        );
        let get = |m: &Metrics, name| m.get(name).unwrap();
        assert!((get(&m, MetricName::Mse) - 0.375).abs() < 1e-12);
        assert!((get(&m, MetricName::Rmse) - 0.375f64.sqrt()).abs() < 1e-12);
        assert!((get(&m, MetricName::Mae) - 0.5).abs() < 1e-12);
        assert!((get(&m, MetricName::R2) - 0.948_608_137_044_967_9).abs() < 1e-12);
        assert_eq!(m.loss(), get(&m, MetricName::Mse));
        let huber = regression_metrics(
            &Loss::Huber { delta: 1.0 },
            &[2.5, 0.0, 2.0, 8.0],
            &[3.0, -0.5, 2.0, 7.0],
            1,
            None,
        );
        // torch.nn.functional.huber_loss: (0.125 + 0.125 + 0 + 0.5) / 4
        assert!((huber.loss() - 0.1875).abs() < 1e-12);
    }

    // scikit-learn's multioutput doc example: y_true = [[0.5, 1], [-1, 1],
    // [7, -6]], y_pred = [[0, 2], [-1, 2], [8, -5]]: mean_squared_error
    // 0.7083333333333334, mean_absolute_error 0.75, r2_score
    // 0.9368005266622779 (uniform average).
    #[test]
    fn several_targets_average_uniformly() {
        let m = regression_metrics(
            &Loss::Mse,
            &[0.0, 2.0, -1.0, 2.0, 8.0, -5.0],
            &[0.5, 1.0, -1.0, 1.0, 7.0, -6.0],
            2,
            None,
        );
        assert!((m.get(MetricName::Mse).unwrap() - 0.708_333_333_333_333_4).abs() < 1e-12);
        assert!((m.get(MetricName::Mae).unwrap() - 0.75).abs() < 1e-12);
        assert!((m.get(MetricName::R2).unwrap() - 0.936_800_526_662_277_9).abs() < 1e-12);
    }

    // scikit-learn's r2_score on constant targets: 1.0 when the predictions
    // are perfect, 0.0 otherwise.
    #[test]
    fn r2_of_constant_targets_follows_scikit_learn() {
        let r2 = |p: &[f32]| {
            regression_metrics(&Loss::Mse, p, &[2.0, 2.0], 1, None)
                .get(MetricName::R2)
                .unwrap()
        };
        assert_eq!(r2(&[2.0, 2.0]), 1.0);
        assert_eq!(r2(&[1.0, 3.0]), 0.0);
    }
}
