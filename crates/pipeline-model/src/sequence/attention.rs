//! `nn.MultiheadAttention(embed_dim, heads, dropout, batch_first=True)` used
//! as self-attention (query = key = value = the input), without a mask.

use candle_core::{D, Device, Tensor, Var};

use super::{Init, InitFn, Linear, check_dropout, check_size, dropout, parameter, sequence_input};
use crate::error::ModelError;
use crate::network::Mode;

/// The sizes of a multi-head self-attention layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttentionConfig {
    /// Features per time step (`embed_dim`); a multiple of `heads`.
    pub embed_dim: usize,
    /// Attention heads (`num_heads`), each of `embed_dim / heads` features.
    pub heads: usize,
    /// Dropout on the attention weights in training, in `[0, 1)`.
    pub dropout: f32,
}

/// `softmax(q kᵀ / √(E/heads)) v` per head, heads concatenated, then
/// `out_proj`; q, k, v are the input's projections by `in_proj_weight`.
///
/// - Input: `(batch, time, embed_dim)`, batch first.
/// - Output: `(batch, time, embed_dim)`.
/// - Weights (`nn.MultiheadAttention`'s names and init):
///   `{prefix}.in_proj_weight (3E, E)` (rows q, k, v; xavier uniform),
///   `{prefix}.in_proj_bias (3E)` (zeros), `{prefix}.out_proj.weight (E, E)`
///   (uniform in ±1/√E), `{prefix}.out_proj.bias (E)` (zeros).
pub struct MultiheadAttention {
    config: AttentionConfig,
    name: String,
    in_proj_weight: Var,
    in_proj_bias: Var,
    out_proj: Linear,
    named: Vec<(String, Var)>,
}

impl MultiheadAttention {
    pub fn new(
        config: AttentionConfig,
        init: &mut InitFn<'_>,
        prefix: &str,
        device: &Device,
    ) -> Result<MultiheadAttention, ModelError> {
        const KIND: &str = "multihead_attention";
        let AttentionConfig {
            embed_dim: e,
            heads,
            dropout,
        } = config;
        check_size(prefix, KIND, "embed_dim", e)?;
        check_size(prefix, KIND, "heads", heads)?;
        if e % heads != 0 {
            return Err(ModelError::HeadsDoNotDivide {
                layer: prefix.to_owned(),
                kind: KIND,
                embed_dim: e,
                heads,
            });
        }
        check_dropout(prefix, KIND, dropout)?;
        let mut named = Vec::with_capacity(4);
        let in_proj_weight = parameter(
            init,
            &mut named,
            prefix,
            "in_proj_weight",
            &[3 * e, e],
            Init::xavier(e, 3 * e),
            device,
        )?;
        let in_proj_bias = parameter(
            init,
            &mut named,
            prefix,
            "in_proj_bias",
            &[3 * e],
            Init::Constant(0.0),
            device,
        )?;
        let out_proj = Linear::new(
            init,
            &mut named,
            &super::join(prefix, "out_proj"),
            e,
            e,
            Init::fan_in(e),
            Init::Constant(0.0),
            device,
        )?;
        Ok(MultiheadAttention {
            config,
            name: prefix.to_owned(),
            in_proj_weight,
            in_proj_bias,
            out_proj,
            named,
        })
    }

    pub fn config(&self) -> AttentionConfig {
        self.config
    }

    /// The output shape for an input shape, or why the input does not fit.
    pub fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, ModelError> {
        let (batch, time) = sequence_input(
            &self.name,
            "multihead_attention",
            input,
            self.config.embed_dim,
        )?;
        Ok(vec![batch, time, self.config.embed_dim])
    }

    /// Self-attention of `x`; dropout on the attention weights only in
    /// [`Mode::Train`].
    pub fn forward(&self, x: &Tensor, mode: &mut Mode<'_>) -> candle_core::Result<Tensor> {
        let (batch, time, e) = x.dims3()?;
        let heads = self.config.heads;
        let head_dim = e / heads;
        // (N, T, 3E) → (3, N, heads, T, head_dim)
        let qkv = super::affine(x, &self.in_proj_weight, &self.in_proj_bias)?
            .reshape((batch, time, 3, heads, head_dim))?
            .permute((2, 0, 3, 1, 4))?
            .contiguous()?;
        let scale = 1.0 / (head_dim as f64).sqrt();
        let query = (qkv.get(0)? * scale)?;
        let key = qkv.get(1)?;
        let value = qkv.get(2)?;
        let scores = query.matmul(&key.t()?)?;
        let weights = candle_nn::ops::softmax(&scores, D::Minus1)?;
        let weights = dropout(&weights, self.config.dropout, mode)?;
        // (N, heads, T, head_dim) → (N, T, E)
        let context = weights
            .matmul(&value)?
            .transpose(1, 2)?
            .reshape((batch, time, e))?;
        self.out_proj.forward(&context)
    }

    /// The parameters with their PyTorch names, in `state_dict` order.
    pub fn named_vars(&self) -> &[(String, Var)] {
        &self.named
    }

    pub fn parameter_count(&self) -> usize {
        self.named.iter().map(|(_, v)| v.elem_count()).sum()
    }
}
