//! `nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout,
//! activation="relu", batch_first=True, norm_first=False)`.

use candle_core::{Device, Tensor, Var};

use super::{
    AttentionConfig, Init, InitFn, LayerNorm, Linear, MultiheadAttention, check_dropout,
    check_size, dropout, join,
};
use crate::error::ModelError;
use crate::network::Mode;

/// The sizes of a transformer encoder block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EncoderConfig {
    /// Features per time step (`d_model`); a multiple of `heads`.
    pub d_model: usize,
    /// Attention heads (`nhead`).
    pub heads: usize,
    /// Units of the feed-forward network's hidden layer (`dim_feedforward`).
    pub feedforward_size: usize,
    /// Dropout in training, in `[0, 1)`: on the attention weights, after the
    /// attention, inside and after the feed-forward network.
    pub dropout: f32,
}

/// A post-norm encoder block:
/// `x = norm1(x + dropout(self_attn(x)))`,
/// `x = norm2(x + dropout(linear2(dropout(relu(linear1(x))))))`.
///
/// - Input: `(batch, time, d_model)`, batch first; no mask.
/// - Output: `(batch, time, d_model)`.
/// - Weights (PyTorch's `state_dict` names, in its order, and its init):
///   `{prefix}.self_attn.in_proj_weight (3D, D)`, `….in_proj_bias (3D)`,
///   `….out_proj.weight (D, D)`, `….out_proj.bias (D)` (see
///   [`MultiheadAttention`]), `{prefix}.linear1.weight (FF, D)`,
///   `{prefix}.linear1.bias (FF)` (uniform in ±1/√D),
///   `{prefix}.linear2.weight (D, FF)`, `{prefix}.linear2.bias (D)` (uniform in
///   ±1/√FF), `{prefix}.norm1.weight`, `{prefix}.norm1.bias`,
///   `{prefix}.norm2.weight`, `{prefix}.norm2.bias` (D; ones and zeros;
///   eps 1e-5).
pub struct TransformerEncoderLayer {
    config: EncoderConfig,
    name: String,
    self_attn: MultiheadAttention,
    linear1: Linear,
    linear2: Linear,
    norm1: LayerNorm,
    norm2: LayerNorm,
    named: Vec<(String, Var)>,
}

impl TransformerEncoderLayer {
    pub fn new(
        config: EncoderConfig,
        init: &mut InitFn<'_>,
        prefix: &str,
        device: &Device,
    ) -> Result<TransformerEncoderLayer, ModelError> {
        const KIND: &str = "transformer_encoder";
        let EncoderConfig {
            d_model: d,
            heads,
            feedforward_size: ff,
            dropout,
        } = config;
        check_size(prefix, KIND, "d_model", d)?;
        check_size(prefix, KIND, "heads", heads)?;
        check_size(prefix, KIND, "feedforward_size", ff)?;
        if d % heads != 0 {
            return Err(ModelError::HeadsDoNotDivide {
                layer: prefix.to_owned(),
                kind: KIND,
                embed_dim: d,
                heads,
            });
        }
        check_dropout(prefix, KIND, dropout)?;
        let self_attn = MultiheadAttention::new(
            AttentionConfig {
                embed_dim: d,
                heads,
                dropout,
            },
            init,
            &join(prefix, "self_attn"),
            device,
        )?;
        let mut named = self_attn.named_vars().to_vec();
        let mut linear = |name: &str, inputs: usize, outputs: usize| {
            let how = Init::fan_in(inputs);
            Linear::new(
                init,
                &mut named,
                &join(prefix, name),
                inputs,
                outputs,
                how,
                how,
                device,
            )
        };
        let linear1 = linear("linear1", d, ff)?;
        let linear2 = linear("linear2", ff, d)?;
        let norm1 = LayerNorm::new(init, &mut named, &join(prefix, "norm1"), d, device)?;
        let norm2 = LayerNorm::new(init, &mut named, &join(prefix, "norm2"), d, device)?;
        Ok(TransformerEncoderLayer {
            config,
            name: prefix.to_owned(),
            self_attn,
            linear1,
            linear2,
            norm1,
            norm2,
            named,
        })
    }

    pub fn config(&self) -> EncoderConfig {
        self.config
    }

    /// The output shape for an input shape, or why the input does not fit.
    pub fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, ModelError> {
        let (batch, time) = super::sequence_input(
            &self.name,
            "transformer_encoder",
            input,
            self.config.d_model,
        )?;
        Ok(vec![batch, time, self.config.d_model])
    }

    /// The block on `x`; dropout only in [`Mode::Train`] (PyTorch's `train()`),
    /// drawing from its generator.
    pub fn forward(&self, x: &Tensor, mode: &mut Mode<'_>) -> candle_core::Result<Tensor> {
        let rate = self.config.dropout;
        let attended = self.self_attn.forward(x, mode)?;
        let x = self
            .norm1
            .forward(&(x + dropout(&attended, rate, mode)?)?)?;
        let hidden = dropout(&self.linear1.forward(&x)?.relu()?, rate, mode)?;
        let fed = dropout(&self.linear2.forward(&hidden)?, rate, mode)?;
        self.norm2.forward(&(x + fed)?)
    }

    /// The parameters with their PyTorch names, in `state_dict` order.
    pub fn named_vars(&self) -> &[(String, Var)] {
        &self.named
    }

    pub fn parameter_count(&self) -> usize {
        self.named.iter().map(|(_, v)| v.elem_count()).sum()
    }
}
