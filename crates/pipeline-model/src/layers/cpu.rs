//! What the CPU kernels (`channel.rs`, `conv_gemm.rs`, `max_pool.rs`,
//! `sigmoid_tanh.rs`, `sequence/lstm_cpu.rs`) share: whether a tensor takes
//! them, and the `f32` values of a candle op's argument.

use candle_core::{CpuStorage, DType, Layout, Result, Tensor};

/// Whether `x` takes the CPU kernels: `f32` on the CPU. Other devices and
/// dtypes go through candle's own ops.
pub(crate) fn is_cpu_f32(x: &Tensor) -> bool {
    x.device().is_cpu() && x.dtype() == DType::F32
}

/// The contiguous `f32` values of the argument of op `name`.
pub(crate) fn values<'a>(
    name: &str,
    storage: &'a CpuStorage,
    layout: &Layout,
) -> Result<&'a [f32]> {
    let CpuStorage::F32(values) = storage else {
        candle_core::bail!("{name} takes f32 values");
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("{name} takes contiguous tensors");
    };
    Ok(&values[start..end])
}
