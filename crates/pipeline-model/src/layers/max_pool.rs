//! Max pooling of `f32` on the CPU as one candle op, forward and backward:
//! `pool.rs`'s general path gathers every window's elements into a new
//! tensor and reduces it with `argmax` and `gather`, four tensors and
//! their backward passes per layer and batch (issue 20).
//!
//! Forward takes each window's maximum (the first largest, or the last
//! `NaN`, as PyTorch's kernel) and keeps where it was; backward adds each
//! window's gradient there, overlapping windows included. Windows that do
//! not fit are dropped. A 1-d pooling is a 2-d one of height 1.

use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::cpu::values;

/// Below this many input values one thread pools them all.
const PARALLEL_VALUES: usize = 1 << 16;

/// Windows of `kernel_h × kernel_w` every `stride_h`, `stride_w`.
#[derive(Debug, Clone, Copy)]
struct Windows {
    kernel_h: usize,
    kernel_w: usize,
    stride_h: usize,
    stride_w: usize,
}

/// One max pooling: its windows, and after the forward pass the flat
/// input index of each output's element, for the backward pass.
#[derive(Debug)]
struct MaxPool {
    windows: Windows,
    chosen: Mutex<Vec<u32>>,
}

impl Windows {
    /// The output's `(OH, OW)` for an input `(N, C, H, W)`.
    fn output(&self, dims: &[usize]) -> Result<(usize, usize)> {
        let &[_, _, height, width] = dims else {
            candle_core::bail!("max_pool2d takes (N, C, H, W), got {dims:?}");
        };
        if self.stride_h == 0
            || self.stride_w == 0
            || self.kernel_h == 0
            || self.kernel_w == 0
            || height < self.kernel_h
            || width < self.kernel_w
        {
            candle_core::bail!("max_pool2d of {dims:?} with {self:?}");
        }
        Ok((
            (height - self.kernel_h) / self.stride_h + 1,
            (width - self.kernel_w) / self.stride_w + 1,
        ))
    }
}

const TWO: Windows = Windows {
    kernel_h: 2,
    kernel_w: 2,
    stride_h: 2,
    stride_w: 2,
};
const THREE: Windows = Windows {
    kernel_h: 3,
    kernel_w: 3,
    stride_h: 2,
    stride_w: 2,
};

/// Pools one plane (`H × W`, whose first value is the input's `offset`-th)
/// into `output` and `chosen` (`OH × OW`).
#[inline(always)]
fn pool_plane(
    w: Windows,
    width: usize,
    out_w: usize,
    offset: u32,
    image: &[f32],
    output: &mut [f32],
    chosen: &mut [u32],
) {
    for (oy, (output, chosen)) in output
        .chunks_exact_mut(out_w)
        .zip(chosen.chunks_exact_mut(out_w))
        .enumerate()
    {
        for (ox, (out, at)) in output.iter_mut().zip(chosen.iter_mut()).enumerate() {
            let corner = oy * w.stride_h * width + ox * w.stride_w;
            let (mut best, mut best_at) = (image[corner], corner as u32);
            for i in 0..w.kernel_h {
                let start = corner + i * width;
                for (j, &v) in image[start..start + w.kernel_w].iter().enumerate() {
                    // PyTorch's rule: a larger value or a NaN takes over.
                    // Bit masks, not branches, which random data mispredicts.
                    let take = (v > best) | v.is_nan();
                    let mask = (take as u32).wrapping_neg();
                    best = f32::from_bits((v.to_bits() & mask) | (best.to_bits() & !mask));
                    best_at = (((start + j) as u32) & mask) | (best_at & !mask);
                }
            }
            *out = best;
            *at = offset + best_at;
        }
    }
}

/// [`pool_plane`] for 2×2 windows every 2: each window's maximum first,
/// then the first position holding it, as selects over a row of windows
/// that vectorise; a row with a `NaN` goes through [`pool_plane`].
#[inline(always)]
fn pool_two(
    width: usize,
    out_w: usize,
    offset: u32,
    image: &[f32],
    output: &mut [f32],
    chosen: &mut [u32],
) {
    for (oy, (output, chosen)) in output
        .chunks_exact_mut(out_w)
        .zip(chosen.chunks_exact_mut(out_w))
        .enumerate()
    {
        let top = 2 * oy * width;
        let (upper, lower) = (
            &image[top..][..2 * out_w],
            &image[top + width..][..2 * out_w],
        );
        let mut nan = false;
        for (ox, ((out, at), (u, l))) in output
            .iter_mut()
            .zip(chosen.iter_mut())
            .zip(upper.chunks_exact(2).zip(lower.chunks_exact(2)))
            .enumerate()
        {
            let (a, b, c, d) = (u[0], u[1], l[0], l[1]);
            nan |= a.is_nan() | b.is_nan() | c.is_nan() | d.is_nan();
            let m = a.max(b).max(c.max(d));
            let corner = (top + 2 * ox) as u32;
            // The first of a, b, c, d holding the maximum, as masks (an
            // `if` chain compiled to branches that random data
            // mispredicts).
            let pick = |holds: bool, then: u32, otherwise: u32| {
                let mask = u32::from(holds).wrapping_neg();
                (then & mask) | (otherwise & !mask)
            };
            let w = width as u32;
            let step = pick(a == m, 0, pick(b == m, 1, pick(c == m, w, w + 1)));
            *out = m;
            *at = offset + corner + step;
        }
        if nan {
            let rows = &image[top..];
            let mut one_output = [0.0f32];
            for (ox, (out, at)) in output.iter_mut().zip(chosen.iter_mut()).enumerate() {
                let mut one_chosen = [0u32];
                pool_plane(
                    TWO,
                    width,
                    1,
                    offset + (top + 2 * ox) as u32,
                    &rows[2 * ox..],
                    &mut one_output,
                    &mut one_chosen,
                );
                *out = one_output[0];
                *at = one_chosen[0];
            }
        }
    }
}

impl CustomOp1 for MaxPool {
    fn name(&self) -> &'static str {
        "max-pool2d"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let input = values(self.name(), storage, layout)?;
        let w = self.windows;
        let (out_h, out_w) = w.output(layout.dims())?;
        let dims = layout.dims();
        let (height, width) = (dims[2], dims[3]);
        if u32::try_from(input.len()).is_err() {
            candle_core::bail!("max_pool2d of {dims:?}: more than 2^32 values");
        }
        let plane = height * width;
        let planes = input.len() / plane.max(1);
        let out_plane = out_h * out_w;
        let mut output = vec![0.0f32; planes * out_plane];
        let mut chosen = vec![0u32; planes * out_plane];
        // 2×2 every 2 over an even height: the planes' rows follow each
        // other with no row left over, so the whole tensor pools as one
        // tall plane, cut into runs of output rows (a 12×12 plane was 6
        // rows of 6 windows, mostly loop setup).
        if (w.kernel_h, w.kernel_w, w.stride_h, w.stride_w) == (2, 2, 2, 2) && height % 2 == 0 {
            let rows = planes * out_h;
            let per_task = if input.len() < PARALLEL_VALUES {
                rows.max(1)
            } else {
                (PARALLEL_VALUES / 4 / (2 * width).max(1)).max(1)
            };
            let task = |t: usize, (output, chosen): (&mut [f32], &mut [u32])| {
                let start = t * per_task * 2 * width;
                pool_two(width, out_w, start as u32, &input[start..], output, chosen);
            };
            let len = per_task * out_w.max(1);
            if input.len() < PARALLEL_VALUES {
                output
                    .chunks_mut(len)
                    .zip(chosen.chunks_mut(len))
                    .enumerate()
                    .for_each(|(t, pair)| task(t, pair));
            } else {
                output
                    .par_chunks_mut(len)
                    .zip(chosen.par_chunks_mut(len))
                    .enumerate()
                    .for_each(|(t, pair)| task(t, pair));
            }
            return self.keep(chosen, dims, (out_h, out_w), output);
        }
        let pool = |index: usize, (output, chosen): (&mut [f32], &mut [u32])| {
            let image = &input[index * plane..][..plane];
            let offset = (index * plane) as u32;
            // The common windows as constants, so that their loops unroll
            // (the general loop took 33 ns an output of a 2×2 pooling).
            match (w.kernel_h, w.kernel_w, w.stride_h, w.stride_w) {
                (2, 2, 2, 2) => pool_two(width, out_w, offset, image, output, chosen),
                (3, 3, 2, 2) => pool_plane(THREE, width, out_w, offset, image, output, chosen),
                _ => pool_plane(w, width, out_w, offset, image, output, chosen),
            }
        };
        if input.len() < PARALLEL_VALUES {
            output
                .chunks_mut(out_plane.max(1))
                .zip(chosen.chunks_mut(out_plane.max(1)))
                .enumerate()
                .for_each(|(index, pair)| pool(index, pair));
        } else {
            output
                .par_chunks_mut(out_plane.max(1))
                .zip(chosen.par_chunks_mut(out_plane.max(1)))
                .enumerate()
                .for_each(|(index, pair)| pool(index, pair));
        }
        self.keep(chosen, dims, (out_h, out_w), output)
    }

    fn bwd(&self, input: &Tensor, _output: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let Ok(chosen) = self.chosen.lock() else {
            candle_core::bail!("max_pool2d: the kept positions were poisoned");
        };
        let scatter = Scatter {
            chosen: &chosen,
            input: input.shape(),
        };
        Ok(Some(grad.contiguous()?.apply_op1_no_bwd(&scatter)?))
    }
}

impl MaxPool {
    /// Keeps the chosen positions for the backward pass; the op's result.
    fn keep(
        &self,
        chosen: Vec<u32>,
        dims: &[usize],
        (out_h, out_w): (usize, usize),
        output: Vec<f32>,
    ) -> Result<(CpuStorage, Shape)> {
        match self.chosen.lock() {
            Ok(mut kept) => *kept = chosen,
            Err(_) => candle_core::bail!("max_pool2d: the kept positions were poisoned"),
        }
        let shape = Shape::from((dims[0], dims[1], out_h, out_w));
        Ok((CpuStorage::F32(output), shape))
    }
}

/// The input gradient from the output's: each output's gradient added to
/// the input element the forward pass chose.
struct Scatter<'a> {
    chosen: &'a [u32],
    input: &'a Shape,
}

impl CustomOp1 for Scatter<'_> {
    fn name(&self) -> &'static str {
        "max-pool2d-gradient"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let grad = values(self.name(), storage, layout)?;
        if grad.len() != self.chosen.len() {
            candle_core::bail!(
                "{}: {} gradients for {} outputs",
                self.name(),
                grad.len(),
                self.chosen.len()
            );
        }
        let mut grad_input = vec![0.0f32; self.input.elem_count()];
        for (&at, &g) in self.chosen.iter().zip(grad) {
            if let Some(slot) = grad_input.get_mut(at as usize) {
                *slot += g;
            }
        }
        Ok((CpuStorage::F32(grad_input), self.input.clone()))
    }
}

/// Max pooling of `input` `(N, C, H, W)` (`f32` on the CPU) with its
/// backward pass.
pub fn max_pool2d(
    input: &Tensor,
    kernel: (usize, usize),
    stride: (usize, usize),
) -> Result<Tensor> {
    input.contiguous()?.apply_op1(MaxPool {
        windows: Windows {
            kernel_h: kernel.0,
            kernel_w: kernel.1,
            stride_h: stride.0,
            stride_w: stride.1,
        },
        chosen: Mutex::new(Vec::new()),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use candle_core::{D, Device, Var};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// `pool.rs`'s general path: every window gathered, the first largest
    /// element taken.
    fn reference(x: &Tensor, kernel: usize, stride: usize) -> Tensor {
        let (n, c, h, w) = x.dims4().unwrap();
        let (oh, ow) = ((h - kernel) / stride + 1, (w - kernel) / stride + 1);
        let mut positions = Vec::new();
        for oy in 0..oh {
            for ox in 0..ow {
                for i in 0..kernel {
                    for j in 0..kernel {
                        positions.push(((oy * stride + i) * w + ox * stride + j) as u32);
                    }
                }
            }
        }
        let count = positions.len();
        let gather = Tensor::from_vec(positions, count, &Device::Cpu).unwrap();
        let windows = x
            .flatten_from(2)
            .unwrap()
            .index_select(&gather, 2)
            .unwrap()
            .reshape((n, c, oh * ow, kernel * kernel))
            .unwrap();
        let first = windows.argmax_keepdim(D::Minus1).unwrap();
        windows
            .gather(&first, D::Minus1)
            .unwrap()
            .reshape((n, c, oh, ow))
            .unwrap()
    }

    #[test]
    fn outputs_and_gradients_match_the_gathered_windows() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        // (batch, channels, h, w, kernel, stride): overlapping windows,
        // sizes with windows left over, and ties (values rounded to halves).
        for (n, c, h, w, k, s) in [
            (2, 3, 8, 8, 2, 2),
            (1, 2, 7, 9, 3, 2),
            (3, 1, 6, 5, 2, 1),
            (2, 2, 7, 9, 2, 2),
            (3, 2, 6, 7, 2, 2),
            // Over the pool (65,536 values and more).
            (4, 8, 46, 46, 2, 2),
        ] {
            let count = n * c * h * w;
            let values: Vec<f32> = (0..count)
                .map(|_| (rng.random_range(-4.0f32..4.0) * 2.0).round() / 2.0)
                .collect();
            let x =
                Var::from_tensor(&Tensor::from_vec(values, (n, c, h, w), &Device::Cpu).unwrap())
                    .unwrap();
            let ours = max_pool2d(x.as_tensor(), (k, k), (s, s)).unwrap();
            let theirs = reference(x.as_tensor(), k, s);
            let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            assert_eq!(flat(&ours), flat(&theirs));
            let scale: Vec<f32> = (0..ours.elem_count())
                .map(|i| i as f32 * 0.1 - 1.0)
                .collect();
            let scale = Tensor::from_vec(scale, ours.dims(), &Device::Cpu).unwrap();
            let grad = |y: &Tensor| {
                let grads = (y * &scale).unwrap().sum_all().unwrap().backward().unwrap();
                flat(grads.get(&x).unwrap())
            };
            let (a, b) = (grad(&ours), grad(&theirs));
            for (u, v) in a.iter().zip(&b) {
                assert!((u - v).abs() <= 1e-6, "{u} vs {v}");
            }
        }
    }

    /// As PyTorch's kernel: a `NaN` in a window is its maximum, and takes
    /// the gradient.
    #[test]
    fn a_nan_wins_its_window() {
        let values = vec![1.0, f32::NAN, 3.0, 2.0, 5.0, 4.0, 0.0, 1.0];
        let x = Var::from_tensor(&Tensor::from_vec(values, (1, 1, 2, 4), &Device::Cpu).unwrap())
            .unwrap();
        let y = max_pool2d(x.as_tensor(), (2, 2), (2, 2)).unwrap();
        let out = y.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(out[0].is_nan());
        assert_eq!(out[1], 3.0);
        let grads = y.sum_all().unwrap().backward().unwrap();
        let g = grads
            .get(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(g, [0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    }
}
