//! The whole experiment: [`Spec`] read from a file ([`Spec::load`],
//! [`Spec::parse`]), checked section by section by the [`Validator`] of
//! each section's module, and serialized back to TOML as the resolved spec
//! (defaults filled, overrides applied) that is stored with each run.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::data::{
    DataSpec, Targets, is_default_encode, is_default_missing, is_default_unknown, is_no_normalize,
    is_regression,
};
use crate::defaults;
use crate::error::{SpecError, explain_serde_message};
use crate::layer::{Layer, LayerType};
use crate::loss::Loss;
use crate::model::ModelSpec;
use crate::optimizer::Optimizer;
use crate::overrides::{Override, apply_overrides};
use crate::raw::{self, RawSpec};
use crate::selection::Selection;
use crate::sweep::SweepSpec;
use crate::task::Task;
use crate::train::TrainSpec;
use crate::validate::{Checked, Validator};

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
    /// `[sweep]`: this spec is a space of specs; `None` for a plain spec
    /// and for each trial (left out of the resolved spec, so a plain spec's
    /// hash is what it was before sweeps existed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepSpec>,
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

/// A spec read from a file, with where it came from.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    pub spec: Spec,
    /// The file's text as written.
    pub source: String,
    pub path: PathBuf,
    /// The `--set` overrides `spec` was loaded with (applied to `source`).
    pub overrides: Vec<Override>,
}

impl LoadedSpec {
    /// The data file, resolved against the spec file's folder.
    pub fn data_path(&self) -> PathBuf {
        let base = self.path.parent().unwrap_or(Path::new("."));
        base.join(&self.spec.data.path)
    }

    /// `source` with the overrides applied (`source` itself without
    /// overrides): the text to store for a sweep, from which
    /// [`LoadedSpec::trial`] draws the same trials again. Not the resolved
    /// spec: its defaults written out (adam's `beta1`, …) would refuse a
    /// trial that switches `optimizer.type` or a layer's `type`.
    pub fn written(&self) -> Result<String, SpecError> {
        if self.overrides.is_empty() {
            return Ok(self.source.clone());
        }
        let mut table = self.written_table()?;
        // A table's keys come out sorted: the sweep is written from its
        // validated form, which keeps the parameters in the file's order.
        table.remove("sweep");
        let mut text = toml::to_string(&table).unwrap_or_default();
        if let Some(sweep) = &self.spec.sweep {
            #[derive(Serialize)]
            struct Sweep<'a> {
                sweep: &'a SweepSpec,
            }
            text.push('\n');
            text.push_str(&toml::to_string(&Sweep { sweep }).unwrap_or_default());
        }
        Ok(text)
    }

    fn written_table(&self) -> Result<toml::Table, SpecError> {
        let mut table: toml::Table = toml::from_str(&self.source).map_err(|e| {
            SpecError::invalid(
                self.path.clone(),
                &self.source,
                e.span(),
                None,
                e.message().into(),
                None,
            )
        })?;
        apply_overrides(&self.path, &mut table, &self.overrides)?;
        Ok(table)
    }

    /// One trial of this spec's sweep: the spec as written, with its
    /// overrides, without `[sweep]`, each assignment applied exactly like
    /// `--set` (`model.layers[0].units` and `model.layers.0.units` alike),
    /// the sweep's metric and direction written into `[selection]`, then
    /// validated. Its `source` is the trial's own TOML text (and it has no
    /// overrides), so a rerun of the trial reproduces it; `path` stays this
    /// spec's (data paths resolve the same). A spec without `[sweep]` gives
    /// a plain variant.
    pub fn trial(&self, assignments: &[(String, toml::Value)]) -> Result<LoadedSpec, SpecError> {
        let described: Vec<String> = assignments
            .iter()
            .map(|(key, value)| format!("{key} = {value}"))
            .collect();
        let fail = |message: String, hint: Option<String>, key: Option<String>| SpecError {
            file: self.path.clone(),
            kind: crate::SpecErrorKind::Invalid,
            key,
            message: format!("the trial {}: {message}", described.join(", ")),
            hint,
            location: None,
        };
        let mut table = self
            .written_table()
            .map_err(|e| fail(e.message, e.hint, e.key))?;
        table.remove("sweep");
        for (key, value) in assignments {
            let segments = crate::path::path_segments(key)
                .map_err(|message| fail(message, None, Some(key.clone())))?;
            crate::overrides::set(&mut table, &segments, value.clone())
                .map_err(|message| fail(message, None, Some(key.clone())))?;
        }
        if let Some(sweep) = &self.spec.sweep
            && (sweep.metric.is_some() || sweep.direction.is_some())
        {
            let metric = sweep.metric.unwrap_or(self.spec.selection.metric);
            let direction = sweep.direction.unwrap_or(metric.metric.direction());
            let selection = [
                ("metric", toml::Value::String(metric.to_string())),
                (
                    "direction",
                    toml::Value::try_from(direction)
                        .map_err(|e| fail(e.to_string(), None, None))?,
                ),
            ];
            for (key, value) in selection {
                crate::overrides::set(&mut table, &["selection".into(), key.into()], value)
                    .map_err(|message| fail(message, None, None))?;
            }
        }
        let source = toml::to_string(&table).map_err(|e| fail(e.to_string(), None, None))?;
        let spec = parse_text(&self.path, &source).map_err(|e| fail(e.message, e.hint, e.key))?;
        Ok(LoadedSpec {
            spec,
            source,
            path: self.path.clone(),
            overrides: Vec::new(),
        })
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
            overrides: overrides.to_vec(),
        })
    }

    /// Parses spec text; `file` is only used in messages.
    pub fn parse(file: &Path, text: &str, overrides: &[Override]) -> Result<Spec, SpecError> {
        let written = parse_text(file, text)?;
        if overrides.is_empty() {
            return Ok(written);
        }
        let mut table: toml::Table = toml::from_str(text).map_err(|e| {
            SpecError::invalid(file.into(), text, e.span(), None, e.message().into(), None)
        })?;
        apply_overrides(file, &mut table, overrides)?;
        let rewritten = toml::to_string(&table).map_err(|e| {
            SpecError::overriding(file.into(), format!("cannot apply --set: {e}"), None)
        })?;
        let mut spec = parse_text(file, &rewritten).map_err(|e| {
            let assignments: Vec<String> = overrides.iter().map(|o| o.to_string()).collect();
            SpecError::overriding(
                file.into(),
                format!("after --set {}: {}", assignments.join(" --set "), e.message),
                e.hint,
            )
        })?;
        // The rewritten text lists a table's keys sorted; the sweep's
        // parameters keep the order the file writes them in.
        if let (Some(written), Some(sweep)) = (&written.sweep, &mut spec.sweep) {
            sweep.parameters.sort_by_key(|p| {
                written
                    .parameters
                    .iter()
                    .position(|w| w.key == p.key)
                    .unwrap_or(usize::MAX)
            });
        }
        Ok(spec)
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

pub(crate) fn parse_text(file: &Path, text: &str) -> Result<Spec, SpecError> {
    let raw: RawSpec = toml::from_str(text).map_err(|e| {
        let (message, mut hint) = explain_serde_message(e.message());
        if let (Some(got), Some(at)) = (
            message
                .strip_prefix("unknown key `")
                .and_then(|m| m.strip_suffix('`')),
            e.span(),
        ) && let Some(layer_hint) = crate::layer::unknown_layer_key_hint(text, &at, got)
        {
            hint = Some(layer_hint);
        }
        SpecError::invalid(file.into(), text, e.span(), None, message, hint)
    })?;
    Validator { file, text }.spec(raw)
}

impl Validator<'_> {
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
        let sweep = raw
            .sweep
            .map(|sweep| self.sweep(sweep, &selection, task, seed))
            .transpose()?;
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
            sweep,
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
