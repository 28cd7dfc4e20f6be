//! The validation curves pruners judge: per trial, (epoch, value) pairs in epoch order, read
//! in the sweep's goal. The driver records each trial's epochs as they end (and, after a
//! resume, reloads them from the registry).

use std::collections::BTreeMap;

use crate::space::Goal;

#[derive(Clone, Debug)]
pub struct Curves {
    goal: Goal,
    trials: BTreeMap<u32, Vec<(u32, f64)>>,
}

impl Curves {
    pub fn new(goal: Goal) -> Self {
        Self {
            goal,
            trials: BTreeMap::new(),
        }
    }

    pub fn goal(&self) -> Goal {
        self.goal
    }

    /// Records trial `trial`'s value at `epoch`. An epoch recorded again (a resumed run that
    /// replays it) replaces the old value.
    pub fn record(&mut self, trial: u32, epoch: u32, value: f64) {
        let curve = self.trials.entry(trial).or_default();
        match curve.binary_search_by_key(&epoch, |&(e, _)| e) {
            Ok(at) => curve[at].1 = value,
            Err(at) => curve.insert(at, (epoch, value)),
        }
    }

    /// Forgets a trial (a failed trial run again starts a new curve).
    pub fn remove(&mut self, trial: u32) {
        self.trials.remove(&trial);
    }

    /// A trial's points, in epoch order.
    pub fn curve(&self, trial: u32) -> &[(u32, f64)] {
        self.trials.get(&trial).map_or(&[], Vec::as_slice)
    }

    /// The trial's best value over epochs `..= epoch`, when it reached `epoch` (it has a value
    /// at that epoch or later). NaN values are the worst; a curve of NaN only gives NaN.
    pub fn best_until(&self, trial: u32, epoch: u32) -> Option<f64> {
        let curve = self.trials.get(&trial)?;
        let reached = curve.last().is_some_and(|&(last, _)| last >= epoch);
        if !reached {
            return None;
        }
        curve
            .iter()
            .take_while(|&&(e, _)| e <= epoch)
            .map(|&(_, v)| v)
            .reduce(|best, v| {
                if self.goal.cost(v) < self.goal.cost(best) {
                    v
                } else {
                    best
                }
            })
    }

    /// Every other trial's best value until `epoch`, for those that reached it.
    pub(crate) fn others_at(&self, trial: u32, epoch: u32) -> Vec<f64> {
        self.trials
            .keys()
            .filter(|&&other| other != trial)
            .filter_map(|&other| self.best_until(other, epoch))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_until_is_the_best_so_far_and_needs_the_epoch_reached() {
        let mut curves = Curves::new(Goal::Minimize);
        for (epoch, value) in [(1, 0.9), (2, 0.5), (3, 0.7), (4, 0.4)] {
            curves.record(7, epoch, value);
        }
        assert_eq!(curves.best_until(7, 1), Some(0.9));
        assert_eq!(curves.best_until(7, 3), Some(0.5));
        assert_eq!(curves.best_until(7, 4), Some(0.4));
        assert_eq!(curves.best_until(7, 5), None);
        assert_eq!(curves.best_until(8, 1), None);
    }

    #[test]
    fn maximizing_curves_keep_the_highest_and_nan_is_worst() {
        let mut curves = Curves::new(Goal::Maximize);
        curves.record(0, 1, f64::NAN);
        curves.record(0, 2, 0.3);
        curves.record(0, 3, 0.2);
        assert_eq!(curves.best_until(0, 3), Some(0.3));
        assert!(curves.best_until(0, 1).is_some_and(f64::is_nan));
    }

    #[test]
    fn a_replayed_epoch_replaces_and_removed_trials_are_gone() {
        let mut curves = Curves::new(Goal::Minimize);
        curves.record(1, 2, 0.5);
        curves.record(1, 1, 0.8);
        curves.record(1, 2, 0.6);
        assert_eq!(curves.curve(1), &[(1, 0.8), (2, 0.6)]);
        curves.record(2, 2, 0.1);
        assert_eq!(curves.others_at(1, 2), vec![0.1]);
        curves.remove(2);
        assert!(curves.others_at(1, 2).is_empty());
    }
}
