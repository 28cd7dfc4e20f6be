//! K-fold assignment of the rows outside the test split: seeded, and
//! stratified by class when asked, so that every fold keeps the classes'
//! proportions (as scikit-learn's `StratifiedKFold(shuffle=True)`).

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Deals `rows` into `folds` folds. The rows are sorted, then shuffled with
/// `seed` (each class on its own when `classes` gives every row's class,
/// indexed by row), then dealt in turn: fold sizes differ by at most one,
/// and so do a class's counts in any two folds. The folds are disjoint,
/// cover `rows`, and depend only on the set of rows, `classes`, `folds` and
/// `seed`. A fold is empty only when there are fewer rows than folds.
pub fn fold_indices(
    rows: &[usize],
    classes: Option<&[usize]>,
    folds: usize,
    seed: u64,
) -> Vec<Vec<usize>> {
    let folds = folds.max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order = rows.to_vec();
    order.sort_unstable();
    match classes {
        None => order.shuffle(&mut rng),
        Some(classes) => {
            let class_of = |row: usize| classes.get(row).copied().unwrap_or(0);
            let count = order.iter().map(|&r| class_of(r) + 1).max().unwrap_or(0);
            let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); count];
            for &row in &order {
                by_class[class_of(row)].push(row);
            }
            order.clear();
            for mut class_rows in by_class {
                class_rows.shuffle(&mut rng);
                order.extend(class_rows);
            }
        }
    }
    let mut dealt: Vec<Vec<usize>> = vec![Vec::new(); folds];
    for (position, row) in order.into_iter().enumerate() {
        dealt[position % folds].push(row);
    }
    // Classes must not come in blocks within a fold (evaluation order and
    // any order-dependent reading of the splits).
    for fold in &mut dealt {
        fold.shuffle(&mut rng);
    }
    dealt
}

/// The training and validation rows of fold `fold` (0-based) of `folds`:
/// that fold validates, the others train (in fold order).
pub fn fold_split(folds: &[Vec<usize>], fold: usize) -> (Vec<usize>, Vec<usize>) {
    let train = folds
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != fold)
        .flat_map(|(_, rows)| rows.iter().copied())
        .collect();
    let validation = folds.get(fold).cloned().unwrap_or_default();
    (train, validation)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn sorted(mut rows: Vec<usize>) -> Vec<usize> {
        rows.sort_unstable();
        rows
    }

    #[test]
    fn folds_are_disjoint_cover_the_rows_and_differ_by_one_row_at_most() {
        // Rows 100..203, as if the others were the test split.
        let rows: Vec<usize> = (100..203).collect();
        for k in [2, 3, 5, 10, 103] {
            let folds = fold_indices(&rows, None, k, 7);
            assert_eq!(folds.len(), k);
            let all: Vec<usize> = folds.iter().flatten().copied().collect();
            assert_eq!(sorted(all), rows, "k = {k}: disjoint and covering");
            let sizes: Vec<usize> = folds.iter().map(Vec::len).collect();
            let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            assert!(max - min <= 1 && *min > 0, "k = {k}: {sizes:?}");
        }
    }

    #[test]
    fn folds_are_seeded_and_shuffled() {
        let rows: Vec<usize> = (0..60).collect();
        let folds = fold_indices(&rows, None, 3, 7);
        assert_eq!(fold_indices(&rows, None, 3, 7), folds);
        assert_ne!(fold_indices(&rows, None, 3, 8), folds);
        // The order the rows come in does not matter, only which they are.
        let reversed: Vec<usize> = rows.iter().rev().copied().collect();
        assert_eq!(fold_indices(&reversed, None, 3, 7), folds);
        // Not contiguous blocks of the file.
        let first = sorted(folds[0].clone());
        assert_ne!(first, (0..20).collect::<Vec<_>>());
        assert!(first.iter().any(|&r| r >= 40), "{first:?}");
    }

    #[test]
    fn stratified_folds_keep_the_class_proportions() {
        // 90 rows of class 0 then 30 of class 1, sorted as many files are;
        // rows 120..150 are "test" rows with a class but no fold.
        let classes: Vec<usize> = (0..150).map(|r| usize::from(r >= 90)).collect();
        let rows: Vec<usize> = (0..120).collect();
        let folds = fold_indices(&rows, Some(&classes), 3, 11);
        for fold in &folds {
            let ones = fold.iter().filter(|&&r| classes[r] == 1).count();
            assert_eq!((fold.len(), ones), (40, 10), "{fold:?}");
        }
        assert_eq!(
            sorted(folds.iter().flatten().copied().collect()),
            rows,
            "disjoint and covering"
        );
        // Uneven classes: each class's counts differ by one at most.
        let classes: Vec<usize> = (0..100).map(|r| r % 7).collect();
        let rows: Vec<usize> = (0..100).collect();
        let folds = fold_indices(&rows, Some(&classes), 4, 3);
        for class in 0..7 {
            let counts: Vec<usize> = folds
                .iter()
                .map(|f| f.iter().filter(|&&r| classes[r] == class).count())
                .collect();
            let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
            assert!(max - min <= 1, "class {class}: {counts:?}");
        }
        assert_eq!(fold_indices(&rows, Some(&classes), 4, 3), folds);
        assert_ne!(fold_indices(&rows, Some(&classes), 4, 4), folds);
    }

    #[test]
    fn each_fold_validates_once_and_trains_on_the_rest() {
        let rows: Vec<usize> = (0..31).collect();
        let folds = fold_indices(&rows, None, 4, 1);
        let mut validated = Vec::new();
        for fold in 0..4 {
            let (train, validation) = fold_split(&folds, fold);
            assert_eq!(validation, folds[fold]);
            assert!(train.iter().all(|r| !validation.contains(r)));
            assert_eq!(train.len() + validation.len(), 31);
            validated.extend(validation);
        }
        assert_eq!(sorted(validated), rows);
    }
}
