//! `pipeline evaluate --run RUN --input FILE`: the run's metrics on a
//! labelled file, computed exactly as training computed them on its splits
//! (same preprocessing, same loss). The file is read in batches; a
//! windowed run's series is read whole and scored on its windows whose
//! target is in the file.

use anyhow::Context as _;
use pipeline_data::{BATCH_ROWS, Table, model_inputs, read_batches, read_table, windowed_inputs};
use pipeline_spec::Task;
use pipeline_train::evaluation::{criterion, score_with_report};
use serde_json::json;

use crate::cli::EvaluateArgs;
use crate::commands::predictor::{Predictor, WINDOWS_PER_PASS};
use crate::commands::shared::{Context, print};
use crate::exit::UserError;
use crate::output::classes::ClassTable;
use crate::output::format::{self, number};

pub fn evaluate(context: &Context, args: EvaluateArgs) -> anyhow::Result<()> {
    let registry = context.registry_to_read()?;
    let predictor = Predictor::load(
        context,
        &registry,
        &args.run,
        args.experiment.as_deref(),
        args.device,
    )?;
    let plan = &predictor.preprocessing.targets;
    let columns = plan.columns().join(", ");
    let mut numeric = predictor.preprocessing.float_columns();
    if plan.task() == Task::Regression {
        numeric.extend(plan.columns());
    }
    // Batch by batch, so memory holds the targets and outputs, not the file
    // (a windowed run's series excepted).
    let mut targets: Vec<f32> = Vec::new();
    let mut outputs: Vec<f32> = Vec::new();
    let unit = if predictor.is_windowed() {
        // Windows span rows: the series is read whole, as training read it.
        let table = read_table(&args.input)?;
        (targets, outputs) = windows_scored(&predictor, &table)?;
        "windows"
    } else {
        for batch in read_batches(&args.input, &numeric, BATCH_ROWS)?.read_ahead(1) {
            let batch = batch?;
            let values = plan
                .encode(&batch.table)
                .map_err(|e| batch.locate(e))
                .with_context(|| {
                    format!(
                        "{} needs the run's target column(s) `{columns}`",
                        args.input.display()
                    )
                })?;
            targets.extend(values);
            let inputs = model_inputs(&batch.table, &predictor.preprocessing)
                .map_err(|e| batch.locate(e))?;
            let predicted = predictor.predict_inputs(&inputs)?;
            let predicted = predictor
                .finite(predicted, &batch.table.path, &|r| r + 1)
                .map_err(|e| batch.locate(e))?;
            outputs.extend(predicted);
        }
        if targets.is_empty() {
            return Err(UserError::error(
                format!(
                    "{}: no rows to score (the file has only a header)",
                    args.input.display()
                ),
                Some(
                    "give a labelled file with at least one row: its features and the run's target column(s)",
                ),
            ));
        }
        "rows"
    };
    let loss = &predictor.spec.loss;
    let (metrics, report) =
        score_with_report(loss, &criterion(loss, plan), plan, &outputs, &targets)?;
    // Finite outputs can still overflow the loss's 32-bit arithmetic.
    if let Some((name, value)) = metrics.iter().find(|(_, value)| !value.is_finite()) {
        return Err(UserError::error(
            format!(
                "{}: the run's {} on this file is {value}, not a finite number: its outputs are \
                 too far from the targets for the model's 32-bit arithmetic",
                args.input.display(),
                name.as_str()
            ),
            Some("check the file's rows against the data the run was trained on"),
        ));
    }
    let rows = targets.len() / plan.width().max(1);
    let classes = match (report, plan.classes()) {
        (Some(report), Some(classes)) => Some(ClassTable::from_report(&report, classes)),
        _ => None,
    };
    let id = &predictor.record.id;
    if args.json {
        let mut value = json!({
            "run": id,
            "experiment": predictor.record.experiment,
            "input": args.input.display().to_string(),
            "metrics": metrics,
        });
        // `rows`, or `windows` for a windowed run.
        value[unit] = json!(rows);
        if let Some(table) = &classes {
            value["classes"] = json!(table.classes);
            value["confusion"] = json!(table.confusion);
        }
        return print(&format!("{}\n", serde_json::to_string_pretty(&value)?));
    }
    let names: Vec<&str> = metrics.iter().map(|(name, _)| name.as_str()).collect();
    let mut header = vec![unit];
    header.extend(&names);
    let mut table = format::table(&header);
    let mut row = vec![rows.to_string()];
    row.extend(metrics.iter().map(|(_, value)| number(value)));
    table.add_row(row);
    format::align_numbers(&mut table, 0);
    let mut out = format!(
        "run {id} ({}) on {}\n{}\n",
        predictor.record.experiment,
        args.input.display(),
        format::render(&table)
    );
    if let Some(table) = classes {
        out.push_str(&table.render("this file"));
    }
    print(&out)
}

/// A windowed run's targets and outputs on the windows of `table` whose
/// target (`horizon` rows after the window) is in the file, on the model's
/// scale as training scored its splits.
fn windows_scored(predictor: &Predictor, table: &Table) -> anyhow::Result<(Vec<f32>, Vec<f32>)> {
    let available = table.column_names();
    if let Some(target) = predictor
        .preprocessing
        .targets
        .columns()
        .into_iter()
        .find(|c| !available.contains(c))
    {
        return Err(UserError::error(
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
        return Err(UserError::error(
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
