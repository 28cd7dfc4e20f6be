//! The spec exactly as written: serde structs that reject unknown keys and
//! keep the position of every value that is checked after parsing.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::columns::{ColumnType, Encode, Missing, UnknownCategory};
use crate::layer::LayerType;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSpec {
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    pub description: Option<String>,
    #[schemars(with = "Option<i64>")]
    pub seed: Option<Spanned<i64>>,
    pub data: RawData,
    pub model: RawModel,
    pub loss: Option<RawLoss>,
    pub optimizer: RawOptimizer,
    pub train: Option<RawTrain>,
    pub selection: Option<RawSelection>,
    #[schemars(with = "Option<RawSweep>")]
    pub sweep: Option<Spanned<RawSweep>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawData {
    #[schemars(with = "String")]
    pub path: Spanned<String>,
    #[schemars(with = "RawTarget")]
    pub target: Spanned<RawTarget>,
    pub task: Option<crate::task::Task>,
    #[schemars(with = "Option<bool>")]
    pub stratify: Option<Spanned<bool>>,
    #[schemars(with = "Option<Normalize>")]
    pub normalize_target: Option<Spanned<Normalize>>,
    #[schemars(with = "Option<Vec<String>>")]
    pub features: Option<Spanned<Vec<String>>>,
    #[schemars(with = "Option<Vec<String>>")]
    pub exclude: Option<Spanned<Vec<String>>>,
    pub normalize: Option<Normalize>,
    #[schemars(with = "Option<Missing>")]
    pub missing: Option<Spanned<Missing>>,
    pub encode: Option<Encode>,
    pub unknown: Option<UnknownCategory>,
    #[schemars(with = "Option<BTreeMap<String, ColumnType>>")]
    pub types: Option<BTreeMap<String, Spanned<ColumnType>>>,
    #[schemars(with = "Option<BTreeMap<String, RawColumn>>")]
    pub columns: Option<BTreeMap<String, Spanned<RawColumn>>>,
    #[schemars(with = "Option<RawSplit>")]
    pub split: Option<Spanned<RawSplit>>,
    #[schemars(with = "Option<String>")]
    pub split_column: Option<Spanned<String>>,
    #[schemars(with = "Option<bool>")]
    pub shuffle: Option<Spanned<bool>>,
    #[schemars(with = "Option<RawWindow>")]
    pub window: Option<Spanned<RawWindow>>,
    #[schemars(with = "Option<RawCrossValidation>")]
    pub cross_validation: Option<Spanned<RawCrossValidation>>,
}

/// `data.cross_validation`: the run is one fold of a k-fold cross-validation.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCrossValidation {
    #[schemars(with = "i64")]
    pub folds: Spanned<i64>,
    #[schemars(with = "i64")]
    pub fold: Spanned<i64>,
}

/// `[data.window]`: samples are windows of an ordered series.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWindow {
    #[schemars(with = "i64")]
    pub steps: Spanned<i64>,
    #[schemars(with = "Option<i64>")]
    pub horizon: Option<Spanned<i64>>,
    pub target_input: Option<bool>,
    pub difference: Option<bool>,
    #[schemars(with = "Option<String>")]
    pub order_by: Option<Spanned<String>>,
    pub missing: Option<crate::window::WindowMissing>,
}

/// `data.target`: one column, or a list of columns (regression only).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum RawTarget {
    One(String),
    Many(Vec<String>),
}

/// `[data.columns.NAME]`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawColumn {
    #[schemars(with = "Option<Missing>")]
    pub missing: Option<Spanned<Missing>>,
    #[schemars(with = "Option<Normalize>")]
    pub normalize: Option<Spanned<Normalize>>,
    #[schemars(with = "Option<Encode>")]
    pub encode: Option<Spanned<Encode>>,
    #[schemars(with = "Option<UnknownCategory>")]
    pub unknown: Option<Spanned<UnknownCategory>>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Normalize {
    Zscore,
    Minmax,
    /// `(x - median) / IQR`, as scikit-learn's RobustScaler.
    Robust,
    None,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSplit {
    pub train: f64,
    pub validation: f64,
    pub test: f64,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    /// One row's shape, [channels, height, width] or [steps, features]: their product = inputs.
    #[schemars(with = "Option<Vec<i64>>")]
    pub input: Option<Spanned<Vec<Spanned<i64>>>>,
    #[schemars(with = "Vec<RawLayer>")]
    pub layers: Spanned<Vec<Spanned<RawLayer>>>,
}

/// One entry of `model.layers`; which keys apply to its `type` is checked after parsing.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLayer {
    #[serde(rename = "type")]
    pub kind: LayerType,
    #[schemars(with = "Option<i64>")]
    pub units: Option<Spanned<i64>>,
    #[schemars(with = "Option<bool>")]
    pub bias: Option<Spanned<bool>>,
    #[schemars(with = "Option<f64>")]
    pub rate: Option<Spanned<f64>>,
    #[schemars(with = "Option<f64>")]
    pub negative_slope: Option<Spanned<f64>>,
    #[schemars(with = "Option<i64>")]
    pub filters: Option<Spanned<i64>>,
    #[schemars(with = "Option<i64>")]
    pub kernel: Option<Spanned<i64>>,
    #[schemars(with = "Option<i64>")]
    pub stride: Option<Spanned<i64>>,
    #[schemars(with = "Option<i64>")]
    pub padding: Option<Spanned<i64>>,
    #[schemars(with = "Option<i64>")]
    pub vocabulary: Option<Spanned<i64>>,
    #[schemars(with = "Option<i64>")]
    pub dimensions: Option<Spanned<i64>>,
    #[schemars(with = "Option<bool>")]
    pub return_sequences: Option<Spanned<bool>>,
    #[schemars(with = "Option<i64>")]
    pub heads: Option<Spanned<i64>>,
    #[schemars(with = "Option<i64>")]
    pub feedforward: Option<Spanned<i64>>,
    #[schemars(with = "Option<f64>")]
    pub dropout: Option<Spanned<f64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LossType {
    Mse,
    Mae,
    Huber,
    BinaryCrossEntropy,
    CrossEntropy,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLoss {
    #[serde(rename = "type")]
    #[schemars(with = "LossType")]
    pub kind: Spanned<LossType>,
    #[schemars(with = "Option<f64>")]
    pub delta: Option<Spanned<f64>>,
    #[schemars(with = "Option<f64>")]
    pub pos_weight: Option<Spanned<f64>>,
    #[schemars(with = "Option<RawClassWeights>")]
    pub class_weights: Option<Spanned<RawClassWeights>>,
    #[schemars(with = "Option<f64>")]
    pub label_smoothing: Option<Spanned<f64>>,
}

/// `loss.class_weights`: `"balanced"` or one weight per class.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum RawClassWeights {
    Named(String),
    Given(Vec<f64>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
pub enum OptimizerType {
    #[serde(rename = "sgd")]
    Sgd,
    #[serde(rename = "adam")]
    Adam,
    #[serde(rename = "adamw")]
    AdamW,
    #[serde(rename = "rmsprop")]
    RmsProp,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOptimizer {
    #[serde(rename = "type")]
    pub kind: OptimizerType,
    #[schemars(with = "f64")]
    pub learning_rate: Spanned<f64>,
    #[schemars(with = "Option<f64>")]
    pub weight_decay: Option<Spanned<f64>>,
    #[schemars(with = "Option<f64>")]
    pub momentum: Option<Spanned<f64>>,
    #[schemars(with = "Option<f64>")]
    pub dampening: Option<Spanned<f64>>,
    #[schemars(with = "Option<bool>")]
    pub nesterov: Option<Spanned<bool>>,
    #[schemars(with = "Option<f64>")]
    pub beta1: Option<Spanned<f64>>,
    #[schemars(with = "Option<f64>")]
    pub beta2: Option<Spanned<f64>>,
    #[schemars(with = "Option<f64>")]
    pub epsilon: Option<Spanned<f64>>,
    #[schemars(with = "Option<f64>")]
    pub alpha: Option<Spanned<f64>>,
    #[schemars(with = "Option<bool>")]
    pub centered: Option<Spanned<bool>>,
    #[schemars(with = "Option<f64>")]
    pub clip_grad_norm: Option<Spanned<f64>>,
    #[schemars(with = "Option<f64>")]
    pub clip_grad_value: Option<Spanned<f64>>,
    #[schemars(with = "Option<RawSchedule>")]
    pub schedule: Option<Spanned<RawSchedule>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleType {
    Constant,
    Step,
    Exponential,
    Cosine,
    OneCycle,
    Plateau,
}

/// `[optimizer.schedule]`: every parameter of every schedule; which ones
/// belong to the chosen `type` is checked after parsing.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    #[serde(rename = "type")]
    pub kind: ScheduleType,
    #[schemars(with = "Option<i64>")]
    pub step_size: Option<Spanned<i64>>,
    #[schemars(with = "Option<f64>")]
    pub gamma: Option<Spanned<f64>>,
    #[schemars(with = "Option<i64>")]
    pub t_max: Option<Spanned<i64>>,
    #[schemars(with = "Option<f64>")]
    pub eta_min: Option<Spanned<f64>>,
    #[schemars(with = "Option<i64>")]
    pub warmup_epochs: Option<Spanned<i64>>,
    #[schemars(with = "Option<f64>")]
    pub warmup_start_factor: Option<Spanned<f64>>,
    #[schemars(with = "Option<f64>")]
    pub max_lr: Option<Spanned<f64>>,
    #[schemars(with = "Option<f64>")]
    pub pct_start: Option<Spanned<f64>>,
    #[schemars(with = "Option<f64>")]
    pub div_factor: Option<Spanned<f64>>,
    #[schemars(with = "Option<f64>")]
    pub final_div_factor: Option<Spanned<f64>>,
    #[schemars(with = "Option<f64>")]
    pub factor: Option<Spanned<f64>>,
    #[schemars(with = "Option<i64>")]
    pub patience: Option<Spanned<i64>>,
    #[schemars(with = "Option<f64>")]
    pub min_lr: Option<Spanned<f64>>,
    #[schemars(with = "Option<f64>")]
    pub threshold: Option<Spanned<f64>>,
    #[schemars(with = "Option<i64>")]
    pub cooldown: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTrain {
    #[schemars(with = "Option<i64>")]
    pub epochs: Option<Spanned<i64>>,
    #[schemars(with = "Option<i64>")]
    pub batch_size: Option<Spanned<i64>>,
    // Parsed by `crate::Device`'s `FromStr` after serde, so a bad form is
    // reported at its position with the accepted forms.
    #[schemars(with = "Option<crate::device::DeviceSchema>")]
    pub device: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub monitor: Option<Spanned<String>>,
    pub restore_best: Option<bool>,
    pub precision: Option<Precision>,
    pub early_stopping: Option<RawEarlyStopping>,
}

/// `train.precision`: the floating-point type of training's forward and
/// backward passes; the weights the optimizer updates (and the stored model)
/// stay f32.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Everything in f32.
    F32,
    /// bfloat16 activations and gradients (f32's range, 8 bits of mantissa).
    Bf16,
    /// float16 activations and gradients, with dynamic loss scaling.
    F16,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEarlyStopping {
    #[schemars(with = "i64")]
    pub patience: Spanned<i64>,
    #[schemars(with = "Option<f64>")]
    pub min_delta: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSelection {
    #[schemars(with = "Option<String>")]
    pub metric: Option<Spanned<String>>,
    #[schemars(with = "Option<crate::metric::Direction>")]
    pub direction: Option<Spanned<crate::metric::Direction>>,
}

/// `[sweep]`: the spec is a space of specs, searched trial by trial
/// (`crate::sweep` checks it).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSweep {
    #[schemars(with = "crate::sweep::SweepMethod")]
    pub method: Spanned<crate::sweep::SweepMethod>,
    #[schemars(with = "Option<i64>")]
    pub trials: Option<Spanned<i64>>,
    #[schemars(with = "Option<i64>")]
    pub jobs: Option<Spanned<i64>>,
    #[schemars(with = "Option<i64>")]
    pub seed: Option<Spanned<i64>>,
    #[schemars(with = "Option<String>")]
    pub metric: Option<Spanned<String>>,
    #[schemars(with = "Option<crate::metric::Direction>")]
    pub direction: Option<Spanned<crate::metric::Direction>>,
    /// Spec key paths (as `--set` takes them) and the values each may take.
    #[schemars(with = "BTreeMap<String, crate::sweep::DomainSchema>")]
    pub parameters: Spanned<BTreeMap<Spanned<String>, Spanned<RawDomain>>>,
    #[schemars(with = "Option<RawPruner>")]
    pub pruner: Option<Spanned<RawPruner>>,
}

/// One `[sweep.parameters]` entry: exactly one of its keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDomain {
    pub values: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    pub uniform: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    pub log_uniform: Option<Spanned<Vec<Spanned<toml::Value>>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrunerType {
    None,
    Median,
    Asha,
}

/// `[sweep.pruner]`: every setting of every pruner; which ones belong to
/// the chosen `type` is checked after parsing.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPruner {
    #[serde(rename = "type")]
    #[schemars(with = "PrunerType")]
    pub kind: Spanned<PrunerType>,
    #[schemars(with = "Option<i64>")]
    pub min_epochs: Option<Spanned<i64>>,
    #[schemars(with = "Option<i64>")]
    pub reduction: Option<Spanned<i64>>,
    #[schemars(with = "Option<i64>")]
    pub min_trials: Option<Spanned<i64>>,
}
