//! A stored run made ready to predict: its network rebuilt on a device,
//! rows (or a series, for a windowed run) turned into model inputs with
//! the run's preprocessing, and the outputs turned back into predictions.

use std::path::Path;

use candle_core::Device;
use pipeline_data::{Batch, DataError, Preprocessing, Table, model_inputs, windowed_inputs};
use pipeline_model::Network;
use pipeline_registry::RunRecord;
use pipeline_spec::{Device as DeviceSpec, Spec};
use pipeline_train::evaluation::{predicted_classes, probabilities};
use pipeline_train::{FORWARD_ROWS, predict_rows, select_device};

use crate::error::PredictError;
use crate::predictions::{PREDICTION, Predictions};
use crate::stored::StoredModel;

/// Rows per forward pass on a GPU, where a launch costs more than a cache
/// miss (on the CPU, [`pipeline_train::FORWARD_ROWS`]).
const GPU_FORWARD_ROWS: usize = 65_536;

/// Windows of a series built and predicted at a time: their inputs
/// (`steps × channels` each) exist only for one such pass, so forecasting a
/// long series holds the series, not every window of it.
pub const WINDOWS_PER_PASS: usize = GPU_FORWARD_ROWS;

pub struct Predictor {
    pub record: RunRecord,
    pub spec: Spec,
    pub preprocessing: Preprocessing,
    network: Network,
    device: Device,
    /// The predictions' column ([`PREDICTION`] unless renamed).
    prediction_column: String,
}

impl Predictor {
    /// The stored run's network on `device`.
    pub fn new(stored: StoredModel, device: DeviceSpec) -> Result<Predictor, PredictError> {
        let device = select_device(device)?;
        let network = stored.network(&device)?;
        Ok(Predictor {
            record: stored.record,
            spec: stored.spec,
            preprocessing: stored.preprocessing,
            network,
            device,
            prediction_column: PREDICTION.to_owned(),
        })
    }

    /// The same predictor writing its predictions under `column` (for a
    /// classification, the label; with several targets, `column_TARGET`)
    /// instead of [`PREDICTION`]; class probabilities keep their names.
    #[must_use]
    pub fn with_prediction_column(mut self, column: impl Into<String>) -> Predictor {
        self.prediction_column = column.into();
        self
    }

    /// The column the predictions are written under.
    pub fn prediction_column(&self) -> &str {
        &self.prediction_column
    }

    /// The predictions of every row of `table`, after the run's
    /// preprocessing; a missing, non-numeric or empty feature cell is an
    /// error naming the column and the first offending row.
    pub fn predict(&self, table: &Table) -> Result<Predictions, PredictError> {
        if self.is_windowed() {
            return self.forecast(table);
        }
        let inputs = model_inputs(table, &self.preprocessing)?;
        let outputs = self.finite(self.predict_inputs(&inputs)?, &table.path, &|r| r + 1)?;
        Ok(self.predictions(outputs))
    }

    /// [`Predictor::predict`] for one batch of a stream: errors name the
    /// row in the whole input, not in the batch.
    pub fn predict_batch(&self, batch: &Batch) -> Result<Predictions, PredictError> {
        if self.is_windowed() {
            return self.forecast(&batch.table);
        }
        let inputs =
            model_inputs(&batch.table, &self.preprocessing).map_err(|e| batch.locate(e))?;
        let outputs = self.predict_inputs(&inputs)?;
        let outputs = self
            .finite(outputs, &batch.table.path, &|r| r + 1)
            .map_err(|e| batch.locate(e))?;
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

    /// A row of the run's first input columns, for hints
    /// (see [`crate::example_row`]).
    pub fn example_row(&self) -> String {
        crate::example::example_row(&self.preprocessing)
    }

    /// [`Predictor::example_row`] as a JSON object.
    pub fn example_json(&self) -> String {
        crate::example::example_json(&self.preprocessing)
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
    pub fn forecast(&self, table: &Table) -> Result<Predictions, PredictError> {
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
            names: vec![self.prediction_column.clone()],
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
                    [_] => vec![self.prediction_column.clone()],
                    many => many
                        .iter()
                        .map(|c| format!("{}_{c}", self.prediction_column))
                        .collect(),
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
                    column: self.prediction_column.clone(),
                    classes: classes.to_vec(),
                    labels,
                    probabilities,
                }
            }
        }
    }

    /// The model's outputs (row-major) for `inputs`: model inputs already
    /// preprocessed, row-major.
    pub fn predict_inputs(&self, inputs: &[f32]) -> Result<Vec<f32>, PredictError> {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

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
}
