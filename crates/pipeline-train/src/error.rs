//! Errors of the training loop.

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("the {what} became {value} at epoch {epoch}{}", batch.map(|b| format!(", batch {b}")).unwrap_or_default())]
    NonFinite {
        what: String,
        epoch: u32,
        batch: Option<usize>,
        value: f64,
    },
    #[error("device `{requested}` is not available: {reason}")]
    Device { requested: String, reason: String },
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
            TrainError::NonFinite { .. } => Some(
                "lower optimizer.learning_rate, or check that data.normalize is not \"none\" for features on very different scales",
            ),
            TrainError::ClassMismatch { .. } => Some(
                "multiclass classification needs one output per class: set the last linear layer's units to the number of classes",
            ),
            TrainError::ClassWeights { .. } => Some(
                "give one weight per class in the classes' sorted order, or class_weights = \"balanced\"",
            ),
            TrainError::Device { .. } => {
                Some("use device = \"cpu\", or build with `--features cuda` on a machine with CUDA")
            }
            TrainError::Model(e) => e.hint(),
            _ => None,
        }
    }
}
