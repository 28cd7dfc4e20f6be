//! `nn.LSTM`: one layer, unidirectional, zero initial state and cell.

use candle_core::{Device, Tensor, Var};

use super::InitFn;
use super::lstm_cpu;
use super::recurrent::{Recurrent, RecurrentConfig};
use crate::error::ModelError;
use crate::layers::cpu::is_cpu_f32;
use crate::layers::sigmoid_tanh::{sigmoid_op, tanh_op};

/// PyTorch's LSTM with gates in its order (input, forget, cell, output):
/// `c_t = f ⊙ c_{t-1} + i ⊙ g`, `h_t = o ⊙ tanh(c_t)`, `h_0 = c_0 = 0`.
///
/// - Input: `(batch, time, input_size)`, batch first.
/// - Output: `(batch, hidden_size)` (the last hidden state `h_T`), or
///   `(batch, time, hidden_size)` with `return_sequences`.
/// - Weights (`nn.LSTM`'s names, uniform in ±1/√hidden_size, rows in gate
///   order i, f, g, o): `{prefix}.weight_ih_l0 (4H, F)`,
///   `{prefix}.weight_hh_l0 (4H, H)`, `{prefix}.bias_ih_l0 (4H)`,
///   `{prefix}.bias_hh_l0 (4H)`.
pub struct Lstm {
    inner: Recurrent,
}

impl Lstm {
    pub fn new(
        config: RecurrentConfig,
        init: &mut InitFn<'_>,
        prefix: &str,
        device: &Device,
    ) -> Result<Lstm, ModelError> {
        Ok(Lstm {
            inner: Recurrent::new("lstm", 4, config, init, prefix, device)?,
        })
    }

    pub fn config(&self) -> RecurrentConfig {
        self.inner.config
    }

    /// The output shape for an input shape, or why the input does not fit.
    pub fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, ModelError> {
        self.inner.output_shape(input)
    }

    /// On the CPU in `f32` the whole sequence is one op (`lstm_cpu.rs`);
    /// elsewhere a step at a time through candle's ops.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let r = &self.inner;
        let hidden = r.config.hidden_size;
        let (batch, time, _) = x.dims3()?;
        let (weight, bias) = r.fused(x.dtype())?;
        if is_cpu_f32(x) {
            return lstm_cpu::lstm(x, &weight, &bias, r.config.return_sequences);
        }
        let mut h = Tensor::zeros((batch, hidden), x.dtype(), x.device())?;
        let mut c = h.clone();
        let mut states = Vec::with_capacity(time);
        for t in 0..time {
            let joined = Tensor::cat(&[&Recurrent::step(x, t)?, &h], 1)?;
            let gates = joined.matmul(&weight)?.broadcast_add(&bias)?;
            // One sigmoid over all four gates; the cell gate's part is unused.
            let sigmoid = sigmoid_op(&gates)?;
            let input = sigmoid.narrow(1, 0, hidden)?;
            let forget = sigmoid.narrow(1, hidden, hidden)?;
            let cell = tanh_op(&gates.narrow(1, 2 * hidden, hidden)?)?;
            let output = sigmoid.narrow(1, 3 * hidden, hidden)?;
            c = ((forget * &c)? + (input * cell)?)?;
            h = (output * tanh_op(&c)?)?;
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
