//! A registered run made ready to predict: its weights and preprocessing
//! read with their checksums verified, its network rebuilt from the stored
//! resolved spec. `infer` and `evaluate` share it.

use std::path::Path;

use anyhow::Context as _;
use candle_core::Device;
use pipeline_data::{DataError, Encoding, Preprocessing, Table, model_inputs, windowed_inputs};
use pipeline_model::Network;
use pipeline_registry::{ArtifactKind, Epochs, Registry, RunRecord, RunStatus};
use pipeline_spec::{Device as DeviceSpec, Spec};
use pipeline_train::evaluation::{predicted_classes, probabilities};
use pipeline_train::{FORWARD_ROWS, predict_rows, select_device};
use polars::prelude::Column;
use serde_json::{Map, Value, json};

use crate::commands::shared::Context;
use crate::exit::UserError;

/// Rows per forward pass on a GPU, where a launch costs more than a cache
/// miss (on the CPU, [`pipeline_train::FORWARD_ROWS`]).
const GPU_FORWARD_ROWS: usize = 65_536;

/// Windows of a series built and predicted at a time: their inputs
/// (`steps × channels` each) exist only for one such pass, so forecasting a
/// long series holds the series, not every window of it.
pub const WINDOWS_PER_PASS: usize = GPU_FORWARD_ROWS;

/// What a registered run stores for using its model, read with the
/// artifacts' checksums verified: shared by `infer`, `evaluate`, `serve`
/// (through [`Predictor`]) and `export`.
pub struct StoredModel {
    pub record: RunRecord,
    pub spec: Spec,
    pub preprocessing: Preprocessing,
    /// The weights file, as stored.
    pub weights: Vec<u8>,
    /// The preprocessing file, as stored.
    pub preprocessing_json: Vec<u8>,
}

impl StoredModel {
    /// Loads the run named by `selector`: completed runs, and killed runs
    /// that kept their best checkpoint. `purpose` ends the refusal message
    /// ("to predict with", "to export").
    pub fn load(
        context: &Context,
        registry: &Registry,
        selector: &str,
        experiment: Option<&str>,
        purpose: &str,
    ) -> anyhow::Result<StoredModel> {
        // Without its per-epoch metrics: a model needs none of them.
        let id = context.run_id(registry, selector, experiment)?;
        let record = context.block_on(registry.run_with(&id, Epochs::None))?;
        if record.status != RunStatus::Completed && !is_checkpoint(&record) {
            return Err(UserError::error(
                format!(
                    "run {} is {}; only completed runs (and killed runs that kept their best \
                     checkpoint) have weights {purpose}",
                    record.id, record.status
                ),
                Some("`pipeline runs --status completed` lists the usable runs"),
            ));
        }
        let weights = registry.read_verified(artifact(&record, ArtifactKind::Weights)?)?;
        let preprocessing_json =
            registry.read_verified(artifact(&record, ArtifactKind::Preprocessing)?)?;
        let preprocessing = Preprocessing::from_json(&String::from_utf8_lossy(&preprocessing_json))
            .with_context(|| format!("the preprocessing of run {} is unreadable", record.id))?;
        let spec = Spec::parse(
            Path::new(&format!("spec of run {}", record.id)),
            &record.spec_toml,
            &[],
        )?;
        if preprocessing.features.is_empty() {
            anyhow::bail!(
                "the preprocessing of run {} lists no feature columns",
                record.id
            );
        }
        Ok(StoredModel {
            record,
            spec,
            preprocessing,
            weights,
            preprocessing_json,
        })
    }

    /// The network rebuilt from the spec with the stored weights.
    pub fn network(&self, device: &Device) -> anyhow::Result<Network> {
        let features = self.preprocessing.input_width();
        let outputs = self.preprocessing.targets.outputs();
        Network::from_safetensors(&self.spec.model, features, outputs, &self.weights, device)
            .with_context(|| {
                format!(
                    "the weights of run {} do not match its spec",
                    self.record.id
                )
            })
    }
}

/// A killed run that kept its best checkpoint.
pub fn is_checkpoint(record: &RunRecord) -> bool {
    record.status == RunStatus::Killed && record.weights_digest.is_some()
}

pub struct Predictor {
    pub record: RunRecord,
    pub spec: Spec,
    pub preprocessing: Preprocessing,
    network: Network,
    device: Device,
}

impl Predictor {
    /// Loads the run named by `selector` (see [`StoredModel::load`]), with a
    /// warning when it is a killed run's checkpoint.
    pub fn load(
        context: &Context,
        registry: &Registry,
        selector: &str,
        experiment: Option<&str>,
        device: DeviceSpec,
    ) -> anyhow::Result<Predictor> {
        let stored = StoredModel::load(context, registry, selector, experiment, "to predict with")?;
        let record = &stored.record;
        if is_checkpoint(record) && !context.global.quiet {
            eprintln!(
                "warning: run {} was killed after {} epoch(s); predicting with its best checkpoint (epoch {})",
                record.id,
                record.epochs_run,
                record
                    .best_epoch
                    .map_or_else(|| "?".to_owned(), |e| e.to_string())
            );
        }
        let device = select_device(device)?;
        let network = stored.network(&device)?;
        Ok(Predictor {
            record: stored.record,
            spec: stored.spec,
            preprocessing: stored.preprocessing,
            network,
            device,
        })
    }

    /// The predictions of every row of `table`, after the run's
    /// preprocessing; a missing, non-numeric or empty feature cell is an
    /// error naming the column and the first offending row.
    pub fn predict(&self, table: &Table) -> anyhow::Result<Predictions> {
        if self.is_windowed() {
            return self.forecast(table);
        }
        let inputs = model_inputs(table, &self.preprocessing)?;
        let outputs = self.finite(self.predict_inputs(&inputs)?, &table.path, &|r| r + 1)?;
        Ok(self.predictions(outputs))
    }

    /// `outputs` (row-major, as [`Predictor::predict_inputs`] gives them)
    /// when every one is a finite number; otherwise the error naming the
    /// first row with another (`row_of` turns the index of a row of
    /// `outputs` into its 1-based row in `path`). Values far beyond the
    /// training data's overflow the model, and an `inf` or `null` printed
    /// would pass for a prediction.
    pub fn finite(
        &self,
        outputs: Vec<f32>,
        path: &Path,
        row_of: &dyn Fn(usize) -> usize,
    ) -> Result<Vec<f32>, DataError> {
        finite_outputs(outputs, self.preprocessing.targets.outputs(), path, row_of)
    }

    /// A row of the run's first input columns with values from its
    /// training data (a numeric column's mean or median, a categorical's
    /// first category), for hints: `age=48.5,sex=1.47,bmi=26.4`.
    pub fn example_row(&self) -> String {
        self.example_values()
            .into_iter()
            .map(|(column, value)| match value {
                Value::String(text) => format!("{column}={text}"),
                other => format!("{column}={other}"),
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// [`Predictor::example_row`] as a JSON object.
    pub fn example_json(&self) -> String {
        Value::Object(self.example_values().into_iter().collect()).to_string()
    }

    fn example_values(&self) -> Vec<(String, Value)> {
        let p = &self.preprocessing;
        p.columns
            .iter()
            .take(3)
            .map(|plan| {
                let value = match &plan.encoding {
                    Encoding::Categorical { categories, .. } => categories
                        .first()
                        .map_or(Value::Null, |c| Value::String(c.clone())),
                    Encoding::Float { .. } => {
                        let typical = p
                            .transforms
                            .iter()
                            .find(|t| t.column == plan.column)
                            .map_or(0.0, |t| t.shift);
                        let rounded = format!("{typical:.3}").parse::<f64>().unwrap_or(0.0);
                        crate::output::format::json_f64(rounded)
                    }
                };
                (plan.column.clone(), value)
            })
            .collect()
    }

    /// Whether the run was trained on windows of a series: its inputs are
    /// a whole series ([`Predictor::forecast`]), not rows one by one.
    pub fn is_windowed(&self) -> bool {
        self.preprocessing.window.is_some()
    }

    /// A windowed run's forecasts for the rows of a series: the row where a
    /// window ends gets the forecast of the target `horizon` rows later, in
    /// the file's units (the window's last level added back when the run
    /// learnt changes); rows before the first full window get none (`NaN`,
    /// written as an empty cell or `null`).
    pub fn forecast(&self, table: &Table) -> anyhow::Result<Predictions> {
        let windows = windowed_inputs(table, &self.preprocessing)?;
        let mut values = vec![f32::NAN; table.frame.height()];
        let count = windows.windows();
        for start in (0..count).step_by(WINDOWS_PER_PASS) {
            let pass = start..count.min(start + WINDOWS_PER_PASS);
            let outputs = self.predict_inputs(&windows.inputs(pass.clone()))?;
            let mut outputs =
                self.finite(outputs, &table.path, &|i| windows.rows[pass.start + i] + 1)?;
            self.preprocessing.targets.denormalize(&mut outputs);
            for (w, output) in pass.zip(outputs) {
                values[windows.rows[w]] = (f64::from(output) + windows.base[w]) as f32;
            }
        }
        Ok(Predictions::Values {
            names: vec![PREDICTION.to_string()],
            values,
            sparse: true,
        })
    }

    /// The model's outputs for `outputs` made into what a user reads:
    /// values in the file's units, or labels and class probabilities.
    pub fn predictions(&self, outputs: Vec<f32>) -> Predictions {
        let plan = &self.preprocessing.targets;
        match plan.classes() {
            None => {
                let mut values = outputs;
                plan.denormalize(&mut values);
                let names = match plan.columns().as_slice() {
                    [_] => vec![PREDICTION.to_string()],
                    many => many.iter().map(|c| format!("{PREDICTION}_{c}")).collect(),
                };
                Predictions::Values {
                    names,
                    values,
                    sparse: false,
                }
            }
            Some(classes) => {
                let probabilities = probabilities(plan, &outputs).unwrap_or_default();
                let labels = predicted_classes(plan, &probabilities);
                Predictions::Classes {
                    classes: classes.to_vec(),
                    labels,
                    probabilities,
                }
            }
        }
    }

    /// The model's outputs (row-major) for `inputs`: model inputs already
    /// preprocessed, row-major.
    pub fn predict_inputs(&self, inputs: &[f32]) -> anyhow::Result<Vec<f32>> {
        let slice_rows = if self.device.is_cpu() {
            FORWARD_ROWS
        } else {
            GPU_FORWARD_ROWS
        };
        let width = self.preprocessing.input_width();
        Ok(predict_rows(
            &self.network,
            inputs,
            width,
            slice_rows,
            &self.device,
        )?)
    }
}

/// [`Predictor::finite`] for outputs of `width` values a row.
fn finite_outputs(
    outputs: Vec<f32>,
    width: usize,
    path: &Path,
    row_of: &dyn Fn(usize) -> usize,
) -> Result<Vec<f32>, DataError> {
    match outputs.iter().position(|v| !v.is_finite()) {
        None => Ok(outputs),
        Some(index) => Err(DataError::NonFiniteOutput {
            path: path.to_path_buf(),
            row: row_of(index / width.max(1)),
            value: outputs[index].to_string(),
        }),
    }
}

fn artifact(
    record: &RunRecord,
    kind: ArtifactKind,
) -> anyhow::Result<&pipeline_registry::ArtifactRecord> {
    record
        .artifact(kind)
        .ok_or_else(|| anyhow::anyhow!("run {} has no {kind:?} artifact recorded", record.id))
}

/// The column of a regression prediction (`prediction_TARGET` with several
/// targets).
pub const PREDICTION: &str = "prediction";
/// The column of a classification's predicted label.
pub const LABEL: &str = "label";
/// The prefix of each class's probability column (`probability_CLASS`).
pub const PROBABILITY: &str = "probability";

/// Predictions of a batch of rows.
pub enum Predictions {
    /// Regression: `values` row-major, one per name, in the file's units.
    Values {
        names: Vec<String>,
        values: Vec<f32>,
        /// A windowed run's forecasts: `NaN` marks a row without one (an
        /// empty cell), not a number the model gave.
        sparse: bool,
    },
    /// Classification: each row's class index and the probability of
    /// every class (row-major).
    Classes {
        classes: Vec<String>,
        labels: Vec<usize>,
        probabilities: Vec<f32>,
    },
}

impl Predictions {
    /// The output columns' names.
    pub fn names(&self) -> Vec<String> {
        match self {
            Predictions::Values { names, .. } => names.clone(),
            Predictions::Classes { classes, .. } => std::iter::once(LABEL.to_string())
                .chain(classes.iter().map(|c| format!("{PROBABILITY}_{c}")))
                .collect(),
        }
    }

    /// As polars columns. Labels that are all integers stay integers.
    pub fn columns(&self) -> Vec<Column> {
        match self {
            Predictions::Values {
                names,
                values,
                sparse,
            } => {
                let width = names.len().max(1);
                names
                    .iter()
                    .enumerate()
                    .map(|(c, name)| {
                        let column = values.iter().skip(c).step_by(width).copied();
                        if *sparse {
                            // A row before a windowed run's first full
                            // window: an empty cell.
                            let column: Vec<Option<f32>> =
                                column.map(|v| (!v.is_nan()).then_some(v)).collect();
                            Column::new(name.into(), column)
                        } else {
                            Column::new(name.into(), column.collect::<Vec<f32>>())
                        }
                    })
                    .collect()
            }
            Predictions::Classes {
                classes,
                labels,
                probabilities,
            } => {
                let k = classes.len().max(1);
                let label = match integer_classes(classes) {
                    Some(numbers) => Column::new(
                        LABEL.into(),
                        labels.iter().map(|&l| numbers[l]).collect::<Vec<i64>>(),
                    ),
                    None => Column::new(
                        LABEL.into(),
                        labels
                            .iter()
                            .map(|&l| classes[l].as_str())
                            .collect::<Vec<&str>>(),
                    ),
                };
                std::iter::once(label)
                    .chain(classes.iter().enumerate().map(|(c, class)| {
                        let column: Vec<f32> =
                            probabilities.iter().skip(c).step_by(k).copied().collect();
                        Column::new(format!("{PROBABILITY}_{class}").into(), column)
                    }))
                    .collect()
            }
        }
    }

    /// One JSON value per row: a number (one target), an object of
    /// numbers by target, or `{"label": …, "probabilities": {class: p}}`.
    pub fn json(&self) -> Vec<Value> {
        let number = crate::output::format::json_f32;
        match self {
            Predictions::Values { names, values, .. } => {
                let width = names.len().max(1);
                values
                    .chunks(width)
                    .map(|row| match row {
                        [one] if width == 1 => number(*one),
                        row => Value::Object(
                            names
                                .iter()
                                .zip(row)
                                .map(|(n, v)| (n.clone(), number(*v)))
                                .collect(),
                        ),
                    })
                    .collect()
            }
            Predictions::Classes {
                classes,
                labels,
                probabilities,
            } => {
                let k = classes.len().max(1);
                let numbers = integer_classes(classes);
                labels
                    .iter()
                    .zip(probabilities.chunks(k))
                    .map(|(&label, row)| {
                        let label = match &numbers {
                            Some(numbers) => Value::from(numbers[label]),
                            None => Value::from(classes[label].clone()),
                        };
                        let probabilities: Map<String, Value> = classes
                            .iter()
                            .zip(row)
                            .map(|(c, p)| (c.clone(), number(*p)))
                            .collect();
                        json!({"label": label, "probabilities": probabilities})
                    })
                    .collect()
            }
        }
    }
}

/// The classes as integers when every one is written as one (`0`, `1`).
fn integer_classes(classes: &[String]) -> Option<Vec<i64>> {
    classes.iter().map(|c| c.parse::<i64>().ok()).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn classification_predictions_keep_the_labels() {
        let numbers = Predictions::Classes {
            classes: vec!["0".into(), "1".into()],
            labels: vec![1, 0],
            probabilities: vec![0.25, 0.75, 0.9, 0.1],
        };
        assert_eq!(numbers.names(), ["label", "probability_0", "probability_1"]);
        assert_eq!(
            numbers.json()[0],
            json!({"label": 1, "probabilities": {"0": 0.25, "1": 0.75}})
        );
        let text = Predictions::Classes {
            classes: vec!["cat".into(), "dog".into(), "emu".into()],
            labels: vec![2],
            probabilities: vec![0.125, 0.125, 0.75],
        };
        assert_eq!(text.json()[0]["label"], "emu");
        let columns = text.columns();
        assert_eq!(columns.len(), 4);
        assert_eq!(
            columns[0].str().map(|c| c.get(0)).ok().flatten(),
            Some("emu")
        );
    }

    /// Issue 18: an output that overflowed was printed as `inf` (or
    /// `null` in JSON) with exit 0; it is an error naming the row.
    #[test]
    fn a_non_finite_output_is_an_error_naming_its_row() {
        let path = Path::new("t.csv");
        let fine = vec![1.0, 2.0, 3.0, 4.0];
        assert_eq!(
            finite_outputs(fine.clone(), 2, path, &|r| r + 1).unwrap(),
            fine
        );
        let err =
            finite_outputs(vec![1.0, 2.0, 3.0, f32::INFINITY], 2, path, &|r| r + 11).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("t.csv: row 12: the model's output is inf, not a finite number"),
            "{err}"
        );
        assert!(err.is_user_error());
        let err = finite_outputs(vec![f32::NAN], 1, path, &|r| r + 1).unwrap_err();
        assert!(
            err.to_string().contains("row 1: the model's output is NaN"),
            "{err}"
        );
    }

    #[test]
    fn regression_predictions_are_one_value_or_one_per_target() {
        let one = Predictions::Values {
            names: vec![PREDICTION.into()],
            values: vec![1.5, 2.5],
            sparse: false,
        };
        assert_eq!(one.json(), [json!(1.5), json!(2.5)]);
        let two = Predictions::Values {
            names: vec!["prediction_a".into(), "prediction_b".into()],
            values: vec![1.0, 2.0, 3.0, 4.0],
            sparse: false,
        };
        assert_eq!(
            two.json()[1],
            json!({"prediction_a": 3.0, "prediction_b": 4.0})
        );
        assert_eq!(two.columns().len(), 2);
        // A forecast's missing rows are empty cells; a model's NaN stays NaN.
        let values = vec![f32::NAN, 2.0];
        for (sparse, nulls) in [(true, 1), (false, 0)] {
            let p = Predictions::Values {
                names: vec![PREDICTION.into()],
                values: values.clone(),
                sparse,
            };
            assert_eq!(p.columns()[0].null_count(), nulls);
        }
    }
}
