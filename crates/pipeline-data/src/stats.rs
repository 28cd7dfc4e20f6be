//! The statistics that fills and scalers are fitted with, computed the way
//! numpy computes them (`np.mean`, `np.median`, `np.percentile` with linear
//! interpolation), so that a peer gets the same numbers.

/// Arithmetic mean; `None` for no values.
pub(crate) fn mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        None
    } else {
        Some(values.iter().sum::<f64>() / values.len() as f64)
    }
}

/// The `q`-quantile (0 ≤ q ≤ 1) with linear interpolation between the two
/// nearest ranks, as `np.percentile(values, 100 * q)`; `None` for no values.
pub(crate) fn quantile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let position = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = position.ceil() as usize;
    let fraction = position - below as f64;
    Some(sorted[below] + (sorted[above] - sorted[below]) * fraction)
}

/// The median: the mean of the two middle values for an even count.
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    quantile(values, 0.5)
}

/// The most frequent value; ties go to the smallest, so the result does not
/// depend on row order.
pub(crate) fn mode<T: Ord + Clone>(values: &[T]) -> Option<T> {
    let mut counts: std::collections::BTreeMap<&T, usize> = std::collections::BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    // `max_by_key` keeps the last maximum; iterate in reverse order so that
    // the last maximum seen is the smallest value.
    counts
        .into_iter()
        .rev()
        .max_by_key(|(_, n)| *n)
        .map(|(v, _)| v.clone())
}

/// `f64` ordered by `total_cmp`, for [`mode`] over numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Ordered(pub f64);

impl Eq for Ordered {}

impl PartialOrd for Ordered {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ordered {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values from numpy 1.26: np.mean, np.median, np.percentile.
    #[test]
    fn statistics_match_numpy() {
        let v = [7.0, 1.0, 3.0, 10.0];
        assert_eq!(mean(&v), Some(5.25));
        assert_eq!(median(&v), Some(5.0));
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        // np.percentile([1, 3, 7, 10], 25) == 2.5; 75 -> 7.75
        assert_eq!(quantile(&v, 0.25), Some(2.5));
        assert_eq!(quantile(&v, 0.75), Some(7.75));
        assert_eq!(mean(&[]), None);
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn mode_breaks_ties_by_the_smallest_value() {
        assert_eq!(mode(&["b", "a", "b", "a", "c"]), Some("a"));
        assert_eq!(mode(&["b", "b", "a"]), Some("b"));
        assert_eq!(mode::<&str>(&[]), None);
        assert_eq!(
            mode(&[Ordered(2.0), Ordered(1.0), Ordered(2.0)]),
            Some(Ordered(2.0))
        );
    }
}
