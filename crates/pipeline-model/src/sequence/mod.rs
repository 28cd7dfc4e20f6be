//! Layers for sequences, each equal to its PyTorch counterpart (weights, names,
//! initialisation and numbers): [`Rnn`], [`Lstm`], [`Gru`] (`nn.RNN`/`nn.LSTM`/
//! `nn.GRU`, one layer, unidirectional, zero initial state), [`MultiheadAttention`]
//! (`nn.MultiheadAttention` as self-attention), [`TransformerEncoderLayer`]
//! (`nn.TransformerEncoderLayer`, post-norm, ReLU) and [`PositionalEncoding`]
//! (sinusoidal, no parameters).
//!
//! Every layer takes batch-first input `(batch, time, features)`, is built
//! from an [`InitFn`] that gives each parameter's values (so fresh and loaded
//! weights take one path, as in `Network`), names its parameters as PyTorch's
//! `state_dict` does under a prefix, and says its output shape before any
//! tensor exists (`output_shape`). The tests in `tests/sequence.rs` compare
//! outputs and gradients with PyTorch.

mod attention;
mod gru;
mod lstm;
mod lstm_cpu;
mod positional;
mod recurrent;
mod rnn;
mod transformer;

pub use attention::{AttentionConfig, MultiheadAttention};
pub use gru::Gru;
pub use lstm::Lstm;
pub use positional::PositionalEncoding;
pub use recurrent::RecurrentConfig;
pub use rnn::Rnn;
pub use transformer::{EncoderConfig, TransformerEncoderLayer};

use candle_core::{D, Device, Tensor, Var};
use rand::Rng;

use crate::error::ModelError;
use crate::network::Mode;

/// The one initialisation type of the crate (`layers::params`): the
/// sequence layers ask for their tensors as every other layer does.
pub use crate::layers::params::{Init, InitFn};

/// `prefix.name`, or `name` alone under an empty prefix.
pub(crate) fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Creates the parameter `prefix.name` from `init` and records it in `named`.
pub(crate) fn parameter(
    init: &mut InitFn<'_>,
    named: &mut Vec<(String, Var)>,
    prefix: &str,
    name: &str,
    dims: &[usize],
    how: Init,
    device: &Device,
) -> Result<Var, ModelError> {
    let full = join(prefix, name);
    let values = init(&full, dims, how)?;
    let count: usize = dims.iter().product();
    if values.len() != count {
        return Err(ModelError::ShapeMismatch {
            name: full,
            expected: dims.to_vec(),
            actual: vec![values.len()],
        });
    }
    let var = Var::from_tensor(&Tensor::from_vec(values, dims, device)?)?;
    named.push((full, var.clone()));
    Ok(var)
}

/// Checks that `input` is `(batch, time, features)` with at least one time
/// step; gives `(batch, time)`.
pub(crate) fn sequence_input(
    layer: &str,
    kind: &'static str,
    input: &[usize],
    features: usize,
) -> Result<(usize, usize), ModelError> {
    match input {
        &[batch, time, f] if f == features && time > 0 => Ok((batch, time)),
        _ => Err(ModelError::SequenceInput {
            layer: layer.to_owned(),
            kind,
            features,
            actual: input.to_vec(),
        }),
    }
}

pub(crate) fn check_size(
    layer: &str,
    kind: &'static str,
    field: &'static str,
    value: usize,
) -> Result<(), ModelError> {
    if value == 0 {
        return Err(ModelError::ZeroSize {
            layer: layer.to_owned(),
            kind,
            field,
        });
    }
    Ok(())
}

pub(crate) fn check_dropout(layer: &str, kind: &'static str, rate: f32) -> Result<(), ModelError> {
    if !(0.0..1.0).contains(&rate) {
        return Err(ModelError::DropoutRate {
            layer: layer.to_owned(),
            kind,
            rate,
        });
    }
    Ok(())
}

/// Inverted dropout as `Network`'s dropout layer: in training each value is
/// kept with probability `1 - rate` and scaled by `1 / (1 - rate)`.
pub(crate) fn dropout(x: &Tensor, rate: f32, mode: &mut Mode<'_>) -> candle_core::Result<Tensor> {
    match mode {
        Mode::Eval => Ok(x.clone()),
        Mode::Train(_) if rate == 0.0 => Ok(x.clone()),
        Mode::Train(rng) => {
            let keep = 1.0 - rate;
            let mask: Vec<f32> = (0..x.elem_count())
                .map(|_| {
                    if rng.random::<f32>() < keep {
                        1.0 / keep
                    } else {
                        0.0
                    }
                })
                .collect();
            x * Tensor::from_vec(mask, x.shape(), x.device())?.to_dtype(x.dtype())?
        }
    }
}

/// `nn.Linear` (weight `(out, in)`, bias `(out)`) on the last axis of any
/// input.
pub(crate) struct Linear {
    weight: Var,
    bias: Var,
}

impl Linear {
    /// `prefix.weight` from `weight`, `prefix.bias` from `bias`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        init: &mut InitFn<'_>,
        named: &mut Vec<(String, Var)>,
        prefix: &str,
        inputs: usize,
        outputs: usize,
        weight: Init,
        bias: Init,
        device: &Device,
    ) -> Result<Linear, ModelError> {
        let weight = parameter(
            init,
            named,
            prefix,
            "weight",
            &[outputs, inputs],
            weight,
            device,
        )?;
        let bias = parameter(init, named, prefix, "bias", &[outputs], bias, device)?;
        Ok(Linear { weight, bias })
    }

    pub(crate) fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        affine(x, &self.weight, &self.bias)
    }
}

/// `x @ weight.T + bias` on the last axis of `x`, leading axes kept.
pub(crate) fn affine(x: &Tensor, weight: &Tensor, bias: &Tensor) -> candle_core::Result<Tensor> {
    let mut dims = x.dims().to_vec();
    let inputs = x.dim(D::Minus1)?;
    let rows = x.reshape(((), inputs))?;
    // The f32 parameters meet the activations in their dtype (`train.precision`).
    let (weight, bias) = (weight.to_dtype(x.dtype())?, bias.to_dtype(x.dtype())?);
    let y = rows.matmul(&weight.t()?)?.broadcast_add(&bias)?;
    if let Some(last) = dims.last_mut() {
        *last = weight.dim(0)?;
    }
    y.reshape(dims)
}

/// `nn.LayerNorm(size)` with eps 1e-5 (the biased variance, as PyTorch).
pub(crate) struct LayerNorm {
    weight: Var,
    bias: Var,
}

impl LayerNorm {
    pub(crate) fn new(
        init: &mut InitFn<'_>,
        named: &mut Vec<(String, Var)>,
        prefix: &str,
        size: usize,
        device: &Device,
    ) -> Result<LayerNorm, ModelError> {
        let weight = parameter(
            init,
            named,
            prefix,
            "weight",
            &[size],
            Init::Constant(1.0),
            device,
        )?;
        let bias = parameter(
            init,
            named,
            prefix,
            "bias",
            &[size],
            Init::Constant(0.0),
            device,
        )?;
        Ok(LayerNorm { weight, bias })
    }

    pub(crate) fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        // The slow version is built from tensor ops, so gradients flow.
        let (weight, bias) = (
            self.weight.to_dtype(x.dtype())?,
            self.bias.to_dtype(x.dtype())?,
        );
        candle_nn::ops::layer_norm_slow(x, &weight, &bias, 1e-5)
    }
}
