//! A table read in batches of rows, so that inference over a file of any
//! size keeps memory flat. CSV (also gzip-compressed) and NDJSON are cut at
//! record boundaries as they stream in and each batch is parsed on its own;
//! Parquet is read by row slices. Errors name rows and lines of the whole
//! input, not of the batch.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use polars::prelude::{ParquetReader, SerReader};

use crate::error::DataError;
use crate::source::{Table, TableFormat, check_exists, format_of, parse_csv_numeric, parse_ndjson};

/// Rows per batch unless told otherwise: a few megabytes of text for
/// typical tables, enough for polars to parse in parallel.
pub const BATCH_ROWS: usize = 65_536;

/// Rows of the input, in order.
#[derive(Debug)]
pub struct Batch {
    pub table: Table,
    /// How many rows of the input came before this batch.
    pub rows_before: usize,
}

impl Batch {
    /// Shifts an error about this batch's rows to the row numbers of the
    /// whole input.
    pub fn locate(&self, error: DataError) -> DataError {
        error.after_rows(self.rows_before)
    }
}

/// How far the reading has got, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub done: u64,
    /// Unknown for stdin.
    pub total: Option<u64>,
    pub unit: PositionUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PositionUnit {
    Bytes,
    Rows,
}

/// An iterator of [`Batch`]es; always yields at least one (possibly empty)
/// batch, so that a header-only file still gives a header-only output.
pub struct Batches {
    label: PathBuf,
    source: Source,
    numeric: Vec<String>,
    batch_rows: usize,
    rows_done: usize,
    lines_done: usize,
    yielded: bool,
    finished: bool,
    bytes: Arc<AtomicU64>,
    total_bytes: Option<u64>,
}

enum Source {
    Csv {
        reader: Box<dyn BufRead + Send>,
        header: Vec<u8>,
    },
    Ndjson {
        reader: Box<dyn BufRead + Send>,
    },
    Parquet {
        path: PathBuf,
        rows: usize,
    },
}

/// Reads `path` in batches of `batch_rows`; `numeric` names the columns
/// that must be numbers (they are parsed as floats directly).
pub fn read_batches(
    path: &Path,
    numeric: &[String],
    batch_rows: usize,
) -> Result<Batches, DataError> {
    check_exists(path)?;
    let format = format_of(path)?;
    let io = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    if format == TableFormat::Parquet {
        let file = File::open(path).map_err(io)?;
        let rows = ParquetReader::new(file)
            .num_rows()
            .map_err(|source| DataError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        return Ok(Batches::new(
            path,
            Source::Parquet {
                path: path.to_path_buf(),
                rows,
            },
            numeric,
            batch_rows,
            Arc::default(),
            Some(rows as u64),
        ));
    }
    let file = File::open(path).map_err(io)?;
    let total = file.metadata().map_err(io)?.len();
    stream_batches(path, format, file, numeric, batch_rows, Some(total))
}

/// Reads a stream (stdin) of CSV or NDJSON in batches; `label` names it in
/// messages.
pub fn read_batches_from(
    label: &Path,
    format: TableFormat,
    reader: impl Read + Send + 'static,
    numeric: &[String],
    batch_rows: usize,
) -> Result<Batches, DataError> {
    stream_batches(label, format, reader, numeric, batch_rows, None)
}

/// Batches of a text stream (a file or stdin) of `total` bytes when known:
/// counted as read, decompressed when gzip.
fn stream_batches(
    label: &Path,
    format: TableFormat,
    reader: impl Read + Send + 'static,
    numeric: &[String],
    batch_rows: usize,
    total: Option<u64>,
) -> Result<Batches, DataError> {
    let bytes = Arc::new(AtomicU64::new(0));
    let counted = Counting {
        inner: reader,
        count: Arc::clone(&bytes),
    };
    let reader: Box<dyn BufRead + Send> = match format {
        TableFormat::CsvGz => Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::read::MultiGzDecoder::new(BufReader::new(counted)),
        )),
        _ => Box::new(BufReader::with_capacity(1 << 20, counted)),
    };
    let text = match format {
        TableFormat::Ndjson => TableFormat::Ndjson,
        TableFormat::Csv | TableFormat::CsvGz => TableFormat::Csv,
        TableFormat::Parquet => {
            return Err(DataError::UnsupportedFormat {
                path: label.to_path_buf(),
                extension: "parquet (from a stream)".into(),
            });
        }
    };
    text_batches(label, text, reader, numeric, batch_rows, bytes, total)
}

fn text_batches(
    label: &Path,
    format: TableFormat,
    mut reader: Box<dyn BufRead + Send>,
    numeric: &[String],
    batch_rows: usize,
    bytes: Arc<AtomicU64>,
    total: Option<u64>,
) -> Result<Batches, DataError> {
    let source = if format == TableFormat::Ndjson {
        Source::Ndjson { reader }
    } else {
        let mut header = Vec::new();
        let mut lines = 0;
        read_record(&mut reader, &mut header, &mut lines).map_err(|source| DataError::Io {
            path: label.to_path_buf(),
            source,
        })?;
        if header.iter().all(u8::is_ascii_whitespace) {
            return Err(DataError::Empty {
                path: label.to_path_buf(),
            });
        }
        if header.last() != Some(&b'\n') {
            header.push(b'\n');
        }
        Source::Csv { reader, header }
    };
    let mut batches = Batches::new(label, source, numeric, batch_rows, bytes, total);
    // The header is line 1 of a CSV.
    if matches!(batches.source, Source::Csv { .. }) {
        batches.lines_done = 1;
    }
    Ok(batches)
}

impl Batches {
    fn new(
        label: &Path,
        source: Source,
        numeric: &[String],
        batch_rows: usize,
        bytes: Arc<AtomicU64>,
        total_bytes: Option<u64>,
    ) -> Batches {
        Batches {
            label: label.to_path_buf(),
            source,
            numeric: numeric.to_vec(),
            batch_rows: batch_rows.max(1),
            rows_done: 0,
            lines_done: 0,
            yielded: false,
            finished: false,
            bytes,
            total_bytes,
        }
    }

    /// The input's name in messages.
    pub fn label(&self) -> &Path {
        &self.label
    }

    /// Bytes read so far (of the file as stored, so compressed bytes for a
    /// `.csv.gz`), or rows for Parquet.
    pub fn position(&self) -> Position {
        match self.source {
            Source::Parquet { rows, .. } => Position {
                done: self.rows_done as u64,
                total: Some(rows as u64),
                unit: PositionUnit::Rows,
            },
            _ => Position {
                done: self.bytes.load(Ordering::Relaxed),
                total: self.total_bytes,
                unit: PositionUnit::Bytes,
            },
        }
    }

    /// Rows read so far.
    pub fn rows_read(&self) -> usize {
        self.rows_done
    }

    /// The next batch of rows, or `None` once the input is exhausted (an
    /// empty input still gives one batch, with its columns and no row).
    fn next_batch(&mut self) -> Result<Option<Batch>, DataError> {
        let rows_before = self.rows_done;
        let table = match &mut self.source {
            Source::Parquet { path, rows } => {
                if rows_before >= *rows && self.yielded {
                    return Ok(None);
                }
                let take = self.batch_rows.min(*rows - rows_before.min(*rows));
                read_parquet_slice(path, rows_before, take)?
            }
            Source::Csv { reader, header } => {
                let mut text = header.clone();
                let (records, lines) =
                    read_csv_records(reader, &mut text, self.batch_rows, &self.label)?;
                self.lines_done += lines;
                if records == 0 && self.yielded {
                    return Ok(None);
                }
                parse_csv_numeric(&self.label, text, &self.numeric)
                    .map_err(|e| e.after_rows(rows_before))?
            }
            Source::Ndjson { reader } => {
                let mut text = Vec::new();
                let (records, lines) =
                    read_ndjson_records(reader, &mut text, self.batch_rows, &self.label)?;
                let lines_before = self.lines_done;
                self.lines_done += lines;
                if records == 0 && self.yielded {
                    return Ok(None);
                }
                parse_ndjson(&self.label, &text)
                    .map_err(|e| e.after_lines(lines_before).after_rows(rows_before))?
            }
        };
        self.yielded = true;
        self.rows_done += table.frame.height();
        Ok(Some(Batch { table, rows_before }))
    }
}

/// `take` rows of the Parquet file `path` from row `first` (0-based).
fn read_parquet_slice(path: &Path, first: usize, take: usize) -> Result<Table, DataError> {
    let file = File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let frame = ParquetReader::new(file)
        .with_slice(Some((first, take)))
        .finish()
        .map_err(|source| DataError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(Table {
        path: path.to_path_buf(),
        frame,
    })
}

/// Appends up to `batch_rows` CSV records from `reader` to `text`, blank
/// lines dropped (as in a whole-file read): the records and the lines
/// read. `label` names the input in errors.
fn read_csv_records(
    reader: &mut (impl BufRead + ?Sized),
    text: &mut Vec<u8>,
    batch_rows: usize,
    label: &Path,
) -> Result<(usize, usize), DataError> {
    let mut records = 0;
    let mut lines = 0;
    while records < batch_rows {
        let start = text.len();
        let got = read_record(reader, text, &mut lines).map_err(|source| DataError::Io {
            path: label.to_path_buf(),
            source,
        })?;
        if !got {
            break;
        }
        if text[start..].iter().all(u8::is_ascii_whitespace) {
            // A blank line is no row (as in a whole-file read).
            text.truncate(start);
        } else {
            records += 1;
        }
    }
    Ok((records, lines))
}

/// Appends up to `batch_rows` non-blank NDJSON lines from `reader` to
/// `text` (blank lines kept, counted as lines): the records and the lines
/// read. `label` names the input in errors.
fn read_ndjson_records(
    reader: &mut (impl BufRead + ?Sized),
    text: &mut Vec<u8>,
    batch_rows: usize,
    label: &Path,
) -> Result<(usize, usize), DataError> {
    let mut records = 0;
    let mut lines = 0;
    while records < batch_rows {
        let start = text.len();
        let n = reader
            .read_until(b'\n', text)
            .map_err(|source| DataError::Io {
                path: label.to_path_buf(),
                source,
            })?;
        if n == 0 {
            break;
        }
        lines += 1;
        if !text[start..].iter().all(u8::is_ascii_whitespace) {
            records += 1;
        }
    }
    Ok((records, lines))
}

impl Iterator for Batches {
    type Item = Result<Batch, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let next = self.next_batch();
        if !matches!(next, Ok(Some(_))) {
            self.finished = true;
        }
        next.transpose()
    }
}

/// Each column's name and type as read from the first `rows` rows (the
/// whole schema for Parquet): what `pipeline check` reports without reading
/// a large file through.
pub fn column_types(path: &Path, rows: usize) -> Result<Vec<(String, String)>, DataError> {
    let mut batches = read_batches(path, &[], rows)?;
    let Some(first) = batches.next().transpose()? else {
        return Ok(Vec::new());
    };
    Ok(first
        .table
        .frame
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), c.dtype().to_string()))
        .collect())
}

/// Batches read on a thread of their own, `depth` batches ahead of their
/// consumer: parsing the next batch overlaps predicting and writing this
/// one, and memory holds at most `depth + 2` batches.
pub struct ReadAhead {
    receiver: std::sync::mpsc::Receiver<(Result<Batch, DataError>, Position, usize)>,
    position: Position,
    rows: usize,
}

impl Batches {
    pub fn read_ahead(mut self, depth: usize) -> ReadAhead {
        let position = self.position();
        let (sender, receiver) = std::sync::mpsc::sync_channel(depth.max(1));
        std::thread::spawn(move || {
            while let Some(batch) = self.next() {
                let sent = sender.send((batch, self.position(), self.rows_read()));
                if sent.is_err() {
                    // The consumer stopped (an error, a closed pipe).
                    break;
                }
            }
        });
        ReadAhead {
            receiver,
            position,
            rows: 0,
        }
    }
}

impl ReadAhead {
    /// How far the reading had got when the last batch handed out was read.
    pub fn position(&self) -> Position {
        self.position
    }

    /// Rows handed out so far.
    pub fn rows_read(&self) -> usize {
        self.rows
    }
}

impl Iterator for ReadAhead {
    type Item = Result<Batch, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (batch, position, rows) = self.receiver.recv().ok()?;
        self.position = position;
        self.rows = rows;
        Some(batch)
    }
}

/// Appends one CSV record (one line, or several when a quoted field holds
/// line breaks) to `out`; false at the end of the input. `lines` counts the
/// lines consumed.
fn read_record(
    reader: &mut (impl BufRead + ?Sized),
    out: &mut Vec<u8>,
    lines: &mut usize,
) -> std::io::Result<bool> {
    let start = out.len();
    let mut open_quote = false;
    loop {
        let before = out.len();
        if reader.read_until(b'\n', out)? == 0 {
            if out.len() > start && out.last() != Some(&b'\n') {
                out.push(b'\n');
            }
            return Ok(out.len() > start);
        }
        *lines += 1;
        // `""` inside a quoted field toggles twice, so parity is enough.
        let quotes = out[before..].iter().filter(|&&b| b == b'"').count();
        open_quote ^= quotes % 2 == 1;
        if !open_quote {
            return Ok(true);
        }
    }
}

/// A reader that counts the bytes it hands out.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::Write;

    use polars::prelude::DataFrame;

    use super::*;
    use crate::source::{numeric_column, read_table};

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn collect(batches: Batches) -> Vec<Batch> {
        batches.collect::<Result<Vec<_>, _>>().unwrap()
    }

    fn stacked(batches: &[Batch]) -> DataFrame {
        let mut frame = batches[0].table.frame.clone();
        for batch in &batches[1..] {
            frame.vstack_mut(&batch.table.frame).unwrap();
        }
        frame
    }

    #[test]
    fn csv_batches_add_up_to_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("a,name\n");
        for i in 0..10 {
            text.push_str(&format!(
                "{i}.5,\"row {i}\nsecond line, with \"\"quotes\"\"\"\n"
            ));
            if i == 4 {
                text.push('\n');
            }
        }
        let path = write(dir.path(), "t.csv", text.as_bytes());
        let batches = collect(read_batches(&path, &["a".to_owned()], 3).unwrap());
        assert_eq!(
            batches.iter().map(|b| b.rows_before).collect::<Vec<_>>(),
            [0, 3, 6, 9]
        );
        // A blank line is skipped (as pandas does); polars' whole-file read
        // would make it a row of nulls.
        let plain = write(
            dir.path(),
            "plain.csv",
            text.replacen("\n\n", "\n", 1).as_bytes(),
        );
        let whole = read_table(&plain).unwrap();
        assert_eq!(whole.frame.height(), 10);
        assert_eq!(stacked(&batches), whole.frame);
    }

    #[test]
    fn gzip_csv_streams_and_counts_compressed_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"a,b\n1,2\n3,4\n5,6\n").unwrap();
        let gz = gz.finish().unwrap();
        let path = write(dir.path(), "t.csv.gz", &gz);
        let mut batches = read_batches(&path, &[], 2).unwrap();
        let first = batches.next().unwrap().unwrap();
        assert_eq!(numeric_column(&first.table, "a").unwrap(), [1.0, 3.0]);
        let rest = batches.next().unwrap().unwrap();
        assert_eq!(numeric_column(&rest.table, "b").unwrap(), [6.0]);
        assert!(batches.next().is_none());
        let position = batches.position();
        assert_eq!(position.done, gz.len() as u64);
        assert_eq!(position.total, Some(gz.len() as u64));
    }

    #[test]
    fn errors_name_rows_and_lines_of_the_whole_input() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "t.csv", b"a\n1\n2\n3\n\n4\nhigh\n");
        let batches = collect(read_batches(&path, &["a".to_owned()], 2).unwrap());
        let last = batches.last().unwrap();
        let error = numeric_column(&last.table, "a")
            .map_err(|e| last.locate(e))
            .unwrap_err();
        assert!(
            matches!(error, DataError::NonNumeric { row: 5, .. }),
            "{error}"
        );

        // A row with a field too many or too few, counted in the whole input.
        for text in [
            &b"a,b\n1,2\n3,4\n5,6\n7\n"[..],
            b"a,b\n1,2\n3,4\n5,6\n7,8,9\n",
        ] {
            let path = write(dir.path(), "ragged.csv", text);
            let error = read_batches(&path, &["a".to_owned()], 2)
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap_err();
            assert!(
                matches!(error, DataError::RaggedRow { row: 4, .. }),
                "{error}"
            );
        }

        let path = write(
            dir.path(),
            "t.ndjson",
            b"{\"a\": 1}\n\n{\"a\": 2}\n{\"a\": 3}\n{\"a\": [3]}\n",
        );
        let error = read_batches(&path, &[], 2)
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap_err();
        assert!(matches!(error, DataError::Json { line: 5, .. }), "{error}");
    }

    #[test]
    fn a_header_only_file_gives_one_empty_batch_and_an_empty_file_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "t.csv", b"a,b\n");
        let batches = collect(read_batches(&path, &["a".to_owned()], 2).unwrap());
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].table.frame.shape(), (0, 2));
        let empty = write(dir.path(), "e.csv", b"");
        assert!(matches!(
            read_batches(&empty, &[], 2),
            Err(DataError::Empty { .. })
        ));
    }

    #[test]
    fn parquet_is_read_in_slices() {
        let dir = tempfile::tempdir().unwrap();
        let csv = write(dir.path(), "t.csv", b"a,b\n1,x\n2,y\n3,z\n4,w\n5,v\n");
        let mut frame = read_table(&csv).unwrap().frame;
        let path = dir.path().join("t.parquet");
        polars::prelude::ParquetWriter::new(File::create(&path).unwrap())
            .finish(&mut frame)
            .unwrap();
        let mut batches = read_batches(&path, &[], 2).unwrap();
        assert_eq!(batches.position().total, Some(5));
        let all: Vec<Batch> = batches.by_ref().collect::<Result<_, _>>().unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(stacked(&all), frame);
        assert_eq!(batches.position().done, 5);
    }

    #[test]
    fn reading_ahead_yields_the_same_batches_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let text: String = std::iter::once("a\n".to_owned())
            .chain((0..100).map(|i| format!("{i}\n")))
            .collect();
        let path = write(dir.path(), "t.csv", text.as_bytes());
        let direct = collect(read_batches(&path, &[], 7).unwrap());
        let mut ahead = read_batches(&path, &[], 7).unwrap().read_ahead(2);
        let batches: Vec<Batch> = ahead.by_ref().collect::<Result<_, _>>().unwrap();
        assert_eq!(stacked(&batches), stacked(&direct));
        assert_eq!(ahead.rows_read(), 100);
        assert_eq!(ahead.position().done, text.len() as u64);
    }

    #[test]
    fn column_types_come_from_the_first_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "t.csv", b"a,b,c\n1,x,2.5\n2,y,3\n");
        assert_eq!(
            column_types(&path, 100).unwrap(),
            [
                ("a".to_owned(), "i64".to_owned()),
                ("b".to_owned(), "str".to_owned()),
                ("c".to_owned(), "f64".to_owned())
            ]
        );
    }

    #[test]
    fn stdin_streams_like_a_file() {
        let input = std::io::Cursor::new(b"a\n1\n2\n3\n".to_vec());
        let batches = collect(
            read_batches_from(Path::new("stdin"), TableFormat::Csv, input, &[], 2).unwrap(),
        );
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[1].rows_before, 2);
    }
}
