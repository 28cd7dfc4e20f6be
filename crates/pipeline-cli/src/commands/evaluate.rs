//! `pipeline evaluate --run RUN --input FILE`: the run's metrics on a
//! labelled file, computed exactly as training computed them on its splits
//! (same preprocessing, same loss).

use anyhow::Context as _;
use pipeline_data::{numeric_column, read_table_numeric};
use pipeline_train::regression_metrics;
use serde_json::json;

use crate::cli::EvaluateArgs;
use crate::commands::predictor::Predictor;
use crate::commands::shared::{Context, print};
use crate::output::format::{self, number};

pub fn evaluate(context: &Context, args: EvaluateArgs) -> anyhow::Result<()> {
    let registry = context.existing_registry()?;
    let predictor = Predictor::load(context, &registry, &args.run, args.experiment.as_deref())?;
    let target = &predictor.preprocessing.target;
    let mut numeric = predictor.preprocessing.float_columns();
    numeric.push(target.clone());
    let table = read_table_numeric(&args.input, &numeric)?;
    let targets: Vec<f32> = numeric_column(&table, target)
        .with_context(|| {
            format!(
                "{} needs the target column `{target}`",
                args.input.display()
            )
        })?
        .into_iter()
        .map(|v| v as f32)
        .collect();
    let predictions = predictor.predict(&table)?;
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
