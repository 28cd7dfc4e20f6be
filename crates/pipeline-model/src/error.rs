//! Errors of building, running and loading networks.

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(
        "the model's last linear layer has {units} unit(s) but the data has {targets} target column(s)"
    )]
    OutputMismatch { units: u32, targets: usize },
    #[error("the weights have no tensor `{name}`")]
    MissingWeight { name: String },
    #[error("tensor `{name}` has shape {actual:?}, the spec's layer needs {expected:?}")]
    ShapeMismatch {
        name: String,
        expected: Vec<usize>,
        actual: Vec<usize>,
    },
    #[error("cannot encode the weights as safetensors")]
    Encode(#[source] safetensors::SafeTensorError),
    #[error("cannot read the weights as safetensors")]
    Decode(#[source] safetensors::SafeTensorError),
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}
