//! What `pipeline check` reports of a planned spec, without training: its
//! data (rows, splits, checksum), each column and what it becomes as model
//! inputs, the columns left out, the network's layers and the pitfalls.
//! `--json` prints [`CheckReport`] (fields in this order); the text form
//! reads it too. A sweep spec adds [`CheckedSweep`]: its space, and the
//! pitfalls of each parameter's extremes, each trial planned in turn.

use std::time::Instant;

use pipeline_data::{ColumnPlan, Encoding, SplitSizes, TargetPlan, column_types};
use pipeline_model::LayerSummary;
use pipeline_spec::{
    Direction, Domain, Encode, FillValue, Missing, Normalize, PrunerSpec, SweepMethod, Task,
    UnknownCategory,
};
use pipeline_train::{Pitfall, PitfallKind};
use serde::Serialize;

use crate::error::{RunError, chain_text};
use crate::plan::Planned;

/// Rows read to report the columns' types.
const TYPE_SAMPLE_ROWS: usize = 1000;

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The spec file.
    pub spec: String,
    pub experiment: String,
    pub data: CheckedData,
    /// Features, then targets.
    pub columns: Vec<CheckedColumn>,
    /// Columns of the file that are neither.
    pub ignored_columns: Vec<String>,
    pub splits: SplitSizes,
    pub device: String,
    pub model: CheckedModel,
    pub warnings: Vec<Pitfall>,
    /// A spec with `[sweep]`: its space and its corners' pitfalls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep: Option<CheckedSweep>,
    /// Planning and checking took this long.
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckedData {
    pub path: String,
    pub rows: usize,
    /// What `rows` and the splits count: `rows`, or `windows` (samples of
    /// a windowed series are windows of consecutive rows).
    pub unit: &'static str,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckedColumn {
    pub name: String,
    /// Its type in the file (`?` when it was not sampled).
    #[serde(rename = "type")]
    pub file_type: String,
    /// `feature` or `target`.
    pub role: &'static str,
    /// What the model sees of it; `None`: a target used as it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub becomes: Option<Becomes>,
    /// A feature's empty cells.
    #[serde(flatten)]
    pub empty_cells: Option<EmptyCells>,
}

/// What a column becomes as model inputs (or outputs).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Becomes {
    Float {
        normalize: Normalize,
        /// A feature's inputs (1); left out for a target.
        #[serde(skip_serializing_if = "Option::is_none")]
        inputs: Option<usize>,
    },
    Categorical {
        encode: Encode,
        unknown: UnknownCategory,
        categories: usize,
        normalize: Normalize,
        inputs: usize,
    },
    Classes {
        task: Task,
        classes: Vec<String>,
        /// Rows of each class in the training split.
        train_counts: Vec<u64>,
    },
}

/// A feature's strategy for empty cells, and the value it fills them with.
#[derive(Debug, Clone, Serialize)]
pub struct EmptyCells {
    pub missing: Missing,
    pub fill: Option<FillValue>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckedModel {
    /// Values per row given to the network.
    pub inputs: usize,
    /// The shape rows are reshaped to before the first layer.
    pub input_shape: Vec<usize>,
    pub parameters: usize,
    pub layers: Vec<LayerSummary>,
}

impl CheckReport {
    /// Checks `plan` (reading a sample of its data file for the columns'
    /// types); `started`: when checking its spec began.
    pub fn new(plan: &Planned, started: Instant) -> Result<CheckReport, RunError> {
        let types = column_types(&plan.data_path, TYPE_SAMPLE_ROWS)?;
        let mut report = CheckReport::of(plan, &types);
        report.sweep = CheckedSweep::of(plan, &report.warnings);
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    fn of(plan: &Planned, types: &[(String, String)]) -> CheckReport {
        let spec = &plan.loaded.spec;
        let data = &plan.data;
        let preprocessing = &data.preprocessing;
        let file_type = |name: &str| file_type(types, name);
        let mut columns: Vec<CheckedColumn> = preprocessing
            .columns
            .iter()
            .map(|column| feature(column, file_type(&column.column)))
            .collect();
        columns.extend(targets(
            &preprocessing.targets,
            spec.data.normalize_target,
            file_type,
        ));
        let target_columns = preprocessing.targets.columns();
        let ignored_columns = types
            .iter()
            .map(|(name, _)| name)
            .filter(|name| !target_columns.contains(name) && !preprocessing.features.contains(name))
            .cloned()
            .collect();
        CheckReport {
            spec: plan.loaded.path.display().to_string(),
            experiment: spec.name.as_str().to_owned(),
            data: CheckedData {
                path: plan.data_path.display().to_string(),
                rows: data.sizes.train + data.sizes.validation + data.sizes.test,
                unit: if preprocessing.window.is_some() {
                    "windows"
                } else {
                    "rows"
                },
                sha256: data.data_sha256.clone(),
            },
            columns,
            ignored_columns,
            splits: data.sizes,
            device: pipeline_train::device_name(&plan.device),
            model: CheckedModel {
                inputs: preprocessing.input_width(),
                input_shape: plan.network.input_shape().to_vec(),
                parameters: plan.network.parameter_count(),
                layers: plan.network.summary().to_vec(),
            },
            warnings: plan.pitfalls(),
            sweep: None,
            seconds: 0.0,
        }
    }
}

/// A sweep spec's space, and what is worth a warning at its corners.
#[derive(Debug, Clone, Serialize)]
pub struct CheckedSweep {
    pub method: SweepMethod,
    /// Points of the grid; `None`: a parameter is continuous.
    pub size: Option<u64>,
    /// Trials the sweep runs.
    pub budget: u32,
    pub jobs: u32,
    pub seed: u64,
    /// What the trials are ranked by (the sweep's, else `[selection]`'s).
    pub metric: String,
    pub direction: Direction,
    pub pruner: PrunerSpec,
    /// In the spec's order.
    pub parameters: Vec<CheckedParameter>,
    /// Each parameter's extremes (a range's low and high, the first and
    /// last of its values), each planned as a trial: the pitfalls that the
    /// spec itself does not have, each once, with the corner that causes it.
    pub corners: Vec<CornerWarning>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckedParameter {
    pub key: String,
    /// `{"values": [...]}`, `{"uniform": [low, high]}` or `{"log_uniform": [low, high]}`.
    pub domain: Domain,
}

/// A pitfall at one corner of the space: `parameter` set to `value`, every
/// other key as the spec writes it.
#[derive(Debug, Clone, Serialize)]
pub struct CornerWarning {
    pub parameter: String,
    pub value: serde_json::Value,
    /// `None`: that trial cannot start (its message says why).
    pub kind: Option<PitfallKind>,
    pub message: String,
    pub hint: Option<String>,
}

impl CheckedSweep {
    /// `None` for a spec without `[sweep]`; `said`: the spec's own warnings,
    /// not repeated at a corner.
    pub fn of(plan: &Planned, said: &[Pitfall]) -> Option<CheckedSweep> {
        let spec = &plan.loaded.spec;
        let sweep = spec.sweep.as_ref()?;
        let metric = sweep.metric.unwrap_or(spec.selection.metric);
        let mut said: Vec<String> = said.iter().map(|p| p.message.clone()).collect();
        let mut corners = Vec::new();
        for parameter in &sweep.parameters {
            for value in parameter.domain.corners() {
                let json = serde_json::to_value(&value).unwrap_or_default();
                let corner = |kind, message: String, hint| CornerWarning {
                    parameter: parameter.key.clone(),
                    value: json.clone(),
                    kind,
                    message,
                    hint,
                };
                let trial = plan
                    .loaded
                    .trial(&[(parameter.key.clone(), value)])
                    .map_err(|e| e.message)
                    .and_then(|trial| {
                        Planned::new(trial, plan.data_path.clone()).map_err(|e| chain_text(&e))
                    });
                match trial {
                    Ok(trial) => {
                        for pitfall in trial.pitfalls() {
                            if !said.contains(&pitfall.message) {
                                said.push(pitfall.message.clone());
                                corners.push(corner(
                                    Some(pitfall.kind),
                                    pitfall.message,
                                    Some(pitfall.hint),
                                ));
                            }
                        }
                    }
                    Err(message) => corners.push(corner(
                        None,
                        format!("this trial cannot start: {message}"),
                        None,
                    )),
                }
            }
        }
        Some(CheckedSweep {
            method: sweep.method,
            size: sweep.grid_size(),
            budget: sweep.budget(),
            jobs: sweep.jobs.get(),
            seed: sweep.seed,
            metric: metric.to_string(),
            direction: sweep.direction.unwrap_or(metric.metric.direction()),
            pruner: sweep.pruner,
            parameters: sweep
                .parameters
                .iter()
                .map(|p| CheckedParameter {
                    key: p.key.clone(),
                    domain: p.domain.clone(),
                })
                .collect(),
            corners,
        })
    }
}

/// A column's type in the sampled file.
fn file_type(types: &[(String, String)], name: &str) -> String {
    types
        .iter()
        .find(|(n, _)| n == name)
        .map_or_else(|| "?".to_owned(), |(_, t)| t.clone())
}

fn feature(column: &ColumnPlan, file_type: String) -> CheckedColumn {
    let becomes = match &column.encoding {
        Encoding::Float { normalize } => Becomes::Float {
            normalize: *normalize,
            inputs: Some(1),
        },
        Encoding::Categorical {
            encode,
            unknown,
            categories,
            normalize,
        } => Becomes::Categorical {
            encode: *encode,
            unknown: *unknown,
            categories: categories.len(),
            normalize: *normalize,
            inputs: column.width(),
        },
    };
    CheckedColumn {
        name: column.column.clone(),
        file_type,
        role: "feature",
        becomes: Some(becomes),
        empty_cells: Some(EmptyCells {
            missing: column.missing.clone(),
            fill: column.fill.clone(),
        }),
    }
}

fn targets(
    targets: &TargetPlan,
    normalize_target: Normalize,
    file_type: impl Fn(&str) -> String,
) -> Vec<CheckedColumn> {
    let target = |name: &str, becomes| CheckedColumn {
        name: name.to_owned(),
        file_type: file_type(name),
        role: "target",
        becomes,
        empty_cells: None,
    };
    match targets {
        TargetPlan::Regression { columns: names, .. } => names
            .iter()
            .map(|name| {
                let becomes = (normalize_target != Normalize::None).then_some(Becomes::Float {
                    normalize: normalize_target,
                    inputs: None,
                });
                target(name, becomes)
            })
            .collect(),
        TargetPlan::Binary {
            column,
            classes,
            counts,
        }
        | TargetPlan::Multiclass {
            column,
            classes,
            counts,
        } => vec![target(
            column,
            Some(Becomes::Classes {
                task: targets.task(),
                classes: classes.clone(),
                train_counts: counts.clone(),
            }),
        )],
    }
}
