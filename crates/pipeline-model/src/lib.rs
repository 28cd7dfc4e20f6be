//! The model stage: networks, losses, optimizers and learning-rate schedules
//! built from the spec with candle. Weight names follow PyTorch's `nn.Sequential` (`0.weight`,
//! `2.bias`, …) so exported weights load in PyTorch unchanged.

mod classification_loss;
pub mod cost;
pub mod dense;
mod digest;
mod error;
mod layers;
mod loss;
pub mod memory;
mod network;
mod optim;
mod schedule;
pub mod sequence;

pub use classification_loss::{binary_cross_entropy_with_logits, cross_entropy};
pub use digest::weights_digest;
pub use error::ModelError;
pub use layers::shape::row_shapes;
pub use loss::{Criterion, loss};
pub use network::{LayerSummary, Mode, Network};
pub use optim::{Optimizer, OptimizerState, SlotState};
pub use schedule::{Scheduler, SchedulerState};
