//! `nn.Conv1d` and `nn.Conv2d` on candle's `conv2d`: square kernels, one
//! stride and one zero padding for every spatial axis, no dilation or
//! groups. Weights are `(filters, channels, kernel[, kernel])`, initialised
//! as PyTorch's (uniform in ±1/√fan_in, fan_in = channels × kernel^axes).
//!
//! On the CPU (`f32`, and `bf16` widened to it) the convolution runs as
//! matrix products with its own backward pass (`conv_gemm.rs`), padding
//! included; other devices and dtypes take candle's `conv2d` as below.
//!
//! Two faults of candle 0.11's backward passes are kept out of the way there:
//! `conv1d`'s weight gradient is wrong for batches of more than one row (so a
//! 1-d convolution runs as a 2-d one of height 1), and `conv2d`'s input
//! gradient has the wrong width when the last window leaves a different
//! number of elements over along the height and the width. So the input is
//! padded here, then cut to the extent the windows cover, and the
//! convolution itself runs without padding on an input that every window
//! fits exactly; the output is the same.

use candle_core::{D, DType, Result, Tensor, Var};
use pipeline_spec::Convolution;

use super::conv_gemm;
use super::cpu;
use super::params::{Init, Params, like};
use crate::error::ModelError;

pub struct Conv {
    weight: Var,
    bias: Option<Var>,
    stride: usize,
    padding: usize,
    /// 1 (`(N, C, L)`) or 2 (`(N, C, H, W)`).
    axes: usize,
}

impl Conv {
    pub fn new(
        index: usize,
        channels: usize,
        settings: &Convolution,
        axes: usize,
        params: &mut Params,
    ) -> std::result::Result<Conv, ModelError> {
        let filters = settings.filters.get() as usize;
        let kernel = settings.kernel.get() as usize;
        let mut dims = vec![filters, channels];
        dims.extend(std::iter::repeat_n(kernel, axes));
        let init = Init::fan_in(channels * kernel.pow(axes as u32));
        let weight = params.parameter(format!("{index}.weight"), &dims, init)?;
        let bias = if settings.bias {
            Some(params.parameter(format!("{index}.bias"), &[filters], init)?)
        } else {
            None
        };
        Ok(Conv {
            weight,
            bias,
            stride: settings.stride.get() as usize,
            padding: settings.padding as usize,
            axes,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // candle 0.11's CPU convolution has no bf16 kernel (its CPU matmul
        // widens bf16 to f32): the same widening here, the result narrowed
        // back to the activations' dtype below.
        let dtype = x.dtype();
        let x = &if dtype == DType::BF16 && x.device().is_cpu() {
            x.to_dtype(DType::F32)?
        } else {
            x.clone()
        };
        let weight = &like(&self.weight, x)?;
        if cpu::is_cpu_f32(x) {
            let bias = self.bias.as_ref().map(|b| like(b, x)).transpose()?;
            return self.conv_gemm(x, weight, bias.as_ref())?.to_dtype(dtype);
        }
        let y = self.conv_candle(x, weight)?;
        let y = match &self.bias {
            None => y,
            Some(b) => {
                let mut dims = vec![1, b.elem_count()];
                dims.extend(std::iter::repeat_n(1, self.axes));
                y.broadcast_add(&like(b, &y)?.reshape(dims)?)?
            }
        };
        y.to_dtype(dtype)
    }

    /// The convolution and its bias as matrix products; a 1-d one as 2-d
    /// of height 1.
    fn conv_gemm(&self, x: &Tensor, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
        if self.axes == 1 {
            let (filters, channels, kernel) = weight.dims3()?;
            let weight = weight.reshape((filters, channels, 1, kernel))?;
            let x = x.unsqueeze(2)?;
            conv_gemm::conv2d(&x, &weight, bias, self.stride, (0, self.padding))?.squeeze(2)
        } else {
            conv_gemm::conv2d(x, weight, bias, self.stride, (self.padding, self.padding))
        }
    }

    /// candle's `conv2d` on the padded input cut to the windows' extent.
    fn conv_candle(&self, x: &Tensor, weight: &Tensor) -> Result<Tensor> {
        let kernel = weight.dim(D::Minus1)?;
        let mut x = x.clone();
        for axis in 2..x.rank() {
            if self.padding > 0 {
                x = x.pad_with_zeros(axis, self.padding, self.padding)?;
            }
            let windows = (x.dim(axis)? - kernel) / self.stride + 1;
            x = x.narrow(axis, 0, (windows - 1) * self.stride + kernel)?;
        }
        let x = x.contiguous()?;
        if self.axes == 1 {
            let (filters, channels, _) = weight.dims3()?;
            x.unsqueeze(2)?
                .conv2d(
                    &weight.reshape((filters, channels, 1, kernel))?,
                    0,
                    self.stride,
                    1,
                    1,
                )?
                .squeeze(2)
        } else {
            x.conv2d(weight, 0, self.stride, 1, 1)
        }
    }
}
