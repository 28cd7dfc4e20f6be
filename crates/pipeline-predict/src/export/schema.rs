//! `schema.json`: the inputs (in model order, with the normalization
//! applied to each), the output, and the layers with their weight names and
//! sizes. Layers other than the multilayer perceptron's carry their spec
//! settings and the shape of a row after them.

use std::num::NonZeroU32;

use pipeline_data::{ColumnTransform, Encoding, Preprocessing, TargetPlan, WindowPlan};
use pipeline_spec::{Encode, FillValue, Layer, Normalize, Spec, UnknownCategory};
use serde::Serialize;

use super::FORMAT_VERSION;
use crate::error::PredictError;

/// `schema.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Schema<'a> {
    pub format_version: u32,
    pub normalization_formula: &'static str,
    pub inputs: Vec<SchemaInput<'a>>,
    pub output: SchemaOutput<'a>,
    pub model: SchemaModel<'a>,
    /// Windowed runs: `inputs` holds one scaler per channel; a model row
    /// is `steps` rows of those channels, oldest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<&'a WindowPlan>,
}

/// The network: its layers and, only when declared, the shape rows are
/// reshaped to (row-major).
#[derive(Debug, Clone, Serialize)]
pub struct SchemaModel<'a> {
    pub kind: &'static str,
    pub dtype: &'static str,
    pub weights: &'static str,
    pub layers: Vec<SchemaLayer<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_shape: Option<&'a [NonZeroU32]>,
}

/// One layer: the multilayer perceptron's with their weight names, the
/// others as the spec gives them plus their output shape.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum SchemaLayer<'a> {
    Linear {
        #[serde(rename = "type")]
        kind: &'static str,
        #[serde(rename = "in")]
        inputs: usize,
        #[serde(rename = "out")]
        outputs: usize,
        weight: String,
        bias: Option<String>,
    },
    Activation {
        #[serde(rename = "type")]
        kind: &'static str,
    },
    Gelu {
        #[serde(rename = "type")]
        kind: &'static str,
        approximate: &'static str,
    },
    Dropout {
        #[serde(rename = "type")]
        kind: &'static str,
        rate: f64,
    },
    Other {
        #[serde(flatten)]
        layer: &'a Layer,
        output_shape: Vec<usize>,
    },
}

/// One model input.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum SchemaInput<'a> {
    Float {
        name: &'a str,
        #[serde(rename = "type")]
        kind: &'static str,
        normalization: Normalization,
        #[serde(skip_serializing_if = "Option::is_none")]
        fill: Option<&'a FillValue>,
    },
    /// One 0/1 input per category.
    Onehot {
        name: String,
        #[serde(rename = "type")]
        kind: &'static str,
        column: &'a str,
        category: &'a str,
        fill: Option<&'a FillValue>,
        unknown: UnknownCategory,
    },
    /// One input: the category's index in `categories`.
    Ordinal {
        name: &'a str,
        #[serde(rename = "type")]
        kind: &'static str,
        column: &'a str,
        categories: &'a [String],
        fill: Option<&'a FillValue>,
        unknown: UnknownCategory,
        normalization: Normalization,
    },
}

/// `(x - shift) / scale`, and the spec's choice that fitted it.
#[derive(Debug, Clone, Serialize)]
pub struct Normalization {
    pub kind: Normalize,
    pub shift: f64,
    pub scale: f64,
}

/// What the network's outputs mean: regression values (with the
/// normalization to undo, `value = output * scale + shift`), a binary
/// logit, or one logit per class.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "task", rename_all = "snake_case")]
pub enum SchemaOutput<'a> {
    Regression {
        name: &'static str,
        #[serde(rename = "type")]
        kind: &'static str,
        target: String,
        targets: &'a [String],
        normalized: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        denormalization: Option<Vec<Denormalization<'a>>>,
    },
    Binary {
        target: &'a str,
        classes: &'a [String],
        logits: usize,
        meaning: &'static str,
    },
    Multiclass {
        target: &'a str,
        classes: &'a [String],
        logits: usize,
        meaning: &'static str,
    },
}

/// How one regression target's output maps back to the file's units.
#[derive(Debug, Clone, Serialize)]
pub struct Denormalization<'a> {
    pub target: &'a str,
    pub shift: f64,
    pub scale: f64,
}

impl<'a> Schema<'a> {
    /// The schema of a run with `spec` and `preprocessing`.
    pub fn new(
        spec: &'a Spec,
        preprocessing: &'a Preprocessing,
    ) -> Result<Schema<'a>, PredictError> {
        let shapes = pipeline_model::row_shapes(&spec.model, preprocessing.input_width())?;
        Ok(Schema {
            format_version: FORMAT_VERSION,
            normalization_formula: "(x - shift) / scale, in float64, then float32",
            inputs: inputs(preprocessing),
            output: output(&preprocessing.targets),
            model: SchemaModel {
                kind: "sequential",
                dtype: "float32",
                weights: "model.safetensors",
                layers: layers(spec, preprocessing, shapes),
                input_shape: spec.model.input.as_deref(),
            },
            window: preprocessing.window.as_ref(),
        })
    }
}

/// The layers, with the width a linear layer sees: the last axis of
/// `model.input` for the first one, else the width before it.
fn layers<'a>(
    spec: &'a Spec,
    preprocessing: &Preprocessing,
    shapes: Vec<Vec<usize>>,
) -> Vec<SchemaLayer<'a>> {
    let mut width = match &spec.model.input {
        Some(shape) => shape.last().map_or(1, |d| d.get() as usize),
        None => preprocessing.input_width(),
    };
    spec.model
        .layers
        .iter()
        .zip(shapes)
        .enumerate()
        .map(|(index, (layer, shape))| match layer {
            Layer::Linear { units, bias } => {
                let units = units.get() as usize;
                let value = SchemaLayer::Linear {
                    kind: "linear",
                    inputs: width,
                    outputs: units,
                    weight: format!("{index}.weight"),
                    bias: bias.then(|| format!("{index}.bias")),
                };
                width = units;
                value
            }
            Layer::Relu => SchemaLayer::Activation { kind: "relu" },
            Layer::Sigmoid => SchemaLayer::Activation { kind: "sigmoid" },
            Layer::Tanh => SchemaLayer::Activation { kind: "tanh" },
            Layer::Gelu => SchemaLayer::Gelu {
                kind: "gelu",
                approximate: "none",
            },
            Layer::Dropout { rate } => SchemaLayer::Dropout {
                kind: "dropout",
                rate: *rate,
            },
            other => {
                width = shape.last().copied().unwrap_or(width);
                SchemaLayer::Other {
                    layer: other,
                    output_shape: shape,
                }
            }
        })
        .collect()
}

fn output(targets: &TargetPlan) -> SchemaOutput<'_> {
    match targets {
        TargetPlan::Regression {
            columns,
            transforms,
        } => {
            let normalized = transforms.iter().any(|t| t.shift != 0.0 || t.scale != 1.0);
            SchemaOutput::Regression {
                name: if columns.len() == 1 {
                    "prediction"
                } else {
                    "prediction_TARGET"
                },
                kind: "float",
                target: columns.join(","),
                targets: columns,
                normalized,
                denormalization: normalized.then(|| {
                    transforms
                        .iter()
                        .map(|t| Denormalization {
                            target: &t.column,
                            shift: t.shift,
                            scale: t.scale,
                        })
                        .collect()
                }),
            }
        }
        TargetPlan::Binary {
            column, classes, ..
        } => SchemaOutput::Binary {
            target: column,
            classes,
            logits: 1,
            meaning: "the logit of classes[1]; its sigmoid is that class's probability",
        },
        TargetPlan::Multiclass {
            column, classes, ..
        } => SchemaOutput::Multiclass {
            target: column,
            classes,
            logits: classes.len(),
            meaning: "one logit per class in classes order; their softmax gives the probabilities",
        },
    }
}

/// One entry per model input, in order: float columns with their fill and
/// normalization; categorical columns as one `onehot` input per category
/// or one `ordinal` input (the category's index in `categories`).
fn inputs(preprocessing: &Preprocessing) -> Vec<SchemaInput<'_>> {
    let mut inputs = Vec::with_capacity(preprocessing.input_width());
    let mut transforms = preprocessing.transforms.iter();
    for plan in &preprocessing.columns {
        match &plan.encoding {
            Encoding::Float { normalize } => inputs.push(SchemaInput::Float {
                name: &plan.column,
                kind: "float",
                normalization: normalization(*normalize, transforms.next()),
                fill: plan.fill.as_ref(),
            }),
            Encoding::Categorical {
                encode: Encode::Onehot,
                unknown,
                categories,
                ..
            } => {
                for category in categories {
                    transforms.next();
                    inputs.push(SchemaInput::Onehot {
                        name: format!("{}={category}", plan.column),
                        kind: "onehot",
                        column: &plan.column,
                        category,
                        fill: plan.fill.as_ref(),
                        unknown: *unknown,
                    });
                }
            }
            Encoding::Categorical {
                encode: Encode::Ordinal,
                unknown,
                categories,
                normalize,
            } => inputs.push(SchemaInput::Ordinal {
                name: &plan.column,
                kind: "ordinal",
                column: &plan.column,
                categories,
                fill: plan.fill.as_ref(),
                unknown: *unknown,
                normalization: normalization(*normalize, transforms.next()),
            }),
        }
    }
    inputs
}

fn normalization(kind: Normalize, transform: Option<&ColumnTransform>) -> Normalization {
    Normalization {
        kind,
        shift: transform.map_or(0.0, |t| t.shift),
        scale: transform.map_or(1.0, |t| t.scale),
    }
}
