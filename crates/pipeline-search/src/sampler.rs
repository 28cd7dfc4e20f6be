//! What a sampler sees (the trials so far) and what it answers (the next point), and the one
//! constructor the sweep driver calls: [`sampler`].

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::SearchError;
use crate::grid::GridSampler;
use crate::random::RandomSampler;
use crate::space::{Goal, Kind, Point, Space, Value};
use crate::tpe::TpeSampler;

/// A trial's state as far as sampling goes. (The registry knows more states, pending and
/// interrupted: those trials have no result and are left out of the history.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrialState {
    Running,
    Completed,
    Pruned,
    Failed,
}

/// One trial a sampler may learn from.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    pub number: u32,
    pub point: Point,
    pub state: TrialState,
    /// The raw metric value (the run's `selection_value`; a pruned trial's best so far), read
    /// in the sampler's [`Goal`]. `None` when the trial has none yet.
    pub value: Option<f64>,
}

/// Proposes the point of trial `number` given the trials so far (in any order).
pub trait Sampler: Send {
    fn suggest(&mut self, number: u32, history: &[Observation]) -> Point;
}

/// The search methods, as `[sweep] method` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Grid,
    Random,
    Tpe,
}

/// The sampler of `method` over `space`, seeded. The space is checked first
/// ([`Space::check`]), and a grid needs every dimension to be a list of choices.
pub fn sampler(
    method: Method,
    space: Space,
    goal: Goal,
    seed: u64,
) -> Result<Box<dyn Sampler>, SearchError> {
    space.check()?;
    Ok(match method {
        Method::Grid => Box::new(GridSampler::new(space)?),
        Method::Random => Box::new(RandomSampler::new(space, seed)),
        Method::Tpe => Box::new(TpeSampler::new(space, goal, seed)),
    })
}

/// The random stream of trial `number`: one ChaCha stream per trial, so a trial's draws depend
/// only on the seed and its number, never on which trials ran before it.
pub(crate) fn trial_rng(seed: u64, number: u32) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(u64::from(number));
    rng
}

/// A point drawn uniformly (log-uniformly on log dimensions).
pub(crate) fn random_point(space: &Space, rng: &mut ChaCha8Rng) -> Point {
    space
        .dimensions
        .iter()
        .map(|dimension| random_value(&dimension.kind, rng))
        .collect()
}

fn random_value(kind: &Kind, rng: &mut ChaCha8Rng) -> Value {
    match *kind {
        Kind::Categorical { choices } => Value::Choice(rng.random_range(0..choices.max(1))),
        Kind::Float { .. } | Kind::Int { .. } => {
            let (low, high) = internal_bounds(kind);
            let u: f64 = rng.random();
            from_internal(kind, low + u * (high - low))
        }
    }
}

/// The bounds of a numeric dimension in the space samplers work in: the log of the bounds on
/// a log scale, and integers widened by half a step each side so that rounding gives every
/// integer the same share (as Optuna does).
pub(crate) fn internal_bounds(kind: &Kind) -> (f64, f64) {
    match *kind {
        Kind::Categorical { choices } => (0.0, choices as f64),
        Kind::Float { low, high, log } => {
            if log {
                (low.ln(), high.ln())
            } else {
                (low, high)
            }
        }
        Kind::Int { low, high, log } => {
            let (low, high) = (low as f64 - 0.5, high as f64 + 0.5);
            if log {
                (low.max(0.5).ln(), high.ln())
            } else {
                (low, high)
            }
        }
    }
}

/// A numeric value in the internal space back to the dimension's value, inside its bounds.
pub(crate) fn from_internal(kind: &Kind, x: f64) -> Value {
    match *kind {
        Kind::Categorical { choices } => {
            Value::Choice((x.max(0.0) as usize).min(choices.saturating_sub(1)))
        }
        Kind::Float { low, high, log } => {
            let value = if log { x.exp() } else { x };
            Value::Float(value.clamp(low, high))
        }
        Kind::Int { low, high, log } => {
            let value = if log { x.exp() } else { x };
            Value::Int((value.round() as i64).clamp(low, high))
        }
    }
}

/// A value in the internal space, for the density estimators. `None` when the value does not
/// fit the dimension (a history written for another space).
pub(crate) fn to_internal(kind: &Kind, value: &Value) -> Option<f64> {
    let (x, log) = match (kind, value) {
        (Kind::Float { log, .. }, Value::Float(x)) => (*x, *log),
        (Kind::Int { log, .. }, Value::Int(i)) => (*i as f64, *log),
        (Kind::Float { log, .. }, Value::Int(i)) => (*i as f64, *log),
        _ => return None,
    };
    let x = if log { x.ln() } else { x };
    x.is_finite().then_some(x)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::space::Dimension;

    pub(crate) fn mixed_space() -> Space {
        Space {
            dimensions: vec![
                Dimension {
                    name: "optimizer.learning_rate".into(),
                    kind: Kind::Float {
                        low: 1e-4,
                        high: 1e-1,
                        log: true,
                    },
                },
                Dimension {
                    name: "model.layers.0.units".into(),
                    kind: Kind::Categorical { choices: 4 },
                },
                Dimension {
                    name: "optimizer.weight_decay".into(),
                    kind: Kind::Float {
                        low: 0.0,
                        high: 0.01,
                        log: false,
                    },
                },
                Dimension {
                    name: "train.batch_size".into(),
                    kind: Kind::Int {
                        low: 16,
                        high: 128,
                        log: true,
                    },
                },
            ],
        }
    }

    #[test]
    fn random_points_stay_inside_every_dimension_and_reach_both_ends() {
        let space = mixed_space();
        let (mut smallest_batch, mut largest_batch) = (i64::MAX, i64::MIN);
        for number in 0..2000 {
            let point = random_point(&space, &mut trial_rng(3, number));
            let [
                Value::Float(rate),
                Value::Choice(units),
                Value::Float(decay),
                Value::Int(batch),
            ] = point.as_slice()
            else {
                unreachable!("wrong value kinds: {point:?}");
            };
            assert!((1e-4..=1e-1).contains(rate), "{rate}");
            assert!(*units < 4);
            assert!((0.0..=0.01).contains(decay), "{decay}");
            assert!((16..=128).contains(batch), "{batch}");
            smallest_batch = smallest_batch.min(*batch);
            largest_batch = largest_batch.max(*batch);
        }
        assert_eq!((smallest_batch, largest_batch), (16, 128));
    }

    #[test]
    fn log_dimensions_are_drawn_evenly_across_decades() {
        let space = Space {
            dimensions: vec![mixed_space().dimensions[0].clone()],
        };
        let below_1e3 = (0..3000)
            .filter(|&number| {
                matches!(random_point(&space, &mut trial_rng(1, number))[0], Value::Float(x) if x < 1e-3)
            })
            .count();
        // One decade of three: about 1000 of 3000 draws (a linear draw would give about 27).
        assert!((850..1150).contains(&below_1e3), "{below_1e3}");
    }

    #[test]
    fn sampler_refuses_a_grid_over_a_range() {
        let refused = sampler(Method::Grid, mixed_space(), Goal::Minimize, 0).err();
        assert_eq!(
            refused,
            Some(SearchError::GridNotCategorical {
                name: "optimizer.learning_rate".into()
            })
        );
    }
}
