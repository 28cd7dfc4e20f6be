//! The model stage: networks, losses and optimizers built from the spec with
//! candle. Weight names follow PyTorch's `nn.Sequential` (`0.weight`,
//! `2.bias`, …) so exported weights load in PyTorch unchanged.

mod digest;
mod error;
mod loss;
mod network;
mod optim;

pub use digest::weights_digest;
pub use error::ModelError;
pub use loss::loss;
pub use network::{LayerSummary, Mode, Network};
pub use optim::Optimizer;
