//! Inverted dropout (`nn.Dropout`): in training each value is zeroed with
//! probability `rate` and the others scaled by 1/(1 - rate), from the
//! trainer's seeded stream; in evaluation values pass unchanged.

use candle_core::{Result, Tensor};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub struct Dropout {
    pub rate: f32,
}

impl Dropout {
    /// `rng` is `None` in evaluation.
    pub fn forward(&self, x: Tensor, rng: Option<&mut ChaCha8Rng>) -> Result<Tensor> {
        let Some(rng) = rng else {
            return Ok(x);
        };
        if self.rate == 0.0 {
            return Ok(x);
        }
        let keep = 1.0 - self.rate;
        let mask: Vec<f32> = (0..x.elem_count())
            .map(|_| {
                if rng.random::<f32>() < keep {
                    1.0 / keep
                } else {
                    0.0
                }
            })
            .collect();
        let mask = Tensor::from_vec(mask, x.shape(), x.device())?.to_dtype(x.dtype())?;
        x * mask
    }
}
