//! Normalization fitted on the training split only and applied unchanged to
//! every split and at inference. A constant column is shifted but not
//! scaled, so nothing divides by zero.

use pipeline_spec::Normalize;
use serde::{Deserialize, Serialize};

use crate::stats;

/// `x' = (x - shift) / scale` for one model input (`column` is the input's
/// name: the column, or `column=category` for a one-hot input).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnTransform {
    pub column: String,
    pub shift: f64,
    pub scale: f64,
}

impl ColumnTransform {
    /// Fits `kind` on the training values of one column.
    pub fn fit(
        column: &str,
        kind: Normalize,
        train_values: impl Iterator<Item = f64> + Clone,
    ) -> Self {
        let (shift, scale) = match kind {
            Normalize::None => (0.0, 1.0),
            Normalize::Zscore => {
                let (n, sum) = train_values
                    .clone()
                    .fold((0usize, 0.0), |(n, s), v| (n + 1, s + v));
                let mean = if n == 0 { 0.0 } else { sum / n as f64 };
                // Population standard deviation (ddof = 0), as scikit-learn's StandardScaler.
                let var = if n == 0 {
                    0.0
                } else {
                    train_values.map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64
                };
                (mean, var.sqrt())
            }
            Normalize::Robust => {
                // scikit-learn's RobustScaler: median and the 25th-75th
                // percentile range (numpy's linear interpolation).
                let values: Vec<f64> = train_values.collect();
                match (
                    stats::median(&values),
                    stats::quantile(&values, 0.25),
                    stats::quantile(&values, 0.75),
                ) {
                    (Some(median), Some(q1), Some(q3)) => (median, q3 - q1),
                    _ => (0.0, 1.0),
                }
            }
            Normalize::Minmax => {
                let (min, max) = train_values
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                        (lo.min(v), hi.max(v))
                    });
                if min.is_finite() {
                    (min, max - min)
                } else {
                    (0.0, 1.0)
                }
            }
        };
        let scale = if scale.is_finite() && scale > 1e-12 {
            scale
        } else {
            1.0
        };
        ColumnTransform {
            column: column.to_string(),
            shift,
            scale,
        }
    }

    pub fn apply(&self, value: f64) -> f64 {
        (value - self.shift) / self.scale
    }

    /// The identity (one-hot inputs, `normalize = "none"`).
    pub fn identity(column: &str) -> Self {
        ColumnTransform {
            column: column.to_string(),
            shift: 0.0,
            scale: 1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zscore_uses_population_std() {
        let t = ColumnTransform::fit("x", Normalize::Zscore, [1.0, 2.0, 3.0, 4.0].into_iter());
        assert_eq!(t.shift, 2.5);
        assert!((t.scale - 1.25f64.sqrt()).abs() < 1e-12);
        assert!((t.apply(4.0) - 1.5 / 1.25f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn minmax_maps_train_range_to_unit_interval() {
        let t = ColumnTransform::fit("x", Normalize::Minmax, [2.0, 6.0, 4.0].into_iter());
        assert_eq!((t.apply(2.0), t.apply(6.0), t.apply(4.0)), (0.0, 1.0, 0.5));
    }

    #[test]
    fn constant_columns_do_not_divide_by_zero() {
        for kind in [Normalize::Zscore, Normalize::Minmax, Normalize::Robust] {
            let t = ColumnTransform::fit("x", kind, [5.0, 5.0].into_iter());
            assert_eq!(t.scale, 1.0);
            assert_eq!(t.apply(5.0), 0.0);
        }
    }

    #[test]
    fn robust_uses_median_and_interquartile_range() {
        // sklearn.preprocessing.RobustScaler().fit([[1], [2], [3], [4], [100]]):
        // center_ = 3.0, scale_ = 4.0 - 2.0 = 2.0
        let t = ColumnTransform::fit(
            "x",
            Normalize::Robust,
            [1.0, 2.0, 3.0, 4.0, 100.0].into_iter(),
        );
        assert_eq!((t.shift, t.scale), (3.0, 2.0));
        assert_eq!(t.apply(100.0), 48.5);
        // Even count: median 2.5, q1 1.75, q3 3.25.
        let t = ColumnTransform::fit("x", Normalize::Robust, [4.0, 1.0, 3.0, 2.0].into_iter());
        assert_eq!((t.shift, t.scale), (2.5, 1.5));
    }
}
