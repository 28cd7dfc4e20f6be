//! The model stage: networks, losses, optimizers and learning-rate schedules
//! built from the spec with candle. Weight names follow PyTorch's `nn.Sequential` (`0.weight`,
//! `2.bias`, …) so exported weights load in PyTorch unchanged.

mod digest;
mod error;
mod loss;
mod network;
mod optim;
mod schedule;
pub mod sequence;

pub use digest::weights_digest;
pub use error::ModelError;
pub use loss::loss;
pub use network::{LayerSummary, Mode, Network};
pub use optim::Optimizer;
pub use schedule::Scheduler;
