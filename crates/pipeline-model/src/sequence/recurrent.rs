//! What `Rnn`, `Lstm` and `Gru` share: sizes, the four parameters with
//! PyTorch's names and init, the time steps of the input, and the output shape.
//!
//! Why the input is not projected for all steps in one matmul: candle's
//! backward of `narrow` (taking step `t` of a `(batch, time, gates·H)`
//! projection) builds a zero-padded gradient of the whole projection, so a
//! backward pass costs O(time²). Measured (LSTM, batch 64, 8 features,
//! hidden 64, one thread): at 128 steps, backward 2.1 s with one projection
//! vs 0.14 s per step; at 512 steps, 88 s vs 0.65 s. Each step instead
//! multiplies `[x_t | h]` by the concatenated weights (one matmul; `cat`'s
//! backward is a cheap view), and the steps of `x` are views of it, free when
//! `x` is data rather than another layer's output.

use candle_core::{DType, Device, Tensor, Var};

use super::{Init, InitFn, check_size, parameter, sequence_input};
use crate::error::ModelError;

/// The sizes of a one-layer, unidirectional recurrent layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecurrentConfig {
    /// Features per time step (`input_size` in PyTorch).
    pub input_size: usize,
    /// Units of the hidden state (`hidden_size`).
    pub hidden_size: usize,
    /// `false`: the output is the last hidden state `(batch, hidden_size)`;
    /// `true`: every step's hidden state `(batch, time, hidden_size)`.
    pub return_sequences: bool,
}

/// `weight_ih_l0 (gates·H, F)`, `weight_hh_l0 (gates·H, H)`, `bias_ih_l0`,
/// `bias_hh_l0 (gates·H)`, all uniform in ±1/√H as PyTorch.
pub(crate) struct Recurrent {
    pub(crate) config: RecurrentConfig,
    pub(crate) kind: &'static str,
    pub(crate) name: String,
    pub(crate) weight_ih: Var,
    pub(crate) weight_hh: Var,
    pub(crate) bias_ih: Var,
    pub(crate) bias_hh: Var,
    pub(crate) named: Vec<(String, Var)>,
}

impl Recurrent {
    pub(crate) fn new(
        kind: &'static str,
        gates: usize,
        config: RecurrentConfig,
        init: &mut InitFn<'_>,
        prefix: &str,
        device: &Device,
    ) -> Result<Recurrent, ModelError> {
        check_size(prefix, kind, "input_size", config.input_size)?;
        check_size(prefix, kind, "hidden_size", config.hidden_size)?;
        let (f, h) = (config.input_size, config.hidden_size);
        let how = Init::fan_in(h);
        let mut named = Vec::with_capacity(4);
        let mut make = |name: &str, dims: &[usize]| {
            parameter(init, &mut named, prefix, name, dims, how, device)
        };
        let weight_ih = make("weight_ih_l0", &[gates * h, f])?;
        let weight_hh = make("weight_hh_l0", &[gates * h, h])?;
        let bias_ih = make("bias_ih_l0", &[gates * h])?;
        let bias_hh = make("bias_hh_l0", &[gates * h])?;
        Ok(Recurrent {
            config,
            kind,
            name: prefix.to_owned(),
            weight_ih,
            weight_hh,
            bias_ih,
            bias_hh,
            named,
        })
    }

    /// `(batch, time, features)` → `(batch, hidden)` or `(batch, time, hidden)`.
    pub(crate) fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, ModelError> {
        let (batch, time) = sequence_input(&self.name, self.kind, input, self.config.input_size)?;
        Ok(if self.config.return_sequences {
            vec![batch, time, self.config.hidden_size]
        } else {
            vec![batch, self.config.hidden_size]
        })
    }

    /// `[weight_ih | weight_hh]ᵀ` `(F + H, gates·H)` and `bias_ih + bias_hh`, so
    /// that one matmul of `[x_t | h]` gives every gate of a step (RNN, LSTM);
    /// in `dtype`, the activations' (`train.precision`).
    pub(crate) fn fused(&self, dtype: DType) -> candle_core::Result<(Tensor, Tensor)> {
        let weight = Tensor::cat(&[self.weight_ih.as_tensor(), self.weight_hh.as_tensor()], 1)?
            .t()?
            .contiguous()?
            .to_dtype(dtype)?;
        let bias = (self.bias_ih.as_tensor() + self.bias_hh.as_tensor())?.to_dtype(dtype)?;
        Ok((weight, bias))
    }

    /// Step `t` of `x`, `(batch, features)`, copied out of the sequence:
    /// cuBLAS refuses a strided view of it as a matmul's left side.
    pub(crate) fn step(x: &Tensor, t: usize) -> candle_core::Result<Tensor> {
        x.narrow(1, t, 1)?.squeeze(1)?.contiguous()
    }

    /// The layer's output from the hidden state of every step.
    pub(crate) fn output(&self, states: Vec<Tensor>) -> candle_core::Result<Tensor> {
        if self.config.return_sequences {
            Tensor::stack(&states, 1)
        } else {
            match states.into_iter().last() {
                Some(last) => Ok(last),
                None => candle_core::bail!("{} layer `{}`: no time steps", self.kind, self.name),
            }
        }
    }

    pub(crate) fn parameter_count(&self) -> usize {
        self.named.iter().map(|(_, v)| v.elem_count()).sum()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use candle_core::{Device, Tensor};

    use super::Recurrent;

    /// A step's rows are packed: cuBLAS (not the CPU's gemm) refuses the
    /// strided view, and the GRU's input matmul takes the step as it is.
    #[test]
    fn a_step_is_packed_rows_of_that_step() {
        let x = Tensor::arange(0f32, 24.0, &Device::Cpu)
            .unwrap()
            .reshape((2, 3, 4))
            .unwrap();
        let step = Recurrent::step(&x, 1).unwrap();
        assert!(step.is_contiguous());
        assert_eq!(
            step.to_vec2::<f32>().unwrap(),
            [[4.0, 5.0, 6.0, 7.0], [16.0, 17.0, 18.0, 19.0]]
        );
    }
}
