//! `[model]`: the shape of one input row and the ordered layers. Each layer
//! type takes its own keys; a key of another type is an error naming it, and
//! a missing required key is an error with an example. Names and defaults
//! follow PyTorch (`torch.nn`). Whether the layers fit the shapes they are
//! given is checked by the model stage, once the data's width is known.

use std::num::NonZeroU32;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::defaults;
use crate::error::quote_list;
use crate::raw::{LayerType, RawLayer, RawModel};
use crate::validate::{Checked, Validator, count_message};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelSpec {
    /// The shape of one row (`[channels, height, width]` for images,
    /// `[steps, features]` for sequences); the data's flat row is reshaped
    /// to it, row-major. `None`: the flat row of inputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Vec<NonZeroU32>>,
    pub layers: Vec<Layer>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Layer {
    /// Over the last axis (`nn.Linear`).
    Linear {
        units: NonZeroU32,
        bias: bool,
    },
    Relu,
    Sigmoid,
    Tanh,
    Gelu,
    /// `max(0, x) + negative_slope · min(0, x)` (`nn.LeakyReLU`).
    LeakyRelu {
        negative_slope: f64,
    },
    /// `x · sigmoid(x)` (`nn.SiLU`).
    Silu,
    /// Over the last axis; only as the last layer, after a linear one.
    Softmax,
    Dropout {
        rate: f64,
    },
    /// `nn.BatchNorm1d` over the features of `[F]` or the channels of
    /// `[C, L]`, `nn.BatchNorm2d` over the channels of `[C, H, W]`.
    BatchNorm,
    /// Over the last axis, with a weight and a bias (`nn.LayerNorm`).
    LayerNorm,
    /// `[channels, length]` → `[filters, length']` (`nn.Conv1d`).
    Conv1d(Convolution),
    /// `[channels, height, width]` → `[filters, height', width']` (`nn.Conv2d`).
    Conv2d(Convolution),
    MaxPool1d(Pooling),
    MaxPool2d(Pooling),
    AvgPool1d(Pooling),
    AvgPool2d(Pooling),
    /// Every axis of a row into one (the batch axis stays).
    Flatten,
    /// Integer codes `[T]` → vectors `[T, dimensions]` (`nn.Embedding`).
    Embedding {
        vocabulary: NonZeroU32,
        dimensions: NonZeroU32,
    },
    /// `[steps, features]` → `[units]` or `[steps, units]` (`nn.RNN`, tanh).
    Rnn(Recurrent),
    /// As `rnn`, with `nn.LSTM`'s gates.
    Lstm(Recurrent),
    /// As `rnn`, with `nn.GRU`'s gates.
    Gru(Recurrent),
    /// One encoder block (`nn.TransformerEncoderLayer`: self-attention and a
    /// feed-forward network, each with a residual and post-layer norm, ReLU)
    /// on `[steps, d_model]`, `d_model` the last axis of its input.
    Transformer(Transformer),
    /// Adds sinusoidal positions to `[steps, d_model]`; no parameters.
    PositionalEncoding,
    /// `[steps, features]` → `[features]`: the last step.
    LastStep,
    /// `[steps, features]` → `[features]`: the mean over the steps.
    MeanPool,
}

/// A recurrent layer: one layer, unidirectional, zero initial state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Recurrent {
    /// The hidden state's size (`hidden_size`).
    pub units: NonZeroU32,
    /// `true`: the state after every step `[steps, units]`; `false`: the
    /// last state `[units]`.
    pub return_sequences: bool,
}

/// A transformer encoder block's settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Transformer {
    /// Attention heads; they must divide `d_model`.
    pub heads: NonZeroU32,
    /// The feed-forward network's width (`dim_feedforward`); `None`: 4 ×
    /// `d_model`, known once the input's shape is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feedforward: Option<NonZeroU32>,
    /// Dropout after attention, inside and after the feed-forward network.
    pub dropout: f64,
}

/// A convolution's settings: square kernels, the same stride and zero
/// padding on every spatial axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Convolution {
    pub filters: NonZeroU32,
    pub kernel: NonZeroU32,
    pub stride: NonZeroU32,
    pub padding: u32,
    pub bias: bool,
}

/// A pooling window: square, no padding, partial windows dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pooling {
    pub kernel: NonZeroU32,
    pub stride: NonZeroU32,
}

impl Layer {
    /// The name the spec gives the layer (`type = "…"`).
    pub fn kind(&self) -> &'static str {
        self.layer_type().name()
    }

    fn layer_type(&self) -> LayerType {
        match self {
            Layer::Linear { .. } => LayerType::Linear,
            Layer::Relu => LayerType::Relu,
            Layer::Sigmoid => LayerType::Sigmoid,
            Layer::Tanh => LayerType::Tanh,
            Layer::Gelu => LayerType::Gelu,
            Layer::LeakyRelu { .. } => LayerType::LeakyRelu,
            Layer::Silu => LayerType::Silu,
            Layer::Softmax => LayerType::Softmax,
            Layer::Dropout { .. } => LayerType::Dropout,
            Layer::BatchNorm => LayerType::BatchNorm,
            Layer::LayerNorm => LayerType::LayerNorm,
            Layer::Conv1d(_) => LayerType::Conv1d,
            Layer::Conv2d(_) => LayerType::Conv2d,
            Layer::MaxPool1d(_) => LayerType::MaxPool1d,
            Layer::MaxPool2d(_) => LayerType::MaxPool2d,
            Layer::AvgPool1d(_) => LayerType::AvgPool1d,
            Layer::AvgPool2d(_) => LayerType::AvgPool2d,
            Layer::Flatten => LayerType::Flatten,
            Layer::Embedding { .. } => LayerType::Embedding,
            Layer::Rnn(_) => LayerType::Rnn,
            Layer::Lstm(_) => LayerType::Lstm,
            Layer::Gru(_) => LayerType::Gru,
            Layer::Transformer(_) => LayerType::Transformer,
            Layer::PositionalEncoding => LayerType::PositionalEncoding,
            Layer::LastStep => LayerType::LastStep,
            Layer::MeanPool => LayerType::MeanPool,
        }
    }
}

impl LayerType {
    pub fn name(self) -> &'static str {
        match self {
            LayerType::Linear => "linear",
            LayerType::Relu => "relu",
            LayerType::Sigmoid => "sigmoid",
            LayerType::Tanh => "tanh",
            LayerType::Gelu => "gelu",
            LayerType::LeakyRelu => "leaky_relu",
            LayerType::Silu => "silu",
            LayerType::Softmax => "softmax",
            LayerType::Dropout => "dropout",
            LayerType::BatchNorm => "batch_norm",
            LayerType::LayerNorm => "layer_norm",
            LayerType::Conv1d => "conv1d",
            LayerType::Conv2d => "conv2d",
            LayerType::MaxPool1d => "max_pool1d",
            LayerType::MaxPool2d => "max_pool2d",
            LayerType::AvgPool1d => "avg_pool1d",
            LayerType::AvgPool2d => "avg_pool2d",
            LayerType::Flatten => "flatten",
            LayerType::Embedding => "embedding",
            LayerType::Rnn => "rnn",
            LayerType::Lstm => "lstm",
            LayerType::Gru => "gru",
            LayerType::Transformer => "transformer",
            LayerType::PositionalEncoding => "positional_encoding",
            LayerType::LastStep => "last_step",
            LayerType::MeanPool => "mean_pool",
        }
    }

    /// The keys this layer type takes besides `type`.
    fn keys(self) -> &'static [&'static str] {
        match self {
            LayerType::Linear => &["units", "bias"],
            LayerType::LeakyRelu => &["negative_slope"],
            LayerType::Dropout => &["rate"],
            LayerType::Conv1d | LayerType::Conv2d => {
                &["filters", "kernel", "stride", "padding", "bias"]
            }
            LayerType::MaxPool1d
            | LayerType::MaxPool2d
            | LayerType::AvgPool1d
            | LayerType::AvgPool2d => &["kernel", "stride"],
            LayerType::Embedding => &["vocabulary", "dimensions"],
            LayerType::Rnn | LayerType::Lstm | LayerType::Gru => &["units", "return_sequences"],
            LayerType::Transformer => &["heads", "feedforward", "dropout"],
            LayerType::PositionalEncoding | LayerType::LastStep | LayerType::MeanPool => &[],
            LayerType::Relu
            | LayerType::Sigmoid
            | LayerType::Tanh
            | LayerType::Gelu
            | LayerType::Silu
            | LayerType::Softmax
            | LayerType::BatchNorm
            | LayerType::LayerNorm
            | LayerType::Flatten => &[],
        }
    }

    /// A complete example of this layer, for hints.
    fn example(self) -> &'static str {
        match self {
            LayerType::Linear => "{ type = \"linear\", units = 64 }",
            LayerType::Dropout => "{ type = \"dropout\", rate = 0.2 }",
            LayerType::Conv1d => "{ type = \"conv1d\", filters = 16, kernel = 3 }",
            LayerType::Conv2d => "{ type = \"conv2d\", filters = 16, kernel = 3, padding = 1 }",
            LayerType::MaxPool1d => "{ type = \"max_pool1d\", kernel = 2 }",
            LayerType::MaxPool2d => "{ type = \"max_pool2d\", kernel = 2 }",
            LayerType::AvgPool1d => "{ type = \"avg_pool1d\", kernel = 2 }",
            LayerType::AvgPool2d => "{ type = \"avg_pool2d\", kernel = 2 }",
            LayerType::Embedding => "{ type = \"embedding\", vocabulary = 1000, dimensions = 32 }",
            LayerType::Rnn => "{ type = \"rnn\", units = 32 }",
            LayerType::Lstm => "{ type = \"lstm\", units = 32 }",
            LayerType::Gru => "{ type = \"gru\", units = 32 }",
            LayerType::Transformer => "{ type = \"transformer\", heads = 2 }",
            _ => "",
        }
    }
}

/// The keys a raw layer sets besides `type`, with their positions.
/// PyTorch's names for keys that have other names here (`nn.Dropout(p=…)` is
/// `rate`), for the did-you-mean of an unknown key in a layer.
const PYTORCH_KEYS: [(&str, &str); 10] = [
    ("p", "rate"),
    ("out_features", "units"),
    ("hidden_size", "units"),
    ("out_channels", "filters"),
    ("kernel_size", "kernel"),
    ("num_embeddings", "vocabulary"),
    ("embedding_dim", "dimensions"),
    ("nhead", "heads"),
    ("dim_feedforward", "feedforward"),
    ("batch_first", "return_sequences"),
];

/// The hint for the unknown key `got` written at `at` in `text`, when it sits
/// in one of `model.layers`: the layer type's own keys come first (a `dropout`
/// layer's `p` means `rate`, not `padding`, a key of another type). `None`
/// when the key is not in a layer of a known type.
pub(crate) fn unknown_layer_key_hint(text: &str, at: &Range<usize>, got: &str) -> Option<String> {
    use toml::de::{DeTable, DeValue};
    let document = DeTable::parse(text).ok()?;
    fn entry<'a, 'i>(table: &'a DeTable<'i>, name: &str) -> Option<&'a DeValue<'i>> {
        table
            .iter()
            .find(|(key, _)| key.get_ref().as_ref() == name)
            .map(|(_, value)| value.get_ref())
    }
    let Some(DeValue::Table(model)) = entry(document.get_ref(), "model") else {
        return None;
    };
    let Some(DeValue::Array(layers)) = entry(model, "layers") else {
        return None;
    };
    let layer = layers.iter().find_map(|layer| match layer.get_ref() {
        DeValue::Table(t) if t.keys().any(|key| key.span() == *at) => Some(t),
        _ => None,
    })?;
    let Some(DeValue::String(name)) = entry(layer, "type") else {
        return None;
    };
    let kind = LayerType::deserialize(toml::Value::String(name.to_string())).ok()?;
    let keys = kind.keys();
    if let Some((_, ours)) = PYTORCH_KEYS
        .iter()
        .find(|(theirs, ours)| *theirs == got && keys.contains(ours))
    {
        return Some(format!("did you mean `{ours}`? (PyTorch's `{got}`)"));
    }
    let candidates: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    Some(match crate::error::closest(got, &candidates) {
        Some(best) => format!("did you mean `{best}`?"),
        None if candidates.is_empty() => {
            format!("a `{}` layer takes no settings besides `type`", kind.name())
        }
        None => format!(
            "a `{}` layer takes {}",
            kind.name(),
            quote_list(&candidates)
        ),
    })
}

fn given_keys(l: &RawLayer) -> [(&'static str, Option<Range<usize>>); 14] {
    fn at<T>(value: &Option<Spanned<T>>) -> Option<Range<usize>> {
        value.as_ref().map(Spanned::span)
    }
    [
        ("units", at(&l.units)),
        ("bias", at(&l.bias)),
        ("rate", at(&l.rate)),
        ("negative_slope", at(&l.negative_slope)),
        ("filters", at(&l.filters)),
        ("kernel", at(&l.kernel)),
        ("stride", at(&l.stride)),
        ("padding", at(&l.padding)),
        ("vocabulary", at(&l.vocabulary)),
        ("dimensions", at(&l.dimensions)),
        ("return_sequences", at(&l.return_sequences)),
        ("heads", at(&l.heads)),
        ("feedforward", at(&l.feedforward)),
        ("dropout", at(&l.dropout)),
    ]
}

impl Validator<'_> {
    pub(crate) fn model(&self, raw: RawModel) -> Checked<ModelSpec> {
        let input = raw.input.map(|shape| self.input(shape)).transpose()?;
        let list_span = raw.layers.span();
        let raw_layers = raw.layers.into_inner();
        let mut layers = Vec::with_capacity(raw_layers.len());
        let mut spans = Vec::with_capacity(raw_layers.len());
        for (index, layer) in raw_layers.into_iter().enumerate() {
            spans.push(layer.span());
            layers.push(self.layer(index, layer)?);
        }
        if !layers.iter().any(|l| matches!(l, Layer::Linear { .. })) {
            return Err(self.fail(
                list_span,
                "model.layers",
                "the model has no linear layer".into(),
                Some("a model needs at least one { type = \"linear\", units = N }; the last one gives the outputs"),
            ));
        }
        let last = layers.len() - 1;
        if let Some(index) = layers[..last]
            .iter()
            .position(|l| matches!(l, Layer::Softmax))
        {
            return Err(self.fail(
                spans[index].clone(),
                &format!("model.layers[{index}]"),
                "softmax may only be the last layer: it turns the model's outputs into \
                 probabilities"
                    .into(),
                Some("end with { type = \"linear\", units = N } then { type = \"softmax\" }"),
            ));
        }
        let ends_linear = matches!(
            layers.as_slice(),
            [.., Layer::Linear { .. }] | [.., Layer::Linear { .. }, Layer::Softmax]
        );
        if !ends_linear {
            return Err(self.fail(
                list_span,
                "model.layers",
                "the last layer must be linear (optionally followed by softmax): its units are \
                 the model's outputs"
                    .into(),
                Some("add { type = \"linear\", units = 1 } at the end for one regression target"),
            ));
        }
        Ok(ModelSpec { input, layers })
    }

    fn input(&self, shape: Spanned<Vec<Spanned<i64>>>) -> Checked<Vec<NonZeroU32>> {
        let span = shape.span();
        let dims = shape.into_inner();
        if dims.is_empty() || dims.len() > 3 {
            return Err(self.fail(
                span,
                "model.input",
                format!(
                    "`model.input` has {} dimension(s); it takes 1 to 3",
                    dims.len()
                ),
                Some(
                    "[channels, height, width] for images (e.g. [1, 28, 28]), [steps, features] \
                     for sequences; leave it out for a flat row of inputs",
                ),
            ));
        }
        let mut values = Vec::with_capacity(dims.len());
        let mut product: u64 = 1;
        for dim in dims {
            let value = *dim.get_ref();
            let size = u32::try_from(value)
                .ok()
                .and_then(NonZeroU32::new)
                .ok_or_else(|| {
                    self.fail(
                        dim.span(),
                        "model.input",
                        if value > 0 {
                            format!(
                                "every size in `model.input` must be at most {}; got {value}",
                                u32::MAX
                            )
                        } else {
                            format!("every size in `model.input` must be at least 1; got {value}")
                        },
                        None,
                    )
                })?;
            product = product.saturating_mul(u64::from(size.get()));
            values.push(size);
        }
        if product > u64::from(u32::MAX) {
            return Err(self.fail(
                span,
                "model.input",
                format!("`model.input` holds {product} values a row, more than a model can take"),
                None,
            ));
        }
        Ok(values)
    }

    fn layer(&self, index: usize, layer: Spanned<RawLayer>) -> Checked<Layer> {
        let span = layer.span();
        let l = layer.into_inner();
        let kind = l.kind;
        let name = kind.name();
        let key = |field: &str| format!("model.layers[{index}].{field}");
        let allowed = kind.keys();
        let stray = given_keys(&l).into_iter().find_map(|(field, at)| {
            at.filter(|_| !allowed.contains(&field))
                .map(|at| (field, at))
        });
        if let Some((field, at)) = stray {
            let hint = if allowed.is_empty() {
                format!("remove it; a `{name}` layer takes no settings besides `type`")
            } else {
                let keys: Vec<String> = allowed.iter().map(|k| (*k).to_owned()).collect();
                format!("remove it; a `{name}` layer takes {}", quote_list(&keys))
            };
            return Err(self.fail(
                at,
                &key(field),
                format!("`{field}` does not apply to a `{name}` layer"),
                Some(&hint),
            ));
        }
        let required = |value: Option<Spanned<i64>>, field: &str| {
            value.ok_or_else(|| {
                self.fail(
                    span.clone(),
                    &key(field),
                    format!("{name} layer {index} has no `{field}`"),
                    Some(&format!("for example {}", kind.example())),
                )
            })
        };
        let at_least_one = |value: Spanned<i64>, field: &str| -> Checked<NonZeroU32> {
            let v = *value.get_ref();
            u32::try_from(v)
                .ok()
                .and_then(NonZeroU32::new)
                .ok_or_else(|| {
                    self.fail(
                        value.span(),
                        &key(field),
                        count_message(&format!("`{field}` of a {name} layer"), v),
                        None,
                    )
                })
        };
        let bias = l.bias.map_or(defaults::BIAS, |b| *b.get_ref());
        Ok(match kind {
            LayerType::Linear => {
                let units = required(l.units, "units")?;
                let value = *units.get_ref();
                let units = u32::try_from(value)
                    .ok()
                    .and_then(NonZeroU32::new)
                    .ok_or_else(|| {
                        if value > 0 {
                            return self.fail(
                                units.span(),
                                &key("units"),
                                format!(
                                    "a linear layer has at most {} units; got {value}",
                                    u32::MAX
                                ),
                                None,
                            );
                        }
                        self.fail(
                            units.span(),
                            &key("units"),
                            format!("a linear layer needs at least 1 unit; got {value}"),
                            Some("a zero-width layer has no outputs to pass on"),
                        )
                    })?;
                Layer::Linear { units, bias }
            }
            LayerType::Relu => Layer::Relu,
            LayerType::Sigmoid => Layer::Sigmoid,
            LayerType::Tanh => Layer::Tanh,
            LayerType::Gelu => Layer::Gelu,
            LayerType::Silu => Layer::Silu,
            LayerType::Softmax => Layer::Softmax,
            LayerType::BatchNorm => Layer::BatchNorm,
            LayerType::LayerNorm => Layer::LayerNorm,
            LayerType::Flatten => Layer::Flatten,
            LayerType::LeakyRelu => {
                let negative_slope = match l.negative_slope {
                    None => defaults::LEAKY_RELU_NEGATIVE_SLOPE,
                    Some(slope) if slope.get_ref().is_finite() => *slope.get_ref(),
                    Some(slope) => {
                        return Err(self.fail(
                            slope.span(),
                            &key("negative_slope"),
                            format!(
                                "`negative_slope` must be a finite number; got {}",
                                slope.get_ref()
                            ),
                            None,
                        ));
                    }
                };
                Layer::LeakyRelu { negative_slope }
            }
            LayerType::Dropout => {
                let Some(rate) = l.rate else {
                    return Err(self.fail(
                        span,
                        &key("rate"),
                        format!("dropout layer {index} has no `rate`"),
                        Some(&format!("for example {}", kind.example())),
                    ));
                };
                let value = *rate.get_ref();
                if !(0.0..1.0).contains(&value) {
                    return Err(self.fail(
                        rate.span(),
                        &key("rate"),
                        format!("dropout `rate` must be at least 0 and below 1; got {value}"),
                        None,
                    ));
                }
                Layer::Dropout { rate: value }
            }
            LayerType::Conv1d | LayerType::Conv2d => {
                let filters = at_least_one(required(l.filters, "filters")?, "filters")?;
                let kernel = at_least_one(required(l.kernel, "kernel")?, "kernel")?;
                let stride = match l.stride {
                    None => defaults::CONV_STRIDE,
                    Some(s) => at_least_one(s, "stride")?,
                };
                let padding = match l.padding {
                    None => defaults::CONV_PADDING,
                    Some(p) => u32::try_from(*p.get_ref()).map_err(|_| {
                        self.fail(
                            p.span(),
                            &key("padding"),
                            if *p.get_ref() > 0 {
                                format!(
                                    "`padding` of a {name} layer must be at most {}; got {}",
                                    u32::MAX,
                                    p.get_ref()
                                )
                            } else {
                                format!(
                                    "`padding` of a {name} layer must be a whole number of at least 0; got {}",
                                    p.get_ref()
                                )
                            },
                            None,
                        )
                    })?,
                };
                let convolution = Convolution {
                    filters,
                    kernel,
                    stride,
                    padding,
                    bias,
                };
                if kind == LayerType::Conv1d {
                    Layer::Conv1d(convolution)
                } else {
                    Layer::Conv2d(convolution)
                }
            }
            LayerType::MaxPool1d
            | LayerType::MaxPool2d
            | LayerType::AvgPool1d
            | LayerType::AvgPool2d => {
                let kernel = at_least_one(required(l.kernel, "kernel")?, "kernel")?;
                let stride = match l.stride {
                    None => kernel,
                    Some(s) => at_least_one(s, "stride")?,
                };
                let pooling = Pooling { kernel, stride };
                match kind {
                    LayerType::MaxPool1d => Layer::MaxPool1d(pooling),
                    LayerType::MaxPool2d => Layer::MaxPool2d(pooling),
                    LayerType::AvgPool1d => Layer::AvgPool1d(pooling),
                    _ => Layer::AvgPool2d(pooling),
                }
            }
            LayerType::Embedding => Layer::Embedding {
                vocabulary: at_least_one(required(l.vocabulary, "vocabulary")?, "vocabulary")?,
                dimensions: at_least_one(required(l.dimensions, "dimensions")?, "dimensions")?,
            },
            LayerType::Rnn | LayerType::Lstm | LayerType::Gru => {
                let recurrent = Recurrent {
                    units: at_least_one(required(l.units, "units")?, "units")?,
                    return_sequences: l
                        .return_sequences
                        .map_or(defaults::RETURN_SEQUENCES, |r| *r.get_ref()),
                };
                match kind {
                    LayerType::Rnn => Layer::Rnn(recurrent),
                    LayerType::Lstm => Layer::Lstm(recurrent),
                    _ => Layer::Gru(recurrent),
                }
            }
            LayerType::Transformer => {
                let heads = at_least_one(required(l.heads, "heads")?, "heads")?;
                let feedforward = l
                    .feedforward
                    .map(|f| at_least_one(f, "feedforward"))
                    .transpose()?;
                let dropout = match l.dropout {
                    None => defaults::TRANSFORMER_DROPOUT,
                    Some(rate) if (0.0..1.0).contains(rate.get_ref()) => *rate.get_ref(),
                    Some(rate) => {
                        return Err(self.fail(
                            rate.span(),
                            &key("dropout"),
                            format!(
                                "transformer `dropout` must be at least 0 and below 1; got {}",
                                rate.get_ref()
                            ),
                            None,
                        ));
                    }
                };
                Layer::Transformer(Transformer {
                    heads,
                    feedforward,
                    dropout,
                })
            }
            LayerType::PositionalEncoding => Layer::PositionalEncoding,
            LayerType::LastStep => Layer::LastStep,
            LayerType::MeanPool => Layer::MeanPool,
        })
    }
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
