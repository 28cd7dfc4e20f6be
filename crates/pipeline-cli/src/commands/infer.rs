//! `pipeline infer --run RUN (--input FILE|- | --row … | --json …)`:
//! predictions from a registered run. The weights and preprocessing are
//! checked against their sha256 first; the rows must carry every feature
//! column of the run; the output is the input rows plus a `prediction`
//! column (or only the predictions), as CSV, Parquet or NDJSON, on stdout or
//! written atomically to a file.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use pipeline_data::{
    Table, TableFormat, read_table_from, read_table_numeric, table_from_json_rows,
};
use polars::prelude::{AnyValue, Column, CsvWriter, DataFrame, ParquetWriter, SerWriter};
use serde_json::{Map, Value};

use crate::cli::{InferArgs, OutputFormat, StdinFormat};
use crate::commands::predictor::Predictor;
use crate::commands::shared::{Context, print_bytes};
use crate::exit::UserError;
use crate::output::file::write_atomically;

/// The column predictions are written to.
const PREDICTION: &str = "prediction";

pub fn infer(context: &Context, args: InferArgs) -> anyhow::Result<()> {
    let format = output_format(&args)?;
    let registry = context.existing_registry()?;
    let predictor = Predictor::load(context, &registry, &args.run, args.experiment.as_deref())?;
    let table = rows(&args, &predictor.preprocessing.float_columns())?;
    let predictions = predictor.predict(&table)?;

    let mut frame = if args.only_predictions {
        DataFrame::empty()
    } else {
        table.frame
    };
    if frame
        .get_column_names()
        .iter()
        .any(|c| c.as_str() == PREDICTION)
    {
        return Err(UserError::error(
            format!(
                "{} already has a column named `{PREDICTION}`",
                table.path.display()
            ),
            Some("rename that column, or write only the predictions with --only-predictions"),
        ));
    }
    let column = Column::new(PREDICTION.into(), predictions);
    if frame.width() == 0 {
        frame = DataFrame::new_infer_height(vec![column])?;
    } else {
        frame
            .with_column(column)
            .context("cannot add the prediction column")?;
    }
    let bytes = encode(&mut frame, format)?;
    match &args.output {
        None => print_bytes(&bytes),
        Some(path) => write_atomically(path, &bytes),
    }
}

/// The rows to predict, from whichever of --input, --row, --json was given.
fn rows(args: &InferArgs, features: &[String]) -> anyhow::Result<Table> {
    if let Some(row) = &args.row {
        let label = PathBuf::from("--row");
        return Ok(table_from_json_rows(&label, &[parse_row(row)?])?);
    }
    if let Some(json) = &args.json {
        let label = PathBuf::from("--json");
        let rows = match serde_json::from_str::<Value>(json) {
            Ok(Value::Object(row)) => vec![row],
            Ok(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::Object(row) => Ok(row),
                    _ => Err(UserError::error(
                        format!("--json: item {} of the array is not an object", i + 1),
                        Some(r#"write rows as objects: '[{"age": 0.04, "bmi": 0.06}]'"#),
                    )),
                })
                .collect::<anyhow::Result<_>>()?,
            Ok(_) => {
                return Err(UserError::error(
                    "--json must be an object or an array of objects",
                    Some(r#"e.g. --json '{"age": 0.04, "bmi": 0.06}'"#),
                ));
            }
            Err(e) => {
                return Err(UserError::error(
                    format!("--json is not valid JSON: {e}"),
                    Some(r#"e.g. --json '{"age": 0.04, "bmi": 0.06}'"#),
                ));
            }
        };
        return Ok(table_from_json_rows(&label, &rows)?);
    }
    match args.input.as_deref() {
        Some(path) if path == Path::new("-") => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut bytes)
                .context("cannot read the rows from stdin")?;
            let format = match args.input_format {
                StdinFormat::Csv => TableFormat::Csv,
                StdinFormat::Ndjson => TableFormat::Ndjson,
            };
            Ok(read_table_from(Path::new("stdin"), format, bytes)?)
        }
        Some(path) => Ok(read_table_numeric(path, features)?),
        // clap requires one of --input, --row, --json.
        None => Err(UserError::error(
            "no rows to predict",
            Some("give --input FILE (or - for stdin), --row or --json"),
        )),
    }
}

/// `age=0.04,sex=0.05` as one JSON row: numbers where they parse, else text.
fn parse_row(text: &str) -> anyhow::Result<Map<String, Value>> {
    let mut row = Map::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(UserError::error(
                format!("--row: `{pair}` is not COLUMN=VALUE"),
                Some("e.g. --row age=0.04,sex=0.05,bmi=0.06"),
            ));
        };
        let (key, value) = (key.trim(), value.trim());
        if row.contains_key(key) {
            return Err(UserError::error(
                format!("--row: column `{key}` is given twice"),
                None,
            ));
        }
        let value = match value.parse::<f64>() {
            Ok(n) => serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number),
            Err(_) if value.is_empty() => Value::Null,
            Err(_) => Value::String(value.to_owned()),
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

fn encode(frame: &mut DataFrame, format: OutputFormat) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    match format {
        OutputFormat::Csv => CsvWriter::new(&mut bytes)
            .include_header(true)
            .finish(frame)?,
        OutputFormat::Parquet => {
            ParquetWriter::new(&mut bytes).finish(frame)?;
        }
        OutputFormat::Ndjson => write_ndjson(frame, &mut bytes)?,
    }
    Ok(bytes)
}

/// One JSON object per row, keys in column order.
fn write_ndjson(frame: &DataFrame, out: &mut Vec<u8>) -> anyhow::Result<()> {
    let columns = frame.columns();
    for row in 0..frame.height() {
        let mut object = Map::new();
        for column in columns {
            let value = match column.get(row)? {
                AnyValue::Null => Value::Null,
                AnyValue::Boolean(b) => Value::Bool(b),
                AnyValue::String(s) => Value::String(s.to_owned()),
                AnyValue::StringOwned(s) => Value::String(s.to_string()),
                AnyValue::Int8(v) => Value::from(v),
                AnyValue::Int16(v) => Value::from(v),
                AnyValue::Int32(v) => Value::from(v),
                AnyValue::Int64(v) => Value::from(v),
                AnyValue::UInt8(v) => Value::from(v),
                AnyValue::UInt16(v) => Value::from(v),
                AnyValue::UInt32(v) => Value::from(v),
                AnyValue::UInt64(v) => Value::from(v),
                AnyValue::Float32(v) => number(f64::from(v)),
                AnyValue::Float64(v) => number(v),
                other => Value::String(other.str_value().into_owned()),
            };
            object.insert(column.name().to_string(), value);
        }
        serde_json::to_writer(&mut *out, &Value::Object(object))?;
        out.push(b'\n');
    }
    Ok(())
}

/// A JSON number; NaN and infinities (which JSON lacks) become null.
fn number(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}
