//! Errors of building, running and loading networks.

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(
        "the model's last linear layer has {units} unit(s) but the data has {targets} target column(s)"
    )]
    OutputMismatch { units: u32, targets: usize },
    #[error(
        "the model's output rows have shape {shape:?} but the data needs {outputs} value(s) a \
         row: add {{ type = \"flatten\" }} before the last linear layer"
    )]
    OutputShape { shape: Vec<usize>, outputs: usize },
    #[error(
        "`model.input` is {shape:?} ({} values a row) but the data gives {width} model inputs",
        shape.iter().product::<usize>()
    )]
    InputWidth { shape: Vec<usize>, width: usize },
    #[error("layer {index} ({kind}) cannot take rows of shape {input:?}: {reason}")]
    LayerShape {
        index: usize,
        kind: &'static str,
        input: Vec<usize>,
        reason: String,
    },
    #[error(
        "embedding layer {index} got the input value {value}, which is not a code of its \
         vocabulary (whole numbers 0 to {})",
        vocabulary - 1
    )]
    EmbeddingCode {
        index: usize,
        value: f32,
        vocabulary: usize,
    },
    #[error(
        "the network needs about {needed_gb:.1} GB of memory to train, more than this machine's \
         {limit_gb:.1} GB: layer {index} ({kind}) holds the most, {parameters} parameters \
         ({weights_gb:.1} GB of weights) and its activations for a batch of {batch_rows} rows"
    )]
    TooLarge {
        index: usize,
        kind: &'static str,
        parameters: u128,
        weights_gb: f64,
        needed_gb: f64,
        limit_gb: f64,
        batch_rows: usize,
    },
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
    #[error("the saved training state does not fit: {detail}")]
    State { detail: String },
    #[error("the dense training path was given inconsistent buffers: {detail}")]
    Dense { detail: String },
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

impl ModelError {
    /// Whether the spec or the data is at fault (exit code 2), not the work.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            ModelError::OutputMismatch { .. }
                | ModelError::OutputShape { .. }
                | ModelError::InputWidth { .. }
                | ModelError::LayerShape { .. }
                | ModelError::EmbeddingCode { .. }
                | ModelError::TooLarge { .. }
        )
    }

    /// What to try next, where the remedy is clear.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            ModelError::InputWidth { .. } => Some(
                "model.input is the shape of one row; its sizes multiplied must equal the number \
                 of model inputs (one-hot columns give several)",
            ),
            ModelError::EmbeddingCode { .. } => Some(
                "an embedding's input columns must hold whole-number codes: set \
                 data.normalize = \"none\" (or per column) and raise `vocabulary` to above the \
                 largest code",
            ),
            ModelError::TooLarge { .. } => Some(
                "make that layer smaller (fewer units, filters, dimensions or a smaller \
                 vocabulary), or lower train.batch_size; the estimate counts the weights, their \
                 gradients, a copy of the best epoch's, the optimizer's buffers and one batch's \
                 activations",
            ),
            _ => None,
        }
    }
}
