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
            TrainError::Device { .. } => {
                Some("use device = \"cpu\", or build with `--features cuda` on a machine with CUDA")
            }
            TrainError::Model(e) => e.hint(),
            _ => None,
        }
    }
}
