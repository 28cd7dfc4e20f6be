//! The search space: named dimensions (a list of choices, a float range or an integer range,
//! each on a linear or log scale), the values a trial takes in them, and the optimization goal.

use serde::{Deserialize, Serialize};

use crate::SearchError;

/// Whether lower or higher metric values are better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Goal {
    Minimize,
    Maximize,
}

impl Goal {
    /// The value turned into a cost: lower is better whatever the goal, and NaN is the worst
    /// (`+inf`). Samplers and pruners rank by this.
    pub fn cost(self, value: f64) -> f64 {
        if value.is_nan() {
            return f64::INFINITY;
        }
        match self {
            Goal::Minimize => value,
            Goal::Maximize => -value,
        }
    }

    /// The comparison word a human reads for "at least as good as": `≤` or `≥`.
    pub fn at_least_as_good(self) -> &'static str {
        match self {
            Goal::Minimize => "≤",
            Goal::Maximize => "≥",
        }
    }
}

/// The dimensions searched, in a fixed order: a [`Point`] holds one [`Value`] per dimension.
#[derive(Clone, Debug, PartialEq)]
pub struct Space {
    pub dimensions: Vec<Dimension>,
}

/// One searched setting: its name (the spec key path, for messages) and its domain.
#[derive(Clone, Debug, PartialEq)]
pub struct Dimension {
    pub name: String,
    pub kind: Kind,
}

/// A dimension's domain. Categorical choices are indices: the caller keeps the values
/// themselves (numbers, strings, tables) and maps `Value::Choice(i)` back to the i-th one.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Categorical { choices: usize },
    Float { low: f64, high: f64, log: bool },
    Int { low: i64, high: i64, log: bool },
}

/// One dimension's value in a trial. Floats and ints lie in `[low, high]` (both included).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    Choice(usize),
    Float(f64),
    Int(i64),
}

/// One value per dimension, in the space's order.
pub type Point = Vec<Value>;

impl Space {
    /// Checks what the samplers rely on: at least one dimension, choices not empty, ranges
    /// finite with `low < high`, log ranges above zero. [`crate::sampler`] calls it.
    pub fn check(&self) -> Result<(), SearchError> {
        if self.dimensions.is_empty() {
            return Err(SearchError::EmptySpace);
        }
        for dimension in &self.dimensions {
            dimension.check()?;
        }
        Ok(())
    }
}

impl Dimension {
    fn check(&self) -> Result<(), SearchError> {
        let name = || self.name.clone();
        let (low, high, log) = match self.kind {
            Kind::Categorical { choices } => {
                return if choices == 0 {
                    Err(SearchError::NoChoices { name: name() })
                } else {
                    Ok(())
                };
            }
            Kind::Float { low, high, log } => (low, high, log),
            Kind::Int { low, high, log } => (low as f64, high as f64, log),
        };
        if !(low.is_finite() && high.is_finite() && low < high) {
            return Err(SearchError::EmptyRange {
                name: name(),
                low,
                high,
            });
        }
        if log && low <= 0.0 {
            return Err(SearchError::LogNotPositive { name: name(), low });
        }
        Ok(())
    }
}

/// The number of points of a grid over `space`: the product of the choice counts; `None` when a
/// dimension is a range (or the product overflows `u64`).
pub fn grid_size(space: &Space) -> Option<u64> {
    space
        .dimensions
        .iter()
        .try_fold(1u64, |size, dimension| match dimension.kind {
            Kind::Categorical { choices } => size.checked_mul(u64::try_from(choices).ok()?),
            Kind::Float { .. } | Kind::Int { .. } => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dimension(name: &str, kind: Kind) -> Dimension {
        Dimension {
            name: name.to_owned(),
            kind,
        }
    }

    #[test]
    fn grid_size_is_the_product_of_the_choices_and_none_with_a_range() {
        let mut space = Space {
            dimensions: vec![
                dimension("a", Kind::Categorical { choices: 4 }),
                dimension("b", Kind::Categorical { choices: 3 }),
            ],
        };
        assert_eq!(grid_size(&space), Some(12));
        space.dimensions.push(dimension(
            "c",
            Kind::Int {
                low: 1,
                high: 3,
                log: false,
            },
        ));
        assert_eq!(grid_size(&space), None);
    }

    #[test]
    fn check_names_the_dimension_at_fault() {
        let space = Space {
            dimensions: vec![dimension(
                "optimizer.learning_rate",
                Kind::Float {
                    low: 0.0,
                    high: 0.1,
                    log: true,
                },
            )],
        };
        assert_eq!(
            space.check(),
            Err(SearchError::LogNotPositive {
                name: "optimizer.learning_rate".into(),
                low: 0.0
            })
        );
        let reversed = Space {
            dimensions: vec![dimension(
                "units",
                Kind::Int {
                    low: 8,
                    high: 8,
                    log: false,
                },
            )],
        };
        assert!(matches!(
            reversed.check(),
            Err(SearchError::EmptyRange { .. })
        ));
        let empty = Space { dimensions: vec![] };
        assert_eq!(empty.check(), Err(SearchError::EmptySpace));
    }

    #[test]
    fn cost_ranks_lower_as_better_and_nan_last() {
        assert!(Goal::Maximize.cost(0.9) < Goal::Maximize.cost(0.5));
        assert!(Goal::Minimize.cost(0.5) < Goal::Minimize.cost(0.9));
        assert_eq!(Goal::Maximize.cost(f64::NAN), f64::INFINITY);
    }

    #[test]
    fn values_serialize_with_their_kind() -> Result<(), serde_json::Error> {
        let point: Point = vec![Value::Choice(2), Value::Float(0.5), Value::Int(64)];
        let json = serde_json::to_string(&point)?;
        assert_eq!(json, r#"[{"choice":2},{"float":0.5},{"int":64}]"#);
        assert_eq!(serde_json::from_str::<Point>(&json)?, point);
        Ok(())
    }
}
