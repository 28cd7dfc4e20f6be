//! The spec exactly as written: serde structs that reject unknown keys and
//! keep the position of every value that is checked after parsing.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::columns::{ColumnType, Encode, Missing, UnknownCategory};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSpec {
    pub name: Spanned<String>,
    pub description: Option<String>,
    pub seed: Option<Spanned<i64>>,
    pub data: RawData,
    pub model: RawModel,
    pub loss: RawLoss,
    pub optimizer: RawOptimizer,
    pub train: Option<RawTrain>,
    pub selection: Option<RawSelection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawData {
    pub path: Spanned<String>,
    pub target: Spanned<String>,
    pub features: Option<Spanned<Vec<String>>>,
    pub exclude: Option<Spanned<Vec<String>>>,
    pub normalize: Option<Normalize>,
    pub missing: Option<Spanned<Missing>>,
    pub encode: Option<Encode>,
    pub unknown: Option<UnknownCategory>,
    pub types: Option<BTreeMap<String, Spanned<ColumnType>>>,
    pub columns: Option<BTreeMap<String, Spanned<RawColumn>>>,
    pub split: Option<Spanned<RawSplit>>,
    pub shuffle: Option<bool>,
}

/// `[data.columns.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawColumn {
    pub missing: Option<Spanned<Missing>>,
    pub normalize: Option<Spanned<Normalize>>,
    pub encode: Option<Spanned<Encode>>,
    pub unknown: Option<Spanned<UnknownCategory>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalize {
    Zscore,
    Minmax,
    /// `(x - median) / IQR`, as scikit-learn's RobustScaler.
    Robust,
    None,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSplit {
    pub train: f64,
    pub validation: f64,
    pub test: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    pub layers: Spanned<Vec<Spanned<RawLayer>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerType {
    Linear,
    Relu,
    Sigmoid,
    Tanh,
    Gelu,
    Dropout,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLayer {
    #[serde(rename = "type")]
    pub kind: LayerType,
    pub units: Option<Spanned<i64>>,
    pub bias: Option<Spanned<bool>>,
    pub rate: Option<Spanned<f64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossType {
    Mse,
    Mae,
    Huber,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLoss {
    #[serde(rename = "type")]
    pub kind: LossType,
    pub delta: Option<Spanned<f64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOptimizer {
    #[serde(rename = "type")]
    pub kind: OptimizerType,
    pub learning_rate: Spanned<f64>,
    pub weight_decay: Option<Spanned<f64>>,
    pub momentum: Option<Spanned<f64>>,
    pub dampening: Option<Spanned<f64>>,
    pub nesterov: Option<Spanned<bool>>,
    pub beta1: Option<Spanned<f64>>,
    pub beta2: Option<Spanned<f64>>,
    pub epsilon: Option<Spanned<f64>>,
    pub alpha: Option<Spanned<f64>>,
    pub centered: Option<Spanned<bool>>,
    pub clip_grad_norm: Option<Spanned<f64>>,
    pub clip_grad_value: Option<Spanned<f64>>,
    pub schedule: Option<Spanned<RawSchedule>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    #[serde(rename = "type")]
    pub kind: ScheduleType,
    pub step_size: Option<Spanned<i64>>,
    pub gamma: Option<Spanned<f64>>,
    pub t_max: Option<Spanned<i64>>,
    pub eta_min: Option<Spanned<f64>>,
    pub warmup_epochs: Option<Spanned<i64>>,
    pub warmup_start_factor: Option<Spanned<f64>>,
    pub max_lr: Option<Spanned<f64>>,
    pub pct_start: Option<Spanned<f64>>,
    pub div_factor: Option<Spanned<f64>>,
    pub final_div_factor: Option<Spanned<f64>>,
    pub factor: Option<Spanned<f64>>,
    pub patience: Option<Spanned<i64>>,
    pub min_lr: Option<Spanned<f64>>,
    pub threshold: Option<Spanned<f64>>,
    pub cooldown: Option<Spanned<i64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    Cpu,
    Cuda,
    Auto,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTrain {
    pub epochs: Option<Spanned<i64>>,
    pub batch_size: Option<Spanned<i64>>,
    pub device: Option<Device>,
    pub monitor: Option<Spanned<String>>,
    pub restore_best: Option<bool>,
    pub early_stopping: Option<RawEarlyStopping>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEarlyStopping {
    pub patience: Spanned<i64>,
    pub min_delta: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSelection {
    pub metric: Option<Spanned<String>>,
    pub direction: Option<Spanned<crate::metric::Direction>>,
}
