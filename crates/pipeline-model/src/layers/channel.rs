//! Per-channel ops of `f32` on the CPU over `(N, C, rest…)` tensors, each
//! one pass forward and one backward: batch normalisation in training and
//! a per-channel affine map (batch norm in evaluation), each optionally
//! followed by a fused ReLU (`network.rs` fuses a `batch_norm` layer with
//! the `relu` after it), channel sums (a convolution bias's gradient) and
//! ReLU on its own. Built from candle's generic
//! kernels they were many small ops per layer, each backward one a
//! strided reduction over the broadcast axes plus a zero-filled gradient
//! and an add: three quarters of a CNN's batch loop (`perf`,
//! `experiments/mnist_cnn.toml`, issue 20).
//!
//! Sums over a channel are taken in `f64`, the batch cut into [`PARTS`]
//! fixed parts whose sums are added in order, so the bits do not depend on
//! the number of threads. Elementwise passes are split over the rayon pool
//! when there is enough work.

use std::sync::{Arc, Mutex};

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::cpu::values;

/// Below this many values a pass runs on the calling thread: waking the
/// pool costs tens of microseconds.
const PARALLEL_VALUES: usize = 1 << 16;
/// Parts a batch's channel sums are cut into, whatever the pool's size.
const PARTS: usize = 16;

/// `(N, C, R)`: rows, channels, values per channel and row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Geometry {
    rows: usize,
    channels: usize,
    rest: usize,
}

impl Geometry {
    fn new(dims: &[usize]) -> Result<Geometry> {
        let [rows, channels, rest @ ..] = dims else {
            candle_core::bail!("a per-channel op takes (N, C, …), got {dims:?}");
        };
        Ok(Geometry {
            rows: *rows,
            channels: *channels,
            rest: rest.iter().product(),
        })
    }

    fn len(&self) -> usize {
        self.rows * self.channels * self.rest
    }

    /// Values per channel over the batch.
    fn count(&self) -> usize {
        self.rows * self.rest
    }

    /// The channel of the `i`-th run of `rest` values.
    fn channel(&self, run: usize) -> usize {
        run % self.channels
    }
}

/// `K` sums per channel: `add(run, channel, sums)` is called for every run
/// of `rest` values (`run` its index in the batch), in fixed parts of the
/// batch whose sums are then added in order.
fn channel_sums<const K: usize>(
    g: Geometry,
    add: impl Fn(usize, usize, &mut [f64; K]) + Sync,
) -> Vec<[f64; K]> {
    let parts = if g.len() < PARALLEL_VALUES {
        1
    } else {
        PARTS.min(g.rows)
    };
    let per_part = g.rows.div_ceil(parts.max(1)).max(1);
    let part = |p: usize| {
        let mut sums = vec![[0.0f64; K]; g.channels];
        for n in p * per_part..((p + 1) * per_part).min(g.rows) {
            for (c, sum) in sums.iter_mut().enumerate() {
                add(n * g.channels + c, c, sum);
            }
        }
        sums
    };
    let partial: Vec<Vec<[f64; K]>> = if parts == 1 {
        vec![part(0)]
    } else {
        (0..parts).into_par_iter().map(part).collect()
    };
    let mut total = vec![[0.0f64; K]; g.channels];
    for sums in partial {
        for (t, s) in total.iter_mut().zip(sums) {
            for k in 0..K {
                t[k] += s[k];
            }
        }
    }
    total
}

/// `out[run] = map(run, channel, out_run)` for every run of `rest` values,
/// over the pool when the tensor is large.
/// One dispatch to the widest instruction set per task, not per run (a
/// run is often 16 or 64 values); `map` must be an `#[inline(always)]`
/// closure, so that its loop compiles inside the dispatched function (a
/// closure LLVM does not inline is compiled on its own, for SSE2).
fn each_run(g: Geometry, out: &mut [f32], map: impl Fn(usize, usize, &mut [f32]) + Sync) {
    let rest = g.rest.max(1);
    let runs = |first: usize, chunk: &mut [f32]| {
        pulp::Arch::new().dispatch(
            #[inline(always)]
            || {
                for (k, run) in chunk.chunks_mut(rest).enumerate() {
                    map(first + k, g.channel(first + k), run);
                }
            },
        );
    };
    if g.len() < PARALLEL_VALUES {
        runs(0, out);
    } else {
        let runs_per_task = (PARALLEL_VALUES / 4 / rest).max(1);
        out.par_chunks_mut(runs_per_task * rest)
            .enumerate()
            .for_each(|(task, chunk)| runs(task * runs_per_task, chunk));
    }
}

/// `out = x · scale[c] + shift[c]`, then ReLU (as [`Relu`]) when `relu`;
/// inside [`each_run`]'s dispatch.
#[inline(always)]
fn affine_relu_into(x: &[f32], out: &mut [f32], scale: f32, shift: f32, relu: bool) {
    if relu {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = (v * scale + shift).max(0.0);
        }
    } else {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = v * scale + shift;
        }
    }
}

/// The gradient a fused ReLU lets through to its input `z = v · scale +
/// shift` (computed as the forward pass did, so the same bits): `d` where
/// `z ≥ 0`, as [`ReluBackward`]; `d` itself without ReLU.
#[inline(always)]
fn through_relu(d: f32, v: f32, scale: f32, shift: f32, relu: bool) -> f32 {
    if !relu || v * scale + shift >= 0.0 {
        d
    } else {
        0.0
    }
}

/// The gradients of a three-argument op, as candle's `CustomOp3::bwd`.
type Gradients3 = (Option<Tensor>, Option<Tensor>, Option<Tensor>);

/// The gradients of `(x, scale, shift)` out of a backward op's flat
/// `[grad_x…, grad_shift…, grad_scale…]`, each `shift` and `scale` part
/// `channels` long; `grad_x` only when `x` takes a gradient.
fn cut(all: &Tensor, x: &Tensor, channels: usize) -> Result<Gradients3> {
    let len = x.elem_count();
    let grad_x = if x.track_op() {
        Some(all.narrow(0, 0, len)?.reshape(x.shape())?)
    } else {
        None
    };
    let grad_shift = all.narrow(0, len, channels)?;
    let grad_scale = all.narrow(0, len + channels, channels)?;
    Ok((grad_x, Some(grad_scale), Some(grad_shift)))
}

/// A batch's statistics per channel, kept by the forward pass for the
/// backward pass and the running statistics.
#[derive(Debug, Clone, Default)]
pub struct Statistics {
    pub mean: Vec<f64>,
    /// Biased (divided by the count).
    pub variance: Vec<f64>,
    inverse_std: Vec<f64>,
    /// The `f32` map the forward pass applied, `x · scale + shift` per
    /// channel (a fused ReLU's backward recomputes its input with it).
    scale: Vec<f32>,
    shift: Vec<f32>,
}

/// Batch normalisation in training: `(x − mean) / √(var + ε) · weight +
/// bias` with the batch's mean and biased variance per channel, then ReLU
/// when `relu` (a `batch_norm` layer followed by a `relu` one: one tensor
/// and two passes fewer than the two ops).
#[derive(Debug)]
struct BatchNormTrain {
    epsilon: f64,
    relu: bool,
    statistics: Arc<Mutex<Statistics>>,
}

/// A copy of the statistics the forward pass kept.
fn kept(statistics: &Mutex<Statistics>) -> Result<Statistics> {
    match statistics.lock() {
        Ok(s) => Ok(s.clone()),
        Err(_) => candle_core::bail!("batch-norm: the batch's statistics were poisoned"),
    }
}

impl CustomOp3 for BatchNormTrain {
    fn name(&self) -> &'static str {
        "batch-norm-train"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = values(self.name(), s1, l1)?;
        let weight = values(self.name(), s2, l2)?;
        let bias = values(self.name(), s3, l3)?;
        let g = Geometry::new(l1.dims())?;
        if weight.len() != g.channels || bias.len() != g.channels || g.count() < 2 {
            candle_core::bail!(
                "{}: {:?} with {} weights",
                self.name(),
                l1.dims(),
                weight.len()
            );
        }
        let count = g.count() as f64;
        let run = |r: usize| &x[r * g.rest..][..g.rest];
        let sums = channel_sums::<1>(g, |r, _, s| {
            s[0] += run(r).iter().map(|&v| f64::from(v)).sum::<f64>();
        });
        let mean: Vec<f64> = sums.iter().map(|s| s[0] / count).collect();
        let squares = channel_sums::<1>(g, |r, c, s| {
            s[0] += run(r)
                .iter()
                .map(|&v| (f64::from(v) - mean[c]).powi(2))
                .sum::<f64>();
        });
        let variance: Vec<f64> = squares.iter().map(|s| s[0] / count).collect();
        let inverse_std: Vec<f64> = variance
            .iter()
            .map(|v| 1.0 / (v + self.epsilon).sqrt())
            .collect();
        let scale: Vec<f32> = (0..g.channels)
            .map(|c| (inverse_std[c] * f64::from(weight[c])) as f32)
            .collect();
        let shift: Vec<f32> = (0..g.channels)
            .map(|c| (f64::from(bias[c]) - mean[c] * f64::from(scale[c])) as f32)
            .collect();
        let mut y = vec![0.0f32; g.len()];
        each_run(
            g,
            &mut y,
            #[inline(always)]
            |r, c, out| affine_relu_into(run(r), out, scale[c], shift[c], self.relu),
        );
        match self.statistics.lock() {
            Ok(mut kept) => {
                *kept = Statistics {
                    mean,
                    variance,
                    inverse_std,
                    scale,
                    shift,
                }
            }
            Err(_) => candle_core::bail!("batch-norm: the batch's statistics were poisoned"),
        }
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        _bias: &Tensor,
        _y: &Tensor,
        grad: &Tensor,
    ) -> Result<Gradients3> {
        let op = BatchNormBackward {
            relu: self.relu,
            statistics: kept(&self.statistics)?,
        };
        let all =
            grad.contiguous()?
                .apply_op3_no_bwd(&x.contiguous()?, &weight.contiguous()?, &op)?;
        cut(&all, x, weight.elem_count())
    }
}

/// `(grad_y, x, weight)` → `[grad_x…, grad_bias…, grad_weight…]` in one
/// flat tensor, from the forward pass's statistics:
/// `grad_x = w·σ⁻¹·(g − mean(g) − x̂·mean(g·x̂))`, where `g` is `grad_y`
/// through the fused ReLU when there is one.
struct BatchNormBackward {
    relu: bool,
    statistics: Statistics,
}

impl CustomOp3 for BatchNormBackward {
    fn name(&self) -> &'static str {
        "batch-norm-train-backward"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let grad = values(self.name(), s1, l1)?;
        let x = values(self.name(), s2, l2)?;
        let weight = values(self.name(), s3, l3)?;
        let g = Geometry::new(l2.dims())?;
        let Statistics {
            mean,
            inverse_std,
            scale,
            shift,
            ..
        } = &self.statistics;
        if l1.dims() != l2.dims()
            || weight.len() != g.channels
            || mean.len() != g.channels
            || scale.len() != g.channels
            || shift.len() != g.channels
        {
            candle_core::bail!("{}: {:?} and {:?}", self.name(), l1.dims(), l2.dims());
        }
        let relu = self.relu;
        let count = g.count() as f64;
        let sums = channel_sums::<2>(g, |r, c, s| {
            let (dy, x) = (&grad[r * g.rest..][..g.rest], &x[r * g.rest..][..g.rest]);
            let (k, b) = (scale[c], shift[c]);
            for (&d, &v) in dy.iter().zip(x) {
                let d = f64::from(through_relu(d, v, k, b, relu));
                s[0] += d;
                s[1] += d * (f64::from(v) - mean[c]);
            }
        });
        let mut all = vec![0.0f32; g.len() + 2 * g.channels];
        let (grad_x, grads) = all.split_at_mut(g.len());
        // grad_x = k1·dy + k2·(x − mean) + k3, per channel.
        let coefficients: Vec<[f32; 3]> = (0..g.channels)
            .map(|c| {
                let k1 = f64::from(weight[c]) * inverse_std[c];
                let dot = sums[c][1] * inverse_std[c];
                let k2 = -k1 * inverse_std[c] * dot / count;
                let k3 = -k1 * sums[c][0] / count - k2 * mean[c];
                [k1 as f32, k2 as f32, k3 as f32]
            })
            .collect();
        each_run(
            g,
            grad_x,
            #[inline(always)]
            |r, c, out| {
                let [k1, k2, k3] = coefficients[c];
                let (dy, x) = (&grad[r * g.rest..][..g.rest], &x[r * g.rest..][..g.rest]);
                let (k, b) = (scale[c], shift[c]);
                for ((o, &d), &v) in out.iter_mut().zip(dy).zip(x) {
                    *o = k1 * through_relu(d, v, k, b, relu) + (k2 * v + k3);
                }
            },
        );
        for c in 0..g.channels {
            grads[c] = sums[c][0] as f32;
            grads[g.channels + c] = (sums[c][1] * inverse_std[c]) as f32;
        }
        Ok((CpuStorage::F32(all), Shape::from(g.len() + 2 * g.channels)))
    }
}

/// Batch normalisation of `x` `(N, C, …)` (`f32` on the CPU, at least two
/// values per channel) with the batch's statistics, then ReLU when `relu`,
/// differentiable in `x`, `weight` and `bias` (`(C,)` each); also returns
/// the statistics.
pub fn batch_norm_train(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    epsilon: f64,
    relu: bool,
) -> Result<(Tensor, Statistics)> {
    let statistics = Arc::new(Mutex::new(Statistics::default()));
    let op = BatchNormTrain {
        epsilon,
        relu,
        statistics: statistics.clone(),
    };
    let y = x
        .contiguous()?
        .apply_op3(&weight.contiguous()?, &bias.contiguous()?, op)?;
    Ok((y, kept(&statistics)?))
}

/// `y = x · scale[c] + shift[c]`, then ReLU when `relu`, differentiable in
/// all three.
struct Affine {
    relu: bool,
}

impl CustomOp3 for Affine {
    fn name(&self) -> &'static str {
        "channel-affine"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = values(self.name(), s1, l1)?;
        let scale = values(self.name(), s2, l2)?;
        let shift = values(self.name(), s3, l3)?;
        let g = Geometry::new(l1.dims())?;
        if scale.len() != g.channels || shift.len() != g.channels {
            candle_core::bail!(
                "{}: {:?} with {} scales",
                self.name(),
                l1.dims(),
                scale.len()
            );
        }
        let mut y = vec![0.0f32; g.len()];
        each_run(
            g,
            &mut y,
            #[inline(always)]
            |r, c, out| {
                affine_relu_into(
                    &x[r * g.rest..][..g.rest],
                    out,
                    scale[c],
                    shift[c],
                    self.relu,
                );
            },
        );
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        scale: &Tensor,
        shift: &Tensor,
        _y: &Tensor,
        grad: &Tensor,
    ) -> Result<Gradients3> {
        let op = AffineBackward {
            relu: self.relu.then(|| shift.to_vec1::<f32>()).transpose()?,
        };
        let all =
            grad.contiguous()?
                .apply_op3_no_bwd(&x.contiguous()?, &scale.contiguous()?, &op)?;
        cut(&all, x, scale.elem_count())
    }
}

/// `(grad_y, x, scale)` → `[grad_x…, Σ g…, Σ g·x…]`, `g` being `grad_y`
/// through the fused ReLU when there is one (whose input it recomputes
/// with `shift`).
struct AffineBackward {
    relu: Option<Vec<f32>>,
}

impl CustomOp3 for AffineBackward {
    fn name(&self) -> &'static str {
        "channel-affine-backward"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let grad = values(self.name(), s1, l1)?;
        let x = values(self.name(), s2, l2)?;
        let scale = values(self.name(), s3, l3)?;
        let g = Geometry::new(l2.dims())?;
        let shift = self.relu.as_deref();
        if l1.dims() != l2.dims()
            || scale.len() != g.channels
            || shift.is_some_and(|s| s.len() != g.channels)
        {
            candle_core::bail!("{}: {:?} and {:?}", self.name(), l1.dims(), l2.dims());
        }
        let relu = shift.is_some();
        let shift_of = |c: usize| shift.map_or(0.0, |s| s[c]);
        let sums = channel_sums::<2>(g, |r, c, s| {
            let (dy, x) = (&grad[r * g.rest..][..g.rest], &x[r * g.rest..][..g.rest]);
            let (k, b) = (scale[c], shift_of(c));
            for (&d, &v) in dy.iter().zip(x) {
                let d = f64::from(through_relu(d, v, k, b, relu));
                s[0] += d;
                s[1] += d * f64::from(v);
            }
        });
        let mut all = vec![0.0f32; g.len() + 2 * g.channels];
        let (grad_x, grads) = all.split_at_mut(g.len());
        each_run(
            g,
            grad_x,
            #[inline(always)]
            |r, c, out| {
                let (dy, x) = (&grad[r * g.rest..][..g.rest], &x[r * g.rest..][..g.rest]);
                let (k, b) = (scale[c], shift_of(c));
                for ((o, &d), &v) in out.iter_mut().zip(dy).zip(x) {
                    *o = through_relu(d, v, k, b, relu) * k;
                }
            },
        );
        for c in 0..g.channels {
            grads[c] = sums[c][0] as f32;
            grads[g.channels + c] = sums[c][1] as f32;
        }
        Ok((CpuStorage::F32(all), Shape::from(g.len() + 2 * g.channels)))
    }
}

/// `x · scale[c] + shift[c]` for `x` `(N, C, …)` (`f32` on the CPU) and
/// `scale`, `shift` `(C,)`, then ReLU when `relu`, differentiable in all
/// three.
pub fn affine(x: &Tensor, scale: &Tensor, shift: &Tensor, relu: bool) -> Result<Tensor> {
    x.contiguous()?
        .apply_op3(&scale.contiguous()?, &shift.contiguous()?, Affine { relu })
}

/// `(N, C, …)` → `(C,)`: the sum of each channel.
struct Sums;

impl CustomOp1 for Sums {
    fn name(&self) -> &'static str {
        "channel-sums"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = values(self.name(), storage, layout)?;
        let g = Geometry::new(layout.dims())?;
        let sums = channel_sums::<1>(g, |r, _, s| {
            s[0] += x[r * g.rest..][..g.rest]
                .iter()
                .map(|&v| f64::from(v))
                .sum::<f64>();
        });
        let sums: Vec<f32> = sums.iter().map(|s| s[0] as f32).collect();
        Ok((CpuStorage::F32(sums), Shape::from(g.channels)))
    }
}

/// The sum of each channel of `x` `(N, C, …)` (`f32` on the CPU), in
/// `f64` over fixed parts (a bias's gradient), without a backward pass.
pub fn sums(x: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op1_no_bwd(&Sums)
}

/// ReLU as candle's (`max(x, 0)`, the gradient passed where `x ≥ 0`), in
/// one pass each way.
struct Relu;

impl CustomOp1 for Relu {
    fn name(&self) -> &'static str {
        "relu"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = values(self.name(), storage, layout)?;
        let mut y = vec![0.0f32; x.len()];
        pulp::Arch::new().dispatch(
            #[inline(always)]
            || {
                for (o, &v) in y.iter_mut().zip(x) {
                    *o = v.max(0.0);
                }
            },
        );
        Ok((CpuStorage::F32(y), layout.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(
            grad.contiguous()?
                .apply_op2_no_bwd(&x.contiguous()?, &ReluBackward)?,
        ))
    }
}

/// `(grad_y, x)` → `grad_y` where `x ≥ 0`, else 0.
struct ReluBackward;

impl CustomOp2 for ReluBackward {
    fn name(&self) -> &'static str {
        "relu-backward"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let grad = values(self.name(), s1, l1)?;
        let x = values(self.name(), s2, l2)?;
        if grad.len() != x.len() {
            candle_core::bail!("{}: {:?} and {:?}", self.name(), l1.dims(), l2.dims());
        }
        let mut out = vec![0.0f32; x.len()];
        pulp::Arch::new().dispatch(
            #[inline(always)]
            || {
                for ((o, &d), &v) in out.iter_mut().zip(grad).zip(x) {
                    *o = if v >= 0.0 { d } else { 0.0 };
                }
            },
        );
        Ok((CpuStorage::F32(out), l2.shape().clone()))
    }
}

/// ReLU of `x` (`f32` on the CPU, any shape) with its backward pass.
pub fn relu(x: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op1(Relu)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use candle_core::{DType, Device, Var};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(rng: &mut ChaCha8Rng, dims: &[usize], low: f32, high: f32) -> Var {
        let count = dims.iter().product();
        let values: Vec<f32> = (0..count).map(|_| rng.random_range(low..high)).collect();
        Var::from_tensor(&Tensor::from_vec(values, dims, &Device::Cpu).unwrap()).unwrap()
    }

    fn flat(t: &Tensor) -> Vec<f32> {
        let t = t.flatten_all().unwrap().to_dtype(DType::F32).unwrap();
        t.to_vec1::<f32>().unwrap()
    }

    /// `var` in `f64`, a new variable: a reference whose sums do not round
    /// as `f32` ones do (32×12×12 terms drift by 5e-5 in `f32`).
    fn wide(var: &Var) -> Var {
        Var::from_tensor(&var.as_tensor().to_dtype(DType::F64).unwrap()).unwrap()
    }

    fn close(what: &str, ours: &Tensor, theirs: &Tensor) {
        assert_eq!(ours.dims(), theirs.dims(), "{what}");
        for (i, (a, b)) in flat(ours).iter().zip(flat(theirs)).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                "{what}[{i}]: {a} against {b}"
            );
        }
    }

    /// `Σ y · weights` with fixed weights, so that every output's gradient
    /// differs; the gradients of each var.
    fn gradients(y: &Tensor, vars: &[&Var]) -> Vec<Tensor> {
        let count = y.elem_count();
        let weights: Vec<f32> = (0..count)
            .map(|i| ((i * 7) % 13) as f32 * 0.1 - 0.6)
            .collect();
        let weights = Tensor::from_vec(weights, y.dims(), &Device::Cpu)
            .unwrap()
            .to_dtype(y.dtype())
            .unwrap();
        let grads = (y * weights)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        vars.iter().map(|v| grads.get(v).unwrap().clone()).collect()
    }

    /// `(C,)` as `(1, C, 1)` against `x` reshaped to `(N, C, R)`.
    fn per_channel(t: &Tensor) -> Tensor {
        t.reshape((1, t.elem_count(), 1)).unwrap()
    }

    /// The shapes: rows of features, 1-d and 2-d maps, and one large
    /// enough to go over the pool.
    const SHAPES: [&[usize]; 4] = [&[5, 3], &[4, 3, 7], &[3, 4, 5, 6], &[32, 16, 12, 12]];

    /// With and without the fused ReLU (against candle's `relu` after).
    #[test]
    fn batch_norm_matches_candles_ops_forward_and_backward() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for (dims, relu) in SHAPES.iter().flat_map(|&d| [(d, false), (d, true)]) {
            let (n, c) = (dims[0], dims[1]);
            let x = random(&mut rng, dims, -3.0, 5.0);
            let weight = random(&mut rng, &[c], 0.5, 1.5);
            let bias = random(&mut rng, &[c], -1.0, 1.0);
            let (ours, statistics) = batch_norm_train(
                x.as_tensor(),
                weight.as_tensor(),
                bias.as_tensor(),
                1e-5,
                relu,
            )
            .unwrap();
            // The reference in f64, from the same values.
            let (x64, weight64, bias64) = (wide(&x), wide(&weight), wide(&bias));
            let x3 = x64.as_tensor().reshape((n, c, ())).unwrap();
            let mean = x3.mean_keepdim(2).unwrap().mean_keepdim(0).unwrap();
            let centred = x3.broadcast_sub(&mean).unwrap();
            let variance = centred
                .sqr()
                .unwrap()
                .mean_keepdim(2)
                .unwrap()
                .mean_keepdim(0)
                .unwrap();
            let theirs = centred
                .broadcast_div(&(&variance + 1e-5).unwrap().sqrt().unwrap())
                .unwrap()
                .broadcast_mul(&per_channel(weight64.as_tensor()))
                .unwrap()
                .broadcast_add(&per_channel(bias64.as_tensor()))
                .unwrap()
                .reshape(dims)
                .unwrap();
            let theirs = if relu { theirs.relu().unwrap() } else { theirs };
            close("output", &ours, &theirs);
            let kept = |values: &[f64]| {
                let values: Vec<f32> = values.iter().map(|&v| v as f32).collect();
                Tensor::from_vec(values, c, &Device::Cpu).unwrap()
            };
            close(
                "mean",
                &kept(&statistics.mean),
                &mean.flatten_all().unwrap(),
            );
            close(
                "variance",
                &kept(&statistics.variance),
                &variance.flatten_all().unwrap(),
            );
            let a = gradients(&ours, &[&x, &weight, &bias]);
            let b = gradients(&theirs, &[&x64, &weight64, &bias64]);
            for (name, (a, b)) in ["x", "weight", "bias"].iter().zip(a.iter().zip(&b)) {
                close(&format!("{dims:?} relu {relu}: gradient of {name}"), a, b);
            }
        }
    }

    #[test]
    fn affine_matches_candles_broadcasts() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for dims in SHAPES {
            let c = dims[1];
            let mut shape = vec![1; dims.len()];
            shape[1] = c;
            let x = random(&mut rng, dims, -2.0, 2.0);
            let scale = random(&mut rng, &[c], -1.5, 1.5);
            let offset = random(&mut rng, &[c], -1.0, 1.0);
            let broadcast = |t: &Var| t.as_tensor().reshape(shape.as_slice()).unwrap();

            for relu in [false, true] {
                let ours =
                    affine(x.as_tensor(), scale.as_tensor(), offset.as_tensor(), relu).unwrap();
                let theirs = x
                    .as_tensor()
                    .broadcast_mul(&broadcast(&scale))
                    .unwrap()
                    .broadcast_add(&broadcast(&offset))
                    .unwrap();
                let theirs = if relu { theirs.relu().unwrap() } else { theirs };
                close("affine", &ours, &theirs);
                let vars = [&x, &scale, &offset];
                let (a, b) = (gradients(&ours, &vars), gradients(&theirs, &vars));
                for (name, (a, b)) in ["x", "scale", "shift"].iter().zip(a.iter().zip(&b)) {
                    close(
                        &format!("{dims:?} relu {relu}: affine gradient of {name}"),
                        a,
                        b,
                    );
                }
            }
        }
    }

    #[test]
    fn relu_matches_candles_with_zeros_passing_the_gradient() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for dims in SHAPES {
            let count: usize = dims.iter().product();
            // Rounded to halves, so that some values are exactly zero.
            let values: Vec<f32> = (0..count)
                .map(|_| (rng.random_range(-2.0f32..2.0) * 2.0).round() / 2.0)
                .collect();
            let x =
                Var::from_tensor(&Tensor::from_vec(values, dims, &Device::Cpu).unwrap()).unwrap();
            let (ours, theirs) = (relu(x.as_tensor()).unwrap(), x.as_tensor().relu().unwrap());
            assert_eq!(flat(&ours), flat(&theirs));
            let (a, b) = (gradients(&ours, &[&x]), gradients(&theirs, &[&x]));
            assert_eq!(flat(&a[0]), flat(&b[0]));
        }
    }

    #[test]
    fn channel_sums_do_not_depend_on_the_number_of_threads() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let x = random(&mut rng, &[32, 16, 12, 12], -3.0, 5.0);
        let weight = random(&mut rng, &[16], 0.5, 1.5);
        let bias = random(&mut rng, &[16], -1.0, 1.0);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let (y, _) = batch_norm_train(
                    x.as_tensor(),
                    weight.as_tensor(),
                    bias.as_tensor(),
                    1e-5,
                    true,
                )
                .unwrap();
                let grads = gradients(&y, &[&x, &weight, &bias]);
                (flat(&y), grads.iter().map(flat).collect::<Vec<_>>())
            })
        };
        assert_eq!(run(1), run(3));
    }

    #[test]
    fn bad_shapes_are_errors() {
        let x = Tensor::zeros((2, 3, 4), DType::F32, &Device::Cpu).unwrap();
        let four = Tensor::zeros(4, DType::F32, &Device::Cpu).unwrap();
        assert!(batch_norm_train(&x, &four, &four, 1e-5, false).is_err());
        assert!(affine(&x, &four, &four, true).is_err());
        let one = Tensor::zeros((1, 3, 1), DType::F32, &Device::Cpu).unwrap();
        let three = Tensor::zeros(3, DType::F32, &Device::Cpu).unwrap();
        assert!(batch_norm_train(&one, &three, &three, 1e-5, true).is_err());
    }
}
