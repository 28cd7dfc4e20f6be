//! `nn.GRU`: one layer, unidirectional, zero initial state.

use candle_core::{Device, Tensor, Var};

use super::InitFn;
use super::recurrent::{Recurrent, RecurrentConfig};
use crate::error::ModelError;
use crate::layers::sigmoid_tanh::{sigmoid_op, tanh_op};

/// PyTorch's GRU with gates in its order (reset, update, new):
/// `r, z = σ(x W_i{r,z}^T + b_i{r,z} + h W_h{r,z}^T + b_h{r,z})`,
/// `n = tanh(x W_in^T + b_in + r ⊙ (h W_hn^T + b_hn))`,
/// `h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}`, `h_0 = 0`.
///
/// - Input: `(batch, time, input_size)`, batch first.
/// - Output: `(batch, hidden_size)` (the last state), or
///   `(batch, time, hidden_size)` with `return_sequences`.
/// - Weights (`nn.GRU`'s names, uniform in ±1/√hidden_size, rows in gate
///   order r, z, n): `{prefix}.weight_ih_l0 (3H, F)`,
///   `{prefix}.weight_hh_l0 (3H, H)`, `{prefix}.bias_ih_l0 (3H)`,
///   `{prefix}.bias_hh_l0 (3H)`.
pub struct Gru {
    inner: Recurrent,
}

impl Gru {
    pub fn new(
        config: RecurrentConfig,
        init: &mut InitFn<'_>,
        prefix: &str,
        device: &Device,
    ) -> Result<Gru, ModelError> {
        Ok(Gru {
            inner: Recurrent::new("gru", 3, config, init, prefix, device)?,
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
        let hidden = r.config.hidden_size;
        let (batch, time, _) = x.dims3()?;
        // b_hn stays inside r ⊙ (…): the input's and the state's parts are
        // two matmuls per step.
        // The f32 parameters in the activations' dtype (`train.precision`).
        let dtype = x.dtype();
        let weight_ih = r.weight_ih.t()?.to_dtype(dtype)?;
        let weight_hh = r.weight_hh.t()?.to_dtype(dtype)?;
        let bias_ih = &r.bias_ih.to_dtype(dtype)?;
        let bias_hh = &r.bias_hh.to_dtype(dtype)?;
        let mut h = Tensor::zeros((batch, hidden), x.dtype(), x.device())?;
        let mut states = Vec::with_capacity(time);
        for t in 0..time {
            let from_input = Recurrent::step(x, t)?
                .matmul(&weight_ih)?
                .broadcast_add(bias_ih)?;
            let from_hidden = h.matmul(&weight_hh)?.broadcast_add(bias_hh)?;
            let reset_update = sigmoid_op(
                &(from_input.narrow(1, 0, 2 * hidden)? + from_hidden.narrow(1, 0, 2 * hidden)?)?,
            )?;
            let reset = reset_update.narrow(1, 0, hidden)?;
            let update = reset_update.narrow(1, hidden, hidden)?;
            let new = tanh_op(
                &(from_input.narrow(1, 2 * hidden, hidden)?
                    + (reset * from_hidden.narrow(1, 2 * hidden, hidden)?)?)?,
            )?;
            // (1 - z) ⊙ n + z ⊙ h = n + z ⊙ (h - n)
            h = (&new + (update * (&h - &new)?)?)?;
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
