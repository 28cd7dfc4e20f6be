//! One entry of `model.layers`: the layer types, the keys each takes and
//! its settings, read from the raw entry so that a key of another type is
//! an error naming it and a missing required key is an error with an
//! example. Names and defaults follow PyTorch (`torch.nn`). A new layer type
//! is declared here (then given a shape, a cost and a block in
//! pipeline-model).

use std::num::NonZeroU32;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::defaults;
use crate::error::{SpecError, quote_list};
use crate::raw::RawLayer;
use crate::validate::{Checked, Validator, count_message};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LayerType {
    Linear,
    Relu,
    Sigmoid,
    Tanh,
    Gelu,
    LeakyRelu,
    Silu,
    Softmax,
    Dropout,
    BatchNorm,
    LayerNorm,
    Conv1d,
    Conv2d,
    MaxPool1d,
    MaxPool2d,
    AvgPool1d,
    AvgPool2d,
    Flatten,
    Embedding,
    Rnn,
    Lstm,
    Gru,
    Transformer,
    PositionalEncoding,
    LastStep,
    MeanPool,
}

/// One entry of `model.layers` being read: where it is and its type, for
/// the messages.
struct LayerReader<'v, 'a> {
    validator: &'v Validator<'a>,
    index: usize,
    span: Range<usize>,
    kind: LayerType,
}

impl Validator<'_> {
    pub(crate) fn layer(&self, index: usize, layer: Spanned<RawLayer>) -> Checked<Layer> {
        let reader = LayerReader {
            validator: self,
            index,
            span: layer.span(),
            kind: layer.get_ref().kind,
        };
        let l = layer.into_inner();
        reader.no_stray_key(&l)?;
        reader.read(l)
    }
}

impl LayerReader<'_, '_> {
    fn name(&self) -> &'static str {
        self.kind.name()
    }

    fn fail(
        &self,
        at: Range<usize>,
        field: &str,
        message: String,
        hint: Option<&str>,
    ) -> SpecError {
        let key = format!("model.layers[{}].{field}", self.index);
        self.validator.fail(at, &key, message, hint)
    }

    /// A key of another layer type is an error naming the keys of this one.
    fn no_stray_key(&self, l: &RawLayer) -> Checked<()> {
        let name = self.name();
        let allowed = self.kind.keys();
        let stray = given_keys(l).into_iter().find_map(|(field, at)| {
            at.filter(|_| !allowed.contains(&field))
                .map(|at| (field, at))
        });
        let Some((field, at)) = stray else {
            return Ok(());
        };
        let hint = if allowed.is_empty() {
            format!("remove it; a `{name}` layer takes no settings besides `type`")
        } else {
            let keys: Vec<String> = allowed.iter().map(|k| (*k).to_owned()).collect();
            format!("remove it; a `{name}` layer takes {}", quote_list(&keys))
        };
        Err(self.fail(
            at,
            field,
            format!("`{field}` does not apply to a `{name}` layer"),
            Some(&hint),
        ))
    }

    /// The layer of this type from its keys.
    fn read(&self, l: RawLayer) -> Checked<Layer> {
        let bias = l.bias.as_ref().map_or(defaults::BIAS, |b| *b.get_ref());
        Ok(match self.kind {
            LayerType::Linear => Layer::Linear {
                units: self.linear_units(l.units)?,
                bias,
            },
            LayerType::Relu => Layer::Relu,
            LayerType::Sigmoid => Layer::Sigmoid,
            LayerType::Tanh => Layer::Tanh,
            LayerType::Gelu => Layer::Gelu,
            LayerType::Silu => Layer::Silu,
            LayerType::Softmax => Layer::Softmax,
            LayerType::BatchNorm => Layer::BatchNorm,
            LayerType::LayerNorm => Layer::LayerNorm,
            LayerType::Flatten => Layer::Flatten,
            LayerType::LeakyRelu => Layer::LeakyRelu {
                negative_slope: self.negative_slope(l.negative_slope)?,
            },
            LayerType::Dropout => Layer::Dropout {
                rate: self.dropout_rate(l.rate)?,
            },
            LayerType::Conv1d => Layer::Conv1d(self.convolution(&l, bias)?),
            LayerType::Conv2d => Layer::Conv2d(self.convolution(&l, bias)?),
            LayerType::MaxPool1d => Layer::MaxPool1d(self.pooling(&l)?),
            LayerType::MaxPool2d => Layer::MaxPool2d(self.pooling(&l)?),
            LayerType::AvgPool1d => Layer::AvgPool1d(self.pooling(&l)?),
            LayerType::AvgPool2d => Layer::AvgPool2d(self.pooling(&l)?),
            LayerType::Embedding => Layer::Embedding {
                vocabulary: self.count(l.vocabulary, "vocabulary")?,
                dimensions: self.count(l.dimensions, "dimensions")?,
            },
            LayerType::Rnn => Layer::Rnn(self.recurrent(&l)?),
            LayerType::Lstm => Layer::Lstm(self.recurrent(&l)?),
            LayerType::Gru => Layer::Gru(self.recurrent(&l)?),
            LayerType::Transformer => Layer::Transformer(self.transformer(&l)?),
            LayerType::PositionalEncoding => Layer::PositionalEncoding,
            LayerType::LastStep => Layer::LastStep,
            LayerType::MeanPool => Layer::MeanPool,
        })
    }

    /// A key this layer cannot do without, with an example of the layer.
    fn required<T>(&self, value: Option<Spanned<T>>, field: &str) -> Checked<Spanned<T>> {
        value.ok_or_else(|| {
            self.fail(
                self.span.clone(),
                field,
                format!("{} layer {} has no `{field}`", self.name(), self.index),
                Some(&format!("for example {}", self.kind.example())),
            )
        })
    }

    fn at_least_one(&self, value: &Spanned<i64>, field: &str) -> Checked<NonZeroU32> {
        let v = *value.get_ref();
        u32::try_from(v)
            .ok()
            .and_then(NonZeroU32::new)
            .ok_or_else(|| {
                self.fail(
                    value.span(),
                    field,
                    count_message(&format!("`{field}` of a {} layer", self.name()), v),
                    None,
                )
            })
    }

    /// A required count of at least 1.
    fn count(&self, value: Option<Spanned<i64>>, field: &str) -> Checked<NonZeroU32> {
        self.at_least_one(&self.required(value, field)?, field)
    }

    fn linear_units(&self, units: Option<Spanned<i64>>) -> Checked<NonZeroU32> {
        let units = self.required(units, "units")?;
        let value = *units.get_ref();
        u32::try_from(value)
            .ok()
            .and_then(NonZeroU32::new)
            .ok_or_else(|| {
                if value > 0 {
                    return self.fail(
                        units.span(),
                        "units",
                        format!("a linear layer has at most {} units; got {value}", u32::MAX),
                        None,
                    );
                }
                self.fail(
                    units.span(),
                    "units",
                    format!("a linear layer needs at least 1 unit; got {value}"),
                    Some("a zero-width layer has no outputs to pass on"),
                )
            })
    }

    fn negative_slope(&self, slope: Option<Spanned<f64>>) -> Checked<f64> {
        match slope {
            None => Ok(defaults::LEAKY_RELU_NEGATIVE_SLOPE),
            Some(slope) if slope.get_ref().is_finite() => Ok(*slope.get_ref()),
            Some(slope) => Err(self.fail(
                slope.span(),
                "negative_slope",
                format!(
                    "`negative_slope` must be a finite number; got {}",
                    slope.get_ref()
                ),
                None,
            )),
        }
    }

    fn dropout_rate(&self, rate: Option<Spanned<f64>>) -> Checked<f64> {
        let rate = self.required(rate, "rate")?;
        let value = *rate.get_ref();
        if !(0.0..1.0).contains(&value) {
            return Err(self.fail(
                rate.span(),
                "rate",
                format!("dropout `rate` must be at least 0 and below 1; got {value}"),
                None,
            ));
        }
        Ok(value)
    }

    fn convolution(&self, l: &RawLayer, bias: bool) -> Checked<Convolution> {
        let filters = self.count(l.filters.clone(), "filters")?;
        let kernel = self.count(l.kernel.clone(), "kernel")?;
        let stride = match &l.stride {
            None => defaults::CONV_STRIDE,
            Some(s) => self.at_least_one(s, "stride")?,
        };
        let padding = match &l.padding {
            None => defaults::CONV_PADDING,
            Some(p) => self.padding(p)?,
        };
        Ok(Convolution {
            filters,
            kernel,
            stride,
            padding,
            bias,
        })
    }

    fn padding(&self, p: &Spanned<i64>) -> Checked<u32> {
        let name = self.name();
        u32::try_from(*p.get_ref()).map_err(|_| {
            self.fail(
                p.span(),
                "padding",
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
        })
    }

    fn pooling(&self, l: &RawLayer) -> Checked<Pooling> {
        let kernel = self.count(l.kernel.clone(), "kernel")?;
        let stride = match &l.stride {
            None => kernel,
            Some(s) => self.at_least_one(s, "stride")?,
        };
        Ok(Pooling { kernel, stride })
    }

    fn recurrent(&self, l: &RawLayer) -> Checked<Recurrent> {
        Ok(Recurrent {
            units: self.count(l.units.clone(), "units")?,
            return_sequences: l
                .return_sequences
                .as_ref()
                .map_or(defaults::RETURN_SEQUENCES, |r| *r.get_ref()),
        })
    }

    fn transformer(&self, l: &RawLayer) -> Checked<Transformer> {
        let heads = self.count(l.heads.clone(), "heads")?;
        let feedforward = l
            .feedforward
            .as_ref()
            .map(|f| self.at_least_one(f, "feedforward"))
            .transpose()?;
        let dropout = match &l.dropout {
            None => defaults::TRANSFORMER_DROPOUT,
            Some(rate) if (0.0..1.0).contains(rate.get_ref()) => *rate.get_ref(),
            Some(rate) => {
                return Err(self.fail(
                    rate.span(),
                    "dropout",
                    format!(
                        "transformer `dropout` must be at least 0 and below 1; got {}",
                        rate.get_ref()
                    ),
                    None,
                ));
            }
        };
        Ok(Transformer {
            heads,
            feedforward,
            dropout,
        })
    }
}
