//! Normalization fitted on the training split only and applied unchanged to
//! every split and at inference. A constant column is shifted but not
//! scaled, so nothing divides by zero.

use pipeline_spec::Normalize;
use serde::{Deserialize, Serialize};

/// `x' = (x - shift) / scale` for one column.
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
}

/// Everything inference needs to turn raw rows into model inputs: stored as
/// JSON with each run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocessing {
    /// Input columns, in the order the model sees them.
    pub features: Vec<String>,
    pub target: String,
    pub normalize: Normalize,
    /// One transform per feature, in `features` order.
    pub transforms: Vec<ColumnTransform>,
}

impl Preprocessing {
    /// Normalizes a row-major `rows × features` matrix in place.
    pub fn apply(&self, matrix: &mut [f64]) {
        let width = self.transforms.len().max(1);
        for row in matrix.chunks_mut(width) {
            for (value, t) in row.iter_mut().zip(&self.transforms) {
                *value = t.apply(*value);
            }
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
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
        for kind in [Normalize::Zscore, Normalize::Minmax] {
            let t = ColumnTransform::fit("x", kind, [5.0, 5.0].into_iter());
            assert_eq!(t.scale, 1.0);
            assert_eq!(t.apply(5.0), 0.0);
        }
    }

    #[test]
    fn preprocessing_round_trips_as_json() {
        let p = Preprocessing {
            features: vec!["a".into()],
            target: "y".into(),
            normalize: Normalize::Zscore,
            transforms: vec![ColumnTransform {
                column: "a".into(),
                shift: 1.5,
                scale: 0.25,
            }],
        };
        assert_eq!(
            Preprocessing::from_json(&p.to_json()).unwrap_or_else(|e| unreachable!("{e}")),
            p
        );
    }
}
