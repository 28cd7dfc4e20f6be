//! One axis of a sweep plot: a parameter's (or the metric's) values mapped
//! to `0..=1` along the axis, with round ticks. A numeric axis spans the
//! trials' values, widened to round numbers; a log axis works in log10 units,
//! ends on 1, 2 or 5 times a power of ten and ticks at the decades (and at 2
//! and 5 times them when it spans two decades or less); a categorical axis
//! spaces its labels evenly, in their given order.

use serde_json::Value;

use crate::output::svg::{nice_step, tick_label};

/// A place on an axis, as a fraction of its length, with its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub fraction: f64,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Axis {
    Linear {
        low: f64,
        high: f64,
    },
    /// `low` and `high` in log10 units.
    Log {
        low: f64,
        high: f64,
    },
    Categorical(Vec<String>),
}

impl Axis {
    /// From the lowest to the highest finite value, each end moved out to a
    /// multiple of a round step; `0..1` when there is no value.
    pub fn linear(values: &[f64]) -> Axis {
        let finite = values.iter().copied().filter(|v| v.is_finite());
        let (Some(min), Some(max)) = (finite.clone().reduce(f64::min), finite.reduce(f64::max))
        else {
            return Axis::Linear {
                low: 0.0,
                high: 1.0,
            };
        };
        let (min, max) = if max > min {
            (min, max)
        } else {
            let pad = if min == 0.0 { 1.0 } else { min.abs() * 0.1 };
            (min - pad, max + pad)
        };
        let step = nice_step((max - min) / 5.0);
        Axis::Linear {
            low: (min / step).floor() * step,
            high: (max / step).ceil() * step,
        }
    }

    /// From the positive values' lowest to highest, each end moved out to 1,
    /// 2 or 5 times a power of ten; a linear axis when no value is positive.
    pub fn log(values: &[f64]) -> Axis {
        let positive = values.iter().copied().filter(|v| v.is_finite() && *v > 0.0);
        let (Some(min), Some(max)) = (positive.clone().reduce(f64::min), positive.reduce(f64::max))
        else {
            return Axis::linear(values);
        };
        let (mut low, mut high) = (round_down(min).log10(), round_up(max).log10());
        if high - low < 1e-9 {
            // One round value: from the round value below to the one above.
            low = round_down(10f64.powf(low) * 0.99).log10();
            high = round_up(10f64.powf(high) * 1.01).log10();
        }
        Axis::Log { low, high }
    }

    pub fn is_log(&self) -> bool {
        matches!(self, Axis::Log { .. })
    }

    /// Where a trial's value goes; `None` when it cannot be placed (not a
    /// number on a numeric axis, not above zero on a log one, not one of the
    /// categories).
    pub fn fraction(&self, value: &Value) -> Option<f64> {
        match self {
            Axis::Categorical(labels) => {
                let text = super::label(value);
                let index = labels.iter().position(|l| *l == text).or_else(|| {
                    // `32` and `32.0` are one category.
                    let number = value.as_f64()?;
                    labels
                        .iter()
                        .position(|l| l.parse::<f64>().is_ok_and(|n| n == number))
                })?;
                Some((index as f64 + 0.5) / labels.len() as f64)
            }
            _ => self.number_fraction(value.as_f64()?),
        }
    }

    /// Where a number goes on a numeric axis.
    pub fn number_fraction(&self, value: f64) -> Option<f64> {
        if !value.is_finite() {
            return None;
        }
        match *self {
            Axis::Linear { low, high } => Some((value - low) / (high - low)),
            Axis::Log { low, high } if value > 0.0 => Some((value.log10() - low) / (high - low)),
            _ => None,
        }
    }

    pub fn ticks(&self) -> Vec<Tick> {
        match *self {
            Axis::Categorical(ref labels) => labels
                .iter()
                .enumerate()
                .map(|(index, label)| Tick {
                    fraction: (index as f64 + 0.5) / labels.len() as f64,
                    label: label.clone(),
                })
                .collect(),
            Axis::Linear { low, high } => {
                let step = nice_step((high - low) / 6.0);
                let first = (low / step - 1e-9).ceil() as i64;
                let last = (high / step + 1e-9).floor() as i64;
                (first..=last)
                    .map(|i| i as f64 * step)
                    .map(|value| Tick {
                        fraction: (value - low) / (high - low),
                        label: tick_label(value),
                    })
                    .collect()
            }
            Axis::Log { low, high } => {
                let multiples: &[f64] = if high - low > 2.0 + 1e-9 {
                    &[1.0]
                } else {
                    &[1.0, 2.0, 5.0]
                };
                (low.floor() as i32..=high.ceil() as i32)
                    .flat_map(|k| multiples.iter().map(move |m| m * 10f64.powi(k)))
                    .filter(|v| (low - 1e-9..=high + 1e-9).contains(&v.log10()))
                    .map(|value| Tick {
                        fraction: (value.log10() - low) / (high - low),
                        label: tick_label(value),
                    })
                    .collect()
            }
        }
    }
}

/// The largest of 1, 2 or 5 times a power of ten that is at most `value`.
fn round_down(value: f64) -> f64 {
    let power = 10f64.powf(value.log10().floor());
    [5.0, 2.0, 1.0, 0.5]
        .into_iter()
        .map(|m| m * power)
        .find(|r| *r <= value * (1.0 + 1e-12))
        .unwrap_or(power / 10.0)
}

/// The smallest of 1, 2 or 5 times a power of ten that is at least `value`.
fn round_up(value: f64) -> f64 {
    let power = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|r| *r >= value * (1.0 - 1e-12))
        .unwrap_or(power * 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(axis: &Axis) -> Vec<String> {
        axis.ticks().into_iter().map(|t| t.label).collect()
    }

    #[test]
    fn a_log_axis_ends_on_round_values_and_ticks_at_decades() {
        let axis = Axis::log(&[1.2e-4, 3e-3, 0.09]);
        assert_eq!(
            axis,
            Axis::Log {
                low: 1e-4f64.log10(),
                high: 0.1f64.log10()
            }
        );
        assert_eq!(labels(&axis), ["1e-4", "0.001", "0.01", "0.1"]);
        let fractions: Vec<f64> = axis.ticks().iter().map(|t| t.fraction).collect();
        for (tick, expected) in fractions.iter().zip([0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0]) {
            assert!((tick - expected).abs() < 1e-9, "{fractions:?}");
        }
        let narrow = Axis::log(&[16.0, 128.0]);
        assert_eq!(labels(&narrow), ["10", "20", "50", "100", "200"]);
        let one = Axis::log(&[0.01, 0.01]);
        assert_eq!(labels(&one), ["0.005", "0.01", "0.02"]);
        assert_eq!(Axis::log(&[-1.0, 0.0]), Axis::linear(&[-1.0, 0.0]));
        assert_eq!(axis.number_fraction(0.0), None);
    }

    #[test]
    fn a_linear_axis_ends_on_round_steps() {
        let axis = Axis::linear(&[0.0013, 0.0087]);
        assert_eq!(labels(&axis).first().map(String::as_str), Some("0.001"));
        assert_eq!(labels(&axis).last().map(String::as_str), Some("0.009"));
        assert_eq!(
            labels(&Axis::linear(&[-3.0, 97.0])),
            ["-20", "0", "20", "40", "60", "80", "100"]
        );
        let flat = Axis::linear(&[3.0, 3.0]);
        assert!(matches!(flat, Axis::Linear { low, high } if low < 3.0 && high > 3.0));
        assert_eq!(
            Axis::linear(&[f64::NAN]),
            Axis::Linear {
                low: 0.0,
                high: 1.0
            }
        );
        assert_eq!(axis.fraction(&Value::from("x")), None);
    }

    #[test]
    fn categories_are_evenly_spaced_and_matched_by_label_or_number() {
        let axis = Axis::Categorical(vec!["16".into(), "32".into(), "relu".into(), "true".into()]);
        assert_eq!(axis.fraction(&Value::from(16)), Some(0.125));
        assert_eq!(axis.fraction(&Value::from(32.0)), Some(0.375));
        assert_eq!(axis.fraction(&Value::from("relu")), Some(0.625));
        assert_eq!(axis.fraction(&Value::from(true)), Some(0.875));
        assert_eq!(axis.fraction(&Value::from(64)), None);
        assert_eq!(labels(&axis), ["16", "32", "relu", "true"]);
    }
}
