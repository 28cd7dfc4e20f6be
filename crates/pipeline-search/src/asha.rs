//! Asynchronous successive halving (ASHA; Li et al. 2020, Optuna's `SuccessiveHalvingPruner`):
//! rungs at `min_epochs * reduction^k` epochs (those below the trials' `max_epochs`). When a
//! trial reaches a rung, it goes on only if its best value so far is among the best
//! `max(n / reduction, 1)` of the `n` values recorded at that rung by every trial that reached
//! it (itself included); otherwise it stops there. Asynchronous: a trial is judged against
//! the trials that got there before it, so nobody waits, and the first trial always goes on.

use crate::SearchError;
use crate::curves::Curves;
use crate::pruner::{Pruner, Pruning, format_value};
use crate::space::Goal;

#[derive(Clone, Debug)]
pub struct AshaPruner {
    metric: String,
    goal: Goal,
    reduction: u32,
    rungs: Vec<u32>,
}

impl AshaPruner {
    pub fn new(
        metric: &str,
        goal: Goal,
        min_epochs: u32,
        reduction: u32,
        max_epochs: u32,
    ) -> Result<Self, SearchError> {
        if min_epochs < 1 {
            return Err(SearchError::PrunerSetting {
                setting: "min_epochs",
                minimum: 1,
                value: min_epochs,
            });
        }
        if reduction < 2 {
            return Err(SearchError::PrunerSetting {
                setting: "reduction",
                minimum: 2,
                value: reduction,
            });
        }
        let mut rungs = Vec::new();
        let mut rung = min_epochs;
        while rung < max_epochs {
            rungs.push(rung);
            match rung.checked_mul(reduction) {
                Some(next) => rung = next,
                None => break,
            }
        }
        Ok(Self {
            metric: metric.to_owned(),
            goal,
            reduction,
            rungs,
        })
    }

    /// The epochs at which trials are judged. Empty when `min_epochs ≥ max_epochs`: nothing is
    /// ever pruned (a caller may warn).
    pub fn rungs(&self) -> &[u32] {
        &self.rungs
    }
}

impl Pruner for AshaPruner {
    fn decide(&self, trial: u32, epoch: u32, curves: &Curves) -> Option<Pruning> {
        let rung = self.rungs.iter().position(|&r| r == epoch)?;
        let value = curves.best_until(trial, epoch)?;
        let mut values = curves.others_at(trial, epoch);
        values.push(value);
        values.sort_by(|a, b| self.goal.cost(*a).total_cmp(&self.goal.cost(*b)));
        let n = values.len();
        let kept = (n / self.reduction as usize).max(1);
        let threshold = values[kept - 1];
        if self.goal.cost(value) <= self.goal.cost(threshold) {
            return None;
        }
        let place = if kept == 1 {
            format!("is not the best of {n} trials")
        } else {
            format!("is not among the best {kept} of {n} trials")
        };
        Some(Pruning {
            epoch,
            value,
            threshold,
            reason: format!(
                "{} {} at epoch {epoch} {place} at ASHA rung {} (needs {} {})",
                self.metric,
                format_value(value),
                rung + 1,
                self.goal.at_least_as_good(),
                format_value(threshold),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn asha(goal: Goal) -> AshaPruner {
        AshaPruner::new("val_loss", goal, 10, 3, 100).unwrap()
    }

    /// A curve decaying from `start` towards `floor` over `epochs` epochs.
    fn record(curves: &mut Curves, trial: u32, start: f64, floor: f64, epochs: u32) {
        for epoch in 1..=epochs {
            let value = floor + (start - floor) * (-(f64::from(epoch)) / 5.0).exp();
            curves.record(trial, epoch, value);
        }
    }

    #[test]
    fn rungs_grow_by_the_reduction_below_max_epochs() {
        assert_eq!(asha(Goal::Minimize).rungs(), &[10, 30, 90]);
        let none = AshaPruner::new("val_loss", Goal::Minimize, 60, 3, 60).unwrap();
        assert!(none.rungs().is_empty());
    }

    #[test]
    fn prunes_a_clearly_worse_curve_at_the_first_rung_and_keeps_the_best() {
        let pruner = asha(Goal::Minimize);
        let mut curves = Curves::new(Goal::Minimize);
        // Six trials that reached the first rung, then a clearly worse one and a best one.
        for (trial, floor) in (0u32..).zip([0.40, 0.45, 0.50, 0.55, 0.60, 0.65]) {
            record(&mut curves, trial, 1.0, floor, 10);
        }
        record(&mut curves, 6, 3.0, 2.0, 10);
        let pruned = pruner.decide(6, 10, &curves).unwrap();
        assert_eq!(pruned.epoch, 10);
        // 7 values at the rung, the best 7 / 3 = 2 go on: the second best is trial 1's.
        assert_eq!(pruned.threshold, curves.best_until(1, 10).unwrap());
        assert_eq!(
            pruned.reason,
            format!(
                "val_loss 2.135 at epoch 10 is not among the best 2 of 7 trials at ASHA rung 1 \
                 (needs ≤ {})",
                format_value(pruned.threshold)
            )
        );
        record(&mut curves, 7, 1.0, 0.1, 10);
        assert_eq!(pruner.decide(7, 10, &curves), None);
        assert_eq!(pruner.decide(7, 11, &curves), None, "not a rung");
    }

    #[test]
    fn the_first_trial_is_never_pruned() {
        let pruner = asha(Goal::Maximize);
        let mut curves = Curves::new(Goal::Maximize);
        record(&mut curves, 0, -50.0, -40.0, 90);
        for rung in [10, 30, 90] {
            assert_eq!(pruner.decide(0, rung, &curves), None);
        }
    }

    #[test]
    fn maximizing_keeps_the_highest_values() {
        let pruner = asha(Goal::Maximize);
        let mut curves = Curves::new(Goal::Maximize);
        for (trial, value) in (0u32..).zip([0.9, 0.8, 0.7, 0.1]) {
            curves.record(trial, 10, value);
        }
        // n = 4, kept = 1: only the best (0.9) goes on.
        assert_eq!(pruner.decide(0, 10, &curves), None);
        let pruned = pruner.decide(3, 10, &curves).unwrap();
        assert_eq!((pruned.value, pruned.threshold), (0.1, 0.9));
        assert!(
            pruned.reason.ends_with("(needs ≥ 0.9)"),
            "{}",
            pruned.reason
        );
    }
}
