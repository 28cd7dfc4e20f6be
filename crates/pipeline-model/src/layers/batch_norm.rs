//! Batch normalisation as PyTorch's `nn.BatchNorm1d` (rows `(N, F)` or
//! `(N, C, L)`) and `nn.BatchNorm2d` (`(N, C, H, W)`), per feature or
//! channel: in training, the batch's mean and biased variance normalise it
//! and the running statistics move towards the batch's (momentum 0.1, the
//! variance unbiased); in evaluation the running statistics are used. The
//! buffers carry PyTorch's names (`i.running_mean`, `i.running_var`,
//! `i.num_batches_tracked`) so that a saved network loads in PyTorch.
//!
//! PyTorch refuses to train on a batch with a single value per channel; here
//! such a batch (a last batch of one row, say) is normalised with the
//! running statistics and leaves them unchanged.

use candle_core::{DType, Result, Tensor, Var};

use super::params::{Init, Params};
use super::{channel, cpu};
use crate::error::ModelError;

/// `momentum` of `nn.BatchNorm*d`.
pub const MOMENTUM: f64 = 0.1;
/// `eps` of `nn.BatchNorm*d`.
pub const EPSILON: f64 = 1e-5;

pub struct BatchNorm {
    weight: Var,
    bias: Var,
    running_mean: Var,
    running_var: Var,
    batches: Var,
}

impl BatchNorm {
    pub fn new(
        index: usize,
        features: usize,
        params: &mut Params,
    ) -> std::result::Result<BatchNorm, ModelError> {
        Ok(BatchNorm {
            weight: params.parameter(
                format!("{index}.weight"),
                &[features],
                Init::Constant(1.0),
            )?,
            bias: params.parameter(format!("{index}.bias"), &[features], Init::Constant(0.0))?,
            running_mean: params.buffer(
                format!("{index}.running_mean"),
                &[features],
                Init::Constant(0.0),
                false,
            )?,
            running_var: params.buffer(
                format!("{index}.running_var"),
                &[features],
                Init::Constant(1.0),
                false,
            )?,
            batches: params.buffer(
                format!("{index}.num_batches_tracked"),
                &[],
                Init::Constant(0.0),
                true,
            )?,
        })
    }

    pub fn forward(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        self.forward_then(x, training, false)
    }

    /// [`BatchNorm::forward`], then ReLU: one op on the CPU in `f32` (a
    /// `batch_norm` layer followed by `relu`), the two layers elsewhere.
    pub fn forward_relu(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        if cpu::is_cpu_f32(x) {
            self.forward_then(x, training, true)
        } else {
            self.forward_then(x, training, false)?.relu()
        }
    }

    fn forward_then(&self, x: &Tensor, training: bool, relu: bool) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let (rows, features) = (x.dim(0)?, x.dim(1)?);
        let rest: usize = dims[2..].iter().product();
        // (N, C, rest): the statistics are over axes 0 and 2, in f32 whatever
        // the activations' dtype (as PyTorch's autocast), so the running
        // statistics stay f32.
        let dtype = x.dtype();
        let x = x.reshape((rows, features, rest))?.to_dtype(DType::F32)?;
        let count = rows * rest;
        if cpu::is_cpu_f32(&x) {
            return self
                .forward_cpu(&x, training, count, relu)?
                .reshape(dims)?
                .to_dtype(dtype);
        }
        if relu {
            candle_core::bail!("batch_norm: a fused relu is for f32 on the CPU");
        }
        let per_feature = |t: &Var| t.as_tensor().detach().reshape((1, features, 1));
        let (mean, variance) = if training && count > 1 {
            let mean = x.mean_keepdim(2)?.mean_keepdim(0)?;
            let variance = x
                .broadcast_sub(&mean)?
                .sqr()?
                .mean_keepdim(2)?
                .mean_keepdim(0)?;
            self.update(&mean, &variance, count)?;
            (mean, variance)
        } else {
            (
                per_feature(&self.running_mean)?,
                per_feature(&self.running_var)?,
            )
        };
        let weight = self.weight.as_tensor().reshape((1, features, 1))?;
        let bias = self.bias.as_tensor().reshape((1, features, 1))?;
        x.broadcast_sub(&mean)?
            .broadcast_div(&(variance + EPSILON)?.sqrt()?)?
            .broadcast_mul(&weight)?
            .broadcast_add(&bias)?
            .reshape(dims)?
            .to_dtype(dtype)
    }

    /// The forward pass of `x` `(N, C, R)` in `f32` on the CPU through
    /// `channel.rs`'s ops, then ReLU when `relu`: one pass each way.
    fn forward_cpu(&self, x: &Tensor, training: bool, count: usize, relu: bool) -> Result<Tensor> {
        let (weight, bias) = (self.weight.as_tensor(), self.bias.as_tensor());
        if training && count > 1 {
            let (y, statistics) = channel::batch_norm_train(x, weight, bias, EPSILON, relu)?;
            let per_feature = |values: &[f64]| {
                let values: Vec<f32> = values.iter().map(|&v| v as f32).collect();
                Tensor::from_vec(values, weight.elem_count(), x.device())
            };
            self.update(
                &per_feature(&statistics.mean)?,
                &per_feature(&statistics.variance)?,
                count,
            )?;
            return Ok(y);
        }
        // With the running statistics: `x · scale + shift`, differentiable
        // in the weight and bias through the small tensors.
        let running = |t: &Var| t.as_tensor().detach();
        let scale = (weight / (running(&self.running_var) + EPSILON)?.sqrt()?)?;
        let shift = (bias - (running(&self.running_mean) * &scale)?)?;
        channel::affine(x, &scale, &shift, relu)
    }

    /// `running = (1 - momentum) · running + momentum · batch`, with the
    /// batch's unbiased variance.
    fn update(&self, mean: &Tensor, variance: &Tensor, count: usize) -> Result<()> {
        let mean = mean.detach().flatten_all()?;
        let unbiased = (variance.detach().flatten_all()? * (count as f64 / (count - 1) as f64))?;
        let blend = |running: &Var, batch: &Tensor| -> Result<()> {
            running
                .set(&((running.as_tensor().detach() * (1.0 - MOMENTUM))? + (batch * MOMENTUM)?)?)
        };
        blend(&self.running_mean, &mean)?;
        blend(&self.running_var, &unbiased)?;
        self.batches
            .set(&(self.batches.as_tensor().detach() + 1.0)?)
    }
}
