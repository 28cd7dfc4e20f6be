//! Shape inference: the shape of one row (the batch axis left out) after
//! each layer, from the declared `model.input` (or the flat row of inputs).
//! Every mismatch is found here, before any tensor exists, and reported with
//! the layer's index, its kind and the shape it was given, so that no
//! spec/data mismatch can surface as a failed tensor operation in training.

use pipeline_spec::{Convolution, Layer, ModelSpec, Pooling, Recurrent, Transformer};

use crate::error::ModelError;

/// The shape of one row as the first layer sees it: `model.input` when
/// declared (its product must be `width`), else `[width]`.
pub fn input_shape(spec: &ModelSpec, width: usize) -> Result<Vec<usize>, ModelError> {
    let Some(declared) = &spec.input else {
        return Ok(vec![width]);
    };
    let shape: Vec<usize> = declared.iter().map(|d| d.get() as usize).collect();
    let values: usize = shape.iter().product();
    if values != width {
        return Err(ModelError::InputWidth { shape, width });
    }
    Ok(shape)
}

/// One layer with the row shapes it takes and gives (the batch axis left
/// out).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerShapes<'a> {
    pub index: usize,
    pub layer: &'a Layer,
    pub input: Vec<usize>,
    pub output: Vec<usize>,
}

/// Every layer of `spec` with the row shapes it takes and gives, for rows
/// of `width` inputs: the one walk that building the network, its memory
/// footprint ([`crate::memory`]) and its cost ([`crate::cost`]) share. The
/// first layer that cannot take its input is the error.
pub fn walk(spec: &ModelSpec, width: usize) -> Result<Vec<LayerShapes<'_>>, ModelError> {
    let mut input = input_shape(spec, width)?;
    let mut layers = Vec::with_capacity(spec.layers.len());
    for (index, layer) in spec.layers.iter().enumerate() {
        let output = output_shape(index, layer, &input)?;
        let input = std::mem::replace(&mut input, output.clone());
        layers.push(LayerShapes {
            index,
            layer,
            input,
            output,
        });
    }
    Ok(layers)
}

/// The row shape after each layer of `spec` for rows of `width` inputs.
pub fn row_shapes(spec: &ModelSpec, width: usize) -> Result<Vec<Vec<usize>>, ModelError> {
    Ok(walk(spec, width)?.into_iter().map(|l| l.output).collect())
}

/// The shape of a row after `layer` (number `index`), given `input`.
pub fn output_shape(
    index: usize,
    layer: &Layer,
    input: &[usize],
) -> Result<Vec<usize>, ModelError> {
    let shape = match layer {
        Layer::Linear { units, .. } => linear(units.get(), input),
        Layer::Relu
        | Layer::Sigmoid
        | Layer::Tanh
        | Layer::Gelu
        | Layer::LeakyRelu { .. }
        | Layer::Silu
        | Layer::Softmax
        | Layer::Dropout { .. }
        | Layer::LayerNorm => Ok(input.to_vec()),
        Layer::BatchNorm => batch_norm(input),
        Layer::Conv1d(c) => conv1d(layer, c, input),
        Layer::Conv2d(c) => conv2d(layer, c, input),
        Layer::MaxPool1d(p) | Layer::AvgPool1d(p) => pool1d(layer, p, input),
        Layer::MaxPool2d(p) | Layer::AvgPool2d(p) => pool2d(layer, p, input),
        Layer::Flatten => Ok(vec![input.iter().product()]),
        Layer::Embedding { dimensions, .. } => Ok(embedded(dimensions.get(), input)),
        Layer::Rnn(r) | Layer::Lstm(r) | Layer::Gru(r) => recurrent(layer, r, input),
        Layer::Transformer(t) => transformer(layer, t, input),
        Layer::PositionalEncoding => match input {
            [_, _] => Ok(input.to_vec()),
            _ => Err(sequence(layer)),
        },
        Layer::LastStep | Layer::MeanPool => match input {
            [_, features] => Ok(vec![*features]),
            _ => Err(sequence(layer)),
        },
    };
    shape.map_err(|reason| ModelError::LayerShape {
        index,
        kind: layer.kind(),
        input: input.to_vec(),
        reason,
    })
}

/// The shapes below give a layer family's output, or why it cannot take
/// `input`.
type Shaped = Result<Vec<usize>, String>;

fn linear(units: u32, input: &[usize]) -> Shaped {
    match input {
        [_] => Ok(vec![units as usize]),
        [steps, _] => Ok(vec![*steps, units as usize]),
        _ => Err(
            "a linear layer takes features [F] or a sequence [steps, F]; add { type = \
             \"flatten\" } before it"
                .into(),
        ),
    }
}

fn batch_norm(input: &[usize]) -> Shaped {
    match input.len() {
        1..=3 => Ok(input.to_vec()),
        _ => Err("batch_norm takes features [F], channels [C, L] or images [C, H, W]".into()),
    }
}

fn conv1d(layer: &Layer, c: &Convolution, input: &[usize]) -> Shaped {
    match input {
        [_, length] => {
            let length = windows(*length, c.kernel.get(), c.stride.get(), c.padding)
                .ok_or_else(|| too_small(c.kernel.get(), &[*length], c.padding))?;
            Ok(vec![c.filters.get() as usize, length])
        }
        _ => Err(needs(layer, "[channels, length]", "[C, L]")),
    }
}

fn conv2d(layer: &Layer, c: &Convolution, input: &[usize]) -> Shaped {
    match input {
        [_, height, width] => {
            let (h, w) = windows2(c, *height, *width)
                .ok_or_else(|| too_small(c.kernel.get(), &[*height, *width], c.padding))?;
            Ok(vec![c.filters.get() as usize, h, w])
        }
        _ => Err(needs(layer, "[channels, height, width]", "[C, H, W]")),
    }
}

fn pool1d(layer: &Layer, p: &Pooling, input: &[usize]) -> Shaped {
    match input {
        [channels, length] => {
            let length =
                pooled(p, *length).ok_or_else(|| too_small(p.kernel.get(), &[*length], 0))?;
            Ok(vec![*channels, length])
        }
        _ => Err(needs(layer, "[channels, length]", "[C, L]")),
    }
}

fn pool2d(layer: &Layer, p: &Pooling, input: &[usize]) -> Shaped {
    match input {
        [channels, height, width] => {
            let (h, w) = pooled(p, *height)
                .zip(pooled(p, *width))
                .ok_or_else(|| too_small(p.kernel.get(), &[*height, *width], 0))?;
            Ok(vec![*channels, h, w])
        }
        _ => Err(needs(layer, "[channels, height, width]", "[C, H, W]")),
    }
}

fn embedded(dimensions: u32, input: &[usize]) -> Vec<usize> {
    let mut shape = input.to_vec();
    shape.push(dimensions as usize);
    shape
}

fn recurrent(layer: &Layer, r: &Recurrent, input: &[usize]) -> Shaped {
    match input {
        [steps, _] => Ok(if r.return_sequences {
            vec![*steps, r.units.get() as usize]
        } else {
            vec![r.units.get() as usize]
        }),
        _ => Err(sequence(layer)),
    }
}

fn transformer(layer: &Layer, t: &Transformer, input: &[usize]) -> Shaped {
    match input {
        [_, d_model] if d_model % t.heads.get() as usize == 0 => Ok(input.to_vec()),
        [_, d_model] => Err(format!(
            "its {} heads do not divide the {d_model} features of each step (d_model); \
             put a {{ type = \"linear\", units = N }} with N a multiple of the heads before it",
            t.heads
        )),
        _ => Err(sequence(layer)),
    }
}

fn sequence(layer: &Layer) -> String {
    needs(layer, "[steps, features]", "[steps, features]")
}

/// Window positions along an axis of `size` (PyTorch's
/// `(size + 2·padding - kernel) / stride + 1`), `None` when the kernel does
/// not fit once.
pub fn windows(size: usize, kernel: u32, stride: u32, padding: u32) -> Option<usize> {
    let padded = size + 2 * padding as usize;
    let kernel = kernel as usize;
    (padded >= kernel).then(|| (padded - kernel) / stride as usize + 1)
}

fn windows2(c: &Convolution, height: usize, width: usize) -> Option<(usize, usize)> {
    let along = |size| windows(size, c.kernel.get(), c.stride.get(), c.padding);
    along(height).zip(along(width))
}

fn pooled(p: &Pooling, size: usize) -> Option<usize> {
    windows(size, p.kernel.get(), p.stride.get(), 0)
}

fn needs(layer: &Layer, shape: &str, short: &str) -> String {
    format!(
        "{} needs rows of {shape}; declare `model.input = {short}` or put a layer that \
         gives that shape before it",
        layer.kind()
    )
}

fn too_small(kernel: u32, size: &[usize], padding: u32) -> String {
    let size: Vec<String> = size
        .iter()
        .map(|s| (s + 2 * padding as usize).to_string())
        .collect();
    let padded = if padding > 0 { "padded " } else { "" };
    format!(
        "its kernel of {kernel} is larger than the {padded}input's {}",
        size.join(" × ")
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::num::NonZeroU32;

    use super::*;

    fn n(value: u32) -> NonZeroU32 {
        NonZeroU32::new(value).unwrap()
    }

    fn conv(filters: u32, kernel: u32, stride: u32, padding: u32) -> Convolution {
        Convolution {
            filters: n(filters),
            kernel: n(kernel),
            stride: n(stride),
            padding,
            bias: true,
        }
    }

    fn pool(kernel: u32, stride: u32) -> Pooling {
        Pooling {
            kernel: n(kernel),
            stride: n(stride),
        }
    }

    fn model(input: Option<&[u32]>, layers: Vec<Layer>) -> ModelSpec {
        ModelSpec {
            input: input.map(|s| s.iter().map(|&d| n(d)).collect()),
            layers,
        }
    }

    fn linear(units: u32) -> Layer {
        Layer::Linear {
            units: n(units),
            bias: true,
        }
    }

    #[test]
    fn shapes_follow_pytorch() {
        // torch: Conv2d(1, 16, 3, padding=1) on (N, 1, 8, 8) -> (N, 16, 8, 8);
        // MaxPool2d(2) -> (N, 16, 4, 4); Conv2d(16, 8, 3, stride=2) -> (N, 8, 1, 1).
        let spec = model(
            Some(&[1, 8, 8]),
            vec![
                Layer::Conv2d(conv(16, 3, 1, 1)),
                Layer::BatchNorm,
                Layer::MaxPool2d(pool(2, 2)),
                Layer::Conv2d(conv(8, 3, 2, 0)),
                Layer::Flatten,
                linear(1),
            ],
        );
        assert_eq!(
            row_shapes(&spec, 64).unwrap(),
            vec![
                vec![16, 8, 8],
                vec![16, 8, 8],
                vec![16, 4, 4],
                vec![8, 1, 1],
                vec![8],
                vec![1]
            ]
        );
        // Conv1d(3, 4, 5, stride=2, padding=2) on (N, 3, 11) -> (N, 4, 6);
        // AvgPool1d(3, stride=2) -> (N, 4, 2).
        let spec = model(
            Some(&[3, 11]),
            vec![
                Layer::Conv1d(conv(4, 5, 2, 2)),
                Layer::AvgPool1d(pool(3, 2)),
                Layer::LayerNorm,
                linear(2),
            ],
        );
        assert_eq!(
            row_shapes(&spec, 33).unwrap(),
            vec![vec![4, 6], vec![4, 2], vec![4, 2], vec![4, 2]]
        );
        let spec = model(
            None,
            vec![
                Layer::Embedding {
                    vocabulary: n(10),
                    dimensions: n(3),
                },
                Layer::Flatten,
                linear(1),
            ],
        );
        assert_eq!(
            row_shapes(&spec, 5).unwrap(),
            vec![vec![5, 3], vec![15], vec![1]]
        );
    }

    fn error(input: Option<&[u32]>, width: usize, layers: Vec<Layer>) -> String {
        row_shapes(&model(input, layers), width)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn mismatches_name_the_layer_and_the_shapes() {
        assert_eq!(
            error(None, 64, vec![Layer::Conv2d(conv(4, 3, 1, 0)), linear(1)]),
            "layer 0 (conv2d) cannot take rows of shape [64]: conv2d needs rows of [channels, \
             height, width]; declare `model.input = [C, H, W]` or put a layer that gives that \
             shape before it"
        );
        assert_eq!(
            error(
                Some(&[1, 4, 4]),
                16,
                vec![Layer::Conv2d(conv(2, 3, 1, 0)), linear(1)]
            ),
            "layer 1 (linear) cannot take rows of shape [2, 2, 2]: a linear layer takes \
             features [F] or a sequence [steps, F]; add { type = \"flatten\" } before it"
        );
        assert_eq!(
            error(
                Some(&[1, 4, 4]),
                16,
                vec![
                    Layer::MaxPool2d(pool(2, 2)),
                    Layer::MaxPool2d(pool(3, 3)),
                    linear(1)
                ]
            ),
            "layer 1 (max_pool2d) cannot take rows of shape [1, 2, 2]: its kernel of 3 is \
             larger than the input's 2 × 2"
        );
        assert_eq!(
            error(
                Some(&[2, 3]),
                6,
                vec![Layer::Conv1d(conv(2, 6, 1, 1)), linear(1)]
            ),
            "layer 0 (conv1d) cannot take rows of shape [2, 3]: its kernel of 6 is larger \
             than the padded input's 5"
        );
        assert_eq!(
            error(Some(&[8]), 8, vec![Layer::AvgPool1d(pool(2, 2)), linear(1)]),
            "layer 0 (avg_pool1d) cannot take rows of shape [8]: avg_pool1d needs rows of \
             [channels, length]; declare `model.input = [C, L]` or put a layer that gives \
             that shape before it"
        );
        assert_eq!(
            error(Some(&[1, 8, 8]), 63, vec![linear(1)]),
            "`model.input` is [1, 8, 8] (64 values a row) but the data gives 63 model inputs"
        );
    }
}
