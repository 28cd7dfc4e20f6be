//! The validated spec. Every field holds a checked value; defaults come from
//! [`crate::defaults`]. `Spec` serializes back to TOML as the resolved spec
//! (defaults filled, overrides applied) that is stored with each run.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::columns::{ColumnOptions, ColumnType, Encode, FillValue, Missing, UnknownCategory};
use crate::cross_validation::CrossValidation;
use crate::defaults;
use crate::error::{SpecError, explain_serde_message, quote_list};
use crate::metric::{Direction, MetricName, MetricRef, SplitName};
use crate::model::{Layer, ModelSpec};
use crate::optimizer::Optimizer;
use crate::overrides::{Override, apply_overrides};
use crate::raw::{self, LayerType, LossType, RawClassWeights, RawSpec, RawTarget};
use crate::task::Task;

pub use crate::device::Device;
pub use crate::raw::{Normalize, Precision};

/// A whole experiment, validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    pub name: ExperimentName,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub seed: u64,
    pub data: DataSpec,
    pub model: ModelSpec,
    pub loss: Loss,
    pub optimizer: Optimizer,
    pub train: TrainSpec,
    pub selection: Selection,
}

/// The experiment's name: letters, digits, `-`, `_` and `.`, at most 64.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExperimentName(String);

impl ExperimentName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ExperimentName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataSpec {
    /// As written in the spec: relative to the spec file's folder.
    pub path: String,
    pub target: Targets,
    #[serde(skip_serializing_if = "is_regression")]
    pub task: Task,
    /// Split so that every split has each class in the file's proportions
    /// (classification only; the default for it).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stratify: bool,
    /// Regression targets are normalized for training with statistics of
    /// the training split; predictions are de-normalized.
    #[serde(skip_serializing_if = "is_no_normalize")]
    pub normalize_target: Normalize,
    /// Column names or patterns (`*`, `?`); `None`: every column but the target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<String>>,
    /// Names or patterns taken out of the features.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// For numeric inputs (and ordinal codes) without a `[data.columns]` setting.
    pub normalize: Normalize,
    // The keys below are written into the resolved spec only when they differ
    // from their defaults, so that the resolved spec (and its hash) of a spec
    // written before they existed does not change.
    #[serde(skip_serializing_if = "is_default_missing")]
    pub missing: Missing,
    #[serde(skip_serializing_if = "is_default_encode")]
    pub encode: Encode,
    #[serde(skip_serializing_if = "is_default_unknown")]
    pub unknown: UnknownCategory,
    pub shuffle: bool,
    pub split: SplitFractions,
    /// A column naming each row's split (`train`, `validation`, `test`);
    /// `split` fractions and `stratify` do not apply then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split_column: Option<String>,
    /// Type overrides by column name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub types: BTreeMap<String, ColumnType>,
    /// Per-column settings by column name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub columns: BTreeMap<String, ColumnOptions>,
    /// Samples are windows of an ordered series (`[data.window]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// The run is one fold of a k-fold cross-validation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cross_validation: Option<CrossValidation>,
}

fn is_regression(task: &Task) -> bool {
    *task == Task::Regression
}

fn is_no_normalize(value: &Normalize) -> bool {
    *value == Normalize::None
}

/// The target column, or the target columns of a multi-target regression.
/// Written as a string when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets(Vec<String>);

impl Targets {
    pub fn one(column: &str) -> Targets {
        Targets(vec![column.to_string()])
    }

    /// Never empty.
    pub fn columns(&self) -> &[String] {
        &self.0
    }

    pub fn contains(&self, column: &str) -> bool {
        self.0.iter().any(|c| c == column)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Display for Targets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(", "))
    }
}

impl Serialize for Targets {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => serializer.serialize_str(one),
            many => many.serialize(serializer),
        }
    }
}

fn is_default_missing(value: &Missing) -> bool {
    *value == defaults::MISSING
}

fn is_default_encode(value: &Encode) -> bool {
    *value == defaults::ENCODE
}

fn is_default_unknown(value: &UnknownCategory) -> bool {
    *value == defaults::UNKNOWN
}

impl DataSpec {
    /// The settings of `column`, with the `[data]` defaults filled in.
    pub fn column_options(&self, column: &str) -> ResolvedColumnOptions {
        let own = self.columns.get(column);
        ResolvedColumnOptions {
            missing: own
                .and_then(|o| o.missing.clone())
                .unwrap_or_else(|| self.missing.clone()),
            missing_is_own: own.is_some_and(|o| o.missing.is_some()),
            normalize: own.and_then(|o| o.normalize).unwrap_or(self.normalize),
            normalize_is_own: own.is_some_and(|o| o.normalize.is_some()),
            encode: own.and_then(|o| o.encode).unwrap_or(self.encode),
            unknown: own.and_then(|o| o.unknown).unwrap_or(self.unknown),
            declared_type: self.types.get(column).copied(),
        }
    }
}

/// One column's settings after the `[data]` defaults are applied.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedColumnOptions {
    pub missing: Missing,
    /// `missing` was set in `[data.columns.NAME]` (not inherited).
    pub missing_is_own: bool,
    pub normalize: Normalize,
    /// `normalize` was set in `[data.columns.NAME]` (not inherited).
    pub normalize_is_own: bool,
    pub encode: Encode,
    pub unknown: UnknownCategory,
    /// From `[data.types]`; `None`: the file's type decides.
    pub declared_type: Option<ColumnType>,
}

/// `[data.window]`: each sample is `steps` consecutive rows of the series
/// (the feature columns, then the target unless `target_input = false`),
/// row-major `[steps, channels]`; its target is the target `horizon` rows
/// after the window's last row. Splits are ordered: the last samples are
/// validation and test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    pub steps: std::num::NonZeroU32,
    pub horizon: std::num::NonZeroU32,
    pub target_input: bool,
    /// Learn the change: the target is `y[t + horizon] - y[t]` (`t` the
    /// window's last row) and the target's input channel `y[t] - y[t-1]`.
    /// For series that drift out of the training range (a trend). The
    /// metrics are the same as for the level, since `y[t]` is known.
    pub difference: bool,
    /// Rows are sorted by this column (numbers, or text such as ISO dates);
    /// `None`: the file's order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_by: Option<String>,
    pub missing: WindowMissing,
}

/// Empty cells of a windowed series.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum WindowMissing {
    /// An error naming the column, the count and the first row.
    Error,
    /// Linear in time between the nearest values before and after; at
    /// either end of the series the nearest value is repeated.
    Interpolate,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SplitFractions {
    pub train: f64,
    pub validation: f64,
    pub test: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Loss {
    Mse,
    Mae,
    Huber {
        delta: f64,
    },
    /// On the logit of the positive class (PyTorch's `BCEWithLogitsLoss`).
    BinaryCrossEntropy {
        #[serde(skip_serializing_if = "Option::is_none")]
        pos_weight: Option<f64>,
    },
    /// On one logit per class (PyTorch's `CrossEntropyLoss`).
    CrossEntropy {
        #[serde(skip_serializing_if = "Option::is_none")]
        class_weights: Option<ClassWeights>,
        label_smoothing: f64,
    },
}

impl Loss {
    /// The default loss of a task.
    pub fn default_for(task: Task) -> Loss {
        match task {
            Task::Regression => Loss::Mse,
            Task::Binary => Loss::BinaryCrossEntropy { pos_weight: None },
            Task::Multiclass => Loss::CrossEntropy {
                class_weights: None,
                label_smoothing: defaults::LABEL_SMOOTHING,
            },
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Loss::Mse => "mse",
            Loss::Mae => "mae",
            Loss::Huber { .. } => "huber",
            Loss::BinaryCrossEntropy { .. } => "binary_cross_entropy",
            Loss::CrossEntropy { .. } => "cross_entropy",
        }
    }

    /// The task this loss trains for.
    pub fn task(&self) -> Task {
        match self {
            Loss::Mse | Loss::Mae | Loss::Huber { .. } => Task::Regression,
            Loss::BinaryCrossEntropy { .. } => Task::Binary,
            Loss::CrossEntropy { .. } => Task::Multiclass,
        }
    }
}

/// `loss.class_weights` of the cross-entropy loss.
#[derive(Debug, Clone, PartialEq)]
pub enum ClassWeights {
    /// `n_rows / (n_classes · rows_of_class)` on the training split, as
    /// scikit-learn's `compute_class_weight("balanced")`.
    Balanced,
    /// One weight per class, in the classes' sorted order.
    Given(Vec<f64>),
}

impl Serialize for ClassWeights {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ClassWeights::Balanced => serializer.serialize_str("balanced"),
            ClassWeights::Given(weights) => weights.serialize(serializer),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainSpec {
    pub epochs: u32,
    pub batch_size: u32,
    pub device: Device,
    /// The per-epoch metric that decides the best epoch (and early stopping).
    pub monitor: MetricRef,
    /// Restore the best epoch's weights at the end of training.
    pub restore_best: bool,
    /// Left out of the resolved spec when f32, so specs written before the
    /// key existed keep their hash.
    #[serde(skip_serializing_if = "Precision::is_f32")]
    pub precision: Precision,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub early_stopping: Option<EarlyStopping>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EarlyStopping {
    pub patience: u32,
    pub min_delta: f64,
}

/// What `best` means among the runs of an experiment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Selection {
    pub metric: MetricRef,
    pub direction: Direction,
}

/// A spec read from a file, with where it came from.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    pub spec: Spec,
    /// The file's text as written.
    pub source: String,
    pub path: PathBuf,
}

impl LoadedSpec {
    /// The data file, resolved against the spec file's folder.
    pub fn data_path(&self) -> PathBuf {
        let base = self.path.parent().unwrap_or(Path::new("."));
        base.join(&self.spec.data.path)
    }
}

impl Spec {
    /// Reads and validates a spec file, then applies `--set` overrides.
    pub fn load(path: &Path, overrides: &[Override]) -> Result<LoadedSpec, SpecError> {
        let source =
            std::fs::read_to_string(path).map_err(|e| SpecError::read(path.to_path_buf(), e))?;
        let spec = Spec::parse(path, &source, overrides)?;
        Ok(LoadedSpec {
            spec,
            source,
            path: path.to_path_buf(),
        })
    }

    /// Parses spec text; `file` is only used in messages.
    pub fn parse(file: &Path, text: &str, overrides: &[Override]) -> Result<Spec, SpecError> {
        let spec = parse_text(file, text)?;
        if overrides.is_empty() {
            return Ok(spec);
        }
        let mut table: toml::Table = toml::from_str(text).map_err(|e| {
            SpecError::invalid(file.into(), text, e.span(), None, e.message().into(), None)
        })?;
        apply_overrides(file, &mut table, overrides)?;
        let rewritten = toml::to_string(&table).map_err(|e| {
            SpecError::overriding(file.into(), format!("cannot apply --set: {e}"), None)
        })?;
        parse_text(file, &rewritten).map_err(|e| {
            let assignments: Vec<String> = overrides.iter().map(|o| o.to_string()).collect();
            SpecError::overriding(
                file.into(),
                format!("after --set {}: {}", assignments.join(" --set "), e.message),
                e.hint,
            )
        })
    }

    /// The resolved spec as TOML: defaults filled in, overrides applied.
    pub fn to_toml(&self) -> String {
        // Serializing plain structs, enums and numbers cannot fail.
        toml::to_string(self).unwrap_or_default()
    }

    /// The keys [`Spec::to_toml`] leaves out because they hold their
    /// defaults (so that specs written before the keys existed keep their
    /// hash), as `key = value` lines: `run --dry-run` shows them after the
    /// resolved spec, so that every default is visible.
    pub fn implicit_defaults(&self) -> Vec<String> {
        fn value<T: Serialize>(v: &T) -> String {
            toml::Value::try_from(v).map_or_else(|_| "?".to_owned(), |v| v.to_string())
        }
        let d = &self.data;
        let implicit = [
            ("data.task", is_regression(&d.task), value(&d.task)),
            ("data.stratify", !d.stratify, value(&d.stratify)),
            (
                "data.normalize_target",
                is_no_normalize(&d.normalize_target),
                value(&d.normalize_target),
            ),
            (
                "data.missing",
                is_default_missing(&d.missing),
                value(&d.missing),
            ),
            (
                "data.encode",
                is_default_encode(&d.encode),
                value(&d.encode),
            ),
            (
                "data.unknown",
                is_default_unknown(&d.unknown),
                value(&d.unknown),
            ),
            (
                "train.precision",
                self.train.precision.is_f32(),
                value(&self.train.precision),
            ),
        ];
        implicit
            .into_iter()
            .filter(|(_, left_out, _)| *left_out)
            .map(|(key, _, value)| format!("{key} = {value}"))
            .collect()
    }

    /// sha256 (hex) of the resolved spec.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.to_toml().as_bytes()))
    }

    /// Number of output units of the model (units of the last linear layer).
    pub fn output_units(&self) -> Option<u32> {
        self.model.layers.iter().rev().find_map(|l| match l {
            Layer::Linear { units, .. } => Some(units.get()),
            _ => None,
        })
    }
}

fn parse_text(file: &Path, text: &str) -> Result<Spec, SpecError> {
    let raw: RawSpec = toml::from_str(text).map_err(|e| {
        let (message, mut hint) = explain_serde_message(e.message());
        if let (Some(got), Some(at)) = (
            message
                .strip_prefix("unknown key `")
                .and_then(|m| m.strip_suffix('`')),
            e.span(),
        ) && let Some(layer_hint) = crate::model::unknown_layer_key_hint(text, &at, got)
        {
            hint = Some(layer_hint);
        }
        SpecError::invalid(file.into(), text, e.span(), None, message, hint)
    })?;
    Validator { file, text }.spec(raw)
}

/// Checks what serde cannot, with positions for the messages.
pub(crate) struct Validator<'a> {
    file: &'a Path,
    text: &'a str,
}

pub(crate) type Checked<T> = Result<T, SpecError>;

/// Why `value` is not a count from 1 to `u32::MAX`, for `subject` (`` `train.epochs` ``):
/// a value beyond the upper limit is told that limit, not "at least 1".
pub(crate) fn count_message(subject: &str, value: i64) -> String {
    if value > i64::from(u32::MAX) {
        format!("{subject} must be at most {}; got {value}", u32::MAX)
    } else {
        format!("{subject} must be a whole number of at least 1; got {value}")
    }
}

/// Why `value` is not a positive finite number, for the key `key`:
/// `inf` and `nan` are told they are not finite, not that they are not above 0.
pub(crate) fn positive_message(key: &str, value: f64) -> String {
    if value.is_finite() {
        format!("`{key}` must be greater than 0; got {value}")
    } else {
        format!("`{key}` must be a finite number greater than 0; got {value}")
    }
}

impl Validator<'_> {
    pub(crate) fn fail(
        &self,
        span: Range<usize>,
        key: &str,
        message: String,
        hint: Option<&str>,
    ) -> SpecError {
        SpecError::invalid(
            self.file.into(),
            self.text,
            Some(span),
            Some(key.into()),
            message,
            hint.map(Into::into),
        )
    }

    fn spec(&self, raw: RawSpec) -> Checked<Spec> {
        let name = self.name(raw.name)?;
        let seed = match raw.seed {
            None => defaults::SEED,
            Some(s) => u64::try_from(*s.get_ref()).map_err(|_| {
                self.fail(s.span(), "seed", "`seed` must be 0 or more".into(), None)
            })?,
        };
        let task = raw.data.task.unwrap_or(defaults::TASK);
        let outputs = last_linear_units(&raw.model);
        let softmax_span = raw
            .model
            .layers
            .get_ref()
            .iter()
            .find(|l| l.get_ref().kind == LayerType::Softmax)
            .map(Spanned::span);
        let data = self.data(raw.data, task)?;
        let model = self.model(raw.model)?;
        let loss = self.loss(raw.loss, task)?;
        if let Some((units, span)) = outputs {
            self.outputs(task, &data.target, units, span)?;
        }
        if task.is_classification()
            && let Some(span) = softmax_span
        {
            return Err(self.fail(
                span,
                "model.layers",
                format!("a softmax layer ends this {task} model, but its loss takes logits"),
                Some("remove it: the loss applies the sigmoid or softmax itself, and infer writes each class's probability"),
            ));
        }
        let train = self.train(raw.train, task)?;
        let optimizer = self.optimizer(raw.optimizer, train.epochs)?;
        let selection = self.selection(raw.selection, task)?;
        Ok(Spec {
            name,
            description: raw.description,
            seed,
            data,
            model,
            loss,
            optimizer,
            train,
            selection,
        })
    }

    /// The last linear layer's units against what the task predicts.
    fn outputs(
        &self,
        task: Task,
        targets: &Targets,
        units: i64,
        span: Range<usize>,
    ) -> Checked<()> {
        let key = "model.layers";
        match task {
            Task::Regression if units != targets.len() as i64 => {
                let count = targets.len();
                Err(self.fail(
                    span,
                    key,
                    format!(
                        "the last linear layer has {units} units but the model predicts {count} target{} ({targets})",
                        if count == 1 { "" } else { "s" }
                    ),
                    Some(&format!("set its units to {count}: one output per target")),
                ))
            }
            Task::Binary if units != 1 => Err(self.fail(
                span,
                key,
                format!("binary classification predicts one logit, but the last linear layer has {units} units"),
                Some("set its units to 1, or set data.task = \"multiclass\" for one output per class with cross_entropy"),
            )),
            Task::Multiclass if units < 2 => Err(self.fail(
                span,
                key,
                "multiclass classification needs one output per class, but the last linear layer has 1 unit".into(),
                Some("set its units to the number of classes, or data.task = \"binary\" for one logit with binary_cross_entropy"),
            )),
            _ => Ok(()),
        }
    }

    fn name(&self, name: Spanned<String>) -> Checked<ExperimentName> {
        let span = name.span();
        let value = name.into_inner();
        let ok = !value.is_empty()
            && value.len() <= 64
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if ok {
            Ok(ExperimentName(value))
        } else {
            Err(self.fail(
                span,
                "name",
                format!("`name` must be 1 to 64 letters, digits, `-`, `_` or `.`; got {value:?}"),
                Some("for example name = \"diabetes-mlp\""),
            ))
        }
    }

    fn data(&self, raw: raw::RawData, task: Task) -> Checked<DataSpec> {
        if raw.path.get_ref().trim().is_empty() {
            return Err(self.fail(
                raw.path.span(),
                "data.path",
                "`data.path` is empty".into(),
                None,
            ));
        }
        let target = self.targets(raw.target, task)?;
        let window = match raw.window {
            None => None,
            Some(window) => Some(self.window(
                window,
                &raw.shuffle,
                &raw.stratify,
                &raw.split_column,
                &target,
                task,
            )?),
        };
        let shuffle = raw
            .shuffle
            .as_ref()
            .map_or(defaults::SHUFFLE, |s| *s.get_ref())
            && window.is_none();
        let split_column = match raw.split_column {
            None => None,
            Some(column) => Some(self.split_column(column, &target, &raw.split, &raw.stratify)?),
        };
        let stratify = match raw.stratify {
            None => {
                task.is_classification()
                    && shuffle
                    && split_column.is_none()
                    && defaults::STRATIFY_CLASSIFICATION
            }
            Some(s) if *s.get_ref() && !shuffle => {
                return Err(self.fail(
                    s.span(),
                    "data.stratify",
                    "`stratify` draws each class's rows at random, but data.shuffle = false keeps the file's order".into(),
                    Some("remove one of them: shuffle = false is for ordered (time series) splits"),
                ));
            }
            Some(s) if *s.get_ref() && !task.is_classification() => {
                return Err(self.fail(
                    s.span(),
                    "data.stratify",
                    "`stratify` keeps the classes' proportions in every split, but this spec's task is regression".into(),
                    Some("remove it, or set data.task = \"binary\" or \"multiclass\""),
                ));
            }
            Some(s) => *s.get_ref(),
        };
        let normalize_target = match raw.normalize_target {
            None => defaults::NORMALIZE_TARGET,
            Some(n) if task.is_classification() && *n.get_ref() != Normalize::None => {
                return Err(self.fail(
                    n.span(),
                    "data.normalize_target",
                    format!("`normalize_target` applies to regression targets; this spec's task is {task}"),
                    Some("remove it: class labels are not numbers to scale"),
                ));
            }
            Some(n) => n.into_inner(),
        };
        let features = match raw.features {
            None => None,
            Some(features) => Some(self.column_list(features, "data.features", &target)?),
        };
        let exclude = match raw.exclude {
            None => Vec::new(),
            Some(exclude) => self.column_list(exclude, "data.exclude", &target)?,
        };
        let missing = match raw.missing {
            None => defaults::MISSING,
            Some(m) => self.missing(m, "data.missing")?,
        };
        let mut types = BTreeMap::new();
        for (column, kind) in raw.types.unwrap_or_default() {
            if target.contains(&column) {
                return Err(self.fail(
                    kind.span(),
                    &format!("data.types.{column}"),
                    format!("`{column}` is the target; `data.types` is for feature columns"),
                    Some("the target's type follows data.task: numbers for regression, class labels for classification"),
                ));
            }
            types.insert(column, kind.into_inner());
        }
        let mut columns = BTreeMap::new();
        for (column, options) in raw.columns.unwrap_or_default() {
            let span = options.span();
            let key = format!("data.columns.{column}");
            if target.contains(&column) {
                return Err(self.fail(
                    span,
                    &key,
                    format!("`{column}` is the target; `data.columns` is for feature columns"),
                    Some("rows with an empty target are dropped when data.missing = \"drop\", else they are an error"),
                ));
            }
            let options = self.column_options(options.into_inner(), &key, types.get(&column))?;
            columns.insert(column, options);
        }
        let split = match raw.split {
            None => SplitFractions {
                train: defaults::SPLIT_TRAIN,
                validation: defaults::SPLIT_VALIDATION,
                test: defaults::SPLIT_TEST,
            },
            Some(split) => self.split(split)?,
        };
        let mut data = DataSpec {
            path: raw.path.into_inner(),
            target,
            task,
            stratify,
            normalize_target,
            features,
            exclude,
            normalize: raw.normalize.unwrap_or(defaults::NORMALIZE),
            missing,
            encode: raw.encode.unwrap_or(defaults::ENCODE),
            unknown: raw.unknown.unwrap_or(defaults::UNKNOWN),
            shuffle,
            split,
            split_column,
            types,
            columns,
            window,
            cross_validation: None,
        };
        if let Some(cross_validation) = raw.cross_validation {
            data.cross_validation = Some(self.cross_validation(cross_validation, &data)?);
        }
        Ok(data)
    }

    /// `[data.window]`: one regression target, an ordered split.
    fn window(
        &self,
        window: Spanned<raw::RawWindow>,
        shuffle: &Option<Spanned<bool>>,
        stratify: &Option<Spanned<bool>>,
        split_column: &Option<Spanned<String>>,
        target: &Targets,
        task: Task,
    ) -> Checked<Window> {
        let span = window.span();
        let w = window.into_inner();
        let conflict = |key: &str, message: String, hint: &str| {
            Err(self.fail(span.clone(), key, message, Some(hint)))
        };
        if task != Task::Regression || target.columns().len() != 1 {
            return conflict(
                "data.window",
                "`[data.window]` forecasts one regression target from its past".into(),
                "set one `data.target` column and leave `data.task` as \"regression\"",
            );
        }
        if let Some(shuffle) = shuffle.as_ref().filter(|s| *s.get_ref()) {
            return Err(self.fail(
                shuffle.span(),
                "data.shuffle",
                "`shuffle = true` would mix the past and the future: windows are split in \
                 time order (the last samples are validation and test)"
                    .into(),
                Some("remove `shuffle`; windowed data is never shuffled before the split"),
            ));
        }
        if let Some(stratify) = stratify.as_ref().filter(|s| *s.get_ref()) {
            return Err(self.fail(
                stratify.span(),
                "data.stratify",
                "`stratify = true` does not apply to windows, which are split in time order".into(),
                Some("remove `stratify`"),
            ));
        }
        if let Some(column) = split_column {
            return Err(self.fail(
                column.span(),
                "data.split_column",
                "`split_column` does not apply to windows, which are split in time order".into(),
                Some("remove one of `split_column` and `[data.window]`"),
            ));
        }
        let positive = |value: &Spanned<i64>, key: &str| -> Checked<std::num::NonZeroU32> {
            let v = *value.get_ref();
            u32::try_from(v)
                .ok()
                .and_then(std::num::NonZeroU32::new)
                .ok_or_else(|| {
                    self.fail(
                        value.span(),
                        key,
                        count_message(&format!("`{key}`"), v),
                        None,
                    )
                })
        };
        let steps = positive(&w.steps, "data.window.steps")?;
        let horizon = match &w.horizon {
            None => defaults::WINDOW_HORIZON,
            Some(h) => positive(h, "data.window.horizon")?,
        };
        let order_by = match w.order_by {
            None => None,
            Some(column) if column.get_ref().trim().is_empty() => {
                return Err(self.fail(
                    column.span(),
                    "data.window.order_by",
                    "`order_by` is empty".into(),
                    Some("name the column that orders the rows (a date or a number)"),
                ));
            }
            Some(column) if target.contains(column.get_ref()) => {
                return Err(self.fail(
                    column.span(),
                    "data.window.order_by",
                    format!(
                        "`{}` is the target; it cannot also order the rows",
                        column.get_ref()
                    ),
                    Some("name the date or time column"),
                ));
            }
            Some(column) => Some(column.into_inner()),
        };
        Ok(Window {
            steps,
            horizon,
            target_input: w.target_input.unwrap_or(defaults::WINDOW_TARGET_INPUT),
            difference: w.difference.unwrap_or(defaults::WINDOW_DIFFERENCE),
            order_by,
            missing: w.missing.unwrap_or(defaults::WINDOW_MISSING),
        })
    }

    /// `data.split_column`: a column other than the target, and no
    /// fractions or stratification beside it.
    fn split_column(
        &self,
        column: Spanned<String>,
        target: &Targets,
        split: &Option<Spanned<raw::RawSplit>>,
        stratify: &Option<Spanned<bool>>,
    ) -> Checked<String> {
        let key = "data.split_column";
        let span = column.span();
        let name = column.into_inner();
        if name.trim().is_empty() {
            return Err(self.fail(span, key, "`data.split_column` is empty".into(), None));
        }
        if target.contains(&name) {
            return Err(self.fail(
                span,
                key,
                format!("`{name}` is the target; it cannot also name the splits"),
                None,
            ));
        }
        if let Some(split) = split {
            return Err(self.fail(
                split.span(),
                "data.split",
                format!("`data.split` fractions do not apply: the column `{name}` names each row's split"),
                Some("remove one of `split` and `split_column`"),
            ));
        }
        if let Some(stratify) = stratify {
            return Err(self.fail(
                stratify.span(),
                "data.stratify",
                format!("`stratify` does not apply: the column `{name}` names each row's split"),
                Some("remove one of `stratify` and `split_column`"),
            ));
        }
        Ok(name)
    }

    /// `data.target`: one column or (regression) a list, none blank or twice.
    fn targets(&self, raw: Spanned<RawTarget>, task: Task) -> Checked<Targets> {
        let span = raw.span();
        let columns = match raw.into_inner() {
            RawTarget::One(column) => vec![column],
            RawTarget::Many(columns) => columns,
        };
        if columns.is_empty() || columns.iter().any(|c| c.trim().is_empty()) {
            return Err(self.fail(
                span,
                "data.target",
                "`data.target` is empty".into(),
                Some("name the column to predict, e.g. target = \"price\""),
            ));
        }
        if columns.len() > 1 && task.is_classification() {
            return Err(self.fail(
                span,
                "data.target",
                format!(
                    "{task} classification predicts one label column; got {}",
                    columns.len()
                ),
                Some("several targets are for regression; train one classifier per label"),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(dup) = columns.iter().find(|c| !seen.insert(c.as_str())) {
            return Err(self.fail(
                span,
                "data.target",
                format!("column `{dup}` is listed twice in `data.target`"),
                None,
            ));
        }
        Ok(Targets(columns))
    }

    /// `data.features` or `data.exclude`: names or patterns, none twice,
    /// never the target by name.
    fn column_list(
        &self,
        list: Spanned<Vec<String>>,
        key: &str,
        targets: &Targets,
    ) -> Checked<Vec<String>> {
        let span = list.span();
        let list = list.into_inner();
        if list.is_empty() {
            return Err(self.fail(
                span,
                key,
                format!("`{key}` is an empty list"),
                Some(if key == "data.features" {
                    "leave `features` out to use every column but the target"
                } else {
                    "leave `exclude` out to keep every feature"
                }),
            ));
        }
        if let Some(blank) = list.iter().find(|c| c.trim().is_empty()) {
            return Err(self.fail(
                span,
                key,
                format!("`{key}` holds an empty column name {blank:?}"),
                None,
            ));
        }
        if let Some(target) = list.iter().find(|c| targets.contains(c)) {
            return Err(if key == "data.features" {
                self.fail(
                    span,
                    key,
                    format!("the target column `{target}` is also listed as a feature"),
                    Some("remove it from `features`: the model must not see its answer"),
                )
            } else {
                self.fail(
                    span,
                    key,
                    format!("the target column `{target}` is listed in `{key}`"),
                    Some("remove it: the target is never a feature"),
                )
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(dup) = list.iter().find(|c| !seen.insert(c.as_str())) {
            return Err(self.fail(
                span,
                key,
                format!("column `{dup}` is listed twice in `{key}`"),
                None,
            ));
        }
        Ok(list)
    }

    fn missing(&self, value: Spanned<Missing>, key: &str) -> Checked<Missing> {
        let span = value.span();
        let value = value.into_inner();
        if let Missing::Constant(FillValue::Number(n)) = value
            && !n.is_finite()
        {
            return Err(self.fail(
                span,
                key,
                format!("`{key}` constant must be a finite number; got {n}"),
                None,
            ));
        }
        Ok(value)
    }

    /// `[data.columns.NAME]`: settings that contradict the column's declared
    /// type are rejected here; those that depend on the file's type are
    /// checked when the data is read.
    fn column_options(
        &self,
        raw: raw::RawColumn,
        key: &str,
        declared: Option<&ColumnType>,
    ) -> Checked<ColumnOptions> {
        let missing_span = raw.missing.as_ref().map_or(0..0, Spanned::span);
        let missing = match raw.missing {
            None => None,
            Some(m) => Some(self.missing(m, &format!("{key}.missing"))?),
        };
        match declared {
            Some(ColumnType::Float) => {
                for (field, span) in [
                    ("encode", raw.encode.as_ref().map(Spanned::span)),
                    ("unknown", raw.unknown.as_ref().map(Spanned::span)),
                ] {
                    if let Some(span) = span {
                        return Err(self.fail(
                            span,
                            &format!("{key}.{field}"),
                            format!("`{field}` applies to categorical columns; `data.types` declares this one \"float\""),
                            Some("remove it, or declare the column \"categorical\""),
                        ));
                    }
                }
            }
            Some(ColumnType::Categorical) => {
                if let Some(m @ (Missing::Mean | Missing::Median)) = &missing {
                    return Err(self.fail(
                        missing_span,
                        &format!("{key}.missing"),
                        format!("`missing = {m}` needs numbers; `data.types` declares this column \"categorical\""),
                        Some("use \"mode\" (the most frequent training category), { constant = \"…\" }, \"drop\" or \"error\""),
                    ));
                }
            }
            None => {}
        }
        Ok(ColumnOptions {
            missing,
            normalize: raw.normalize.map(Spanned::into_inner),
            encode: raw.encode.map(Spanned::into_inner),
            unknown: raw.unknown.map(Spanned::into_inner),
        })
    }

    fn split(&self, split: Spanned<raw::RawSplit>) -> Checked<SplitFractions> {
        let span = split.span();
        let s = split.into_inner();
        for (name, v) in [
            ("train", s.train),
            ("validation", s.validation),
            ("test", s.test),
        ] {
            if !(v > 0.0 && v < 1.0) {
                return Err(self.fail(
                    span,
                    &format!("data.split.{name}"),
                    format!("`data.split.{name}` must be between 0 and 1 (exclusive); got {v}"),
                    Some("every split needs rows: validation picks the best epoch, test gives the final estimate"),
                ));
            }
        }
        let sum = s.train + s.validation + s.test;
        if (sum - 1.0).abs() > 1e-6 {
            return Err(self.fail(
                span,
                "data.split",
                format!(
                    "split fractions must sum to 1; train {} + validation {} + test {} = {sum}",
                    s.train, s.validation, s.test
                ),
                Some("for example { train = 0.7, validation = 0.15, test = 0.15 }"),
            ));
        }
        Ok(SplitFractions {
            train: s.train,
            validation: s.validation,
            test: s.test,
        })
    }

    fn loss(&self, raw: Option<raw::RawLoss>, task: Task) -> Checked<Loss> {
        let Some(raw) = raw else {
            return Ok(Loss::default_for(task));
        };
        let kind_span = raw.kind.span();
        let kind = raw.kind.into_inner();
        let (name, for_task) = match kind {
            LossType::Mse => ("mse", Task::Regression),
            LossType::Mae => ("mae", Task::Regression),
            LossType::Huber => ("huber", Task::Regression),
            LossType::BinaryCrossEntropy => ("binary_cross_entropy", Task::Binary),
            LossType::CrossEntropy => ("cross_entropy", Task::Multiclass),
        };
        if for_task != task {
            let hint = match task {
                Task::Regression => "regression trains with mse, mae or huber; set data.task = \"binary\" or \"multiclass\" to predict classes".to_string(),
                Task::Binary => "binary classification trains one logit with binary_cross_entropy; for cross_entropy over one output per class set data.task = \"multiclass\"".to_string(),
                Task::Multiclass => "multiclass classification trains with cross_entropy; binary_cross_entropy needs data.task = \"binary\"".to_string(),
            };
            return Err(self.fail(
                kind_span,
                "loss.type",
                format!("`{name}` is a loss for {for_task}, but data.task is \"{task}\""),
                Some(&hint),
            ));
        }
        let unused = |field: &str, span: Range<usize>, belongs: &str| {
            self.fail(
                span,
                &format!("loss.{field}"),
                format!("`{field}` does not apply to the `{name}` loss"),
                Some(&format!("remove it; `{field}` belongs to {belongs}")),
            )
        };
        if kind != LossType::Huber
            && let Some(d) = &raw.delta
        {
            return Err(unused("delta", d.span(), "huber"));
        }
        if kind != LossType::BinaryCrossEntropy
            && let Some(p) = &raw.pos_weight
        {
            return Err(unused("pos_weight", p.span(), "binary_cross_entropy"));
        }
        if kind != LossType::CrossEntropy {
            if let Some(w) = &raw.class_weights {
                return Err(unused("class_weights", w.span(), "cross_entropy"));
            }
            if let Some(l) = &raw.label_smoothing {
                return Err(unused("label_smoothing", l.span(), "cross_entropy"));
            }
        }
        Ok(match kind {
            LossType::Mse => Loss::Mse,
            LossType::Mae => Loss::Mae,
            LossType::Huber => Loss::Huber {
                delta: match raw.delta {
                    None => defaults::HUBER_DELTA,
                    Some(d) => self.positive(d, "loss.delta")?,
                },
            },
            LossType::BinaryCrossEntropy => Loss::BinaryCrossEntropy {
                pos_weight: match raw.pos_weight {
                    None => None,
                    Some(p) => Some(self.positive(p, "loss.pos_weight")?),
                },
            },
            LossType::CrossEntropy => Loss::CrossEntropy {
                class_weights: match raw.class_weights {
                    None => None,
                    Some(w) => Some(self.class_weights(w)?),
                },
                label_smoothing: self.fraction(
                    raw.label_smoothing,
                    "loss.label_smoothing",
                    defaults::LABEL_SMOOTHING,
                )?,
            },
        })
    }

    fn class_weights(&self, raw: Spanned<RawClassWeights>) -> Checked<ClassWeights> {
        let span = raw.span();
        let key = "loss.class_weights";
        match raw.into_inner() {
            RawClassWeights::Named(name) if name == "balanced" => Ok(ClassWeights::Balanced),
            RawClassWeights::Named(name) => Err(self.fail(
                span,
                key,
                format!("unknown class weighting {name:?}"),
                Some("use \"balanced\" (inverse class frequencies of the training split) or one weight per class, e.g. [1.0, 5.0]"),
            )),
            RawClassWeights::Given(weights) => {
                if weights.is_empty() {
                    return Err(self.fail(span, key, "`loss.class_weights` is an empty list".into(), Some("give one weight per class, in the classes' sorted order")));
                }
                if let Some(bad) = weights.iter().find(|w| !(w.is_finite() && **w > 0.0)) {
                    return Err(self.fail(span, key, format!("class weights must be greater than 0; got {bad}"), None));
                }
                Ok(ClassWeights::Given(weights))
            }
        }
    }

    pub(crate) fn positive(&self, value: Spanned<f64>, key: &str) -> Checked<f64> {
        let v = *value.get_ref();
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            Err(self.fail(value.span(), key, positive_message(key, v), None))
        }
    }

    pub(crate) fn fraction(
        &self,
        value: Option<Spanned<f64>>,
        key: &str,
        default: f64,
    ) -> Checked<f64> {
        let Some(value) = value else {
            return Ok(default);
        };
        let v = *value.get_ref();
        if (0.0..1.0).contains(&v) {
            Ok(v)
        } else {
            Err(self.fail(
                value.span(),
                key,
                format!("`{key}` must be at least 0 and below 1; got {v}"),
                None,
            ))
        }
    }

    pub(crate) fn count(
        &self,
        value: Option<Spanned<i64>>,
        key: &str,
        default: u32,
    ) -> Checked<u32> {
        let Some(value) = value else {
            return Ok(default);
        };
        let v = *value.get_ref();
        match u32::try_from(v) {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(self.fail(
                value.span(),
                key,
                count_message(&format!("`{key}`"), v),
                None,
            )),
        }
    }

    fn metric(&self, value: Spanned<String>, key: &str, task: Task) -> Checked<MetricRef> {
        let span = value.span();
        let metric: MetricRef = value.get_ref().parse().map_err(|message: String| {
            let hint = crate::error::closest(value.get_ref(), &MetricRef::all_names())
                .map(|c| format!("did you mean `{c}`?"))
                .unwrap_or_else(|| {
                    format!("expected one of {}", quote_list(&MetricRef::all_names()))
                });
            self.fail(span.clone(), key, message, Some(&hint))
        })?;
        if !metric.metric.applies_to(task) {
            let known: Vec<&str> = MetricName::for_task(task)
                .iter()
                .map(|m| m.as_str())
                .collect();
            return Err(self.fail(
                span,
                key,
                format!("`{metric}` is not recorded for {task} runs"),
                Some(&format!(
                    "the metrics of a {task} run are {}",
                    known.join(", ")
                )),
            ));
        }
        if metric.split == SplitName::Test {
            return Err(self.fail(
                span,
                key,
                format!("`{key}` may not use the test split (`{metric}`)"),
                Some("choose on validation metrics (`val_…`); the test split must stay unseen until the final estimate"),
            ));
        }
        Ok(metric)
    }

    fn train(&self, raw: Option<raw::RawTrain>, task: Task) -> Checked<TrainSpec> {
        let raw = raw.unwrap_or(raw::RawTrain {
            epochs: None,
            batch_size: None,
            device: None,
            monitor: None,
            restore_best: None,
            precision: None,
            early_stopping: None,
        });
        let monitor = match raw.monitor {
            None => defaults::MONITOR,
            Some(m) => self.metric(m, "train.monitor", task)?,
        };
        let early_stopping = match raw.early_stopping {
            None => None,
            Some(es) => {
                let patience = self.count(Some(es.patience), "train.early_stopping.patience", 1)?;
                let min_delta = match es.min_delta {
                    None => defaults::MIN_DELTA,
                    Some(d) => {
                        let v = *d.get_ref();
                        if !(v.is_finite() && v >= 0.0) {
                            return Err(self.fail(
                                d.span(),
                                "train.early_stopping.min_delta",
                                format!("`min_delta` must be 0 or more; got {v}"),
                                None,
                            ));
                        }
                        v
                    }
                };
                Some(EarlyStopping {
                    patience,
                    min_delta,
                })
            }
        };
        Ok(TrainSpec {
            epochs: self.count(raw.epochs, "train.epochs", defaults::EPOCHS)?,
            batch_size: self.count(raw.batch_size, "train.batch_size", defaults::BATCH_SIZE)?,
            device: match raw.device {
                None => defaults::DEVICE,
                Some(device) => device.get_ref().parse().map_err(|message| {
                    self.fail(device.span(), "train.device", message, Some(Device::FORMS))
                })?,
            },
            monitor,
            restore_best: raw.restore_best.unwrap_or(defaults::RESTORE_BEST),
            precision: raw.precision.unwrap_or(defaults::PRECISION),
            early_stopping,
        })
    }

    fn selection(&self, raw: Option<raw::RawSelection>, task: Task) -> Checked<Selection> {
        let (metric, direction) = match raw {
            None => (None, None),
            Some(s) => (s.metric, s.direction),
        };
        let metric = match metric {
            None => defaults::SELECTION_METRIC,
            Some(m) => self.metric(m, "selection.metric", task)?,
        };
        let natural = metric.metric.direction();
        let direction = match direction {
            None => natural,
            Some(d) if *d.get_ref() == natural => natural,
            Some(d) => {
                return Err(self.fail(
                    d.span(),
                    "selection.direction",
                    format!(
                        "`{metric}` is better when it is {}, not {}",
                        word(natural),
                        word(*d.get_ref())
                    ),
                    Some("leave `direction` out: it follows from the metric"),
                ));
            }
        };
        Ok(Selection { metric, direction })
    }
}

/// The units of the model's last linear layer and where they are written.
fn last_linear_units(model: &raw::RawModel) -> Option<(i64, Range<usize>)> {
    model
        .layers
        .get_ref()
        .iter()
        .rev()
        .find(|l| l.get_ref().kind == LayerType::Linear)
        .and_then(|l| l.get_ref().units.as_ref())
        .map(|u| (*u.get_ref(), u.span()))
}

fn word(direction: Direction) -> &'static str {
    match direction {
        Direction::Minimize => "smaller (minimize)",
        Direction::Maximize => "larger (maximize)",
    }
}

impl Precision {
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
            Precision::F16 => "f16",
        }
    }

    pub fn is_f32(&self) -> bool {
        *self == Precision::F32
    }
}

impl Normalize {
    pub fn as_str(self) -> &'static str {
        match self {
            Normalize::Zscore => "zscore",
            Normalize::Minmax => "minmax",
            Normalize::Robust => "robust",
            Normalize::None => "none",
        }
    }
}
