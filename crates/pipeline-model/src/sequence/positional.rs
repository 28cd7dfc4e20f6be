//! The sinusoidal positional encoding of "Attention is all you need".

use candle_core::{Device, Tensor, Var};

use super::{check_size, sequence_input};
use crate::error::ModelError;

/// Adds `pe[t, 2i] = sin(t / 10000^(2i/D))`, `pe[t, 2i+1] = cos(t / 10000^(2i/D))`
/// to every sequence of the batch (as the PyTorch tutorial's
/// `PositionalEncoding`, without its dropout). No parameters.
///
/// - Input: `(batch, time, d_model)` with `time <= max_len`, batch first.
/// - Output: the same shape.
pub struct PositionalEncoding {
    d_model: usize,
    name: String,
    /// `(max_len, d_model)`, computed in f64 and stored as f32.
    table: Tensor,
}

impl PositionalEncoding {
    /// `name` only labels errors (the layer has no weights).
    pub fn new(
        d_model: usize,
        max_len: usize,
        name: &str,
        device: &Device,
    ) -> Result<PositionalEncoding, ModelError> {
        const KIND: &str = "positional_encoding";
        check_size(name, KIND, "d_model", d_model)?;
        check_size(name, KIND, "max_len", max_len)?;
        let mut values = Vec::with_capacity(max_len * d_model);
        for position in 0..max_len {
            for j in 0..d_model {
                let exponent = (j - j % 2) as f64 / d_model as f64;
                let angle = position as f64 / 10_000f64.powf(exponent);
                let value = if j % 2 == 0 { angle.sin() } else { angle.cos() };
                values.push(value as f32);
            }
        }
        let table = Tensor::from_vec(values, (max_len, d_model), device)?;
        Ok(PositionalEncoding {
            d_model,
            name: name.to_owned(),
            table,
        })
    }

    pub fn d_model(&self) -> usize {
        self.d_model
    }

    pub fn max_len(&self) -> usize {
        self.table.dims()[0]
    }

    /// The output shape for an input shape, or why the input does not fit.
    pub fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, ModelError> {
        const KIND: &str = "positional_encoding";
        let (_, time) = sequence_input(&self.name, KIND, input, self.d_model)?;
        if time > self.max_len() {
            return Err(ModelError::SequenceTooLong {
                layer: self.name.clone(),
                kind: KIND,
                max_len: self.max_len(),
                time,
            });
        }
        Ok(input.to_vec())
    }

    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (_, time, _) = x.dims3()?;
        let encoding = self.table.narrow(0, 0, time)?.to_dtype(x.dtype())?;
        x.broadcast_add(&encoding)
    }

    /// The encoding of the first `time` positions, `(time, d_model)`.
    pub fn table(&self, time: usize) -> candle_core::Result<Tensor> {
        self.table.narrow(0, 0, time)
    }

    /// None: the layer has no parameters (for symmetry with the others).
    pub fn named_vars(&self) -> &[(String, Var)] {
        &[]
    }

    pub fn parameter_count(&self) -> usize {
        0
    }
}
