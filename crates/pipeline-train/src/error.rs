//! Errors of the training loop.

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(
        "the {what} became {value} at epoch {epoch}{}{}",
        batch.map(|b| format!(", batch {b}")).unwrap_or_default(),
        huge_target.as_ref().map(|t| format!(
            "; the target `{}` reaches {:.3e} on the training split, and data.normalize_target is off",
            t.column, t.largest
        )).unwrap_or_default()
    )]
    NonFinite {
        what: String,
        epoch: u32,
        batch: Option<usize>,
        value: f64,
        /// A regression target trained on a huge scale of its own, the likely cause.
        huge_target: Option<HugeTarget>,
    },
    #[error("device `{requested}` is not available: {problem}")]
    Device {
        requested: String,
        problem: DeviceProblem,
    },
    #[error(transparent)]
    Model(#[from] pipeline_model::ModelError),
    #[error(transparent)]
    Data(#[from] pipeline_data::DataError),
    #[error(
        "the model's last linear layer has {units} unit(s), but the label column `{column}` has {} classes ({})",
        classes.len(),
        classes.join(", ")
    )]
    ClassMismatch {
        units: u32,
        column: String,
        classes: Vec<String>,
    },
    #[error(
        "loss.class_weights gives {given} weight(s), but there are {} classes ({})",
        classes.len(),
        classes.join(", ")
    )]
    ClassWeights { given: usize, classes: Vec<String> },
    #[error(transparent)]
    Classification(#[from] crate::classification::ClassificationError),
    #[error("the training state cannot be used: {0}")]
    State(String),
    #[error("an observer failed")]
    Observer(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

impl TrainError {
    /// What to try next, for the messages that have an obvious remedy.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            TrainError::NonFinite {
                huge_target: Some(_),
                ..
            } => Some(
                "set data.normalize_target = \"zscore\": the model then learns the target on a \
                 small scale, and its predictions are given back on the file's",
            ),
            TrainError::NonFinite { .. } => Some(
                "lower optimizer.learning_rate, or check that data.normalize is not \"none\" for features on very different scales",
            ),
            TrainError::ClassMismatch { .. } => Some(
                "multiclass classification needs one output per class: set the last linear layer's units to the number of classes",
            ),
            TrainError::ClassWeights { .. } => Some(
                "give one weight per class in the classes' sorted order, or class_weights = \"balanced\"",
            ),
            TrainError::Device { problem, .. } => Some(problem.hint()),
            TrainError::Model(e) => e.hint(),
            _ => None,
        }
    }
}

/// A regression target left on its file's scale whose training values are
/// huge: squared in the loss, they overflow whatever the learning rate.
#[derive(Debug, Clone, PartialEq)]
pub struct HugeTarget {
    pub column: String,
    /// The largest absolute value on the training split.
    pub largest: f64,
}

/// Why a requested GPU cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DeviceProblem {
    #[error("this binary was built without the `cuda` feature")]
    NoCudaFeature,
    #[error("{}", gpus_found(*found))]
    NoSuchGpu { found: usize },
    #[error("the CUDA driver failed: {0}")]
    Driver(String),
}

impl DeviceProblem {
    fn hint(&self) -> &'static str {
        match self {
            DeviceProblem::NoCudaFeature => {
                "use the CPU (train.device = \"cpu\", --device cpu), or a binary built with \
                 `cargo build --release --features cuda` on a machine with an NVIDIA GPU"
            }
            DeviceProblem::NoSuchGpu { .. } => {
                "GPU ordinals start at 0 (`nvidia-smi -L` lists them; CUDA_VISIBLE_DEVICES hides \
                 some); `cuda` is the first GPU and `auto` falls back to the CPU"
            }
            DeviceProblem::Driver(_) => {
                "check the GPU and its driver with `nvidia-smi`, or use the CPU \
                 (train.device = \"cpu\", --device cpu)"
            }
        }
    }
}

fn gpus_found(found: usize) -> String {
    match found {
        0 => "this machine has no CUDA GPU".into(),
        1 => "this machine has 1 CUDA GPU (cuda:0)".into(),
        n => format!("this machine has {n} CUDA GPUs (cuda:0 to cuda:{})", n - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_gpu_says_how_many_there_are() {
        let message = |found| DeviceProblem::NoSuchGpu { found }.to_string();
        assert_eq!(message(0), "this machine has no CUDA GPU");
        assert_eq!(message(1), "this machine has 1 CUDA GPU (cuda:0)");
        assert_eq!(
            message(4),
            "this machine has 4 CUDA GPUs (cuda:0 to cuda:3)"
        );
    }
}
