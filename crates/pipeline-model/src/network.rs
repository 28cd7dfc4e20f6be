//! A feed-forward network built from the spec's ordered list of layers.
//! Initialisation follows PyTorch's `nn.Linear` (uniform in ±1/√fan_in) from
//! the spec's seed, so the same spec gives the same weights.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor, Var};
use pipeline_spec::{Layer, ModelSpec};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::ModelError;

/// Whether dropout is active.
pub enum Mode<'a> {
    Train(&'a mut ChaCha8Rng),
    Eval,
}

enum Block {
    Linear { weight: Var, bias: Option<Var> },
    Relu,
    Sigmoid,
    Tanh,
    Gelu,
    Dropout { rate: f32 },
}

/// One row of the layer table printed by `pipeline show`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LayerSummary {
    pub name: String,
    pub kind: String,
    pub outputs: usize,
    pub parameters: usize,
}

pub struct Network {
    blocks: Vec<Block>,
    /// Parameters by stable name (`0.weight`, `0.bias`, …), in layer order.
    named: Vec<(String, Var)>,
    summary: Vec<LayerSummary>,
}

impl Network {
    /// Builds `spec` for `inputs` features and `outputs` targets, initialised
    /// from `seed`.
    pub fn new(
        spec: &ModelSpec,
        inputs: usize,
        outputs: usize,
        seed: u64,
        device: &Device,
    ) -> Result<Network, ModelError> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Network::assemble(spec, inputs, outputs, device, |_, dims, fan_in| {
            let bound = 1.0 / (fan_in as f32).sqrt();
            let count: usize = dims.iter().product();
            Ok((0..count)
                .map(|_| rng.random_range(-bound..bound))
                .collect())
        })
    }

    /// Rebuilds `spec` with weights from safetensors bytes (as written by
    /// [`Network::to_safetensors`]).
    pub fn from_safetensors(
        spec: &ModelSpec,
        inputs: usize,
        outputs: usize,
        bytes: &[u8],
        device: &Device,
    ) -> Result<Network, ModelError> {
        let tensors: HashMap<String, Tensor> =
            candle_core::safetensors::load_buffer(bytes, &Device::Cpu)?;
        Network::assemble(spec, inputs, outputs, device, |name, dims, _| {
            let tensor = tensors
                .get(name)
                .ok_or_else(|| ModelError::MissingWeight { name: name.into() })?;
            if tensor.dims() != dims {
                return Err(ModelError::ShapeMismatch {
                    name: name.into(),
                    expected: dims.to_vec(),
                    actual: tensor.dims().to_vec(),
                });
            }
            Ok(tensor
                .to_dtype(DType::F32)?
                .flatten_all()?
                .to_vec1::<f32>()?)
        })
    }

    /// Walks the layers; `init(name, dims, fan_in)` gives each parameter's
    /// values, row-major.
    fn assemble(
        spec: &ModelSpec,
        inputs: usize,
        outputs: usize,
        device: &Device,
        mut init: impl FnMut(&str, &[usize], usize) -> Result<Vec<f32>, ModelError>,
    ) -> Result<Network, ModelError> {
        let mut blocks = Vec::with_capacity(spec.layers.len());
        let mut named = Vec::new();
        let mut summary = Vec::with_capacity(spec.layers.len());
        let mut width = inputs;
        for (index, layer) in spec.layers.iter().enumerate() {
            let (block, kind, parameters) = match layer {
                Layer::Linear { units, bias } => {
                    let units = units.get() as usize;
                    let w_name = format!("{index}.weight");
                    let w = init(&w_name, &[units, width], width)?;
                    let weight = Var::from_tensor(&Tensor::from_vec(w, (units, width), device)?)?;
                    named.push((w_name, weight.clone()));
                    let has_bias = *bias;
                    let bias = if has_bias {
                        let b_name = format!("{index}.bias");
                        let b = init(&b_name, &[units], width)?;
                        let b = Var::from_tensor(&Tensor::from_vec(b, units, device)?)?;
                        named.push((b_name, b.clone()));
                        Some(b)
                    } else {
                        None
                    };
                    let params = units * width + if has_bias { units } else { 0 };
                    width = units;
                    (Block::Linear { weight, bias }, "linear", params)
                }
                Layer::Relu => (Block::Relu, "relu", 0),
                Layer::Sigmoid => (Block::Sigmoid, "sigmoid", 0),
                Layer::Tanh => (Block::Tanh, "tanh", 0),
                Layer::Gelu => (Block::Gelu, "gelu", 0),
                Layer::Dropout { rate } => (Block::Dropout { rate: *rate as f32 }, "dropout", 0),
            };
            blocks.push(block);
            summary.push(LayerSummary {
                name: index.to_string(),
                kind: kind.into(),
                outputs: width,
                parameters,
            });
        }
        if width != outputs {
            return Err(ModelError::OutputMismatch {
                units: width as u32,
                targets: outputs,
            });
        }
        Ok(Network {
            blocks,
            named,
            summary,
        })
    }

    pub fn forward(&self, x: &Tensor, mut mode: Mode<'_>) -> candle_core::Result<Tensor> {
        let mut h = x.clone();
        for block in &self.blocks {
            h = match block {
                Block::Linear { weight, bias } => {
                    let y = h.matmul(&weight.as_tensor().t()?)?;
                    match bias {
                        Some(b) => y.broadcast_add(b.as_tensor())?,
                        None => y,
                    }
                }
                Block::Relu => h.relu()?,
                Block::Sigmoid => candle_nn::ops::sigmoid(&h)?,
                Block::Tanh => h.tanh()?,
                Block::Gelu => h.gelu_erf()?,
                Block::Dropout { rate } => match &mut mode {
                    Mode::Eval => h,
                    Mode::Train(_) if *rate == 0.0 => h,
                    Mode::Train(rng) => {
                        let keep = 1.0 - *rate;
                        let mask: Vec<f32> = (0..h.elem_count())
                            .map(|_| {
                                if rng.random::<f32>() < keep {
                                    1.0 / keep
                                } else {
                                    0.0
                                }
                            })
                            .collect();
                        let mask = Tensor::from_vec(mask, h.shape(), h.device())?;
                        (h * mask)?
                    }
                },
            };
        }
        Ok(h)
    }

    /// The trainable parameters, in layer order.
    pub fn vars(&self) -> Vec<Var> {
        self.named.iter().map(|(_, v)| v.clone()).collect()
    }

    pub fn parameter_count(&self) -> usize {
        self.named.iter().map(|(_, v)| v.elem_count()).sum()
    }

    pub fn summary(&self) -> &[LayerSummary] {
        &self.summary
    }

    /// A copy of every parameter's current values (for "restore best").
    pub fn snapshot(&self) -> candle_core::Result<Vec<Tensor>> {
        self.named
            .iter()
            .map(|(_, v)| v.as_tensor().copy())
            .collect()
    }

    /// Puts back values taken by [`Network::snapshot`].
    pub fn restore(&self, snapshot: &[Tensor]) -> candle_core::Result<()> {
        for ((_, var), saved) in self.named.iter().zip(snapshot) {
            var.set(saved)?;
        }
        Ok(())
    }

    /// The weights as safetensors bytes, with `metadata` in `__metadata__`.
    pub fn to_safetensors(&self, metadata: HashMap<String, String>) -> Result<Vec<u8>, ModelError> {
        let tensors: Vec<(String, Tensor)> = self
            .named
            .iter()
            .map(|(name, var)| Ok((name.clone(), var.as_tensor().to_device(&Device::Cpu)?)))
            .collect::<Result<_, candle_core::Error>>()?;
        safetensors::serialize(tensors.iter().map(|(n, t)| (n.as_str(), t)), Some(metadata))
            .map_err(ModelError::Encode)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn simple_nn() -> ModelSpec {
        ModelSpec {
            layers: vec![
                Layer::Linear {
                    units: 64.try_into().unwrap(),
                    bias: true,
                },
                Layer::Relu,
                Layer::Linear {
                    units: 1.try_into().unwrap(),
                    bias: true,
                },
            ],
        }
    }

    #[test]
    fn simple_nn_has_the_torch_parameter_count() {
        let net = Network::new(&simple_nn(), 10, 1, 1, &Device::Cpu).unwrap();
        // torch: sum(p.numel() for p in SimpleNN().parameters()) == 10*64 + 64 + 64 + 1
        assert_eq!(net.parameter_count(), 769);
        let y = net
            .forward(
                &Tensor::zeros((5, 10), DType::F32, &Device::Cpu).unwrap(),
                Mode::Eval,
            )
            .unwrap();
        assert_eq!(y.dims(), &[5, 1]);
    }

    #[test]
    fn init_is_seeded_and_bounded() {
        let a = Network::new(&simple_nn(), 10, 1, 7, &Device::Cpu).unwrap();
        let b = Network::new(&simple_nn(), 10, 1, 7, &Device::Cpu).unwrap();
        let c = Network::new(&simple_nn(), 10, 1, 8, &Device::Cpu).unwrap();
        let w = |n: &Network| {
            n.named[0]
                .1
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        };
        assert_eq!(w(&a), w(&b));
        assert_ne!(w(&a), w(&c));
        let bound = 1.0 / 10f32.sqrt();
        assert!(w(&a).iter().all(|v| v.abs() <= bound));
    }

    #[test]
    fn output_mismatch_is_an_error() {
        assert!(matches!(
            Network::new(&simple_nn(), 10, 2, 1, &Device::Cpu),
            Err(ModelError::OutputMismatch {
                units: 1,
                targets: 2
            })
        ));
    }

    #[test]
    fn safetensors_round_trip() {
        let a = Network::new(&simple_nn(), 10, 1, 3, &Device::Cpu).unwrap();
        let bytes = a
            .to_safetensors(HashMap::from([("run".into(), "x".into())]))
            .unwrap();
        let b = Network::from_safetensors(&simple_nn(), 10, 1, &bytes, &Device::Cpu).unwrap();
        let x = Tensor::ones((2, 10), DType::F32, &Device::Cpu).unwrap();
        let ya = a.forward(&x, Mode::Eval).unwrap().to_vec2::<f32>().unwrap();
        let yb = b.forward(&x, Mode::Eval).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(ya, yb);
        assert!(matches!(
            Network::from_safetensors(&simple_nn(), 11, 1, &bytes, &Device::Cpu),
            Err(ModelError::ShapeMismatch { .. })
        ));
    }
}
