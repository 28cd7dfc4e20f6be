//! A network built from the spec's ordered list of layers, applied in turn
//! to rows reshaped to the declared `model.input`. Shapes are inferred
//! before any tensor exists ([`crate::layers::shape`]); initialisation
//! follows PyTorch's defaults for each layer from the spec's seed, so the
//! same spec gives the same weights, and tensors are named as in PyTorch's
//! `nn.Sequential` (`0.weight`, `1.running_mean`, …).

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor, Var};
use pipeline_spec::{Layer, ModelSpec};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::ModelError;
use crate::layers::activation::Activation;
use crate::layers::batch_norm::BatchNorm;
use crate::layers::conv::Conv;
use crate::layers::dropout::Dropout;
use crate::layers::embedding::Embedding;
use crate::layers::layer_norm::LayerNorm;
use crate::layers::linear::Linear;
use crate::layers::params::{Buffer, Init, Params};
use crate::layers::pool::{Pool, Reduce};
use crate::layers::shape;
use crate::sequence::{
    EncoderConfig, Gru, Lstm, PositionalEncoding, RecurrentConfig, Rnn, TransformerEncoderLayer,
};

/// Whether dropout is active and batch norm uses (and updates) the batch's
/// statistics.
pub enum Mode<'a> {
    Train(&'a mut ChaCha8Rng),
    Eval,
}

enum Block {
    Linear(Linear),
    Activation(Activation),
    Dropout(Dropout),
    BatchNorm(BatchNorm),
    LayerNorm(LayerNorm),
    Conv(Conv),
    Pool(Pool),
    Flatten,
    Embedding(Embedding),
    Rnn(Rnn),
    Lstm(Lstm),
    Gru(Gru),
    Transformer(Box<TransformerEncoderLayer>),
    PositionalEncoding(PositionalEncoding),
    LastStep,
    MeanPool,
}

/// A layer as the dense training path ([`crate::dense`]) runs it.
pub(crate) enum DenseLayer {
    Linear { weight: Var, bias: Option<Var> },
    Activation(Activation),
    Dropout(f32),
}

/// One row of the layer table printed by `pipeline check`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LayerSummary {
    pub name: String,
    pub kind: String,
    /// The shape of one row after the layer (`[16, 8, 8]`; the batch axis
    /// left out).
    pub output_shape: Vec<usize>,
    /// Trainable values (buffers such as running statistics not counted).
    pub parameters: usize,
}

pub struct Network {
    /// The shape rows are reshaped to before the first layer.
    input: Vec<usize>,
    blocks: Vec<Block>,
    /// Parameters by stable name (`0.weight`, `0.bias`, …), in layer order.
    named: Vec<(String, candle_core::Var)>,
    /// Saved, snapshot and restored with the parameters, never trained.
    buffers: Vec<Buffer>,
    summary: Vec<LayerSummary>,
}

impl Network {
    /// Builds `spec` for rows of `inputs` values and `outputs` targets,
    /// initialised from `seed`. A layer that cannot take the shape it is
    /// given, or a `model.input` that does not hold `inputs` values, is an
    /// error here.
    pub fn new(
        spec: &ModelSpec,
        inputs: usize,
        outputs: usize,
        seed: u64,
        device: &Device,
    ) -> Result<Network, ModelError> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Network::assemble(spec, inputs, outputs, device, &mut |_, dims, how: Init| {
            Ok(how.sample(dims.iter().product(), &mut rng))
        })
    }

    /// Rebuilds `spec` with weights (and buffers) from safetensors bytes (as
    /// written by [`Network::to_safetensors`]).
    pub fn from_safetensors(
        spec: &ModelSpec,
        inputs: usize,
        outputs: usize,
        bytes: &[u8],
        device: &Device,
    ) -> Result<Network, ModelError> {
        let tensors: HashMap<String, Tensor> =
            candle_core::safetensors::load_buffer(bytes, &Device::Cpu)?;
        Network::assemble(spec, inputs, outputs, device, &mut |name, dims, _| {
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

    /// Walks the layers; `init(name, dims, how)` gives each tensor's
    /// values, row-major.
    fn assemble(
        spec: &ModelSpec,
        inputs: usize,
        outputs: usize,
        device: &Device,
        init: &mut crate::layers::params::InitFn<'_>,
    ) -> Result<Network, ModelError> {
        let input = shape::input_shape(spec, inputs)?;
        let layers = shape::walk(spec, inputs)?;
        let mut params = Params::new(device, init);
        let mut blocks = Vec::with_capacity(layers.len());
        let mut summary = Vec::with_capacity(layers.len());
        for layer in &layers {
            let before = params.trainable.len();
            blocks.push(block(layer, &mut params, device)?);
            summary.push(LayerSummary {
                name: layer.index.to_string(),
                kind: layer.layer.kind().into(),
                output_shape: layer.output.clone(),
                parameters: params.trainable[before..]
                    .iter()
                    .map(|(_, v)| v.elem_count())
                    .sum(),
            });
        }
        let last = layers.last().map_or(&input, |l| &l.output);
        check_outputs(last, outputs)?;
        let Params {
            trainable, buffers, ..
        } = params;
        Ok(Network {
            input,
            blocks,
            named: trainable,
            buffers,
            summary,
        })
    }

    /// The network's output for rows `x` of shape `(N, inputs)`.
    pub fn forward(&self, x: &Tensor, mode: Mode<'_>) -> candle_core::Result<Tensor> {
        self.forward_in(x, mode, DType::F32)
    }

    /// [`Network::forward`] with the activations in `compute` (`train.precision`):
    /// each layer meets them with its f32 parameters cast to `compute`
    /// (gradients flow back to the f32 parameters), batch and layer norm
    /// statistics are taken in f32, an embedding's codes are read before any
    /// cast, and the output comes back as f32. In f32 every cast is a no-op.
    pub fn forward_in(
        &self,
        x: &Tensor,
        mode: Mode<'_>,
        compute: DType,
    ) -> candle_core::Result<Tensor> {
        let mut h = if self.input.len() > 1 {
            let mut dims = vec![x.dim(0)?];
            dims.extend(&self.input);
            x.reshape(dims)?
        } else {
            x.clone()
        };
        let (training, mut rng) = match mode {
            Mode::Train(rng) => (true, Some(rng)),
            Mode::Eval => (false, None),
        };
        let mut blocks = self.blocks.iter().peekable();
        while let Some(block) = blocks.next() {
            if !matches!(block, Block::Embedding(_)) {
                h = h.to_dtype(compute)?;
            }
            h = match block {
                // A batch norm and the ReLU after it as one op (one tensor
                // and one pass each way fewer; the same values).
                Block::BatchNorm(norm)
                    if matches!(blocks.peek(), Some(Block::Activation(Activation::Relu))) =>
                {
                    blocks.next();
                    norm.forward_relu(&h, training)?
                }
                Block::Linear(linear) => linear.forward(&h)?,
                Block::Activation(activation) => activation.forward(&h)?,
                Block::Dropout(dropout) => dropout.forward(h, rng.as_deref_mut())?,
                Block::BatchNorm(norm) => norm.forward(&h, training)?,
                Block::LayerNorm(norm) => norm.forward(&h)?,
                Block::Conv(conv) => conv.forward(&h)?,
                Block::Pool(pool) => pool.forward(&h)?,
                Block::Flatten => h.flatten_from(1)?,
                Block::Embedding(embedding) => embedding.forward(&h)?,
                Block::Rnn(rnn) => rnn.forward(&h)?,
                Block::Lstm(lstm) => lstm.forward(&h)?,
                Block::Gru(gru) => gru.forward(&h)?,
                Block::Transformer(encoder) => {
                    let mut mode = match rng.as_deref_mut() {
                        Some(rng) => Mode::Train(rng),
                        None => Mode::Eval,
                    };
                    encoder.forward(&h, &mut mode)?
                }
                Block::PositionalEncoding(positions) => positions.forward(&h)?,
                Block::LastStep => {
                    let steps = h.dim(1)?;
                    h.narrow(1, steps - 1, 1)?.squeeze(1)?
                }
                Block::MeanPool => h.mean(1)?,
            };
        }
        h.to_dtype(DType::F32)
    }

    /// The layers for the dense training path, when the network is one it
    /// runs: flat rows through linear layers, elementwise activations other
    /// than gelu and softmax, and dropout, with no buffers.
    pub(crate) fn dense_layers(&self) -> Option<Vec<DenseLayer>> {
        if self.input.len() != 1 || !self.buffers.is_empty() {
            return None;
        }
        self.blocks
            .iter()
            .map(|block| match block {
                Block::Linear(linear) => {
                    let (weight, bias) = linear.parameters();
                    Some(DenseLayer::Linear {
                        weight: weight.clone(),
                        bias: bias.cloned(),
                    })
                }
                Block::Activation(Activation::Gelu | Activation::Softmax) => None,
                Block::Activation(activation) => Some(DenseLayer::Activation(*activation)),
                Block::Dropout(dropout) => Some(DenseLayer::Dropout(dropout.rate)),
                _ => None,
            })
            .collect()
    }

    /// The trainable parameters, in layer order.
    pub fn vars(&self) -> Vec<candle_core::Var> {
        self.named.iter().map(|(_, v)| v.clone()).collect()
    }

    /// The trainable parameters' stable names (`0.weight`, `0.bias`, …), in
    /// the order of [`Network::vars`].
    pub fn parameter_names(&self) -> Vec<&str> {
        self.named.iter().map(|(name, _)| name.as_str()).collect()
    }

    /// The names of the tensors of [`Network::snapshot`], in its order: the
    /// parameters, then the buffers (`1.running_mean`, …).
    pub fn snapshot_names(&self) -> Vec<&str> {
        self.named
            .iter()
            .map(|(name, _)| name.as_str())
            .chain(self.buffers.iter().map(|b| b.name.as_str()))
            .collect()
    }

    pub fn parameter_count(&self) -> usize {
        self.named.iter().map(|(_, v)| v.elem_count()).sum()
    }

    /// The shape of one row as the first layer sees it (`[inputs]` unless
    /// `model.input` was declared).
    pub fn input_shape(&self) -> &[usize] {
        &self.input
    }

    pub fn summary(&self) -> &[LayerSummary] {
        &self.summary
    }

    /// Every parameter and buffer, in order.
    fn tensors(&self) -> impl Iterator<Item = &candle_core::Var> {
        self.named
            .iter()
            .map(|(_, v)| v)
            .chain(self.buffers.iter().map(|b| &b.var))
    }

    /// A copy of every parameter's and buffer's current values (for
    /// "restore best").
    pub fn snapshot(&self) -> candle_core::Result<Vec<Tensor>> {
        self.tensors().map(|v| v.as_tensor().copy()).collect()
    }

    /// Puts back values taken by [`Network::snapshot`].
    pub fn restore(&self, snapshot: &[Tensor]) -> candle_core::Result<()> {
        for (var, saved) in self.tensors().zip(snapshot) {
            var.set(saved)?;
        }
        Ok(())
    }

    /// The weights and buffers as safetensors bytes, with `metadata` in
    /// `__metadata__`.
    pub fn to_safetensors(&self, metadata: HashMap<String, String>) -> Result<Vec<u8>, ModelError> {
        let cpu = |var: &candle_core::Var| var.as_tensor().to_device(&Device::Cpu);
        let mut tensors: Vec<(String, Tensor)> = self
            .named
            .iter()
            .map(|(name, var)| Ok((name.clone(), cpu(var)?)))
            .collect::<Result<_, candle_core::Error>>()?;
        for buffer in &self.buffers {
            let mut tensor = cpu(&buffer.var)?;
            if buffer.integer {
                tensor = tensor.to_dtype(DType::I64)?;
            }
            tensors.push((buffer.name.clone(), tensor));
        }
        safetensors::serialize(tensors.iter().map(|(n, t)| (n.as_str(), t)), Some(metadata))
            .map_err(ModelError::Encode)
    }
}

/// The last layer gives one value per target.
fn check_outputs(rows: &[usize], outputs: usize) -> Result<(), ModelError> {
    match rows {
        [units] if *units == outputs => Ok(()),
        [units] => Err(ModelError::OutputMismatch {
            units: *units as u32,
            targets: outputs,
        }),
        _ => Err(ModelError::OutputShape {
            shape: rows.to_vec(),
            outputs,
        }),
    }
}

/// Builds one layer for the row shape it takes, its tensors from `params`.
fn block(
    shapes: &shape::LayerShapes<'_>,
    params: &mut Params,
    device: &Device,
) -> Result<Block, ModelError> {
    let (index, rows) = (shapes.index, &shapes.input);
    let last = rows.last().copied().unwrap_or(1);
    Ok(match shapes.layer {
        Layer::Linear { units, bias } => Block::Linear(Linear::new(
            index,
            last,
            units.get() as usize,
            *bias,
            params,
        )?),
        Layer::Relu => Block::Activation(Activation::Relu),
        Layer::Sigmoid => Block::Activation(Activation::Sigmoid),
        Layer::Tanh => Block::Activation(Activation::Tanh),
        Layer::Gelu => Block::Activation(Activation::Gelu),
        Layer::LeakyRelu { negative_slope } => Block::Activation(Activation::LeakyRelu {
            negative_slope: *negative_slope,
        }),
        Layer::Silu => Block::Activation(Activation::Silu),
        Layer::Softmax => Block::Activation(Activation::Softmax),
        Layer::Dropout { rate } => Block::Dropout(Dropout { rate: *rate as f32 }),
        Layer::BatchNorm => Block::BatchNorm(BatchNorm::new(index, rows[0], params)?),
        Layer::LayerNorm => Block::LayerNorm(LayerNorm::new(index, last, params)?),
        Layer::Conv1d(settings) => Block::Conv(Conv::new(index, rows[0], settings, 1, params)?),
        Layer::Conv2d(settings) => Block::Conv(Conv::new(index, rows[0], settings, 2, params)?),
        Layer::MaxPool1d(settings) | Layer::MaxPool2d(settings) => {
            Block::Pool(Pool::new(Reduce::Max, settings, rows, device)?)
        }
        Layer::AvgPool1d(settings) | Layer::AvgPool2d(settings) => {
            Block::Pool(Pool::new(Reduce::Average, settings, rows, device)?)
        }
        Layer::Flatten => Block::Flatten,
        Layer::Embedding {
            vocabulary,
            dimensions,
        } => Block::Embedding(Embedding::new(
            index,
            vocabulary.get() as usize,
            dimensions.get() as usize,
            params,
        )?),
        Layer::Rnn(r) | Layer::Lstm(r) | Layer::Gru(r) => {
            recurrent(shapes.layer, r, index, last, params)?
        }
        Layer::Transformer(t) => transformer(t, index, last, params)?,
        Layer::PositionalEncoding => Block::PositionalEncoding(PositionalEncoding::new(
            last,
            rows[0],
            &index.to_string(),
            device,
        )?),
        Layer::LastStep => Block::LastStep,
        Layer::MeanPool => Block::MeanPool,
    })
}

fn recurrent(
    layer: &Layer,
    r: &pipeline_spec::Recurrent,
    index: usize,
    input_size: usize,
    params: &mut Params,
) -> Result<Block, ModelError> {
    let config = RecurrentConfig {
        input_size,
        hidden_size: r.units.get() as usize,
        return_sequences: r.return_sequences,
    };
    let prefix = index.to_string();
    Ok(match layer {
        Layer::Rnn(_) => Block::Rnn(params.layer(
            |init, device| Rnn::new(config, init, &prefix, device),
            Rnn::named_vars,
        )?),
        Layer::Lstm(_) => Block::Lstm(params.layer(
            |init, device| Lstm::new(config, init, &prefix, device),
            Lstm::named_vars,
        )?),
        _ => Block::Gru(params.layer(
            |init, device| Gru::new(config, init, &prefix, device),
            Gru::named_vars,
        )?),
    })
}

fn transformer(
    t: &pipeline_spec::Transformer,
    index: usize,
    d_model: usize,
    params: &mut Params,
) -> Result<Block, ModelError> {
    let config = EncoderConfig {
        d_model,
        heads: t.heads.get() as usize,
        feedforward_size: t.feedforward.map_or(4 * d_model, |f| f.get() as usize),
        dropout: t.dropout as f32,
    };
    let prefix = index.to_string();
    Ok(Block::Transformer(Box::new(params.layer(
        |init, device| TransformerEncoderLayer::new(config, init, &prefix, device),
        TransformerEncoderLayer::named_vars,
    )?)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn simple_nn() -> ModelSpec {
        ModelSpec {
            input: None,
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
    fn shape_errors_come_from_new_not_from_training() {
        let n = |v: u32| std::num::NonZeroU32::new(v).unwrap();
        let spec = |input: Option<Vec<u32>>, layers: Vec<Layer>| ModelSpec {
            input: input.map(|s| s.into_iter().map(n).collect()),
            layers,
        };
        let linear = |units| Layer::Linear {
            units: n(units),
            bias: true,
        };
        let build = |s: &ModelSpec, width| Network::new(s, width, 1, 1, &Device::Cpu).err();
        assert!(matches!(
            build(&spec(Some(vec![2, 5]), vec![linear(1)]), 9),
            Some(ModelError::InputWidth { width: 9, .. })
        ));
        // A linear layer on a sequence gives one output per step.
        assert!(matches!(
            build(&spec(Some(vec![2, 5]), vec![linear(1)]), 10),
            Some(ModelError::OutputShape { ref shape, outputs: 1 }) if shape == &[2, 1]
        ));
        let pooled = spec(
            Some(vec![1, 3]),
            vec![
                Layer::MaxPool1d(pipeline_spec::Pooling {
                    kernel: n(4),
                    stride: n(4),
                }),
                linear(1),
            ],
        );
        assert!(matches!(
            build(&pooled, 3),
            Some(ModelError::LayerShape { index: 0, kind: "max_pool1d", ref input, .. })
                if input == &[1, 3]
        ));
        let flat = spec(None, vec![Layer::LayerNorm, Layer::Flatten, linear(1)]);
        assert!(build(&flat, 4).is_none());
    }

    #[test]
    fn batch_norm_trains_on_a_batch_of_one_row_with_its_running_statistics() {
        let n = |v: u32| std::num::NonZeroU32::new(v).unwrap();
        let spec = ModelSpec {
            input: None,
            layers: vec![
                Layer::Linear {
                    units: n(3),
                    bias: true,
                },
                Layer::BatchNorm,
                Layer::Linear {
                    units: n(1),
                    bias: true,
                },
            ],
        };
        let net = Network::new(&spec, 2, 1, 1, &Device::Cpu).unwrap();
        let before = net.to_safetensors(HashMap::new()).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let x = Tensor::new(&[[0.5f32, -1.0]], &Device::Cpu).unwrap();
        let y = net.forward(&x, Mode::Train(&mut rng)).unwrap();
        let eval = net.forward(&x, Mode::Eval).unwrap();
        assert_eq!(y.to_vec2::<f32>().unwrap(), eval.to_vec2::<f32>().unwrap());
        assert!(y.to_vec2::<f32>().unwrap()[0][0].is_finite());
        let after = net.to_safetensors(HashMap::new()).unwrap();
        assert_eq!(
            crate::weights_digest(&before).unwrap(),
            crate::weights_digest(&after).unwrap(),
            "the running statistics are left as they were"
        );
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

    /// Issue 4: sequence layers from the spec. Parameter counts are
    /// PyTorch's: `sum(p.numel() for p in m.parameters())` of `nn.LSTM(2, 8,
    /// batch_first=True)` = 4·8·(2 + 8) + 2·4·8 = 384, `nn.GRU(2, 8)` = 288,
    /// `nn.RNN(2, 8)` = 96, `nn.TransformerEncoderLayer(8, 2, 16)` = 3·8·8 +
    /// 3·8 + 8·8 + 8 + 8·16 + 16 + 16·8 + 8 + 4·8 = 600, `nn.Linear(8, 1)` = 9.
    #[test]
    fn sequence_specs_build_with_torch_parameter_counts_and_train_a_step() {
        let n = |v: u32| std::num::NonZeroU32::new(v).unwrap();
        let recurrent = pipeline_spec::Recurrent {
            units: n(8),
            return_sequences: false,
        };
        let linear = |units| Layer::Linear {
            units: n(units),
            bias: true,
        };
        let cases: Vec<(Vec<Layer>, usize, &[&str])> = vec![
            (
                vec![Layer::Lstm(recurrent), linear(1)],
                384 + 9,
                &[
                    "0.weight_ih_l0",
                    "0.weight_hh_l0",
                    "0.bias_ih_l0",
                    "0.bias_hh_l0",
                ],
            ),
            (
                vec![Layer::Gru(recurrent), linear(1)],
                288 + 9,
                &["0.weight_hh_l0"],
            ),
            (
                vec![Layer::Rnn(recurrent), linear(1)],
                96 + 9,
                &["0.bias_hh_l0"],
            ),
            (
                vec![
                    linear(8),
                    Layer::PositionalEncoding,
                    Layer::Transformer(pipeline_spec::Transformer {
                        heads: n(2),
                        feedforward: Some(n(16)),
                        dropout: 0.1,
                    }),
                    Layer::MeanPool,
                    linear(1),
                ],
                2 * 8 + 8 + 600 + 9,
                &[
                    "2.self_attn.in_proj_weight",
                    "2.linear1.weight",
                    "2.norm2.bias",
                ],
            ),
        ];
        for (layers, count, names) in cases {
            let spec = ModelSpec {
                input: Some(vec![n(5), n(2)]),
                layers,
            };
            let net = Network::new(&spec, 10, 1, 1, &Device::Cpu).unwrap();
            assert_eq!(net.parameter_count(), count, "{:?}", spec.layers);
            for name in names {
                assert!(net.named.iter().any(|(n, _)| n == name), "{name}");
            }
            let x = Tensor::arange(0f32, 40.0, &Device::Cpu)
                .unwrap()
                .affine(0.05, -1.0)
                .unwrap()
                .reshape((4, 10))
                .unwrap();
            let y = Tensor::new(&[[0.5f32], [-0.5], [1.0], [0.0]], &Device::Cpu).unwrap();
            let loss = |mode| {
                (net.forward(&x, mode).unwrap() - &y)
                    .unwrap()
                    .sqr()
                    .unwrap()
                    .mean_all()
                    .unwrap()
            };
            let before = loss(Mode::Eval);
            let mut rng = ChaCha8Rng::seed_from_u64(0);
            let grads = loss(Mode::Train(&mut rng)).backward().unwrap();
            for var in net.vars() {
                let grad = grads.get(var.as_tensor()).unwrap();
                var.set(&(var.as_tensor() - (grad * 0.05).unwrap()).unwrap())
                    .unwrap();
            }
            let after = loss(Mode::Eval).to_scalar::<f32>().unwrap();
            assert!(
                after < before.to_scalar::<f32>().unwrap(),
                "{:?}: one step lowers the loss",
                spec.layers
            );
            // The weights round-trip through safetensors by name.
            let bytes = net.to_safetensors(HashMap::new()).unwrap();
            let back = Network::from_safetensors(&spec, 10, 1, &bytes, &Device::Cpu).unwrap();
            assert_eq!(
                back.forward(&x, Mode::Eval)
                    .unwrap()
                    .to_vec2::<f32>()
                    .unwrap(),
                net.forward(&x, Mode::Eval)
                    .unwrap()
                    .to_vec2::<f32>()
                    .unwrap()
            );
        }
    }

    #[test]
    fn sequence_layers_need_steps_and_heads_that_divide() {
        let n = |v: u32| std::num::NonZeroU32::new(v).unwrap();
        let gru = Layer::Gru(pipeline_spec::Recurrent {
            units: n(4),
            return_sequences: false,
        });
        let linear = Layer::Linear {
            units: n(1),
            bias: true,
        };
        let flat = ModelSpec {
            input: None,
            layers: vec![gru, linear.clone()],
        };
        assert!(matches!(
            Network::new(&flat, 6, 1, 1, &Device::Cpu),
            Err(ModelError::LayerShape {
                index: 0,
                kind: "gru",
                ..
            })
        ));
        let odd = ModelSpec {
            input: Some(vec![n(2), n(3)]),
            layers: vec![
                Layer::Transformer(pipeline_spec::Transformer {
                    heads: n(2),
                    feedforward: None,
                    dropout: 0.0,
                }),
                Layer::LastStep,
                linear,
            ],
        };
        assert!(matches!(
            Network::new(&odd, 6, 1, 1, &Device::Cpu),
            Err(ModelError::LayerShape { index: 0, kind: "transformer", ref reason, .. })
                if reason.contains("2 heads do not divide the 3 features")
        ));
    }
}
