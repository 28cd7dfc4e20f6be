//! `pipeline evaluate --run RUN --input FILE`: the run's metrics on a
//! labelled file, computed exactly as training computed them on its splits
//! (same preprocessing, same loss). The file is read in batches.

use anyhow::Context as _;
use pipeline_data::{BATCH_ROWS, model_inputs, numeric_column, read_batches};
use pipeline_train::regression_metrics;
use serde_json::json;

use crate::cli::EvaluateArgs;
use crate::commands::predictor::Predictor;
use crate::commands::shared::{Context, print};
use crate::output::format::{self, number};

pub fn evaluate(context: &Context, args: EvaluateArgs) -> anyhow::Result<()> {
    let registry = context.existing_registry()?;
    let predictor = Predictor::load(
        context,
        &registry,
        &args.run,
        args.experiment.as_deref(),
        args.device.into(),
    )?;
    let target = &predictor.preprocessing.target;
    let mut numeric = predictor.preprocessing.float_columns();
    numeric.push(target.clone());
    // Batch by batch, so memory holds two floats per row, not the file.
    let mut targets: Vec<f32> = Vec::new();
    let mut predictions: Vec<f32> = Vec::new();
    for batch in read_batches(&args.input, &numeric, BATCH_ROWS)?.read_ahead(1) {
        let batch = batch?;
        let values = numeric_column(&batch.table, target)
            .map_err(|e| batch.locate(e))
            .with_context(|| {
                format!(
                    "{} needs the target column `{target}`",
                    args.input.display()
                )
            })?;
        targets.extend(values.into_iter().map(|v| v as f32));
        let inputs =
            model_inputs(&batch.table, &predictor.preprocessing).map_err(|e| batch.locate(e))?;
        predictions.extend(predictor.predict_inputs(&inputs)?);
    }
    let metrics = regression_metrics(&predictor.spec.loss, &predictions, &targets);
    let id = &predictor.record.id;
    if args.json {
        let value = json!({
            "run": id,
            "experiment": predictor.record.experiment,
            "input": args.input.display().to_string(),
            "rows": targets.len(),
            "metrics": metrics,
        });
        return print(&format!("{}\n", serde_json::to_string_pretty(&value)?));
    }
    let mut table = format::table(&["rows", "loss", "mse", "rmse", "mae", "r2"]);
    table.add_row(vec![
        targets.len().to_string(),
        number(metrics.loss),
        number(metrics.mse),
        number(metrics.rmse),
        number(metrics.mae),
        number(metrics.r2),
    ]);
    format::align_numbers(&mut table, 0);
    print(&format!(
        "run {id} ({}) on {}\n{}\n",
        predictor.record.experiment,
        args.input.display(),
        format::render(&table)
    ))
}
