//! What each layer costs, from the row shapes it takes and gives
//! ([`crate::layers::shape::walk`]): the values it holds (parameters,
//! buffers, inner activations; [`crate::memory`] sets them against the
//! machine's memory) and the multiply-adds of one row ([`step_flops`]: the
//! CLI runs small networks on one thread). Both tables are here, one arm per
//! layer kind, so that a new layer is costed in one file.

use pipeline_spec::{Convolution, Layer, ModelSpec, Recurrent, Transformer};

use crate::layers::shape;

/// The values one layer holds for one row, as PyTorch counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Values {
    /// Trainable values.
    pub parameters: u128,
    /// Values kept beside them, never trained.
    pub buffers: u128,
    /// Activations held inside the layer, its output aside.
    pub inside: u128,
}

impl Values {
    const NONE: Values = Values::weights(0);

    const fn weights(parameters: u128) -> Values {
        Values {
            parameters,
            buffers: 0,
            inside: 0,
        }
    }
}

fn m(a: u128, b: u128) -> u128 {
    a.saturating_mul(b)
}

/// The values `layer` holds for one row of shape `input`.
pub(crate) fn values(layer: &Layer, input: &[usize]) -> Values {
    let last = input.last().copied().unwrap_or(1) as u128;
    let first = input.first().copied().unwrap_or(1) as u128;
    let steps = if input.len() == 2 { first } else { 1 };
    match layer {
        Layer::Linear { units, bias } => {
            let units = u128::from(units.get());
            let bias = if *bias { units } else { 0 };
            Values::weights(m(last, units).saturating_add(bias))
        }
        Layer::BatchNorm => Values {
            parameters: m(2, first),
            buffers: m(2, first) + 1,
            inside: 0,
        },
        Layer::LayerNorm => Values::weights(m(2, last)),
        Layer::Conv1d(c) => convolution_values(c, 1, first),
        Layer::Conv2d(c) => convolution_values(c, 2, first),
        Layer::Embedding {
            vocabulary,
            dimensions,
        } => Values::weights(m(
            u128::from(vocabulary.get()),
            u128::from(dimensions.get()),
        )),
        Layer::Rnn(r) | Layer::Lstm(r) | Layer::Gru(r) => {
            recurrent_values(r, gates(layer) as u128, steps, last)
        }
        Layer::Transformer(t) => transformer_values(t, steps, last),
        Layer::PositionalEncoding => Values {
            parameters: 0,
            buffers: m(steps, last),
            inside: 0,
        },
        Layer::Relu
        | Layer::Sigmoid
        | Layer::Tanh
        | Layer::Gelu
        | Layer::LeakyRelu { .. }
        | Layer::Silu
        | Layer::Softmax
        | Layer::Dropout { .. }
        | Layer::MaxPool1d(_)
        | Layer::MaxPool2d(_)
        | Layer::AvgPool1d(_)
        | Layer::AvgPool2d(_)
        | Layer::Flatten
        | Layer::LastStep
        | Layer::MeanPool => Values::NONE,
    }
}

/// The weight matrices of a recurrent cell: one per gate.
fn gates(layer: &Layer) -> usize {
    match layer {
        Layer::Lstm(_) => 4,
        Layer::Gru(_) => 3,
        _ => 1,
    }
}

fn convolution_values(c: &Convolution, spatial: u32, channels: u128) -> Values {
    let kernel = u128::from(c.kernel.get()).saturating_pow(spatial);
    let filters = u128::from(c.filters.get());
    let bias = if c.bias { filters } else { 0 };
    Values::weights(m(m(filters, channels), kernel).saturating_add(bias))
}

fn recurrent_values(r: &Recurrent, gates: u128, steps: u128, features: u128) -> Values {
    let units = u128::from(r.units.get());
    let weights = m(
        m(gates, units),
        features.saturating_add(units).saturating_add(2),
    );
    Values {
        parameters: weights,
        buffers: 0,
        inside: m(m(steps, gates), units),
    }
}

fn transformer_values(t: &Transformer, steps: u128, d: u128) -> Values {
    let ff = t.feedforward.map_or(m(4, d), |f| u128::from(f.get()));
    // Attention's in and out projections, the feed-forward pair, two layer
    // norms.
    let weights = m(m(4, d), d)
        .saturating_add(m(4, d))
        .saturating_add(m(m(2, d), ff))
        .saturating_add(ff)
        .saturating_add(d)
        .saturating_add(m(4, d));
    let heads = u128::from(t.heads.get());
    let inside = m(steps, m(6, d).saturating_add(ff)).saturating_add(m(heads, m(steps, steps)));
    Values {
        parameters: weights,
        buffers: 0,
        inside,
    }
}

/// Estimated FLOPs of one training step: 6 × `batch_size` × the
/// multiply-adds of one row. With `model.input` declared, the row's shape
/// through every layer is known before the data is read, and linear,
/// convolution, recurrent and transformer layers count in full. Otherwise
/// only the linear layers count, and the first layer's input width, not
/// known yet, is taken to be its own width.
pub fn step_flops(model: &ModelSpec, batch_size: u32) -> f64 {
    let macs = declared_macs(model).unwrap_or_else(|| linear_macs(model));
    6.0 * f64::from(batch_size) * macs
}

fn linear_macs(model: &ModelSpec) -> f64 {
    let widths: Vec<f64> = model
        .layers
        .iter()
        .filter_map(|l| match l {
            Layer::Linear { units, .. } => Some(f64::from(units.get())),
            _ => None,
        })
        .collect();
    let mut macs = 0.0;
    let mut previous = widths.first().copied().unwrap_or(1.0);
    for width in &widths {
        macs += previous * width;
        previous = *width;
    }
    macs
}

/// Multiply-adds of one row through every layer, when `model.input` gives
/// the row's shape (`None` without it, or when the layers do not fit it:
/// the run reports that).
fn declared_macs(model: &ModelSpec) -> Option<f64> {
    let width = model
        .input
        .as_ref()?
        .iter()
        .map(|d| d.get() as usize)
        .product();
    let layers = shape::walk(model, width).ok()?;
    let mut macs = 0.0;
    for l in &layers {
        macs += multiply_adds(l.layer, &l.input, &l.output);
    }
    Some(macs)
}

/// Multiply-adds of one row of shape `input` through `layer`, which gives
/// `output`; layers without weights count none.
fn multiply_adds(layer: &Layer, input: &[usize], output: &[usize]) -> f64 {
    let outputs: usize = output.iter().product();
    let first = input.first().copied().unwrap_or(1);
    let last = input.last().copied().unwrap_or(1);
    match layer {
        Layer::Linear { .. } => (outputs * last) as f64,
        Layer::Conv1d(c) | Layer::Conv2d(c) => {
            let window = (c.kernel.get() as usize).pow(input.len() as u32 - 1);
            (outputs * first * window) as f64
        }
        Layer::Rnn(r) | Layer::Lstm(r) | Layer::Gru(r) => {
            let units = r.units.get() as usize;
            (first * gates(layer) * units * (last + units)) as f64
        }
        Layer::Transformer(t) => {
            let (steps, d) = (first, last);
            let feedforward = t.feedforward.map_or(4 * d, |f| f.get() as usize);
            // Projections, attention scores and their weighted sum, the
            // feed-forward network.
            (steps * (4 * d * d + 2 * d * feedforward) + 2 * steps * steps * d) as f64
        }
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::path::Path;

    use pipeline_spec::Spec;

    use super::*;

    fn flops(spec: &Spec) -> f64 {
        step_flops(&spec.model, spec.train.batch_size)
    }

    /// Every experiment's estimate, pinned before the cost model moved
    /// here from the CLI's threads.rs (issue 19): the move changed no number.
    #[test]
    fn the_experiments_step_flops_are_pinned() {
        let experiments = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
        let pinned = [
            ("mlp", 798_720.0),
            ("digits_cnn", 16_171_008.0),
            ("mnist_cnn", 281_346_048.0),
            ("co2_lstm", 21_731_328.0),
            ("sunspots_gru", 941_568.0),
            ("sunspots_transformer", 2_821_632.0),
            ("iris", 29_184.0),
            ("wine", 107_520.0),
            ("breast_cancer", 202_752.0),
            ("shuttle", 3_194_880.0),
            ("overfit_wide", 37_797_888.0),
            ("overfit_regularized", 37_797_888.0),
        ];
        for (name, expected) in pinned {
            let path = experiments.join(format!("{name}.toml"));
            let text = std::fs::read_to_string(&path).unwrap();
            let spec = Spec::parse(&path, &text, &[]).unwrap();
            assert_eq!(flops(&spec), expected, "{name}");
        }
    }

    #[test]
    fn convolutions_count_once_the_input_shape_is_declared() {
        let text = include_str!("../../../experiments/mlp.toml").replace(
            "layers = [\n  { type = \"linear\", units = 64 },\n  { type = \"relu\" },\n",
            "input = [1, 28, 28]\nlayers = [\n  { type = \"conv2d\", filters = 16, kernel = 3, padding = 1 },\n  { type = \"max_pool2d\", kernel = 2 },\n  { type = \"flatten\" },\n",
        );
        let spec = Spec::parse(Path::new("conv.toml"), &text, &[]).unwrap();
        // torch: Conv2d(1, 16, 3, padding=1) on 28×28 is 16·28·28·9 multiply-adds
        // a row, then Linear(16·14·14, 1).
        let macs = 16.0 * 28.0 * 28.0 * 9.0 + 16.0 * 14.0 * 14.0;
        assert_eq!(flops(&spec), 6.0 * 32.0 * macs);
    }
}
