//! Where a layer's tensors come from. Fresh and loaded weights take one path:
//! a layer asks for each tensor by name, shape and PyTorch's default
//! initialisation, and the network's `init` callback answers with values
//! drawn from the seed or read from a safetensors file. Trainable
//! parameters and buffers (batch norm's running statistics) are kept apart:
//! only the first are optimised, both are saved, snapshot and restored.

use candle_core::{Device, Tensor, Var};
use rand::Rng;

use crate::error::ModelError;

/// How PyTorch fills a fresh tensor of a layer; the `init` callback gets it
/// with the tensor's name and shape, and may ignore it (weights read from a
/// file).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// Uniform in `[-bound, bound)`.
    Uniform { bound: f32 },
    /// Normal with mean 0 (`nn.Embedding`: standard deviation 1).
    Normal { std: f32 },
    /// Every value the same (norm weights 1, biases 0, running statistics).
    Constant(f32),
}

impl Init {
    /// `nn.Linear`'s and `nn.Conv*`'s default for weights (kaiming uniform
    /// with a = √5) and biases: uniform in ±1/√fan_in.
    pub fn fan_in(fan_in: usize) -> Init {
        Init::Uniform {
            bound: 1.0 / (fan_in as f32).sqrt(),
        }
    }

    /// `nn.init.xavier_uniform_` (attention's input projection): uniform in
    /// ±√(6 / (fan_in + fan_out)).
    pub fn xavier(fan_in: usize, fan_out: usize) -> Init {
        Init::Uniform {
            bound: (6.0 / (fan_in + fan_out) as f32).sqrt(),
        }
    }

    /// `count` fresh values drawn from `rng` (a constant draws nothing). Every
    /// layer's fresh weights come from here, so one seed gives the same
    /// values whichever layer asks.
    pub fn sample(self, count: usize, rng: &mut impl Rng) -> Vec<f32> {
        match self {
            Init::Uniform { bound } if bound > 0.0 => (0..count)
                .map(|_| rng.random_range(-bound..bound))
                .collect(),
            Init::Uniform { .. } => vec![0.0; count],
            Init::Normal { std } => normal(rng, count, std),
            Init::Constant(value) => vec![value; count],
        }
    }
}

/// `count` values from a normal distribution with mean 0 (Box–Muller).
fn normal(rng: &mut impl Rng, count: usize, std: f32) -> Vec<f32> {
    let mut values = Vec::with_capacity(count + 1);
    while values.len() < count {
        // In (0, 1]: the logarithm stays finite.
        let u1 = 1.0 - rng.random::<f64>();
        let u2 = rng.random::<f64>();
        let radius = (-2.0 * u1.ln()).sqrt();
        let angle = std::f64::consts::TAU * u2;
        values.push((radius * angle.cos()) as f32 * std);
        values.push((radius * angle.sin()) as f32 * std);
    }
    values.truncate(count);
    values
}

/// A parameter in the dtype of the activations `x` it meets: the f32 weight
/// itself in f32, else a cast that gradients flow back through, so the
/// optimizer always sees f32 weights and f32 gradients (`train.precision`).
pub fn like(var: &Var, x: &Tensor) -> candle_core::Result<Tensor> {
    var.as_tensor().to_dtype(x.dtype())
}

/// `init(name, dims, how)`: a tensor's values, row-major.
pub type InitFn<'a> = dyn FnMut(&str, &[usize], Init) -> Result<Vec<f32>, ModelError> + 'a;

/// A buffer: state that is not trained but saved with the weights.
pub struct Buffer {
    pub name: String,
    pub var: Var,
    /// Saved as int64, as PyTorch's `num_batches_tracked`.
    pub integer: bool,
}

/// The tensors of a network under construction, in layer order.
pub struct Params<'a, 'f> {
    device: &'a Device,
    init: &'a mut InitFn<'f>,
    pub trainable: Vec<(String, Var)>,
    pub buffers: Vec<Buffer>,
}

impl<'a, 'f> Params<'a, 'f> {
    pub fn new(device: &'a Device, init: &'a mut InitFn<'f>) -> Self {
        Params {
            device,
            init,
            trainable: Vec::new(),
            buffers: Vec::new(),
        }
    }

    fn tensor(&mut self, name: &str, dims: &[usize], how: Init) -> Result<Var, ModelError> {
        let values = (self.init)(name, dims, how)?;
        Ok(Var::from_tensor(&Tensor::from_vec(
            values,
            dims,
            self.device,
        )?)?)
    }

    /// A trainable parameter named `name` (`0.weight`, …).
    pub fn parameter(
        &mut self,
        name: String,
        dims: &[usize],
        how: Init,
    ) -> Result<Var, ModelError> {
        let var = self.tensor(&name, dims, how)?;
        self.trainable.push((name, var.clone()));
        Ok(var)
    }

    /// Builds a layer that asks `init` for its own tensors (the sequence
    /// layers), then records the trainable parameters it names.
    pub fn layer<T>(
        &mut self,
        build: impl FnOnce(&mut InitFn<'f>, &Device) -> Result<T, ModelError>,
        named: impl FnOnce(&T) -> &[(String, Var)],
    ) -> Result<T, ModelError> {
        let layer = build(self.init, self.device)?;
        self.trainable.extend(named(&layer).iter().cloned());
        Ok(layer)
    }

    /// A buffer named `name` (`1.running_mean`, …).
    pub fn buffer(
        &mut self,
        name: String,
        dims: &[usize],
        how: Init,
        integer: bool,
    ) -> Result<Var, ModelError> {
        let var = self.tensor(&name, dims, how)?;
        self.buffers.push(Buffer {
            name,
            var: var.clone(),
            integer,
        });
        Ok(var)
    }
}
