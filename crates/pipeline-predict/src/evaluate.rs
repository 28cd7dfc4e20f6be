//! A stored run's metrics on a labelled file, computed exactly as training
//! computed them on its splits (same preprocessing, same loss). The file is
//! read in batches; a windowed run's series is read whole and scored on its
//! windows whose target is in the file.

use std::path::Path;

use pipeline_data::{BATCH_ROWS, Table, read_batches, read_table, windowed_inputs};
use pipeline_registry::RunId;
use pipeline_spec::Task;
use pipeline_train::Metrics;
use pipeline_train::classification::ClassificationReport;
use pipeline_train::evaluation::{criterion, score_with_report};
use serde::Serialize;

use crate::error::PredictError;
use crate::predictor::{Predictor, WINDOWS_PER_PASS};

/// The scores of a run on a file: what `evaluate` prints, as a table or as
/// JSON (`evaluate --json`).
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub run: RunId,
    pub experiment: String,
    /// The file, as named.
    pub input: String,
    pub metrics: Metrics,
    /// `rows`, or `windows` for a windowed run.
    #[serde(flatten)]
    pub scored: Scored,
    /// Classification: the classes, in the confusion matrix's order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<String>>,
    /// Classification: rows are the true class, columns the predicted one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confusion: Option<Vec<Vec<u64>>>,
    /// Classification: the per-class scores behind `confusion`.
    #[serde(skip)]
    pub report: Option<ClassificationReport>,
}

/// What was scored: rows, or a windowed run's windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scored {
    Rows(usize),
    Windows(usize),
}

impl Scored {
    /// `rows` or `windows`.
    pub fn unit(self) -> &'static str {
        match self {
            Scored::Rows(_) => "rows",
            Scored::Windows(_) => "windows",
        }
    }

    pub fn count(self) -> usize {
        match self {
            Scored::Rows(n) | Scored::Windows(n) => n,
        }
    }
}

/// `predictor`'s run scored on the labelled file `input`.
pub fn evaluate(predictor: &Predictor, input: &Path) -> Result<Evaluation, PredictError> {
    let plan = &predictor.preprocessing.targets;
    let windowed = predictor.is_windowed();
    let (targets, outputs) = if windowed {
        // Windows span rows: the series is read whole, as training read it.
        windows_scored(predictor, &read_table(input)?)?
    } else {
        rows_scored(predictor, input)?
    };
    let loss = &predictor.spec.loss;
    let (metrics, report) =
        score_with_report(loss, &criterion(loss, plan), plan, &outputs, &targets)?;
    // Finite outputs can still overflow the loss's 32-bit arithmetic.
    if let Some((name, value)) = metrics.iter().find(|(_, value)| !value.is_finite()) {
        return Err(PredictError::usage(
            format!(
                "{}: the run's {} on this file is {value}, not a finite number: its outputs are \
                 too far from the targets for the model's 32-bit arithmetic",
                input.display(),
                name.as_str()
            ),
            Some("check the file's rows against the data the run was trained on"),
        ));
    }
    let count = targets.len() / plan.width().max(1);
    let (classes, confusion, report) = match (report, plan.classes()) {
        (Some(report), Some(classes)) => (
            Some(classes.to_vec()),
            Some(report.confusion_matrix.clone()),
            Some(report),
        ),
        _ => (None, None, None),
    };
    Ok(Evaluation {
        run: predictor.record.id.clone(),
        experiment: predictor.record.experiment.clone(),
        input: input.display().to_string(),
        metrics,
        scored: if windowed {
            Scored::Windows(count)
        } else {
            Scored::Rows(count)
        },
        classes,
        confusion,
        report,
    })
}

/// The targets and outputs of every row of `input`, batch by batch, so
/// memory holds them, not the file.
fn rows_scored(predictor: &Predictor, input: &Path) -> Result<(Vec<f32>, Vec<f32>), PredictError> {
    let plan = &predictor.preprocessing.targets;
    let mut numeric = predictor.preprocessing.float_columns();
    if plan.task() == Task::Regression {
        numeric.extend(plan.columns());
    }
    let mut targets: Vec<f32> = Vec::new();
    let mut outputs: Vec<f32> = Vec::new();
    for batch in read_batches(input, &numeric, BATCH_ROWS)?.read_ahead(1) {
        let batch = batch?;
        let values = plan
            .encode(&batch.table)
            .map_err(|e| PredictError::MissingTargets {
                input: input.to_path_buf(),
                columns: plan.columns().join(", "),
                source: Box::new(batch.locate(e)),
            })?;
        targets.extend(values);
        let inputs = pipeline_data::model_inputs(&batch.table, &predictor.preprocessing)
            .map_err(|e| batch.locate(e))?;
        let predicted = predictor.predict_inputs(&inputs)?;
        let predicted = predictor
            .finite(predicted, &batch.table.path, &|r| r + 1)
            .map_err(|e| batch.locate(e))?;
        outputs.extend(predicted);
    }
    if targets.is_empty() {
        return Err(PredictError::usage(
            format!(
                "{}: no rows to score (the file has only a header)",
                input.display()
            ),
            Some(
                "give a labelled file with at least one row: its features and the run's target column(s)",
            ),
        ));
    }
    Ok((targets, outputs))
}

/// A windowed run's targets and outputs on the windows of `table` whose
/// target (`horizon` rows after the window) is in the file, on the model's
/// scale as training scored its splits.
fn windows_scored(
    predictor: &Predictor,
    table: &Table,
) -> Result<(Vec<f32>, Vec<f32>), PredictError> {
    let available = table.column_names();
    if let Some(target) = predictor
        .preprocessing
        .targets
        .columns()
        .into_iter()
        .find(|c| !available.contains(c))
    {
        return Err(PredictError::usage(
            format!(
                "{} has no column `{target}`: evaluating a run needs its target (available: {})",
                table.path.display(),
                available.join(", ")
            ),
            Some("give the labelled series the run was trained on, or a later stretch of it"),
        ));
    }
    let windows = windowed_inputs(table, &predictor.preprocessing)?;
    // The windows whose target is known, predicted a pass at a time.
    let scored: Vec<(usize, f32)> = windows
        .targets
        .iter()
        .enumerate()
        .filter_map(|(w, target)| target.map(|t| (w, t)))
        .collect();
    let targets: Vec<f32> = scored.iter().map(|&(_, t)| t).collect();
    if targets.is_empty() {
        return Err(PredictError::usage(
            format!(
                "{}: no window of the series has its target in the file (each needs the value {} row(s) after it)",
                table.path.display(),
                predictor
                    .preprocessing
                    .window
                    .as_ref()
                    .map_or(1, |w| w.horizon)
            ),
            Some("give a longer stretch of the series"),
        ));
    }
    let mut outputs = Vec::with_capacity(targets.len());
    for pass in scored.chunks(WINDOWS_PER_PASS) {
        let inputs = windows.inputs(pass.iter().map(|&(w, _)| w));
        let predicted = predictor.predict_inputs(&inputs)?;
        let row_of = |i: usize| windows.rows[pass[i].0] + 1;
        outputs.extend(predictor.finite(predicted, &table.path, &row_of)?);
    }
    Ok((targets, outputs))
}
