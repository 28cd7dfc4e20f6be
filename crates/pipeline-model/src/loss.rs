//! Losses, as candle ops on `(rows, outputs)` predictions and targets; each
//! returns the mean over all elements, as PyTorch's default `reduction="mean"`.

use candle_core::{DType, Result, Tensor};
use pipeline_spec::Loss;

use crate::classification_loss::{binary_cross_entropy_with_logits, cross_entropy};

/// The spec's loss with what the data decides (the class weights of
/// `class_weights = "balanced"`).
#[derive(Debug, Clone, PartialEq)]
pub struct Criterion {
    loss: Loss,
    /// One per class, for cross-entropy; `None`: every row weighs the same.
    class_weights: Option<Vec<f32>>,
}

impl Criterion {
    pub fn new(loss: &Loss, class_weights: Option<Vec<f32>>) -> Criterion {
        Criterion {
            loss: loss.clone(),
            class_weights,
        }
    }

    pub(crate) fn kind(&self) -> &Loss {
        &self.loss
    }

    pub(crate) fn class_weights(&self) -> Option<&[f32]> {
        self.class_weights.as_deref()
    }

    /// The loss of `prediction` (the model's outputs: values or logits)
    /// against `target` (`(rows, targets)`: values, 0/1, or class indices as
    /// `f32`).
    pub fn loss(&self, prediction: &Tensor, target: &Tensor) -> Result<Tensor> {
        match self.loss {
            Loss::Mse => (prediction - target)?.sqr()?.mean_all(),
            Loss::Mae => (prediction - target)?.abs()?.mean_all(),
            Loss::Huber { delta } => {
                // 0.5·q² + δ·(|d| − q) with q = min(|d|, δ): quadratic inside δ, linear outside.
                let abs = (prediction - target)?.abs()?;
                let q = abs.clamp(0.0, delta)?;
                let quadratic = (q.sqr()? * 0.5)?;
                let linear = ((abs - &q)? * delta)?;
                (quadratic + linear)?.mean_all()
            }
            Loss::BinaryCrossEntropy { pos_weight } => {
                binary_cross_entropy_with_logits(prediction, target, pos_weight)
            }
            Loss::CrossEntropy {
                label_smoothing, ..
            } => {
                let classes = target.flatten_all()?.to_dtype(DType::U32)?;
                cross_entropy(
                    prediction,
                    &classes,
                    self.class_weights.as_deref(),
                    label_smoothing,
                )
            }
        }
    }
}

/// The spec's loss of `prediction` against `target`, every row weighing
/// the same (class weights need a [`Criterion`] built with the data's).
pub fn loss(kind: &Loss, prediction: &Tensor, target: &Tensor) -> Result<Tensor> {
    Criterion::new(kind, None).loss(prediction, target)
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
