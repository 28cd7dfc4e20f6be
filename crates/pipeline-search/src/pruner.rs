//! Pruning: after each epoch of a trial, a pruner may stop it when its curve is hopeless next to
//! the other trials' curves at the same epoch. The answer carries the numbers and a sentence
//! for the run's `error`, so a user reads why the trial stopped.

use serde::Serialize;

use crate::SearchError;
use crate::asha::AshaPruner;
use crate::curves::Curves;
use crate::median::MedianPruner;
use crate::space::Goal;

/// A decision to stop a trial.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Pruning {
    pub epoch: u32,
    /// The trial's value judged (its best so far at `epoch`).
    pub value: f64,
    /// The value it needed to reach to go on.
    pub threshold: f64,
    /// A sentence with the metric, the value, the epoch and the threshold.
    pub reason: String,
}

/// Decides, after trial `trial` recorded `epoch` in `curves`, whether it stops there.
pub trait Pruner: Send + Sync {
    fn decide(&self, trial: u32, epoch: u32, curves: &Curves) -> Option<Pruning>;
}

/// Which pruner, with its settings (what `[sweep.pruner]` says).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum PrunerKind {
    None,
    Median { min_epochs: u32, min_trials: u32 },
    Asha { min_epochs: u32, reduction: u32 },
}

/// The pruner of `kind` judging `metric` (named in its reasons) towards `goal`, for trials of
/// `max_epochs` epochs; `None` for no pruning. ASHA needs `min_epochs ≥ 1` and `reduction ≥ 2`.
pub fn pruner(
    kind: PrunerKind,
    metric: &str,
    goal: Goal,
    max_epochs: u32,
) -> Result<Option<Box<dyn Pruner>>, SearchError> {
    Ok(match kind {
        PrunerKind::None => None,
        PrunerKind::Median {
            min_epochs,
            min_trials,
        } => Some(Box::new(MedianPruner::new(
            metric, goal, min_epochs, min_trials,
        ))),
        PrunerKind::Asha {
            min_epochs,
            reduction,
        } => Some(Box::new(AshaPruner::new(
            metric, goal, min_epochs, reduction, max_epochs,
        )?)),
    })
}

/// A metric value for a sentence: four significant digits, scientific when tiny or huge.
pub(crate) fn format_value(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-4..1e6).contains(&magnitude) {
        return format!("{value:.3e}");
    }
    let digits = if magnitude == 0.0 {
        0
    } else {
        (3 - magnitude.log10().floor() as i32).clamp(0, 8) as usize
    };
    let text = format!("{value:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_with_four_significant_digits() {
        let cases = [
            (0.614_159, "0.6142"),
            (12.5, "12.5"),
            (1234.567, "1235"),
            (0.0, "0"),
            (-0.000_123_46, "-0.0001235"),
            (3e-7, "3.000e-7"),
            (f64::NAN, "NaN"),
        ];
        for (value, text) in cases {
            assert_eq!(format_value(value), text, "{value}");
        }
    }

    #[test]
    fn asha_settings_that_would_never_end_are_refused() {
        let refused = pruner(
            PrunerKind::Asha {
                min_epochs: 10,
                reduction: 1,
            },
            "val_loss",
            Goal::Minimize,
            60,
        )
        .err();
        assert_eq!(
            refused,
            Some(SearchError::PrunerSetting {
                setting: "reduction",
                minimum: 2,
                value: 1
            })
        );
        assert!(
            pruner(PrunerKind::None, "val_loss", Goal::Minimize, 60).is_ok_and(|p| p.is_none())
        );
    }
}
