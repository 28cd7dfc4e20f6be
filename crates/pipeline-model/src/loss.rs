//! Losses, as candle ops on `(rows, outputs)` predictions and targets; each
//! returns the mean over all elements, as PyTorch's default `reduction="mean"`.

use candle_core::{Result, Tensor};
use pipeline_spec::Loss;

/// The spec's loss of `prediction` against `target`.
pub fn loss(kind: &Loss, prediction: &Tensor, target: &Tensor) -> Result<Tensor> {
    let diff = (prediction - target)?;
    match *kind {
        Loss::Mse => diff.sqr()?.mean_all(),
        Loss::Mae => diff.abs()?.mean_all(),
        Loss::Huber { delta } => {
            // 0.5·q² + δ·(|d| − q) with q = min(|d|, δ): quadratic inside δ, linear outside.
            let abs = diff.abs()?;
            let q = abs.clamp(0.0, delta)?;
            let quadratic = (q.sqr()? * 0.5)?;
            let linear = ((abs - &q)? * delta)?;
            (quadratic + linear)?.mean_all()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use candle_core::Device;

    fn value(kind: Loss) -> f32 {
        let p = Tensor::new(&[[0.0f32], [2.0], [5.0]], &Device::Cpu).unwrap();
        let t = Tensor::new(&[[1.0f32], [2.0], [1.0]], &Device::Cpu).unwrap();
        loss(&kind, &p, &t).unwrap().to_scalar::<f32>().unwrap()
    }

    // Reference values from torch.nn.functional.{mse_loss, l1_loss, huber_loss}
    // on the same tensors: (1 + 0 + 16) / 3, (1 + 0 + 4) / 3, (0.5 + 0 + 3.5) / 3.
    #[test]
    fn matches_pytorch_reference_values() {
        assert!((value(Loss::Mse) - 17.0 / 3.0).abs() < 1e-6);
        assert!((value(Loss::Mae) - 5.0 / 3.0).abs() < 1e-6);
        assert!((value(Loss::Huber { delta: 1.0 }) - 4.0 / 3.0).abs() < 1e-6);
    }
}
