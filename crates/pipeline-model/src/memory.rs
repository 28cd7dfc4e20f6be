//! The memory a network needs, estimated from its spec before any tensor
//! exists: each layer's values ([`crate::cost`]) counted from the shapes
//! [`crate::layers::shape`] infers, and training's share (weights,
//! gradients, a copy of the best epoch's weights, the optimizer's buffers,
//! one batch's activations and their gradients) set against the machine's
//! memory, so that a layer of 10⁹ units is an error naming it instead of an
//! allocation that aborts the process.

use pipeline_spec::ModelSpec;

use crate::cost;
use crate::error::ModelError;
use crate::layers::shape;

/// Bytes of one value (`f32`).
const VALUE_BYTES: u128 = 4;

/// The memory assumed where the machine's cannot be read (no
/// `/proc/meminfo`: not Linux): 16 GiB.
pub const FALLBACK_MEMORY_BYTES: u64 = 16 << 30;

/// What one layer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerFootprint {
    pub index: usize,
    pub kind: &'static str,
    /// Trainable values.
    pub parameters: u128,
    /// Values kept beside them, never trained (running statistics, a
    /// positional table).
    pub buffers: u128,
    /// Values a row's pass through the layer produces (its output and
    /// what attention and recurrent cells hold on the way).
    pub activations: u128,
}

/// Every layer's [`LayerFootprint`], for rows of a given width.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Footprint {
    /// Values of one input row.
    pub inputs: u128,
    pub layers: Vec<LayerFootprint>,
}

impl Footprint {
    /// Counts `spec`'s layers for rows of `width` inputs; a layer that
    /// cannot take its input's shape is the same error as building it.
    pub fn of(spec: &ModelSpec, width: usize) -> Result<Footprint, ModelError> {
        let inputs = product(&shape::input_shape(spec, width)?);
        let layers = shape::walk(spec, width)?
            .into_iter()
            .map(|l| {
                let values = cost::values(l.layer, &l.input);
                LayerFootprint {
                    index: l.index,
                    kind: l.layer.kind(),
                    parameters: values.parameters,
                    buffers: values.buffers,
                    activations: product(&l.output).saturating_add(values.inside),
                }
            })
            .collect();
        Ok(Footprint { inputs, layers })
    }

    /// Trainable values of the whole network.
    pub fn parameters(&self) -> u128 {
        self.layers.iter().map(|l| l.parameters).sum()
    }

    /// Bytes training needs at the least: the weights, their gradients, a
    /// copy of the best epoch's, `optimizer_buffers` more of their size
    /// (Adam's two moments), the buffers, and a batch of `batch_rows` rows'
    /// inputs, activations and the activations' gradients.
    pub fn training_bytes(&self, batch_rows: usize, optimizer_buffers: usize) -> u128 {
        let weights = self
            .parameters()
            .saturating_mul(3 + optimizer_buffers as u128);
        let buffers: u128 = self.layers.iter().map(|l| l.buffers).sum();
        let activations: u128 = self.layers.iter().map(|l| l.activations).sum();
        let batch = (batch_rows as u128)
            .saturating_mul(self.inputs.saturating_add(activations.saturating_mul(2)));
        weights
            .saturating_add(buffers)
            .saturating_add(batch)
            .saturating_mul(VALUE_BYTES)
    }

    /// [`Footprint::training_bytes`] checked against `limit` bytes (the
    /// machine's memory, [`machine_memory`]): above it, the error names the
    /// layer that holds the most.
    pub fn check_training(
        &self,
        batch_rows: usize,
        optimizer_buffers: usize,
        limit: u64,
    ) -> Result<(), ModelError> {
        let needed = self.training_bytes(batch_rows, optimizer_buffers);
        if needed <= u128::from(limit) {
            return Ok(());
        }
        let largest = self.layers.iter().max_by_key(|l| {
            l.parameters
                .saturating_add(l.buffers)
                .saturating_add((batch_rows as u128).saturating_mul(l.activations))
        });
        let Some(layer) = largest else {
            return Ok(());
        };
        Err(ModelError::TooLarge {
            index: layer.index,
            kind: layer.kind,
            parameters: layer.parameters,
            weights_gb: gigabytes(layer.parameters.saturating_mul(VALUE_BYTES)),
            needed_gb: gigabytes(needed),
            limit_gb: gigabytes(u128::from(limit)),
            batch_rows,
        })
    }
}

/// The machine's memory in bytes: `MemTotal` of `/proc/meminfo`, or
/// [`FALLBACK_MEMORY_BYTES`] where it cannot be read.
pub fn machine_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| mem_total(&text))
        .unwrap_or(FALLBACK_MEMORY_BYTES)
}

/// `MemTotal` (in kB) of `/proc/meminfo`'s text, in bytes.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kilobytes: u64 = line
        .trim_start_matches("MemTotal:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    kilobytes.checked_mul(1024)
}

fn gigabytes(bytes: u128) -> f64 {
    bytes as f64 / 1e9
}

fn product(shape: &[usize]) -> u128 {
    shape
        .iter()
        .fold(1u128, |n, &d| n.saturating_mul(d as u128))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use pipeline_spec::Layer;

    use super::*;

    fn n(value: u32) -> std::num::NonZeroU32 {
        std::num::NonZeroU32::new(value).unwrap()
    }

    fn linear(units: u32) -> Layer {
        Layer::Linear {
            units: n(units),
            bias: true,
        }
    }

    /// The counts agree with the network's own, layer by layer, for every
    /// kind of layer with weights (which `simple_nn_has_the_torch_parameter_count`
    /// and the sequence test check against PyTorch).
    #[test]
    fn parameters_are_counted_as_the_network_counts_them() {
        let conv = |filters| pipeline_spec::Convolution {
            filters: n(filters),
            kernel: n(3),
            stride: n(1),
            padding: 1,
            bias: true,
        };
        let recurrent = pipeline_spec::Recurrent {
            units: n(8),
            return_sequences: true,
        };
        let cases = [
            (None, vec![linear(64), Layer::Relu, linear(1)]),
            (
                Some(vec![n(1), n(4), n(4)]),
                vec![
                    Layer::Conv2d(conv(3)),
                    Layer::BatchNorm,
                    Layer::MaxPool2d(pipeline_spec::Pooling {
                        kernel: n(2),
                        stride: n(2),
                    }),
                    Layer::Flatten,
                    Layer::LayerNorm,
                    linear(1),
                ],
            ),
            (
                Some(vec![n(4), n(4)]),
                vec![
                    Layer::Conv1d(conv(5)),
                    Layer::Flatten,
                    Layer::Embedding {
                        vocabulary: n(7),
                        dimensions: n(2),
                    },
                    Layer::Flatten,
                    linear(1),
                ],
            ),
            (
                Some(vec![n(4), n(4)]),
                vec![
                    Layer::Lstm(recurrent),
                    Layer::Gru(recurrent),
                    Layer::Rnn(recurrent),
                    Layer::PositionalEncoding,
                    Layer::Transformer(pipeline_spec::Transformer {
                        heads: n(2),
                        feedforward: None,
                        dropout: 0.0,
                    }),
                    Layer::LastStep,
                    linear(1),
                ],
            ),
        ];
        for (input, layers) in cases {
            let spec = ModelSpec { input, layers };
            let network = crate::Network::new(&spec, 16, 1, 1, &candle_core::Device::Cpu).unwrap();
            let footprint = Footprint::of(&spec, 16).unwrap();
            let counted: Vec<u128> = footprint.layers.iter().map(|l| l.parameters).collect();
            let built: Vec<u128> = network
                .summary()
                .iter()
                .map(|l| l.parameters as u128)
                .collect();
            assert_eq!(counted, built, "{:?}", spec.layers);
        }
    }

    /// Issue 18: a layer of 10⁹ units is refused before any tensor exists,
    /// naming it; a large but ordinary network (784-512-512-10) is not.
    #[test]
    fn a_network_beyond_the_memory_is_refused_naming_its_largest_layer() {
        let huge = ModelSpec {
            input: None,
            layers: vec![linear(1_000_000_000), Layer::Relu, linear(1)],
        };
        let footprint = Footprint::of(&huge, 10).unwrap();
        assert_eq!(footprint.parameters(), 11_000_000_000 + 1_000_000_001);
        let err = footprint
            .check_training(32, 2, 24 * 1_000_000_000)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the network needs about 752.0 GB of memory to train, more than this machine's \
             24.0 GB: layer 0 (linear) holds the most, 11000000000 parameters (44.0 GB of \
             weights) and its activations for a batch of 32 rows"
        );
        assert!(err.is_user_error());
        assert!(err.hint().unwrap().contains("train.batch_size"));

        let mnist = ModelSpec {
            input: None,
            layers: vec![
                linear(512),
                Layer::Relu,
                linear(512),
                Layer::Relu,
                linear(10),
            ],
        };
        let footprint = Footprint::of(&mnist, 784).unwrap();
        assert_eq!(
            footprint.parameters(),
            784 * 512 + 512 + 512 * 512 + 512 + 5130
        );
        footprint.check_training(256, 2, 1 << 30).unwrap();
    }

    #[test]
    fn mem_total_is_read_in_bytes() {
        let text = "MemTotal:       24731400 kB\nMemFree:        21287024 kB\n";
        assert_eq!(mem_total(text), Some(24_731_400 * 1024));
        assert_eq!(mem_total("MemFree: 1 kB\n"), None);
        assert!(machine_memory() > 0);
    }
}
