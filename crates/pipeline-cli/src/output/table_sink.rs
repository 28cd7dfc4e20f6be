//! Writing `infer`'s output rows: CSV, Parquet or NDJSON, batch after
//! batch, on stdout or in a file that appears only once every row is
//! written (an error or an interruption leaves no file behind). Encoding
//! runs on a thread of its own ([`SinkThread`]), overlapping the prediction
//! of the next batch; a reader of stdout that goes away (`| head`) ends the
//! output quietly.

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use pipeline_predict::{json_f32, json_f64};
use polars::prelude::{
    AnyValue, CsvWriter, DataFrame, DataType, ParquetWriter, PolarsResult, SerWriter,
};
use serde_json::{Map, Value};

use crate::cli::OutputFormat;
use crate::exit::UserError;
use crate::output::file::AtomicFile;
use pipeline_registry::RegistryFiles;

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
pub struct SinkThread {
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
    pub fn write(&mut self, frame: DataFrame) -> anyhow::Result<bool> {
        Ok(self
            .sender
            .as_ref()
            .is_some_and(|sender| sender.send(Message::Rows(frame)).is_ok()))
    }

    /// Waits for every batch to be written and the output completed.
    pub fn finish(mut self) -> anyhow::Result<()> {
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
pub struct Sink {
    target: Shared,
    format: OutputFormat,
    label: String,
    batches: usize,
    parquet: Option<polars::io::parquet::write::BatchedWriter<Shared>>,
    schema: Option<polars::prelude::Schema>,
}

impl Sink {
    pub fn open(
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

    pub fn spawn(mut self) -> SinkThread {
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
                AnyValue::Float32(v) => json_f32(v),
                AnyValue::Float64(v) => json_f64(v),
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
