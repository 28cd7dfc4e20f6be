//! The Tree-structured Parzen Estimator (Bergstra et al. 2011), univariate as in Optuna's
//! default: the first `startup` trials are random (the same points [`crate::RandomSampler`]
//! gives with the seed); after that the trials are ranked, the best `gamma` share is "good",
//! the rest "bad", and each dimension is chosen on its own as the best of `candidates` draws
//! from the good trials' density l(x) by the ratio l(x)/g(x) to the bad trials' density.
//!
//! How each trial state counts:
//! - completed: ranked by its value;
//! - pruned: always bad, ranked after every completed trial (by its best value so far);
//! - running: bad, after the pruned ones ("constant liar", Optuna's `constant_liar=True`): a
//!   point being trained pushes the next suggestion elsewhere, which matters with several jobs;
//! - failed: ignored (its point says nothing about the metric).
//!
//! Only completed and pruned trials count towards `startup`. The history is sorted by trial
//! number first, so a suggestion depends on the seed, the number and the history's content,
//! never on its order. (With several jobs the history itself depends on timing, so a TPE sweep
//! with `jobs > 1` is not bit-for-bit reproducible; random and grid are.)
//!
//! Not the `tpe` crate (0.3, sile): it depends on rand 0.10 (the workspace is on 0.9), has one
//! optimizer per parameter fed by `tell` (we rebuild from the registry's history at each
//! suggestion), a fixed-fraction gamma without Optuna's cap of 25, no integer or log scales,
//! and no way to rank pruned or running trials apart from completed ones.

use crate::parzen::{Counts, Parzen};
use crate::sampler::{
    Observation, Sampler, TrialState, from_internal, internal_bounds, random_point, to_internal,
    trial_rng,
};
use crate::space::{Goal, Kind, Point, Space, Value};
use rand_chacha::ChaCha8Rng;

/// Random trials before the model is used (Optuna's default).
pub const DEFAULT_STARTUP: u32 = 10;
/// Draws from l(x) per dimension (Optuna's default).
pub const DEFAULT_CANDIDATES: u32 = 24;

#[derive(Clone, Debug)]
pub struct TpeSampler {
    pub space: Space,
    pub seed: u64,
    pub goal: Goal,
    /// Completed or pruned trials needed before the model is used.
    pub startup: u32,
    pub candidates: u32,
    /// The good share: `min(ceil(gamma * n), gamma_cap)` trials of `n` (Optuna: 0.1 and 25).
    pub gamma: f64,
    pub gamma_cap: usize,
}

impl TpeSampler {
    pub fn new(space: Space, goal: Goal, seed: u64) -> Self {
        Self {
            space,
            seed,
            goal,
            startup: DEFAULT_STARTUP,
            candidates: DEFAULT_CANDIDATES,
            gamma: 0.1,
            gamma_cap: 25,
        }
    }

    /// The history ranked best first (completed, then pruned, then running), failed trials and
    /// points of another shape left out.
    fn ranked<'a>(&self, history: &'a [Observation]) -> Vec<&'a Observation> {
        let width = self.space.dimensions.len();
        let mut ranked: Vec<&Observation> = history
            .iter()
            .filter(|o| o.state != TrialState::Failed && o.point.len() == width)
            .collect();
        let tier = |o: &Observation| match o.state {
            TrialState::Completed if o.value.is_some_and(f64::is_finite) => 0,
            TrialState::Completed | TrialState::Pruned => 1,
            TrialState::Running | TrialState::Failed => 2,
        };
        let cost = |o: &Observation| o.value.map_or(f64::INFINITY, |v| self.goal.cost(v));
        ranked.sort_by(|a, b| {
            tier(a)
                .cmp(&tier(b))
                .then(cost(a).total_cmp(&cost(b)))
                .then(a.number.cmp(&b.number))
        });
        ranked
    }

    fn good_count(&self, n: usize) -> usize {
        let share = (self.gamma * n as f64).ceil();
        (share.max(1.0) as usize).min(self.gamma_cap.max(1)).min(n)
    }

    fn choose(
        &self,
        kind: &Kind,
        index: usize,
        good: &[&Observation],
        bad: &[&Observation],
        rng: &mut ChaCha8Rng,
    ) -> Value {
        let candidates = self.candidates.max(1);
        match *kind {
            Kind::Categorical { choices } => {
                let pick = |set: &[&Observation]| -> Vec<usize> {
                    set.iter()
                        .filter_map(|o| match o.point[index] {
                            Value::Choice(c) => Some(c),
                            _ => None,
                        })
                        .collect()
                };
                let (l, g) = (
                    Counts::new(&pick(good), choices),
                    Counts::new(&pick(bad), choices),
                );
                let best = (0..candidates)
                    .map(|_| l.sample(rng))
                    .map(|c| (l.log_pmf(c) - g.log_pmf(c), c))
                    .max_by(|a, b| a.0.total_cmp(&b.0));
                Value::Choice(best.map_or(0, |(_, c)| c))
            }
            Kind::Float { .. } | Kind::Int { .. } => {
                let (low, high) = internal_bounds(kind);
                let pick = |set: &[&Observation]| -> Vec<f64> {
                    set.iter()
                        .filter_map(|o| to_internal(kind, &o.point[index]))
                        .collect()
                };
                let (l, g) = (
                    Parzen::new(&pick(good), low, high),
                    Parzen::new(&pick(bad), low, high),
                );
                let best = (0..candidates)
                    .map(|_| from_internal(kind, l.sample(rng)))
                    .filter_map(|value| {
                        let x = to_internal(kind, &value)?;
                        Some((l.log_pdf(x) - g.log_pdf(x), value))
                    })
                    .max_by(|a, b| a.0.total_cmp(&b.0));
                best.map_or_else(|| from_internal(kind, 0.5 * (low + high)), |(_, v)| v)
            }
        }
    }
}

impl Sampler for TpeSampler {
    fn suggest(&mut self, number: u32, history: &[Observation]) -> Point {
        let mut rng = trial_rng(self.seed, number);
        let scored = history
            .iter()
            .filter(|o| matches!(o.state, TrialState::Completed | TrialState::Pruned))
            .count();
        if scored < self.startup as usize || scored == 0 {
            return random_point(&self.space, &mut rng);
        }
        let mut sorted: Vec<Observation> = history.to_vec();
        sorted.sort_by_key(|o| o.number);
        let ranked = self.ranked(&sorted);
        let (good, bad) = ranked.split_at(self.good_count(ranked.len()));
        self.space
            .dimensions
            .iter()
            .enumerate()
            .map(|(index, dimension)| self.choose(&dimension.kind, index, good, bad, &mut rng))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::RandomSampler;
    use crate::sampler::tests::mixed_space;

    /// A shifted quadratic over the mixed space: best at learning rate 10^-2.5, the third of
    /// four unit choices, weight decay 0.007 and batch size 32.
    fn objective(point: &Point) -> f64 {
        let [
            Value::Float(rate),
            Value::Choice(units),
            Value::Float(decay),
            Value::Int(batch),
        ] = point.as_slice()
        else {
            return f64::INFINITY;
        };
        let units_cost = [0.6, 0.2, 0.0, 0.9][*units];
        (rate.log10() + 2.5).powi(2)
            + units_cost
            + ((decay - 0.007) / 0.01).powi(2)
            + 0.2 * ((*batch as f64).log2() - 5.0).powi(2)
    }

    fn best_after(sampler: &mut dyn Sampler, trials: u32) -> f64 {
        let mut history = Vec::new();
        for number in 0..trials {
            let point = sampler.suggest(number, &history);
            let value = objective(&point);
            history.push(Observation {
                number,
                point,
                state: TrialState::Completed,
                value: Some(value),
            });
        }
        history
            .iter()
            .filter_map(|o| o.value)
            .fold(f64::INFINITY, f64::min)
    }

    /// Measured: seeds 0..10 give a mean best of 0.064 (TPE) against 0.153 (random); over 50
    /// seeds 0.075 against 0.171, TPE ahead on 43 of 50.
    #[test]
    fn tpe_beats_random_on_a_shifted_quadratic_over_ten_seeds() {
        let seeds = 0..10u64;
        let mean = |make: &dyn Fn(u64) -> Box<dyn Sampler>| {
            seeds
                .clone()
                .map(|seed| best_after(make(seed).as_mut(), 40))
                .sum::<f64>()
                / 10.0
        };
        let tpe = mean(&|seed| Box::new(TpeSampler::new(mixed_space(), Goal::Minimize, seed)));
        let random = mean(&|seed| Box::new(RandomSampler::new(mixed_space(), seed)));
        assert!(
            tpe < 0.75 * random,
            "mean best after 40 trials: tpe {tpe:.4}, random {random:.4}"
        );
    }

    #[test]
    fn tpe_maximizes_when_asked() {
        let mut history = Vec::new();
        let mut sampler = TpeSampler::new(mixed_space(), Goal::Maximize, 3);
        for number in 0..40 {
            let point = sampler.suggest(number, &history);
            history.push(Observation {
                number,
                value: Some(-objective(&point)),
                point,
                state: TrialState::Completed,
            });
        }
        let late_mean = history[30..].iter().filter_map(|o| o.value).sum::<f64>() / 10.0;
        let early_mean = history[..10].iter().filter_map(|o| o.value).sum::<f64>() / 10.0;
        assert!(
            late_mean > early_mean,
            "late {late_mean}, early {early_mean}"
        );
    }

    #[test]
    fn startup_trials_are_the_random_samplers_points() {
        let mut tpe = TpeSampler::new(mixed_space(), Goal::Minimize, 11);
        let mut random = RandomSampler::new(mixed_space(), 11);
        for number in 0..DEFAULT_STARTUP {
            assert_eq!(tpe.suggest(number, &[]), random.suggest(number, &[]));
        }
    }

    fn history_of(values: &[(TrialState, Option<f64>)]) -> Vec<Observation> {
        let mut random = RandomSampler::new(mixed_space(), 5);
        values
            .iter()
            .zip(0u32..)
            .map(|(&(state, value), number)| Observation {
                number,
                point: random.suggest(number, &[]),
                state,
                value,
            })
            .collect()
    }

    #[test]
    fn a_suggestion_does_not_depend_on_the_historys_order() {
        let states = [
            TrialState::Completed,
            TrialState::Pruned,
            TrialState::Running,
        ];
        let history = history_of(
            &(0..15)
                .map(|i| (states[i % 3], Some(f64::from(i as u32 % 7))))
                .collect::<Vec<_>>(),
        );
        let mut reversed = history.clone();
        reversed.reverse();
        let mut sampler = TpeSampler::new(mixed_space(), Goal::Minimize, 2);
        sampler.startup = 3;
        assert_eq!(
            sampler.suggest(15, &history),
            sampler.suggest(15, &reversed)
        );
    }

    #[test]
    fn pruned_and_running_trials_rank_after_completed_and_failed_are_left_out() {
        let history = history_of(&[
            (TrialState::Pruned, Some(0.01)),
            (TrialState::Completed, Some(0.5)),
            (TrialState::Running, None),
            (TrialState::Failed, None),
            (TrialState::Completed, Some(0.2)),
            (TrialState::Completed, Some(f64::NAN)),
        ]);
        let sampler = TpeSampler::new(mixed_space(), Goal::Minimize, 0);
        let order: Vec<u32> = sampler.ranked(&history).iter().map(|o| o.number).collect();
        assert_eq!(order, vec![4, 1, 0, 5, 2]);
    }

    #[test]
    fn good_share_follows_optuna_gamma_with_its_cap() {
        let sampler = TpeSampler::new(mixed_space(), Goal::Minimize, 0);
        let counts: Vec<usize> = [1, 10, 11, 40, 1000]
            .iter()
            .map(|&n| sampler.good_count(n))
            .collect();
        assert_eq!(counts, vec![1, 1, 2, 4, 25]);
    }

    #[test]
    fn suggestions_after_startup_stay_inside_the_space() {
        let mut sampler = TpeSampler::new(mixed_space(), Goal::Minimize, 9);
        sampler.startup = 2;
        let mut history = Vec::new();
        for number in 0..60 {
            let point = sampler.suggest(number, &history);
            let space = mixed_space();
            for (value, dimension) in point.iter().zip(&space.dimensions) {
                let inside = match (value, &dimension.kind) {
                    (Value::Choice(c), Kind::Categorical { choices }) => c < choices,
                    (Value::Float(x), Kind::Float { low, high, .. }) => (*low..=*high).contains(x),
                    (Value::Int(i), Kind::Int { low, high, .. }) => (*low..=*high).contains(i),
                    _ => false,
                };
                assert!(inside, "{} = {value:?}", dimension.name);
            }
            history.push(Observation {
                number,
                value: Some(objective(&point)),
                point,
                state: TrialState::Completed,
            });
        }
    }
}
