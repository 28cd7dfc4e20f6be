//! The density estimators of TPE, one per dimension: a Parzen window (a mixture of Gaussians
//! truncated to the bounds, one per observed value plus a wide prior) for numbers, and smoothed
//! counts for choices. Follows Optuna's univariate `_ParzenEstimator` (prior weight 1, bandwidth
//! from the neighbours' distances, clipped to `[range / min(100, 1 + n), range]`).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

const PRIOR_WEIGHT: f64 = 1.0;
/// ln(sqrt(2 pi)).
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// A mixture of truncated Gaussians on `[low, high]` (the internal space: logs on log scales).
#[derive(Clone, Debug)]
pub(crate) struct Parzen {
    low: f64,
    high: f64,
    mus: Vec<f64>,
    sigmas: Vec<f64>,
    /// ln(weight) - ln(sigma) - ln(mass inside the bounds), per kernel: the constant part of
    /// each kernel's log density.
    offsets: Vec<f64>,
    /// Cumulative normalized weights, to pick a kernel when sampling.
    cumulative: Vec<f64>,
}

impl Parzen {
    pub(crate) fn new(observed: &[f64], low: f64, high: f64) -> Self {
        let range = high - low;
        let mut mus: Vec<f64> = observed.iter().map(|x| x.clamp(low, high)).collect();
        mus.sort_by(f64::total_cmp);
        let n = mus.len();
        // Optuna's magic clip: kernels at least range / min(100, 1 + kernels) wide.
        let min_sigma = range / (100f64).min(2.0 + n as f64);
        let mut sigmas: Vec<f64> = (0..n)
            .map(|i| {
                // The distance to the farther neighbour; at either end only the inner
                // neighbour counts (Optuna's `consider_endpoints=False`).
                let left = (i > 0).then(|| mus[i] - mus[i - 1]);
                let right = (i + 1 < n).then(|| mus[i + 1] - mus[i]);
                let sigma = match (left, right) {
                    (Some(l), Some(r)) => l.max(r),
                    (Some(gap), None) | (None, Some(gap)) => gap,
                    (None, None) => (mus[i] - low).max(high - mus[i]),
                };
                sigma.clamp(min_sigma, range)
            })
            .collect();
        let mut weights = vec![1.0; n];
        // The prior: one wide kernel over the whole range.
        mus.push(0.5 * (low + high));
        sigmas.push(range);
        weights.push(PRIOR_WEIGHT);
        let total: f64 = weights.iter().sum();
        let mut cumulative = Vec::with_capacity(n);
        let mut offsets = Vec::with_capacity(n);
        let mut running = 0.0;
        for ((&weight, &mu), &sigma) in weights.iter().zip(&mus).zip(&sigmas) {
            running += weight / total;
            cumulative.push(running);
            let mass =
                (normal_cdf((high - mu) / sigma) - normal_cdf((low - mu) / sigma)).max(1e-12);
            offsets.push((weight / total).ln() - sigma.ln() - mass.ln() - LN_SQRT_2PI);
        }
        Self {
            low,
            high,
            mus,
            sigmas,
            offsets,
            cumulative,
        }
    }

    /// One draw: a kernel picked by weight, then its Gaussian truncated to the bounds.
    pub(crate) fn sample(&self, rng: &mut ChaCha8Rng) -> f64 {
        let u: f64 = rng.random();
        let kernel = self
            .cumulative
            .iter()
            .position(|&c| u < c)
            .unwrap_or(self.mus.len().saturating_sub(1));
        let (mu, sigma) = (self.mus[kernel], self.sigmas[kernel]);
        for _ in 0..64 {
            let x = mu + sigma * standard_normal(rng);
            if (self.low..=self.high).contains(&x) {
                return x;
            }
        }
        mu.clamp(self.low, self.high)
    }

    pub(crate) fn log_pdf(&self, x: f64) -> f64 {
        let terms =
            self.mus
                .iter()
                .zip(&self.sigmas)
                .zip(&self.offsets)
                .map(|((&mu, &sigma), &offset)| {
                    let z = (x - mu) / sigma;
                    offset - 0.5 * z * z
                });
        log_sum_exp(terms)
    }
}

/// Smoothed counts over `choices` categories: each observation adds 1 to its choice, and a
/// prior of total weight 1 is spread evenly.
#[derive(Clone, Debug)]
pub(crate) struct Counts {
    log_weights: Vec<f64>,
    cumulative: Vec<f64>,
}

impl Counts {
    pub(crate) fn new(observed: &[usize], choices: usize) -> Self {
        let choices = choices.max(1);
        let mut weights = vec![PRIOR_WEIGHT / choices as f64; choices];
        for &choice in observed {
            if let Some(weight) = weights.get_mut(choice) {
                *weight += 1.0;
            }
        }
        let total: f64 = weights.iter().sum();
        let mut running = 0.0;
        let cumulative = weights
            .iter()
            .map(|w| {
                running += w / total;
                running
            })
            .collect();
        let log_weights = weights.iter().map(|w| (w / total).ln()).collect();
        Self {
            log_weights,
            cumulative,
        }
    }

    pub(crate) fn sample(&self, rng: &mut ChaCha8Rng) -> usize {
        let u: f64 = rng.random();
        self.cumulative
            .iter()
            .position(|&c| u < c)
            .unwrap_or(self.cumulative.len().saturating_sub(1))
    }

    pub(crate) fn log_pmf(&self, choice: usize) -> f64 {
        self.log_weights
            .get(choice)
            .copied()
            .unwrap_or(f64::NEG_INFINITY)
    }
}

fn log_sum_exp(terms: impl Iterator<Item = f64> + Clone) -> f64 {
    let max = terms.clone().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + terms.map(|t| (t - max).exp()).sum::<f64>().ln()
}

/// A standard normal draw (Box–Muller).
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]: ln never sees 0
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn normal_cdf(z: f64) -> f64 {
    0.5 * (1.0 + erf(z / std::f64::consts::SQRT_2))
}

/// The error function, Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7): only used
/// for the kernels' mass inside the bounds, where that is plenty.
fn erf(x: f64) -> f64 {
    let sign = x.signum();
    let x = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    sign * (1.0 - poly * (-x * x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampler::trial_rng;

    #[test]
    fn erf_matches_known_values() {
        // scipy.special.erf(0.5), erf(1), erf(-2)
        for (x, expected) in [
            (0.5, 0.520_499_877_8),
            (1.0, 0.842_700_792_9),
            (-2.0, -0.995_322_265_0),
        ] {
            assert!((erf(x) - expected).abs() < 2e-7, "erf({x}) = {}", erf(x));
        }
    }

    #[test]
    fn parzen_density_integrates_to_one_inside_the_bounds() {
        let parzen = Parzen::new(&[0.1, 0.15, 0.9], 0.0, 1.0);
        let steps = 10_000;
        let integral: f64 = (0..steps)
            .map(|i| parzen.log_pdf((i as f64 + 0.5) / steps as f64).exp() / steps as f64)
            .sum();
        assert!((integral - 1.0).abs() < 1e-3, "{integral}");
    }

    #[test]
    fn parzen_samples_gather_near_the_observations_and_stay_inside() {
        let parzen = Parzen::new(&[0.2, 0.21, 0.22, 0.19, 0.2], 0.0, 1.0);
        let mut rng = trial_rng(1, 0);
        let draws: Vec<f64> = (0..2000).map(|_| parzen.sample(&mut rng)).collect();
        assert!(draws.iter().all(|x| (0.0..=1.0).contains(x)));
        let near = draws.iter().filter(|x| (0.1..0.3).contains(*x)).count();
        let far = draws.iter().filter(|x| (0.7..0.9).contains(*x)).count();
        // Five of six kernels sit at 0.2, at least 1/7 wide (the magic clip); the prior
        // covers the rest. A uniform draw would put about 400 in each band.
        assert!(near > 900 && far < 200, "{near} near 0.2, {far} near 0.8");
    }

    #[test]
    fn counts_favour_the_observed_choice() {
        let counts = Counts::new(&[2, 2, 2, 0], 4);
        assert!(counts.log_pmf(2) > counts.log_pmf(0));
        assert!(counts.log_pmf(0) > counts.log_pmf(1));
        assert_eq!(counts.log_pmf(9), f64::NEG_INFINITY);
        let total: f64 = (0..4).map(|c| counts.log_pmf(c).exp()).sum();
        assert!((total - 1.0).abs() < 1e-12);
    }
}
