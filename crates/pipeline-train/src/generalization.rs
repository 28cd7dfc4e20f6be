//! Overfitting against generalization, read from a run's learning curves:
//! the gap between validation and training loss, and whether validation
//! loss rose from its minimum while training loss kept falling.

use serde::Serialize;

/// One epoch's losses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossPoint {
    pub epoch: u32,
    pub train: f64,
    pub validation: f64,
}

/// What the curves say.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Validation loss rose from its minimum while training loss kept falling.
    Overfitting {
        /// Epoch of the validation minimum.
        best_epoch: u32,
        /// Relative rise of validation loss from its minimum to the last epoch.
        validation_rise: f64,
        /// Relative fall of training loss over the same epochs.
        train_fall: f64,
    },
    /// Validation loss ends within `TOLERANCE` of its minimum.
    Generalizing { best_epoch: u32 },
    /// Both losses rose after the validation minimum (unstable training).
    Diverging { best_epoch: u32 },
    /// Fewer than two epochs: nothing to say.
    TooShort,
}

/// A rise of validation loss below this fraction is noise, not overfitting.
pub const TOLERANCE: f64 = 0.01;

pub fn assess(curve: &[LossPoint]) -> Verdict {
    if curve.len() < 2 {
        return Verdict::TooShort;
    }
    let Some(best) = curve
        .iter()
        .filter(|p| p.validation.is_finite())
        .min_by(|a, b| a.validation.total_cmp(&b.validation))
    else {
        return Verdict::TooShort;
    };
    let Some(last) = curve.last() else {
        return Verdict::TooShort;
    };
    let validation_rise =
        (last.validation - best.validation) / best.validation.abs().max(f64::MIN_POSITIVE);
    if validation_rise <= TOLERANCE {
        return Verdict::Generalizing {
            best_epoch: best.epoch,
        };
    }
    let train_fall = (best.train - last.train) / best.train.abs().max(f64::MIN_POSITIVE);
    if train_fall > 0.0 {
        Verdict::Overfitting {
            best_epoch: best.epoch,
            validation_rise,
            train_fall,
        }
    } else {
        Verdict::Diverging {
            best_epoch: best.epoch,
        }
    }
}

/// The onset of overfitting: the first epoch after which validation loss
/// stayed above its value at that epoch for each of the next `patience`
/// epochs, ending the window more than [`TOLERANCE`] higher, while training
/// loss ended the window lower (mini-batch noise may lift it in between).
/// `None`: it never began (or the curve is shorter than the window).
pub fn onset(curve: &[LossPoint], patience: u32) -> Option<u32> {
    let window = usize::try_from(patience.max(1)).ok()?;
    curve.windows(window + 1).find_map(|w| {
        let (start, after) = w.split_first()?;
        let end = after.last()?;
        let rises =
            after.iter().all(|p| p.validation > start.validation) && end.train < start.train;
        let clear = end.validation - start.validation
            > TOLERANCE * start.validation.abs().max(f64::MIN_POSITIVE);
        (rises && clear).then_some(start.epoch)
    })
}

/// Validation minus training loss at `epoch`, if the curve has it.
pub fn gap_at(curve: &[LossPoint], epoch: u32) -> Option<f64> {
    curve
        .iter()
        .find(|p| p.epoch == epoch)
        .map(|p| p.validation - p.train)
}

impl Verdict {
    /// One plain sentence.
    pub fn sentence(&self) -> String {
        match self {
            Verdict::Overfitting {
                best_epoch,
                validation_rise,
                train_fall,
            } => format!(
                "overfitting: validation loss rose {:.1}% from its minimum at epoch {best_epoch} while training loss kept falling ({:.1}% lower)",
                validation_rise * 100.0,
                train_fall * 100.0
            ),
            Verdict::Generalizing { best_epoch } => format!(
                "no overfitting: validation loss ends within {:.0}% of its minimum (epoch {best_epoch})",
                TOLERANCE * 100.0
            ),
            Verdict::Diverging { best_epoch } => format!(
                "unstable: training and validation loss both rose after epoch {best_epoch}; try a lower learning rate"
            ),
            Verdict::TooShort => "too few epochs to judge".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(points: &[(f64, f64)]) -> Vec<LossPoint> {
        points
            .iter()
            .enumerate()
            .map(|(i, &(train, validation))| LossPoint {
                epoch: i as u32 + 1,
                train,
                validation,
            })
            .collect()
    }

    #[test]
    fn rising_validation_with_falling_train_is_overfitting() {
        let v = assess(&curve(&[(10.0, 11.0), (5.0, 6.0), (3.0, 7.0), (2.0, 8.0)]));
        assert!(
            matches!(v, Verdict::Overfitting { best_epoch: 2, .. }),
            "{v:?}"
        );
        if let Verdict::Overfitting {
            validation_rise,
            train_fall,
            ..
        } = v
        {
            assert!((validation_rise - 2.0 / 6.0).abs() < 1e-12);
            assert!((train_fall - 0.6).abs() < 1e-12);
        }
    }

    #[test]
    fn onset_is_the_first_epoch_validation_never_returns_to() {
        // Epoch 3 is the validation minimum; from there it rises for 3 epochs
        // while training keeps falling.
        let c = curve(&[
            (10.0, 10.0),
            (8.0, 8.0),
            (6.0, 7.0),
            (5.0, 7.5),
            (4.0, 8.0),
            (3.0, 9.0),
        ]);
        assert_eq!(onset(&c, 3), Some(3));
        // A window longer than what follows: not yet.
        assert_eq!(onset(&c, 4), None);
        // A dip inside the window resets it.
        let c = curve(&[(10.0, 10.0), (8.0, 8.0), (7.0, 9.0), (6.0, 7.9), (5.0, 8.5)]);
        assert_eq!(onset(&c, 2), None);
        // A rise within the tolerance is noise.
        let c = curve(&[(10.0, 10.0), (9.0, 10.001), (8.0, 10.002)]);
        assert_eq!(onset(&c, 2), None);
        // Training loss may wobble inside the window if it ends lower.
        let c = curve(&[(10.0, 5.0), (11.0, 6.0), (9.0, 7.0)]);
        assert_eq!(onset(&c, 2), Some(1));
        // Both rising is divergence, not overfitting.
        let c = curve(&[(1.0, 1.0), (2.0, 2.0), (3.0, 3.0)]);
        assert_eq!(onset(&c, 2), None);
        assert_eq!(gap_at(&c, 2), Some(0.0));
        assert_eq!(gap_at(&c, 9), None);
    }

    #[test]
    fn flat_or_falling_validation_generalizes() {
        assert_eq!(
            assess(&curve(&[(10.0, 11.0), (5.0, 6.0), (4.0, 6.03)])),
            Verdict::Generalizing { best_epoch: 2 }
        );
        assert_eq!(assess(&curve(&[(10.0, 11.0)])), Verdict::TooShort);
        assert_eq!(
            assess(&curve(&[(1.0, 1.0), (2.0, 3.0)])),
            Verdict::Diverging { best_epoch: 1 }
        );
    }
}
