//! Median stopping (Optuna's `MedianPruner`): from `min_epochs` on, a trial stops when its best
//! value so far is worse than the median of the other trials' best values at the same epoch,
//! once `min_trials` other trials have reached that epoch. Judged at every epoch.

use crate::curves::Curves;
use crate::pruner::{Pruner, Pruning, format_value};
use crate::space::Goal;

#[derive(Clone, Debug)]
pub struct MedianPruner {
    pub metric: String,
    pub goal: Goal,
    pub min_epochs: u32,
    pub min_trials: u32,
}

impl MedianPruner {
    pub fn new(metric: &str, goal: Goal, min_epochs: u32, min_trials: u32) -> Self {
        Self {
            metric: metric.to_owned(),
            goal,
            min_epochs,
            min_trials,
        }
    }
}

impl Pruner for MedianPruner {
    fn decide(&self, trial: u32, epoch: u32, curves: &Curves) -> Option<Pruning> {
        if epoch < self.min_epochs {
            return None;
        }
        let value = curves.best_until(trial, epoch)?;
        let mut others = curves.others_at(trial, epoch);
        if others.is_empty() || others.len() < self.min_trials as usize {
            return None;
        }
        others.sort_by(|a, b| self.goal.cost(*a).total_cmp(&self.goal.cost(*b)));
        let middle = others.len() / 2;
        let median = if others.len() % 2 == 1 {
            others[middle]
        } else {
            0.5 * (others[middle - 1] + others[middle])
        };
        if self.goal.cost(value) <= self.goal.cost(median) {
            return None;
        }
        Some(Pruning {
            epoch,
            value,
            threshold: median,
            reason: format!(
                "{} {} (best so far) at epoch {epoch} is worse than the median {} of {} other \
                 trials at that epoch (needs {} {})",
                self.metric,
                format_value(value),
                format_value(median),
                others.len(),
                self.goal.at_least_as_good(),
                format_value(median),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curves_of(goal: Goal, trials: &[&[f64]]) -> Curves {
        let mut curves = Curves::new(goal);
        for (trial, values) in (0u32..).zip(trials) {
            for (epoch, &value) in (1u32..).zip(values.iter()) {
                curves.record(trial, epoch, value);
            }
        }
        curves
    }

    #[test]
    fn keeps_everything_until_min_trials_others_reached_the_epoch() {
        let pruner = MedianPruner::new("val_loss", Goal::Minimize, 1, 3);
        // Trial 2 is far worse, but only two others have reached epoch 2.
        let curves = curves_of(Goal::Minimize, &[&[0.5, 0.4], &[0.6, 0.5], &[5.0, 5.0]]);
        assert_eq!(pruner.decide(2, 2, &curves), None);
        let more = curves_of(
            Goal::Minimize,
            &[&[0.5, 0.4], &[0.6, 0.5], &[0.55, 0.45], &[5.0, 5.0]],
        );
        let pruned = pruner.decide(3, 2, &more);
        assert_eq!(pruned.as_ref().map(|p| p.threshold), Some(0.45));
        assert_eq!(
            pruned.map(|p| p.reason).as_deref(),
            Some(
                "val_loss 5 (best so far) at epoch 2 is worse than the median 0.45 of 3 other \
                 trials at that epoch (needs ≤ 0.45)"
            )
        );
    }

    #[test]
    fn the_first_trial_is_never_pruned_and_warm_up_epochs_are_spared() {
        let pruner = MedianPruner::new("val_r2", Goal::Maximize, 3, 0);
        let alone = curves_of(Goal::Maximize, &[&[-9.0, -9.0, -9.0, -9.0]]);
        assert_eq!(pruner.decide(0, 4, &alone), None);
        let pair = curves_of(Goal::Maximize, &[&[0.8, 0.8, 0.8], &[0.1, 0.1, 0.1]]);
        assert_eq!(
            pruner.decide(1, 2, &pair),
            None,
            "epoch 2 is before min_epochs"
        );
        assert!(pruner.decide(1, 3, &pair).is_some());
        assert_eq!(pruner.decide(0, 3, &pair), None, "the better trial goes on");
    }
}
