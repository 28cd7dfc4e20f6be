//! `train.precision`: the dtype of training's forward and backward passes,
//! and f16's dynamic loss scaling. The network keeps its f32 weights (the
//! optimizer's master weights); [`Network::forward_in`] casts them to the
//! compute dtype where they meet the activations, so the gradients the
//! optimizer receives are f32. Evaluation and the stored weights stay f32.

use candle_core::backprop::GradStore;
use candle_core::{DType, Tensor, Var};
use pipeline_model::{Mode, Network};
use pipeline_spec::Precision;

use crate::error::TrainError;

/// PyTorch's `GradScaler` defaults: the first scale, and the clean steps
/// after which it doubles; an overflow halves it and skips the step.
const INITIAL_SCALE: f64 = 65536.0;
const GROWTH_INTERVAL: u32 = 2000;

/// How a training step runs its passes.
pub struct Mixed {
    compute: DType,
    /// f16 only: its 5-bit exponent loses small gradients without scaling.
    scaler: Option<LossScaler>,
}

/// f16's dynamic loss scale: saved with the training state, so a resumed
/// run scales (and skips) exactly as an uninterrupted one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossScaler {
    pub(crate) scale: f64,
    pub(crate) clean_steps: u32,
}

impl Mixed {
    pub fn new(precision: Precision) -> Mixed {
        let (compute, scaler) = match precision {
            Precision::F32 => (DType::F32, None),
            Precision::Bf16 => (DType::BF16, None),
            Precision::F16 => (
                DType::F16,
                Some(LossScaler {
                    scale: INITIAL_SCALE,
                    clean_steps: 0,
                }),
            ),
        };
        Mixed { compute, scaler }
    }

    /// Whether the passes run in f32 (what the dense path computes in).
    pub fn is_f32(&self) -> bool {
        self.compute == DType::F32
    }

    /// Continues from a saved loss scale (f16 only; the others have none).
    pub fn with_loss_scale(mut self, saved: Option<LossScaler>) -> Mixed {
        if let (Some(scaler), Some(saved)) = (&mut self.scaler, saved) {
            *scaler = saved;
        }
        self
    }

    /// The loss scale to save with the training state (f16 only).
    pub fn loss_scale(&self) -> Option<LossScaler> {
        self.scaler
    }

    /// The network's f32 outputs for `x`, computed in the compute dtype.
    pub fn forward(
        &self,
        network: &Network,
        x: &Tensor,
        mode: Mode<'_>,
    ) -> Result<Tensor, TrainError> {
        Ok(network.forward_in(x, mode, self.compute)?)
    }

    /// The f32 gradients of `loss` for `vars`; `None` when f16's scaled
    /// gradients overflowed: the step is skipped and the scale halved.
    pub fn gradients(
        &mut self,
        loss: &Tensor,
        vars: &[Var],
    ) -> Result<Option<GradStore>, TrainError> {
        let Some(scaler) = &mut self.scaler else {
            return Ok(Some(loss.backward()?));
        };
        let mut grads = (loss * scaler.scale)?.backward()?;
        let mut sums = Vec::with_capacity(vars.len());
        for var in vars {
            if let Some(grad) = grads.remove(var.as_tensor()) {
                let grad = (grad / scaler.scale)?;
                sums.push(grad.sum_all()?);
                grads.insert(var.as_tensor(), grad);
            }
        }
        // One read for every gradient: an inf or NaN anywhere makes the sum
        // non-finite.
        let finite = sums.is_empty()
            || Tensor::stack(&sums, 0)?
                .sum_all()?
                .to_scalar::<f32>()?
                .is_finite();
        Ok(scaler.update(finite).then_some(grads))
    }
}

impl LossScaler {
    /// Records a step's outcome; whether its gradients may be used.
    fn update(&mut self, finite: bool) -> bool {
        if finite {
            self.clean_steps += 1;
            if self.clean_steps == GROWTH_INTERVAL {
                self.scale *= 2.0;
                self.clean_steps = 0;
            }
        } else {
            self.scale /= 2.0;
            self.clean_steps = 0;
        }
        finite
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use candle_core::Device;

    use super::*;

    #[test]
    fn the_scale_halves_on_overflow_and_doubles_after_clean_steps() {
        // torch.amp.GradScaler(init_scale=2**16, growth_factor=2,
        // backoff_factor=0.5, growth_interval=2000) gives the same scales.
        let mut scaler = LossScaler {
            scale: INITIAL_SCALE,
            clean_steps: 0,
        };
        assert!(!scaler.update(false));
        assert_eq!(scaler.scale, 32768.0);
        for _ in 0..GROWTH_INTERVAL - 1 {
            assert!(scaler.update(true));
        }
        assert_eq!(scaler.scale, 32768.0);
        assert!(scaler.update(true));
        assert_eq!(scaler.scale, 65536.0);
        assert_eq!(scaler.clean_steps, 0);
    }

    #[test]
    fn f16_gradients_come_back_unscaled_and_overflow_skips_the_step() {
        let var = Var::new(&[1.0f32, -2.0, 3.0], &Device::Cpu).unwrap();
        let loss = |v: &Var| (v.as_tensor().sqr().unwrap().sum_all().unwrap() * 0.5).unwrap();
        let mut mixed = Mixed::new(Precision::F16);
        let grads = mixed
            .gradients(&loss(&var), std::slice::from_ref(&var))
            .unwrap()
            .unwrap();
        let grad = grads
            .get(var.as_tensor())
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(grad, vec![1.0, -2.0, 3.0]);
        // A gradient of 1e35 times 2¹⁶ overflows f32: skipped, scale halved.
        let huge = Var::new(&[1e35f32], &Device::Cpu).unwrap();
        assert!(
            mixed
                .gradients(&loss(&huge), std::slice::from_ref(&huge))
                .unwrap()
                .is_none()
        );
        assert_eq!(mixed.scaler.unwrap().scale, INITIAL_SCALE / 2.0);
        // bf16 and f32 do not scale.
        let mut plain = Mixed::new(Precision::Bf16);
        assert!(
            plain
                .gradients(&loss(&huge), std::slice::from_ref(&huge))
                .unwrap()
                .is_some()
        );
    }
}
