//! Seeded train/validation/test split of row indices.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use pipeline_spec::SplitFractions;

/// Rows per split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SplitSizes {
    pub train: usize,
    pub validation: usize,
    pub test: usize,
}

impl SplitSizes {
    /// Validation and test sizes are rounded; train takes the rest.
    pub fn of(rows: usize, fractions: &SplitFractions) -> SplitSizes {
        let round = |f: f64| (rows as f64 * f).round() as usize;
        let validation = round(fractions.validation).min(rows);
        let test = round(fractions.test).min(rows - validation);
        SplitSizes {
            train: rows - validation - test,
            validation,
            test,
        }
    }
}

/// Row indices of train, validation and test, shuffled with `seed` when
/// `shuffle` is set (otherwise in file order).
pub fn split_indices(
    rows: usize,
    fractions: &SplitFractions,
    shuffle: bool,
    seed: u64,
) -> (SplitSizes, [Vec<usize>; 3]) {
    let sizes = SplitSizes::of(rows, fractions);
    let mut order: Vec<usize> = (0..rows).collect();
    if shuffle {
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    }
    let test = order.split_off(sizes.train + sizes.validation);
    let validation = order.split_off(sizes.train);
    (sizes, [order, validation, test])
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: SplitFractions = SplitFractions {
        train: 0.7,
        validation: 0.15,
        test: 0.15,
    };

    #[test]
    fn sizes_of_the_diabetes_data() {
        assert_eq!(
            SplitSizes::of(442, &DEFAULT),
            SplitSizes {
                train: 310,
                validation: 66,
                test: 66
            }
        );
    }

    #[test]
    fn split_is_a_seeded_partition() {
        let (_, [a, b, c]) = split_indices(100, &DEFAULT, true, 7);
        let mut all: Vec<usize> = a.iter().chain(&b).chain(&c).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_eq!(split_indices(100, &DEFAULT, true, 7).1[0], a);
        assert_ne!(split_indices(100, &DEFAULT, true, 8).1[0], a);
        assert_eq!(
            split_indices(10, &DEFAULT, false, 7).1[0],
            (0..6).collect::<Vec<_>>()
        );
    }
}
