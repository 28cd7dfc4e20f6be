//! `nn.RNN` (Elman, tanh): one layer, unidirectional, zero initial state.

use candle_core::{Device, Tensor, Var};

use super::InitFn;
use super::recurrent::{Recurrent, RecurrentConfig};
use crate::error::ModelError;
use crate::layers::sigmoid_tanh::tanh_op;

/// `h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`, `h_0 = 0`.
///
/// - Input: `(batch, time, input_size)`, batch first.
/// - Output: `(batch, hidden_size)` (the last state), or
///   `(batch, time, hidden_size)` with `return_sequences`.
/// - Weights (`nn.RNN`'s names, uniform in ±1/√hidden_size):
///   `{prefix}.weight_ih_l0 (H, F)`, `{prefix}.weight_hh_l0 (H, H)`,
///   `{prefix}.bias_ih_l0 (H)`, `{prefix}.bias_hh_l0 (H)`.
pub struct Rnn {
    inner: Recurrent,
}

impl Rnn {
    pub fn new(
        config: RecurrentConfig,
        init: &mut InitFn<'_>,
        prefix: &str,
        device: &Device,
    ) -> Result<Rnn, ModelError> {
        Ok(Rnn {
            inner: Recurrent::new("rnn", 1, config, init, prefix, device)?,
        })
    }

    pub fn config(&self) -> RecurrentConfig {
        self.inner.config
    }

    /// The output shape for an input shape, or why the input does not fit.
    pub fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, ModelError> {
        self.inner.output_shape(input)
    }

    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let r = &self.inner;
        let (batch, time, _) = x.dims3()?;
        let (weight, bias) = r.fused(x.dtype())?;
        let mut h = Tensor::zeros((batch, r.config.hidden_size), x.dtype(), x.device())?;
        let mut states = Vec::with_capacity(time);
        for t in 0..time {
            let joined = Tensor::cat(&[&Recurrent::step(x, t)?, &h], 1)?;
            h = tanh_op(&joined.matmul(&weight)?.broadcast_add(&bias)?)?;
            states.push(h.clone());
        }
        r.output(states)
    }

    /// The parameters with their PyTorch names, in `state_dict` order.
    pub fn named_vars(&self) -> &[(String, Var)] {
        &self.inner.named
    }

    pub fn parameter_count(&self) -> usize {
        self.inner.parameter_count()
    }
}
