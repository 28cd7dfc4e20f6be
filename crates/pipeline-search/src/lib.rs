//! Where a sweep looks next and when it gives up on a trial: the search space, the samplers
//! (grid, random, TPE) and the pruners (median stopping, ASHA).
//!
//! Pure: no I/O, no clock, no registry, no training. The sweep driver (`pipeline-sweep`) turns
//! `[sweep.parameters]` into a [`Space`], asks a [`Sampler`] for trial `number`'s [`Point`]
//! given the trials so far (read back from the registry, so a resumed sweep asks with the same
//! history), and after each epoch asks a [`Pruner`] whether the trial stops, with every trial's
//! curve in [`Curves`]. Every random draw derives from the seed and the trial number
//! ([`sampler`]), so the same seed gives the same grid and random trials in any job order.
//!
//! Trial numbers and the history: a trial's state here is derived by the caller from its run
//! (pending and interrupted trials are simply left out of the history). Values are raw metric
//! values; [`Goal`] says which way is better.

mod asha;
mod curves;
mod error;
mod grid;
mod median;
mod parzen;
mod pruner;
mod random;
mod sampler;
mod space;
mod tpe;

pub use asha::AshaPruner;
pub use curves::Curves;
pub use error::SearchError;
pub use grid::GridSampler;
pub use median::MedianPruner;
pub use pruner::{Pruner, PrunerKind, Pruning, pruner};
pub use random::RandomSampler;
pub use sampler::{Method, Observation, Sampler, TrialState, sampler};
pub use space::{Dimension, Goal, Kind, Point, Space, Value, grid_size};
pub use tpe::{DEFAULT_CANDIDATES, DEFAULT_STARTUP, TpeSampler};
