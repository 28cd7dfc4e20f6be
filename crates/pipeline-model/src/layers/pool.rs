//! Max and average pooling over 1 or 2 spatial axes (`nn.MaxPool1d/2d`,
//! `nn.AvgPool1d/2d` without padding; windows that do not fit are dropped).
//! candle has 2-d pooling, but its backward pass only allows a stride equal
//! to the kernel and spreads the gradient by upsampling, which is wrong when
//! the size is not a multiple of the kernel. Here every window's elements
//! are gathered with one `index_select` (whose backward adds the gradient
//! back to where each element came from, overlaps included), then reduced:
//! the maximum takes its first largest element, as PyTorch, and only that
//! one receives the gradient. Max pooling of `f32` on the CPU takes one op
//! that does the same without the gathered copy (`max_pool.rs`).

use candle_core::{D, Device, Result, Tensor};
use pipeline_spec::Pooling;

use super::cpu;
use super::max_pool::max_pool2d;
use super::shape::windows;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduce {
    Max,
    Average,
}

pub struct Pool {
    reduce: Reduce,
    /// For each output position then each kernel offset: the flat spatial
    /// index of the input element.
    gather: Tensor,
    /// Elements per window.
    window: usize,
    /// The spatial dims of the output (`[L']` or `[H', W']`).
    output: Vec<usize>,
    kernel: usize,
    stride: usize,
}

impl Pool {
    /// Pooling of rows shaped `input` (`[C, L]` or `[C, H, W]`, already
    /// checked by shape inference).
    pub fn new(
        reduce: Reduce,
        settings: &Pooling,
        input: &[usize],
        device: &Device,
    ) -> Result<Pool> {
        let kernel = settings.kernel.get() as usize;
        let stride = settings.stride.get() as usize;
        let spatial = &input[1..];
        let along =
            |size| windows(size, settings.kernel.get(), settings.stride.get(), 0).unwrap_or(0);
        let output: Vec<usize> = spatial.iter().map(|&s| along(s)).collect();
        let mut positions: Vec<u32> = Vec::new();
        match (spatial, output.as_slice()) {
            ([_], [out]) => {
                for o in 0..*out {
                    positions.extend((0..kernel).map(|k| (o * stride + k) as u32));
                }
            }
            ([_, width], [out_h, out_w]) => {
                for oh in 0..*out_h {
                    for ow in 0..*out_w {
                        for i in 0..kernel {
                            for j in 0..kernel {
                                positions
                                    .push(((oh * stride + i) * width + ow * stride + j) as u32);
                            }
                        }
                    }
                }
            }
            _ => candle_core::bail!("pooling takes 1 or 2 spatial axes, got {spatial:?}"),
        }
        let count = positions.len();
        Ok(Pool {
            reduce,
            gather: Tensor::from_vec(positions, count, device)?,
            window: kernel.pow(spatial.len() as u32),
            output,
            kernel,
            stride,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if self.reduce == Reduce::Max && cpu::is_cpu_f32(x) {
            let (kernel, stride) = (self.kernel, self.stride);
            return if self.output.len() == 1 {
                max_pool2d(&x.unsqueeze(2)?, (1, kernel), (1, stride))?.squeeze(2)
            } else {
                max_pool2d(x, (kernel, kernel), (stride, stride))
            };
        }
        let (rows, channels) = (x.dim(0)?, x.dim(1)?);
        let positions: usize = self.output.iter().product();
        let flat = x.flatten_from(2)?;
        let windows = flat.index_select(&self.gather, 2)?.reshape((
            rows,
            channels,
            positions,
            self.window,
        ))?;
        let pooled = match self.reduce {
            Reduce::Max => {
                let first_largest = windows.argmax_keepdim(D::Minus1)?;
                windows.gather(&first_largest, D::Minus1)?
            }
            Reduce::Average => windows.mean_keepdim(D::Minus1)?,
        };
        let mut dims = vec![rows, channels];
        dims.extend(&self.output);
        pooled.reshape(dims)
    }
}
