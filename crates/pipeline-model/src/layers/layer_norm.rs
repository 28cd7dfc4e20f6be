//! Layer normalisation over the last axis with a weight and a bias, as
//! PyTorch's `nn.LayerNorm(features)` (eps 1e-5, biased variance). Built on
//! `candle_nn::ops::layer_norm_slow`: candle's fused `layer_norm` has no
//! backward pass, so its weight and bias would never learn.

use candle_core::{Result, Tensor, Var};

use super::params::{Init, Params, like};
use crate::error::ModelError;

/// `eps` of `nn.LayerNorm`.
pub const EPSILON: f32 = 1e-5;

pub struct LayerNorm {
    weight: Var,
    bias: Var,
}

impl LayerNorm {
    pub fn new(
        index: usize,
        features: usize,
        params: &mut Params,
    ) -> std::result::Result<LayerNorm, ModelError> {
        Ok(LayerNorm {
            weight: params.parameter(
                format!("{index}.weight"),
                &[features],
                Init::Constant(1.0),
            )?,
            bias: params.parameter(format!("{index}.bias"), &[features], Init::Constant(0.0))?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // The statistics in f32 whatever the activations' dtype (inside
        // `layer_norm_slow`); the weight and bias meet the result in its dtype.
        candle_nn::ops::layer_norm_slow(x, &like(&self.weight, x)?, &like(&self.bias, x)?, EPSILON)
    }
}
