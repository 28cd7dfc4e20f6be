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

/// Row indices of train, validation and test, each class split on its own
/// (shuffled with `seed`) so that every split keeps the classes'
/// proportions, as scikit-learn's `train_test_split(stratify=…)`. `classes`
/// holds each row's class index. A class too small to give validation or
/// test a row (rounding) stays in train.
pub fn stratified_split_indices(
    classes: &[usize],
    fractions: &SplitFractions,
    seed: u64,
) -> (SplitSizes, [Vec<usize>; 3]) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let count = classes.iter().max().map_or(0, |m| m + 1);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (row, &class) in classes.iter().enumerate() {
        by_class[class].push(row);
    }
    let mut splits: [Vec<usize>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for mut rows in by_class {
        rows.shuffle(&mut rng);
        let sizes = SplitSizes::of(rows.len(), fractions);
        let test = rows.split_off(sizes.train + sizes.validation);
        let validation = rows.split_off(sizes.train);
        splits[0].extend(rows);
        splits[1].extend(validation);
        splits[2].extend(test);
    }
    // Classes must not come in blocks within a split (evaluation order and
    // any order-dependent reading of the splits).
    for split in &mut splits {
        split.shuffle(&mut rng);
    }
    let sizes = SplitSizes {
        train: splits[0].len(),
        validation: splits[1].len(),
        test: splits[2].len(),
    };
    (sizes, splits)
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
    fn stratified_split_keeps_class_proportions() {
        // 80 rows of class 0, 20 of class 1, in blocks as sorted files are.
        let classes: Vec<usize> = (0..100).map(|r| usize::from(r >= 80)).collect();
        let (sizes, [train, validation, test]) = stratified_split_indices(&classes, &DEFAULT, 3);
        assert_eq!((sizes.train, sizes.validation, sizes.test), (70, 15, 15));
        let ones = |rows: &[usize]| rows.iter().filter(|&&r| classes[r] == 1).count();
        assert_eq!((ones(&train), ones(&validation), ones(&test)), (14, 3, 3));
        let mut all: Vec<usize> = train
            .iter()
            .chain(&validation)
            .chain(&test)
            .copied()
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_eq!(stratified_split_indices(&classes, &DEFAULT, 3).1[0], train);
        assert_ne!(stratified_split_indices(&classes, &DEFAULT, 4).1[0], train);
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
