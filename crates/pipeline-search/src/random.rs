//! Random search: each dimension drawn uniformly (log-uniformly on a log scale, integers with
//! equal shares). Trial `number`'s point depends only on the seed and the number (its own
//! ChaCha stream), so the same seed gives the same trials whatever the job order or resumes.

use crate::sampler::{Observation, Sampler, random_point, trial_rng};
use crate::space::{Point, Space};

#[derive(Clone, Debug)]
pub struct RandomSampler {
    space: Space,
    seed: u64,
}

impl RandomSampler {
    pub fn new(space: Space, seed: u64) -> Self {
        Self { space, seed }
    }
}

impl Sampler for RandomSampler {
    fn suggest(&mut self, number: u32, _history: &[Observation]) -> Point {
        random_point(&self.space, &mut trial_rng(self.seed, number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampler::tests::mixed_space;

    #[test]
    fn the_same_seed_gives_the_same_trials_in_any_order() {
        let mut forward = RandomSampler::new(mixed_space(), 7);
        let mut backward = RandomSampler::new(mixed_space(), 7);
        let ahead: Vec<Point> = (0..20).map(|n| forward.suggest(n, &[])).collect();
        let mut behind: Vec<Point> = (0..20).rev().map(|n| backward.suggest(n, &[])).collect();
        behind.reverse();
        assert_eq!(ahead, behind);
    }

    #[test]
    fn another_seed_or_number_gives_another_point() {
        let mut first = RandomSampler::new(mixed_space(), 7);
        let mut second = RandomSampler::new(mixed_space(), 8);
        assert_ne!(first.suggest(0, &[]), second.suggest(0, &[]));
        assert_ne!(first.suggest(0, &[]), first.suggest(1, &[]));
    }
}
