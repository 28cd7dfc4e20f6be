//! `pipeline infer --run RUN (--input FILE|- | --row … | --json …)`:
//! predictions from a registered run. The weights and preprocessing are
//! checked against their sha256 first; the rows must carry every feature
//! column of the run. Rows stream through in batches (read, preprocessed,
//! predicted, written), so memory stays flat however large the input; the
//! output is the input rows plus the predictions (or only the predictions):
//! a `prediction` column (`prediction_TARGET` per target when there are
//! several; `--prediction-column` names it otherwise), holding the value of
//! a regression or the label of a classification, plus one
//! `probability_CLASS` column per class; never the target's own name, so a
//! labelled file predicts as it is. As CSV, Parquet or NDJSON, on stdout or in a
//! file that appears only once every row is written. A windowed run's
//! input is a series, read whole: each row where a window ends gets the
//! forecast `horizon` rows ahead (`Predictor::forecast`). This file turns
//! the arguments into rows and an output; [`pipeline_predict`] predicts.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use pipeline_data::{JsonRowsError, TableFormat, parse_rows, table_from_json_rows};
use pipeline_predict::{Predictor, Rows, with_predictions};
use serde_json::{Map, Value};

use crate::cli::{InferArgs, OutputFormat, StdinFormat};
use crate::commands::shared::{Context, install_signal_handlers};
use crate::commands::stored_run;
use crate::exit::{Interrupted, UserError};
use crate::output::rows_progress::RowsProgress;
use crate::output::table_sink::Sink;

pub fn infer(context: &Context, args: InferArgs) -> anyhow::Result<()> {
    let format = output_format(&args)?;
    let registry = context.registry_to_read()?;
    let predictor = match &args.sweep {
        Some(sweep) => {
            stored_run::predictor_in_sweep(context, &registry, &args.run, sweep, args.device)?
        }
        None => stored_run::predictor(
            context,
            &registry,
            &args.run,
            args.experiment.as_deref(),
            args.device,
        )?,
    }
    .with_prediction_column(args.prediction_column.clone());
    let interrupt = install_signal_handlers()?;
    let mut rows = if predictor.is_windowed() {
        // Windows span rows: the series is read whole, as training read it.
        whole_series(&args, &predictor)?
    } else {
        rows(&args, &predictor.preprocessing.float_columns(), &predictor)?
    };
    let progress = RowsProgress::new(context.global.quiet, rows.position());
    let mut sink = Sink::open(args.output.as_deref(), format, &context.registry_files())?.spawn();
    while let Some(batch) = rows.next() {
        if interrupt.load(Ordering::Relaxed) {
            return Err(anyhow::Error::new(Interrupted));
        }
        let batch = batch?;
        let predictions = predictor.predict_batch(&batch)?;
        let frame = with_predictions(batch, &predictions, args.only_predictions)?;
        if !sink.write(frame)? {
            // The reader of stdout went away (`| head`): nothing more to do.
            break;
        }
        progress.update(rows.position(), rows.rows_read());
    }
    progress.finish();
    sink.finish()
}

/// The rows to predict, from whichever of --input, --row, --json was given.
/// `predictor` gives the hints a row of the run's own columns.
fn rows(args: &InferArgs, features: &[String], predictor: &Predictor) -> anyhow::Result<Rows> {
    if let Some(row) = &args.row {
        let label = PathBuf::from("--row");
        let table = table_from_json_rows(&label, &[parse_row(row, predictor)?])?;
        return Ok(Rows::inline(table));
    }
    if let Some(json) = &args.json {
        let label = PathBuf::from("--json");
        let rows = json_rows(json, predictor)?;
        return Ok(Rows::inline(table_from_json_rows(&label, &rows)?));
    }
    match args.input.as_deref() {
        Some(path) if path == Path::new("-") => Ok(Rows::from_reader(
            Path::new("stdin"),
            stdin_format(args.input_format),
            std::io::stdin(),
            features,
            args.batch_rows.get(),
        )?),
        Some(path) => Ok(Rows::from_file(path, features, args.batch_rows.get())?),
        // clap requires one of --input, --row, --json.
        None => Err(UserError::error(
            "no rows to predict",
            Some("give --input FILE (or - for stdin), --row or --json"),
        )),
    }
}

/// The whole input of a windowed run as one table, so a series longer
/// than a batch is typed once.
fn whole_series(args: &InferArgs, predictor: &Predictor) -> anyhow::Result<Rows> {
    match args.input.as_deref() {
        Some(path) if path == Path::new("-") => Ok(Rows::series_from_reader(
            Path::new("stdin"),
            stdin_format(args.input_format),
            std::io::stdin(),
        )?),
        Some(path) => Ok(Rows::series_from_file(path)?),
        // --row / --json: one table already.
        None => rows(args, &[], predictor),
    }
}

/// How stdin's rows are encoded (`--input-format`).
fn stdin_format(format: StdinFormat) -> TableFormat {
    match format {
        StdinFormat::Csv => TableFormat::Csv,
        StdinFormat::Ndjson => TableFormat::Ndjson,
    }
}

/// The rows of `--json`: one object or an array of them.
fn json_rows(json: &str, predictor: &Predictor) -> anyhow::Result<Vec<Map<String, Value>>> {
    let rows = match parse_rows(json.as_bytes()) {
        Ok(Value::Object(row)) => vec![row],
        Ok(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::Object(row) => Ok(row),
                _ => Err(UserError::error(
                    format!("--json: item {} of the array is not an object", i + 1),
                    Some(&format!(
                        "write rows as objects: '[{}]'",
                        predictor.example_json()
                    )),
                )),
            })
            .collect::<anyhow::Result<_>>()?,
        Ok(_) => {
            return Err(UserError::error(
                "--json must be an object or an array of objects",
                Some(&format!("e.g. --json '{}'", predictor.example_json())),
            ));
        }
        Err(e @ JsonRowsError::DuplicateKey { .. }) => {
            return Err(UserError::error(
                format!("--json: {e}"),
                Some("give each column once in a row"),
            ));
        }
        Err(JsonRowsError::Invalid(e)) => {
            return Err(UserError::error(
                format!("--json is not valid JSON: {e}"),
                Some(&format!("e.g. --json '{}'", predictor.example_json())),
            ));
        }
    };
    if rows.is_empty() {
        return Err(UserError::error(
            "--json is an empty array: there are no rows to predict",
            Some(&format!(
                "give at least one row: --json '[{}]'",
                predictor.example_json()
            )),
        ));
    }
    Ok(rows)
}

/// `age=50,sex=1` as one JSON row: finite numbers where they parse, else
/// text (so `inf` is reported as the text it is); the hint shows a row of
/// `predictor`'s own columns.
fn parse_row(text: &str, predictor: &Predictor) -> anyhow::Result<Map<String, Value>> {
    let mut row = Map::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(UserError::error(
                format!("--row: `{pair}` is not COLUMN=VALUE"),
                Some(&format!("e.g. --row {}", predictor.example_row())),
            ));
        };
        let (key, value) = (key.trim(), value.trim());
        if row.contains_key(key) {
            return Err(UserError::error(
                format!("--row: column `{key}` is given twice"),
                None,
            ));
        }
        let number = value
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64);
        let value = match number {
            Some(n) => Value::Number(n),
            None if value.is_empty() => Value::Null,
            None => Value::String(value.to_owned()),
        };
        row.insert(key.to_owned(), value);
    }
    Ok(row)
}

fn output_format(args: &InferArgs) -> anyhow::Result<OutputFormat> {
    if let Some(format) = args.format {
        return Ok(format);
    }
    let Some(path) = &args.output else {
        return Ok(OutputFormat::Csv);
    };
    let name = path.to_string_lossy().to_lowercase();
    match TableFormat::from_name(&name) {
        Some(TableFormat::Csv) => Ok(OutputFormat::Csv),
        Some(TableFormat::Parquet) => Ok(OutputFormat::Parquet),
        Some(TableFormat::Ndjson) => Ok(OutputFormat::Ndjson),
        Some(TableFormat::CsvGz) | None => Err(UserError::error(
            format!("cannot tell the output format of {}", path.display()),
            Some("name it .csv, .parquet or .ndjson, or pass --format csv|parquet|ndjson"),
        )),
    }
}
