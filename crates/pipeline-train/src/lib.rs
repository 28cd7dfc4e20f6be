//! The training stage: the epoch loop, evaluation and metrics. The loop
//! reports each finished epoch to an [`Observer`]; it knows nothing of the
//! registry or the terminal (the CLI plugs those in as observers).

pub mod checks;
pub mod classification;
mod device;
pub mod diagnosis;
mod engine;
mod epochs;
mod error;
pub mod evaluation;
pub mod generalization;
mod inference;
mod metrics;
pub mod observer;
mod precision;
mod state;
mod trainer;

pub use checks::{Pitfall, PitfallKind, pitfalls};
pub use device::{device_name, select_device};
pub use engine::Engine;
pub use error::{DeviceProblem, HugeTarget, TrainError};
pub use inference::{FORWARD_ROWS, predict_rows};
pub use metrics::{Metrics, SplitMetrics, regression_metrics};
pub use observer::{EpochRecord, NoObserver, Observer, Plan};
pub use state::TrainingState;
pub use trainer::{
    Outcome, StopReason, TrainedModel, Training, initial_network, predict, train, train_with,
};
