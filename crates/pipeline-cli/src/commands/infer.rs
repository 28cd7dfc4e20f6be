//! `pipeline infer --run RUN (--input FILE|- | --row … | --json …)`:
//! predictions from a registered run. The weights and preprocessing are
//! checked against their sha256 first; the rows must carry every feature
//! column of the run. Rows stream through in batches (read, preprocessed,
//! predicted, written), so memory stays flat however large the input; the
//! output is the input rows plus the predictions (or only the predictions):
//! a `prediction` column (`prediction_TARGET` per target when there are
//! several) for regression, `label` and one `probability_CLASS` column per
//! class for classification; as CSV, Parquet or NDJSON, on stdout or in a
//! file that appears only once every row is written. A windowed run's
//! input is a series, read whole: each row where a window ends gets the
//! forecast `horizon` rows ahead (`Predictor::forecast`).

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use pipeline_data::{
    Batch, DataError, JsonRowsError, Position, PositionUnit, ReadAhead, Table, TableFormat,
    model_inputs, parse_rows, read_batches, read_batches_from, read_table, read_table_from,
    table_from_json_rows,
};
use polars::prelude::{
    AnyValue, CsvWriter, DataFrame, DataType, ParquetWriter, PolarsResult, SerWriter,
};
use serde_json::{Map, Value};

use crate::cli::{InferArgs, OutputFormat, StdinFormat};
use crate::commands::predictor::{Predictions, Predictor};
use crate::commands::shared::{Context, install_signal_handlers};
use crate::exit::{Interrupted, UserError};
use crate::output::file::AtomicFile;
use crate::output::format;
use crate::output::guard::RegistryFiles;
use crate::output::rows_progress::RowsProgress;

/// Batches parsed ahead of the one being predicted and written.
const READ_AHEAD: usize = 1;

pub fn infer(context: &Context, args: InferArgs) -> anyhow::Result<()> {
    let format = output_format(&args)?;
    let registry = context.registry_to_read()?;
    let predictor = Predictor::load(
        context,
        &registry,
        &args.run,
        args.experiment.as_deref(),
        args.device,
    )?;
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
        let predictions = if predictor.is_windowed() {
            predictor.forecast(&batch.table)?
        } else {
            let inputs = model_inputs(&batch.table, &predictor.preprocessing)
                .map_err(|e| batch.locate(e))?;
            let outputs = predictor.predict_inputs(&inputs)?;
            let outputs = predictor
                .finite(outputs, &batch.table.path, &|r| r + 1)
                .map_err(|e| batch.locate(e))?;
            predictor.predictions(outputs)
        };
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

/// The batch's rows (unless `only_predictions`) and their predictions.
fn with_predictions(
    batch: Batch,
    predictions: &Predictions,
    only_predictions: bool,
) -> anyhow::Result<DataFrame> {
    let mut frame = if only_predictions {
        DataFrame::empty()
    } else {
        batch.table.frame
    };
    let names = predictions.names();
    if let Some(taken) = frame
        .get_column_names()
        .iter()
        .find(|c| names.iter().any(|n| n == c.as_str()))
    {
        return Err(UserError::error(
            format!(
                "{} already has a column named `{taken}`, which the predictions would overwrite",
                batch.table.path.display()
            ),
            Some("rename that column, or write only the predictions with --only-predictions"),
        ));
    }
    for column in predictions.columns() {
        if frame.width() == 0 {
            frame = DataFrame::new_infer_height(vec![column])?;
        } else {
            frame
                .with_column(column)
                .context("cannot add the prediction columns")?;
        }
    }
    Ok(frame)
}

/// The rows to predict: a stream of batches from --input, or the one
/// table of --row / --json.
enum Rows {
    Stream(ReadAhead),
    Inline(Option<Table>),
}

impl Rows {
    fn next(&mut self) -> Option<Result<Batch, DataError>> {
        match self {
            Rows::Stream(batches) => batches.next(),
            Rows::Inline(table) => table.take().map(|table| {
                Ok(Batch {
                    table,
                    rows_before: 0,
                })
            }),
        }
    }

    fn position(&self) -> Position {
        match self {
            Rows::Stream(batches) => batches.position(),
            Rows::Inline(_) => Position {
                done: 0,
                total: Some(1),
                unit: PositionUnit::Rows,
            },
        }
    }

    fn rows_read(&self) -> usize {
        match self {
            Rows::Stream(batches) => batches.rows_read(),
            Rows::Inline(_) => 0,
        }
    }
}

/// The rows to predict, from whichever of --input, --row, --json was given.
/// `predictor` gives the hints a row of the run's own columns.
fn rows(args: &InferArgs, features: &[String], predictor: &Predictor) -> anyhow::Result<Rows> {
    if let Some(row) = &args.row {
        let label = PathBuf::from("--row");
        let table = table_from_json_rows(&label, &[parse_row(row, predictor)?])?;
        return Ok(Rows::Inline(Some(table)));
    }
    if let Some(json) = &args.json {
        let label = PathBuf::from("--json");
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
        return Ok(Rows::Inline(Some(table_from_json_rows(&label, &rows)?)));
    }
    match args.input.as_deref() {
        Some(path) if path == Path::new("-") => {
            let format = stdin_format(args.input_format);
            let batches = read_batches_from(
                Path::new("stdin"),
                format,
                std::io::stdin(),
                features,
                args.batch_rows.get(),
            )?;
            Ok(Rows::Stream(batches.read_ahead(READ_AHEAD)))
        }
        Some(path) => {
            let batches = read_batches(path, features, args.batch_rows.get())?;
            Ok(Rows::Stream(batches.read_ahead(READ_AHEAD)))
        }
        // clap requires one of --input, --row, --json.
        None => Err(UserError::error(
            "no rows to predict",
            Some("give --input FILE (or - for stdin), --row or --json"),
        )),
    }
}

/// The whole input of a windowed run as one table, read as training reads
/// its file (`read_table`: every column typed from the whole input), so a
/// series longer than a batch is typed once.
fn whole_series(args: &InferArgs, predictor: &Predictor) -> anyhow::Result<Rows> {
    match args.input.as_deref() {
        Some(path) if path == Path::new("-") => {
            let format = stdin_format(args.input_format);
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
                .context("cannot read stdin")?;
            Ok(Rows::Inline(Some(read_table_from(
                Path::new("stdin"),
                format,
                bytes,
            )?)))
        }
        Some(path) => Ok(Rows::Inline(Some(read_table(path)?))),
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

/// Where the output goes: stdout, or a file that is renamed into place
/// only when every row is written (an error or an interruption leaves no
/// file behind).
enum Target {
    Stdout(std::io::Stdout),
    File(AtomicFile),
}

/// The target, shared between the sink and polars' Parquet writer, which
/// owns its writer until the footer is written.
#[derive(Clone)]
struct Shared(Arc<Mutex<Target>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut *self
            .0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
        {
            Target::Stdout(out) => out.write(buf),
            Target::File(file) => file.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut *self
            .0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
        {
            Target::Stdout(out) => out.flush(),
            Target::File(file) => file.flush(),
        }
    }
}

/// A [`Sink`] on a thread of its own: encoding the output (formatting
/// floats as text, mostly) overlaps predicting the next batch. Dropped
/// without [`SinkThread::finish`] (an error, an interruption), it waits for
/// the writer to stop and discard the unfinished file.
struct SinkThread {
    sender: Option<std::sync::mpsc::SyncSender<Message>>,
    handle: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

enum Message {
    Rows(DataFrame),
    /// Every row was sent: complete the output.
    End,
}

impl SinkThread {
    /// Hands one batch to the writer; false once the writer has stopped
    /// (stdout closed by its reader, or an error that `finish` reports).
    fn write(&mut self, frame: DataFrame) -> anyhow::Result<bool> {
        Ok(self
            .sender
            .as_ref()
            .is_some_and(|sender| sender.send(Message::Rows(frame)).is_ok()))
    }

    /// Waits for every batch to be written and the output completed.
    fn finish(mut self) -> anyhow::Result<()> {
        if let Some(sender) = self.sender.take() {
            // A writer that already stopped reports why when joined.
            let _ = sender.send(Message::End);
        }
        match self.handle.take() {
            Some(handle) => handle
                .join()
                .map_err(|_| anyhow::anyhow!("the output writer stopped unexpectedly"))?,
            None => Ok(()),
        }
    }
}

impl Drop for SinkThread {
    fn drop(&mut self) {
        drop(self.sender.take());
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

/// Encodes batches of output rows, one after the other.
struct Sink {
    target: Shared,
    format: OutputFormat,
    label: String,
    batches: usize,
    parquet: Option<polars::io::parquet::write::BatchedWriter<Shared>>,
    schema: Option<polars::prelude::Schema>,
}

impl Sink {
    fn open(
        output: Option<&Path>,
        format: OutputFormat,
        registry: &RegistryFiles,
    ) -> anyhow::Result<Sink> {
        let (target, label) = match output {
            None => (Target::Stdout(std::io::stdout()), "stdout".to_owned()),
            Some(path) => (
                Target::File(AtomicFile::create(path, registry)?),
                path.display().to_string(),
            ),
        };
        Ok(Sink {
            target: Shared(Arc::new(Mutex::new(target))),
            format,
            label,
            batches: 0,
            parquet: None,
            schema: None,
        })
    }

    fn spawn(mut self) -> SinkThread {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Message>(1);
        let handle = std::thread::spawn(move || {
            loop {
                match receiver.recv() {
                    Ok(Message::Rows(frame)) => {
                        if !self.write(frame)? {
                            // stdout was closed: the output ends here, quietly.
                            return Ok(());
                        }
                    }
                    Ok(Message::End) => return self.finish(),
                    // Abandoned: dropping the sink removes an unfinished file.
                    Err(_) => return Ok(()),
                }
            }
        });
        SinkThread {
            sender: Some(sender),
            handle: Some(handle),
        }
    }

    /// Writes one batch; false when stdout was closed by its reader.
    fn write(&mut self, frame: DataFrame) -> anyhow::Result<bool> {
        let first = self.batches == 0;
        self.batches += 1;
        let mut bytes = Vec::new();
        match self.format {
            OutputFormat::Csv => {
                let mut frame = whole_floats_as_integers(frame)?;
                if first {
                    csv_header(&frame, &mut bytes);
                }
                CsvWriter::new(&mut bytes)
                    .include_header(false)
                    .finish(&mut frame)?
            }
            OutputFormat::Ndjson => write_ndjson(&whole_floats_as_integers(frame)?, &mut bytes)?,
            OutputFormat::Parquet => {
                let mut frame = self.conform(frame)?;
                // Polars writes row groups from aligned chunks only.
                frame.align_chunks_par();
                if self.parquet.is_none() {
                    let writer = ParquetWriter::new(self.target.clone())
                        .batched(frame.schema())
                        .with_context(|| format!("cannot write Parquet to {}", self.label))?;
                    self.parquet = Some(writer);
                }
                if let Some(writer) = &mut self.parquet {
                    writer
                        .write_batch(&frame)
                        .with_context(|| format!("cannot write Parquet to {}", self.label))?;
                }
                return Ok(true);
            }
        }
        let mut target = self.target.clone();
        match std::io::Write::write_all(&mut target, &bytes) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
            Err(e) => Err(e).with_context(|| format!("cannot write to {}", self.label)),
        }
    }

    /// `frame` with the column types of the first batch: a Parquet file
    /// has one schema.
    fn conform(&mut self, frame: DataFrame) -> anyhow::Result<DataFrame> {
        let Some(schema) = &self.schema else {
            self.schema = Some(frame.schema().as_ref().clone());
            return Ok(frame);
        };
        let mut columns = Vec::with_capacity(frame.width());
        for column in frame.columns() {
            let want = schema.get(column.name()).cloned();
            match want {
                Some(dtype) if &dtype != column.dtype() => {
                    let cast = column.strict_cast(&dtype).map_err(|_| {
                        UserError::error(
                            format!(
                                "column `{}` holds {} values in its first rows but {} later; \
                                 a Parquet file needs one type per column",
                                column.name(),
                                dtype,
                                column.dtype()
                            ),
                            Some("write CSV or NDJSON instead (--format csv), or fix the column"),
                        )
                    })?;
                    columns.push(cast);
                }
                _ => columns.push(column.clone()),
            }
        }
        Ok(DataFrame::new_infer_height(columns)?)
    }

    /// Ends the output: the Parquet footer, then the file renamed into
    /// place (or stdout flushed).
    fn finish(mut self) -> anyhow::Result<()> {
        if let Some(writer) = self.parquet.take() {
            writer
                .finish()
                .with_context(|| format!("cannot write Parquet to {}", self.label))?;
        }
        let target = Arc::try_unwrap(self.target.0)
            .ok()
            .and_then(|m| m.into_inner().ok())
            .context("the output is still in use")?;
        match target {
            Target::File(file) => file.commit(),
            Target::Stdout(mut out) => match std::io::Write::flush(&mut out) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => other.context("cannot write to stdout"),
            },
        }
    }
}

/// `frame` with each `f64` column whose values are all whole numbers (or
/// empty) as integers. The input's feature columns are read as floats, so
/// that every batch types them alike; written back as text, `59` would
/// otherwise come out as `59.0`. Not for Parquet, whose columns keep one
/// type from batch to batch; predictions are `f32` and stay as they are.
fn whole_floats_as_integers(frame: DataFrame) -> anyhow::Result<DataFrame> {
    /// Integers that `f64` holds exactly.
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    let whole: Vec<bool> = frame
        .columns()
        .iter()
        .map(|column| {
            column.dtype() == &DataType::Float64
                && column.f64().is_ok_and(|values| {
                    values
                        .iter()
                        .flatten()
                        .all(|v| v.fract() == 0.0 && v.abs() < EXACT)
                })
        })
        .collect();
    if !whole.contains(&true) {
        return Ok(frame);
    }
    let columns = frame
        .columns()
        .iter()
        .zip(whole)
        .map(|(column, whole)| {
            if whole {
                column.cast(&DataType::Int64)
            } else {
                Ok(column.clone())
            }
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    Ok(DataFrame::new_infer_height(columns)?)
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
                AnyValue::Float32(v) => format::json_f32(v),
                AnyValue::Float64(v) => format::json_f64(v),
                other => Value::String(other.str_value().into_owned()),
            };
            object.insert(column.name().to_string(), value);
        }
        serde_json::to_writer(&mut *out, &Value::Object(object))?;
        out.push(b'\n');
    }
    Ok(())
}

/// The CSV header line of `frame`'s columns, quoted as polars quotes fields
/// (only names holding a comma, a quote or a line break). Written here
/// because polars' own header writer fills an 8 MiB block of zeros on first
/// use, a third of a one-row `infer`'s time.
fn csv_header(frame: &DataFrame, out: &mut Vec<u8>) {
    for (i, name) in frame.get_column_names().iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let name = name.as_str();
        if name.contains([',', '"', '\n', '\r']) {
            out.push(b'"');
            out.extend_from_slice(name.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(name.as_bytes());
        }
    }
    out.push(b'\n');
}
