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
    #[error(
        "{kind} layer `{layer}` needs an input of shape (batch, time, {features}) with time >= 1, got {actual:?}; sequence layers take batch-first sequences"
    )]
    SequenceInput {
        layer: String,
        kind: &'static str,
        features: usize,
        actual: Vec<usize>,
    },
    #[error("{kind} layer `{layer}`: {field} must be at least 1")]
    ZeroSize {
        layer: String,
        kind: &'static str,
        field: &'static str,
    },
    #[error(
        "{kind} layer `{layer}`: {embed_dim} features cannot be split into {heads} heads (it must be a multiple of heads)"
    )]
    HeadsDoNotDivide {
        layer: String,
        kind: &'static str,
        embed_dim: usize,
        heads: usize,
    },
    #[error("{kind} layer `{layer}`: dropout {rate} is not in [0, 1)")]
    DropoutRate {
        layer: String,
        kind: &'static str,
        rate: f32,
    },
    #[error("{kind} layer `{layer}` encodes at most {max_len} positions, got a sequence of {time}")]
    SequenceTooLong {
        layer: String,
        kind: &'static str,
        max_len: usize,
        time: usize,
    },
}
