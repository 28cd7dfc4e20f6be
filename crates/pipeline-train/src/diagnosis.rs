//! A graded diagnosis of a run from its learning curves and its skill over a
//! trivial baseline: one primary verdict (diverged, learning rate too high or
//! too low, underfitting, overfitting, still improving, good fit) plus every
//! finding that holds, and the numbers each rests on, so the registry can
//! store them and `show` can print the evidence beside the hint.
//!
//! The signals, each on the per-epoch losses (`train` scored after the epoch,
//! `validation` likewise) and on `skill`, the validation score of the kept
//! model relative to a constant predictor (regression: R², so 0 is "no
//! better than predicting the train mean"; classification: accuracy above
//! the majority class's share, scaled so 1 is perfect and 0 is "always the
//! majority class"):
//!
//! - **diverged**: a non-finite loss, or a last training loss more than
//!   [`DIVERGED_RISE`] times its first, or a skill below [`DIVERGED_SKILL`]
//!   (a first epoch that blew up, then fell, but not back to sense).
//! - **learning rate too high**: training loss rose by more than
//!   [`JUMP`] from one epoch to the next in at least [`OSCILLATION_SHARE`] of
//!   the steps (and at least twice), or diverged. A full pass scores the
//!   training split after each epoch, so a rise there is the optimizer
//!   overshooting, not mini-batch noise.
//! - **learning rate too low**: training loss fell less than [`BARELY`]
//!   over at least [`MIN_EPOCHS_FOR_RATE`] epochs while the model is still
//!   poor (skill below [`GOOD_SKILL`]): a model that is already good may
//!   simply have converged in its first epoch.
//! - **underfitting**: skill below [`UNDERFIT_SKILL`]; strong at or below
//!   [`NO_SKILL`] (no better than the baseline).
//! - **overfitting**: validation loss ends more than [`OVERFIT_MILD`] above
//!   its minimum while training loss kept falling after that minimum;
//!   strong from [`OVERFIT_STRONG`]. The shipped pair reads apart: the
//!   regularized run (2.5% above its minimum) is mild, the wide one (7.5%,
//!   train loss down 86%) strong. 1% is the tolerance `onset` already uses
//!   for noise; 5% is where the last weights are clearly worse than the
//!   kept ones, beyond the epoch-to-epoch wobble of the shipped runs.
//! - **still improving**: the best epoch is the last; graded by how much
//!   validation loss fell over the last quarter of the run (slight under
//!   1%, mild under 5%, strong beyond).
//! - **good fit**: none of the above.

use serde::Serialize;

use crate::generalization::LossPoint;

/// A last training loss this many times its first: diverged.
pub const DIVERGED_RISE: f64 = 1.5;
/// Skill below this (validation loss an order of magnitude above a constant
/// prediction's): diverged, even when the loss fell from a huge first epoch.
pub const DIVERGED_SKILL: f64 = -10.0;
/// A relative epoch-to-epoch rise of training loss that counts as a jump.
pub const JUMP: f64 = 0.05;
/// The share of epoch steps with a jump that reads as oscillation.
pub const OSCILLATION_SHARE: f64 = 0.25;
/// Training loss falling less than this over the run barely moved.
pub const BARELY: f64 = 0.05;
/// Fewer epochs than this say nothing about the learning rate being low.
pub const MIN_EPOCHS_FOR_RATE: usize = 3;
/// Skill at or above this is a good model (not too low a learning rate).
pub const GOOD_SKILL: f64 = 0.5;
/// Skill below this is underfitting.
pub const UNDERFIT_SKILL: f64 = 0.3;
/// Skill at or below this is no better than the trivial baseline.
pub const NO_SKILL: f64 = 0.0;
/// Validation loss this far above its minimum (relative) is overfitting.
pub const OVERFIT_MILD: f64 = 0.01;
/// ... and this far, strong overfitting.
pub const OVERFIT_STRONG: f64 = 0.05;

/// What a run's curves say, most pressing first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Diverged,
    LearningRateTooHigh,
    LearningRateTooLow,
    Underfitting,
    Overfitting,
    StillImproving,
    GoodFit,
    /// Fewer than two epochs: nothing to say.
    TooShort,
}

/// How strongly a finding holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    Slight,
    Mild,
    Strong,
}

/// One verdict that holds, with its grade where it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub verdict: Verdict,
    pub grade: Option<Grade>,
}

/// The verdict, every finding (the primary one first) and the evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnosis {
    pub verdict: Verdict,
    pub grade: Option<Grade>,
    /// Every finding that holds, most pressing first (the verdict's first).
    pub findings: Vec<Finding>,
    /// Validation loss at the end relative to its minimum, minus 1.
    pub val_above_min: Option<f64>,
    /// How much training loss fell from the first epoch to the last,
    /// relative to the first (0.86: down 86%).
    pub train_drop: Option<f64>,
    /// How much validation loss fell over the last quarter of the run,
    /// relative (negative: it rose).
    pub val_recent_drop: Option<f64>,
    /// Validation skill over a trivial baseline (see the module doc).
    pub skill: Option<f64>,
}

/// What a diagnosis reads.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    /// Every finished epoch, in order.
    pub curve: &'a [LossPoint],
    /// The epoch whose weights were kept (lowest validation loss when `None`).
    pub best_epoch: Option<u32>,
    /// Validation skill over a trivial baseline, when known.
    pub skill: Option<f64>,
}

/// The diagnosis of `evidence`; pure, see the module doc for each signal.
pub fn diagnose(evidence: Evidence<'_>) -> Diagnosis {
    let Evidence {
        curve,
        best_epoch,
        skill,
    } = evidence;
    let skill = skill.filter(|s| s.is_finite());
    let mut findings = Vec::new();
    let finite = curve
        .iter()
        .all(|p| p.train.is_finite() && p.validation.is_finite());
    let (first, last) = match (curve.first(), curve.last()) {
        (Some(first), Some(last)) => (first, last),
        _ => return nothing(skill),
    };
    let relative = |from: f64, to: f64| (from - to) / from.abs().max(f64::MIN_POSITIVE);
    let train_drop = finite.then(|| relative(first.train, last.train));
    let min = curve
        .iter()
        .filter(|p| p.validation.is_finite())
        .min_by(|a, b| a.validation.total_cmp(&b.validation));
    let val_above_min = min
        .filter(|_| finite)
        .map(|m| -relative(m.validation, last.validation));
    let quarter = (curve.len() / 4).max(1);
    let val_recent_drop = curve
        .len()
        .checked_sub(quarter + 1)
        .and_then(|i| curve.get(i))
        .filter(|_| finite && curve.len() >= 2)
        .map(|p| relative(p.validation, last.validation));

    // Diverged and a learning rate too high.
    let diverged = !finite
        || last.train > DIVERGED_RISE * first.train.abs()
        || skill.is_some_and(|s| s < DIVERGED_SKILL);
    if diverged {
        findings.push(Finding {
            verdict: Verdict::Diverged,
            grade: None,
        });
    }
    let steps = curve.len().saturating_sub(1);
    let jumps = curve
        .windows(2)
        .filter(|w| w[1].train > w[0].train * (1.0 + JUMP) && w[0].train > 0.0)
        .count();
    let oscillating = jumps >= 2 && (jumps as f64) >= OSCILLATION_SHARE * steps as f64;
    if diverged || oscillating {
        findings.push(Finding {
            verdict: Verdict::LearningRateTooHigh,
            grade: Some(if diverged { Grade::Strong } else { Grade::Mild }),
        });
    }
    if curve.len() < 2 {
        if findings.is_empty() {
            return nothing(skill);
        }
    } else if finite {
        // A learning rate too low.
        let poor = skill.is_some_and(|s| s < GOOD_SKILL);
        if curve.len() >= MIN_EPOCHS_FOR_RATE
            && poor
            && train_drop.is_some_and(|d| d < BARELY)
            && !oscillating
        {
            findings.push(Finding {
                verdict: Verdict::LearningRateTooLow,
                grade: None,
            });
        }
        // Underfitting.
        if let Some(s) = skill.filter(|s| *s < UNDERFIT_SKILL) {
            findings.push(Finding {
                verdict: Verdict::Underfitting,
                grade: Some(if s <= NO_SKILL {
                    Grade::Strong
                } else {
                    Grade::Mild
                }),
            });
        }
        // Overfitting: validation rose from its minimum while training fell.
        if let (Some(m), Some(above)) = (min, val_above_min)
            && above > OVERFIT_MILD
            && last.train < m.train
        {
            findings.push(Finding {
                verdict: Verdict::Overfitting,
                grade: Some(if above >= OVERFIT_STRONG {
                    Grade::Strong
                } else {
                    Grade::Mild
                }),
            });
        }
        // Still improving: the best epoch is the last.
        let best = best_epoch.or(min.map(|m| m.epoch));
        if best == Some(last.epoch) && !diverged {
            let drop = val_recent_drop.unwrap_or(0.0);
            findings.push(Finding {
                verdict: Verdict::StillImproving,
                grade: Some(if drop < 0.01 {
                    Grade::Slight
                } else if drop < 0.05 {
                    Grade::Mild
                } else {
                    Grade::Strong
                }),
            });
        }
    }
    findings.sort_by_key(|f| f.verdict);
    let primary = findings.first().copied().unwrap_or(Finding {
        verdict: Verdict::GoodFit,
        grade: None,
    });
    if findings.is_empty() {
        findings.push(primary);
    }
    Diagnosis {
        verdict: primary.verdict,
        grade: primary.grade,
        findings,
        val_above_min,
        train_drop,
        val_recent_drop,
        skill,
    }
}

fn nothing(skill: Option<f64>) -> Diagnosis {
    Diagnosis {
        verdict: Verdict::TooShort,
        grade: None,
        findings: vec![Finding {
            verdict: Verdict::TooShort,
            grade: None,
        }],
        val_above_min: None,
        train_drop: None,
        val_recent_drop: None,
        skill,
    }
}

impl Verdict {
    /// The word stored in the registry and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Diverged => "diverged",
            Self::LearningRateTooHigh => "learning_rate_too_high",
            Self::LearningRateTooLow => "learning_rate_too_low",
            Self::Underfitting => "underfitting",
            Self::Overfitting => "overfitting",
            Self::StillImproving => "still_improving",
            Self::GoodFit => "good_fit",
            Self::TooShort => "too_short",
        }
    }

    /// The verdict [`Verdict::as_str`] wrote.
    pub fn parse(word: &str) -> Option<Self> {
        [
            Self::Diverged,
            Self::LearningRateTooHigh,
            Self::LearningRateTooLow,
            Self::Underfitting,
            Self::Overfitting,
            Self::StillImproving,
            Self::GoodFit,
            Self::TooShort,
        ]
        .into_iter()
        .find(|v| v.as_str() == word)
    }

    /// What to do about it.
    pub fn hint(self) -> Option<&'static str> {
        match self {
            Self::Diverged => Some("lower the learning rate (or clip gradients)"),
            Self::LearningRateTooHigh => Some("lower the learning rate"),
            Self::LearningRateTooLow => Some("raise the learning rate"),
            Self::Underfitting => {
                Some("train longer, or give the model more capacity (wider or more layers)")
            }
            Self::Overfitting => Some(
                "add dropout or weight decay, use more data, or stop earlier (train.early_stopping)",
            ),
            Self::StillImproving => Some("train longer (more epochs)"),
            Self::GoodFit | Self::TooShort => None,
        }
    }
}

impl Grade {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Slight => "slight",
            Self::Mild => "mild",
            Self::Strong => "strong",
        }
    }

    pub fn parse(word: &str) -> Option<Self> {
        [Self::Slight, Self::Mild, Self::Strong]
            .into_iter()
            .find(|g| g.as_str() == word)
    }
}

impl Finding {
    /// `overfitting (strong)`, `good fit`: words, no underscores.
    pub fn label(&self) -> String {
        let word = self.verdict.as_str().replace('_', " ");
        match self.grade {
            Some(grade) => format!("{word} ({})", grade.as_str()),
            None => word,
        }
    }

    /// The stored form: `overfitting:strong`, `good_fit`.
    pub fn as_stored(&self) -> String {
        match self.grade {
            Some(grade) => format!("{}:{}", self.verdict.as_str(), grade.as_str()),
            None => self.verdict.as_str().to_string(),
        }
    }

    /// The finding [`Finding::as_stored`] wrote.
    pub fn parse(stored: &str) -> Option<Self> {
        let (verdict, grade) = match stored.split_once(':') {
            Some((v, g)) => (v, Some(Grade::parse(g)?)),
            None => (stored, None),
        };
        Some(Self {
            verdict: Verdict::parse(verdict)?,
            grade,
        })
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

    fn run(points: &[(f64, f64)], skill: Option<f64>) -> Diagnosis {
        diagnose(Evidence {
            curve: &curve(points),
            best_epoch: None,
            skill,
        })
    }

    fn verdicts(d: &Diagnosis) -> Vec<Verdict> {
        d.findings.iter().map(|f| f.verdict).collect()
    }

    #[test]
    fn the_shipped_overfit_pair_reads_apart() {
        // Shaped like overfit_regularized: validation ends 2.5% above its
        // minimum, training loss still falling.
        let regularized = run(
            &[(10.0, 10.0), (6.0, 8.0), (5.0, 8.1), (4.5, 8.2)],
            Some(0.9),
        );
        assert_eq!(regularized.verdict, Verdict::Overfitting);
        assert_eq!(regularized.grade, Some(Grade::Mild));
        assert!((regularized.val_above_min.unwrap_or(0.0) - 0.025).abs() < 1e-12);
        // Shaped like overfit_wide: 7.5% above, train loss down 86%.
        let wide = run(
            &[(10.0, 10.0), (4.0, 8.0), (2.0, 8.3), (1.4, 8.6)],
            Some(0.9),
        );
        assert_eq!(wide.verdict, Verdict::Overfitting);
        assert_eq!(wide.grade, Some(Grade::Strong));
        assert!((wide.train_drop.unwrap_or(0.0) - 0.86).abs() < 1e-12);
    }

    #[test]
    fn a_short_poor_run_is_underfitting_and_still_improving() {
        // Five epochs, test R² -1.84: not fine.
        let d = run(
            &[(5.0, 5.0), (4.0, 4.2), (3.5, 3.8), (3.2, 3.5), (3.0, 3.3)],
            Some(-1.84),
        );
        assert_eq!(d.verdict, Verdict::Underfitting);
        assert_eq!(d.grade, Some(Grade::Strong));
        assert_eq!(
            verdicts(&d),
            vec![Verdict::Underfitting, Verdict::StillImproving]
        );
        let mild = run(&[(5.0, 5.0), (4.0, 4.2)], Some(0.2));
        assert_eq!(mild.grade, Some(Grade::Mild));
    }

    #[test]
    fn a_best_last_epoch_says_still_improving() {
        let d = run(&[(5.0, 5.0), (2.0, 2.5), (1.0, 2.0), (0.9, 1.5)], Some(0.9));
        assert_eq!(d.verdict, Verdict::StillImproving);
        assert_eq!(d.grade, Some(Grade::Strong));
        // Barely falling at the end: slight.
        let d = run(
            &[(5.0, 5.0), (2.0, 2.5), (1.0, 2.0), (0.9, 1.999)],
            Some(0.9),
        );
        assert_eq!(d.grade, Some(Grade::Slight));
        // The kept epoch, when given, decides (not the lowest loss).
        let d = diagnose(Evidence {
            curve: &curve(&[(5.0, 5.0), (2.0, 2.5), (1.0, 2.0)]),
            best_epoch: Some(2),
            skill: Some(0.9),
        });
        assert_eq!(d.verdict, Verdict::GoodFit);
    }

    #[test]
    fn divergence_and_oscillation_blame_the_learning_rate() {
        let nan = run(&[(1.0, 1.0), (f64::NAN, f64::NAN)], None);
        assert_eq!(nan.verdict, Verdict::Diverged);
        assert_eq!(
            verdicts(&nan),
            vec![Verdict::Diverged, Verdict::LearningRateTooHigh]
        );
        assert_eq!(nan.train_drop, None);
        let rising = run(&[(1.0, 1.0), (3.0, 3.0), (9.0, 9.0)], Some(-5.0));
        assert_eq!(rising.verdict, Verdict::Diverged);
        // Blew up in epoch 1, fell since, still far worse than a constant.
        let blown = run(&[(1e9, 1e9), (1e8, 1e8), (1e7, 1e7)], Some(-7915.0));
        assert_eq!(blown.verdict, Verdict::Diverged);
        let oscillating = run(
            &[
                (2.0, 2.0),
                (1.0, 1.0),
                (1.5, 1.5),
                (0.9, 0.9),
                (1.3, 1.2),
                (0.8, 0.8),
            ],
            Some(0.8),
        );
        assert_eq!(oscillating.verdict, Verdict::LearningRateTooHigh);
        assert_eq!(oscillating.grade, Some(Grade::Mild));
        // Small wobbles are noise.
        let wobble = run(
            &[(2.0, 2.0), (1.0, 1.0), (1.02, 1.0), (0.9, 0.95)],
            Some(0.8),
        );
        assert!(!verdicts(&wobble).contains(&Verdict::LearningRateTooHigh));
    }

    #[test]
    fn a_flat_poor_curve_is_a_learning_rate_too_low() {
        let d = run(
            &[(1.0, 1.0), (0.99, 0.99), (0.98, 0.98), (0.97, 0.97)],
            Some(0.01),
        );
        assert_eq!(d.verdict, Verdict::LearningRateTooLow);
        assert!(verdicts(&d).contains(&Verdict::Underfitting));
        // Flat but already good: converged, not too low.
        let d = run(&[(0.1, 0.1), (0.099, 0.1), (0.098, 0.1)], Some(0.95));
        assert_eq!(d.verdict, Verdict::GoodFit);
        assert_eq!(d.findings.len(), 1);
        // Skill unknown: no claim about the rate.
        let d = run(&[(1.0, 1.0), (0.99, 0.99), (0.98, 0.995)], None);
        assert_eq!(d.verdict, Verdict::GoodFit);
    }

    #[test]
    fn short_curves_and_stored_words_round_trip() {
        assert_eq!(run(&[(1.0, 1.0)], None).verdict, Verdict::TooShort);
        assert_eq!(run(&[], Some(0.5)).verdict, Verdict::TooShort);
        for f in [
            Finding {
                verdict: Verdict::Overfitting,
                grade: Some(Grade::Strong),
            },
            Finding {
                verdict: Verdict::GoodFit,
                grade: None,
            },
        ] {
            assert_eq!(Finding::parse(&f.as_stored()), Some(f));
        }
        assert_eq!(Finding::parse("overfitting:huge"), None);
        assert_eq!(
            Finding {
                verdict: Verdict::StillImproving,
                grade: Some(Grade::Mild)
            }
            .label(),
            "still improving (mild)"
        );
    }
}
