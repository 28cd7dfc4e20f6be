//! Grid search: trial `number` takes the `number`-th point of the grid in row-major order (the
//! first dimension changes slowest). No state and no randomness, so concurrent workers and a
//! resumed sweep agree on which trial is which point; the registry's claim on the trial number
//! is what keeps a point from running twice.

use crate::SearchError;
use crate::sampler::{Observation, Sampler};
use crate::space::{Kind, Point, Space, Value, grid_size};

/// Every point of a space whose dimensions are all lists of choices.
#[derive(Clone, Debug)]
pub struct GridSampler {
    /// The choice count of each dimension, in order.
    choices: Vec<u64>,
    size: u64,
}

impl GridSampler {
    pub fn new(space: Space) -> Result<Self, SearchError> {
        space.check()?;
        let mut choices = Vec::with_capacity(space.dimensions.len());
        for dimension in &space.dimensions {
            match dimension.kind {
                Kind::Categorical { choices: count } => {
                    choices.push(u64::try_from(count).map_err(|_| SearchError::GridTooLarge)?)
                }
                Kind::Float { .. } | Kind::Int { .. } => {
                    return Err(SearchError::GridNotCategorical {
                        name: dimension.name.clone(),
                    });
                }
            }
        }
        let size = grid_size(&space).ok_or(SearchError::GridTooLarge)?;
        Ok(Self { choices, size })
    }

    /// The number of points.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The `number`-th point, row-major. Numbers wrap around the grid's size, so any `size`
    /// consecutive numbers (from 0 or from 1) give every point exactly once.
    pub fn point(&self, number: u64) -> Point {
        let mut rest = number % self.size.max(1);
        let mut indices = vec![0usize; self.choices.len()];
        for (index, &count) in indices.iter_mut().zip(&self.choices).rev() {
            let count = count.max(1);
            *index = usize::try_from(rest % count).unwrap_or(0);
            rest /= count;
        }
        indices.into_iter().map(Value::Choice).collect()
    }
}

impl Sampler for GridSampler {
    fn suggest(&mut self, number: u32, _history: &[Observation]) -> Point {
        self.point(u64::from(number))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::BTreeSet;

    use super::*;
    use crate::space::Dimension;

    fn grid(counts: &[usize]) -> GridSampler {
        let dimensions = counts
            .iter()
            .enumerate()
            .map(|(i, &choices)| Dimension {
                name: format!("d{i}"),
                kind: Kind::Categorical { choices },
            })
            .collect();
        GridSampler::new(Space { dimensions }).unwrap()
    }

    #[test]
    fn points_are_in_row_major_order_first_dimension_slowest() {
        let mut sampler = grid(&[2, 3]);
        let points: Vec<Point> = (0..6).map(|n| sampler.suggest(n, &[])).collect();
        let expected: Vec<Point> = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
            .into_iter()
            .map(|(a, b)| vec![Value::Choice(a), Value::Choice(b)])
            .collect();
        assert_eq!(points, expected);
    }

    #[test]
    fn any_size_consecutive_numbers_cover_every_point_once() {
        let sampler = grid(&[4, 3, 2]);
        assert_eq!(sampler.size(), 24);
        for first in [0u64, 1, 17] {
            let points: BTreeSet<String> = (first..first + 24)
                .map(|n| format!("{:?}", sampler.point(n)))
                .collect();
            assert_eq!(points.len(), 24, "starting at {first}");
        }
    }
}
