//! Reading tables (CSV, gzip-compressed CSV, Parquet with polars; NDJSON and
//! inline JSON rows with serde_json), and the sha256 of the bytes read.
//!
//! Columns are typed from the first 1,000 rows, or from every row in one
//! pass when one of those lines is over 1 MB (polars re-reads a long line at
//! every piece of its sample). What polars would misread is refused first
//! with a hint: UTF-16, a header read as one column holding `;` or a tab,
//! repeated or empty header names, a row with another number of fields than
//! the header (counted quote-aware, only when polars fails or reads an empty
//! cell). A missing file is named as written and as resolved.

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use sha2::{Digest, Sha256};

use crate::error::DataError;
use crate::json::JsonRowsError;

/// A table read from a file, every column as written.
#[derive(Debug, Clone)]
pub struct Table {
    pub path: PathBuf,
    pub frame: DataFrame,
}

/// How a table's bytes are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    Csv,
    /// CSV compressed with gzip (`.csv.gz`).
    CsvGz,
    Parquet,
    /// One JSON object per line (`.ndjson`, `.jsonl`).
    Ndjson,
}

impl TableFormat {
    /// The format a file name's extension names, if any.
    pub fn from_name(name: &str) -> Option<TableFormat> {
        let name = name.to_lowercase();
        if name.ends_with(".csv") {
            Some(TableFormat::Csv)
        } else if name.ends_with(".csv.gz") {
            Some(TableFormat::CsvGz)
        } else if name.ends_with(".parquet") || name.ends_with(".pq") {
            Some(TableFormat::Parquet)
        } else if name.ends_with(".ndjson") || name.ends_with(".jsonl") {
            Some(TableFormat::Ndjson)
        } else {
            None
        }
    }
}

pub(crate) fn format_of(path: &Path) -> Result<TableFormat, DataError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if let Some(format) = TableFormat::from_name(&name) {
        Ok(format)
    } else {
        Err(DataError::UnsupportedFormat {
            path: path.to_path_buf(),
            extension: path
                .extension()
                .map(|e| e.to_string_lossy().into_owned())
                .unwrap_or_else(|| "(none)".into()),
        })
    }
}

pub(crate) fn check_exists(path: &Path) -> Result<(), DataError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(_) => Err(DataError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other("not a regular file"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(DataError::FileNotFound {
            path: path.to_path_buf(),
            absolute: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
            written: None,
        }),
        Err(source) => Err(DataError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Reads every column of `path`, with types inferred from the whole file.
pub fn read_table(path: &Path) -> Result<Table, DataError> {
    let (format, bytes) = read_bytes(path)?;
    parse_table(path, format, bytes)
}

/// Like [`read_table`], and the sha256 (hex) of exactly the bytes parsed: the
/// file is read once, so the hash always describes the data that was used.
pub fn read_table_hashed(path: &Path) -> Result<(Table, String), DataError> {
    let (format, bytes) = read_bytes(path)?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    Ok((parse_table(path, format, bytes)?, sha256))
}

/// The CSV `bytes` (header included) as a table, with the `numeric`
/// columns read as floats and the other columns' types inferred from the
/// first 1,000 rows; any failure of that fast path falls back to a full
/// read, whose errors name the column and the row.
pub(crate) fn parse_csv_numeric(
    label: &Path,
    bytes: Vec<u8>,
    numeric: &[String],
) -> Result<Table, DataError> {
    let schema: Schema = numeric
        .iter()
        .map(|name| Field::new(name.as_str().into(), DataType::Float64))
        .collect();
    check_header(label, &bytes)?;
    let fast = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(type_sample_rows(&bytes))
        .with_schema_overwrite(Some(Arc::new(schema)))
        .into_reader_with_file_handle(Cursor::new(bytes.as_slice()))
        .finish();
    match fast {
        Ok(frame) if numeric.iter().all(|c| frame.column(c).is_ok()) => Ok(Table {
            path: label.to_path_buf(),
            frame: checked_rows(label, &bytes, Ok(frame))?,
        }),
        _ => parse_table(label, TableFormat::Csv, bytes),
    }
}

/// The CSV text of a `.csv.gz` file; other formats unchanged.
fn decompress(path: &Path, format: TableFormat, bytes: Vec<u8>) -> Result<Vec<u8>, DataError> {
    if format != TableFormat::CsvGz {
        return Ok(bytes);
    }
    let mut plain = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes.as_slice())
        .read_to_end(&mut plain)
        .map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(
                source.kind(),
                format!("cannot decompress it as gzip: {source}"),
            ),
        })?;
    Ok(plain)
}

/// Parses a table from bytes already read (stdin); `label` names it in
/// messages.
pub fn read_table_from(
    label: &Path,
    format: TableFormat,
    bytes: Vec<u8>,
) -> Result<Table, DataError> {
    parse_table(label, format, bytes)
}

/// A table from JSON objects (one per row, as `--json` and NDJSON give
/// them). A column whose values are all numbers (or null) is numeric, one
/// of booleans boolean; any other is text, and a boolean among other values
/// an error. Columns appear in the order their keys first appear.
pub fn table_from_json_rows(
    label: &Path,
    rows: &[serde_json::Map<String, serde_json::Value>],
) -> Result<Table, DataError> {
    use serde_json::Value;
    let mut names: Vec<String> = Vec::new();
    for row in rows {
        for key in row.keys() {
            if !names.contains(key) {
                names.push(key.clone());
            }
        }
    }
    let mut columns = Vec::with_capacity(names.len());
    for name in &names {
        let values: Vec<Option<&Value>> = rows
            .iter()
            .map(|r| r.get(name).filter(|v| !v.is_null()))
            .collect();
        if let Some(line) = values
            .iter()
            .position(|v| matches!(v, Some(Value::Array(_) | Value::Object(_))))
        {
            let kind = json_kind(values[line].unwrap_or(&Value::Null));
            return Err(DataError::Json {
                path: label.to_path_buf(),
                line: line + 1,
                message: format!(
                    "`{name}` holds {kind}; only numbers, text and booleans are columns"
                ),
            });
        }
        // Booleans make a column of their own type, which a message names;
        // among numbers or text they would pass for the text `true`.
        let boolean = values.iter().position(|v| v.is_some_and(Value::is_boolean));
        let other = values
            .iter()
            .position(|v| v.is_some_and(|v| !v.is_boolean()));
        if let (Some(boolean), Some(other)) = (boolean, other) {
            let kind = json_kind(values[other].unwrap_or(&Value::Null));
            return Err(DataError::Json {
                path: label.to_path_buf(),
                line: boolean + 1,
                message: format!(
                    "`{name}` holds a boolean here but {kind} on line {}; a column holds \
                     booleans only, or numbers and text",
                    other + 1
                ),
            });
        }
        let numeric = values.iter().all(|v| v.is_none_or(Value::is_number));
        let column = if boolean.is_some() {
            let data: Vec<Option<bool>> =
                values.iter().map(|v| v.and_then(Value::as_bool)).collect();
            Column::new(name.as_str().into(), data)
        } else if numeric {
            let data: Vec<Option<f64>> = values.iter().map(|v| v.and_then(Value::as_f64)).collect();
            Column::new(name.as_str().into(), data)
        } else {
            let data: Vec<Option<String>> = values
                .iter()
                .map(|v| {
                    v.map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                })
                .collect();
            Column::new(name.as_str().into(), data)
        };
        columns.push(column);
    }
    let frame = DataFrame::new_infer_height(columns).map_err(|source| DataError::Read {
        path: label.to_path_buf(),
        source,
    })?;
    Ok(Table {
        path: label.to_path_buf(),
        frame,
    })
}

/// A JSON value's type, as a message names it.
fn json_kind(value: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(crate) fn parse_ndjson(label: &Path, bytes: &[u8]) -> Result<Table, DataError> {
    let text = std::str::from_utf8(bytes).map_err(|e| DataError::Json {
        path: label.to_path_buf(),
        line: 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count(),
        message: "the text is not UTF-8".into(),
    })?;
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match crate::json::parse_rows(line.as_bytes()) {
            Ok(serde_json::Value::Object(row)) => rows.push(row),
            Ok(_) => {
                return Err(DataError::Json {
                    path: label.to_path_buf(),
                    line: index + 1,
                    message: "each line must be one JSON object".into(),
                });
            }
            Err(JsonRowsError::DuplicateKey { key, .. }) => {
                return Err(DataError::Json {
                    path: label.to_path_buf(),
                    line: index + 1,
                    message: format!("the key `{key}` is given twice"),
                });
            }
            Err(JsonRowsError::Invalid(e)) => {
                return Err(DataError::Json {
                    path: label.to_path_buf(),
                    line: index + 1,
                    message: e.to_string(),
                });
            }
        }
    }
    table_from_json_rows(label, &rows)
}

fn read_bytes(path: &Path) -> Result<(TableFormat, Vec<u8>), DataError> {
    check_exists(path)?;
    let format = format_of(path)?;
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok((format, bytes))
}

/// Rows that decide a CSV column's type before the whole file is parsed.
const TYPE_SAMPLE_ROWS: usize = 1000;

/// A CSV's columns typed from its first rows, which is several times faster
/// than typing them from every row (most of a large file's read). The whole
/// file decides instead when the sample cannot: a later cell that does not
/// parse as the sampled type (an integer column that turns fractional, a
/// number column with text), or a column whose sampled cells are all empty.
/// The header and the rows' field counts are checked ([`check_header`],
/// [`checked_rows`]).
fn csv(label: &Path, bytes: &[u8]) -> Result<DataFrame, DataError> {
    check_header(label, bytes)?;
    let read = |rows: Option<usize>| {
        CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(rows)
            .into_reader_with_file_handle(Cursor::new(bytes))
            .finish()
    };
    let frame = match type_sample_rows(bytes) {
        Some(rows) => match read(Some(rows)) {
            Ok(frame) if !has_undecided_column(&frame) => Ok(frame),
            _ => read(None),
        },
        None => read(None),
    };
    checked_rows(label, bytes, frame)
}

/// The longest line polars types a sample's columns from without slowing
/// down. It reads the sample in pieces of under a megabyte and reads a line
/// that does not fit again from its start at every piece: quadratic in the
/// line's length (a 100 MB field took 6 s, 500 MB minutes). Typing from
/// every row (`None`) reads the whole input as one piece instead.
const LONGEST_SAMPLED_LINE: usize = 1 << 20;

/// The rows to type a CSV's columns from: [`TYPE_SAMPLE_ROWS`], or every
/// row (`None`, a single linear pass) when the header or one of those rows
/// is longer than [`LONGEST_SAMPLED_LINE`]. Lines are cut as polars cuts
/// them (at line breaks outside quotes); only the sampled lines are read,
/// and no further than the first line that is too long.
fn type_sample_rows(bytes: &[u8]) -> Option<usize> {
    let mut lines = 0;
    let mut start = 0;
    let mut quoted = false;
    for (at, &byte) in bytes.iter().enumerate() {
        if at - start > LONGEST_SAMPLED_LINE {
            return None;
        }
        match byte {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => {
                lines += 1;
                // The header and the sampled rows.
                if lines > TYPE_SAMPLE_ROWS {
                    break;
                }
                start = at + 1;
            }
            _ => {}
        }
    }
    Some(TYPE_SAMPLE_ROWS)
}

/// Polars' reading of `bytes`, refused when a row has more or fewer fields
/// than the header: polars fills a short row with empty cells and stops at
/// a long one without saying where. The fields are only counted when the
/// read failed or gave an empty cell (a short row always does), so a clean
/// file costs nothing more.
fn checked_rows(
    label: &Path,
    bytes: &[u8],
    read: PolarsResult<DataFrame>,
) -> Result<DataFrame, DataError> {
    let ragged = || {
        first_ragged_row(bytes).map(|(row, found, expected)| DataError::RaggedRow {
            path: label.to_path_buf(),
            row,
            found,
            expected,
        })
    };
    match read {
        Ok(frame) if frame.columns().iter().all(|c| c.null_count() == 0) => Ok(frame),
        Ok(frame) => ragged().map_or(Ok(frame), Err),
        Err(source) => Err(ragged().unwrap_or_else(|| DataError::Read {
            path: label.to_path_buf(),
            source,
        })),
    }
}

/// The first data row (1-based, every line after the header a row, as
/// polars counts them) whose number of fields differs from the header's:
/// `(row, found, expected)`. Quote-aware (a comma or line break inside
/// quotes belongs to the field); a blank line is a row of empty cells, not
/// a short one.
pub(crate) fn first_ragged_row(bytes: &[u8]) -> Option<(usize, usize, usize)> {
    let mut expected = None;
    let mut row = 0;
    let mut fields = 1;
    let mut quoted = false;
    let mut blank = true;
    let mut end_record = |fields: usize, blank: bool| -> Option<(usize, usize, usize)> {
        match expected {
            None => {
                expected = Some(fields);
                None
            }
            Some(expected) => {
                row += 1;
                (!blank && fields != expected).then_some((row, fields, expected))
            }
        }
    };
    for &byte in bytes {
        match byte {
            b'"' => {
                quoted = !quoted;
                blank = false;
            }
            b',' if !quoted => {
                fields += 1;
                blank = false;
            }
            b'\n' if !quoted => {
                if let Some(found) = end_record(fields, blank) {
                    return Some(found);
                }
                fields = 1;
                blank = true;
            }
            b' ' | b'\t' | b'\r' => {}
            _ => blank = false,
        }
    }
    if blank {
        None
    } else {
        end_record(fields, false)
    }
}

/// The header's names, refused when one is empty or repeated (polars would
/// name them `""` and `NAME_duplicated_0`, and a run would train on them).
fn check_header(label: &Path, bytes: &[u8]) -> Result<(), DataError> {
    check_encoding(label, bytes)?;
    let names = header_names(bytes);
    if let [name] = names.as_slice()
        && let Some(separator) = [';', '\t'].into_iter().find(|c| name.contains(*c))
    {
        const SHOWN: usize = 80;
        let header = if name.chars().count() > SHOWN {
            format!("{}…", name.chars().take(SHOWN).collect::<String>())
        } else {
            name.clone()
        };
        return Err(DataError::Separator {
            path: label.to_path_buf(),
            header,
            separator,
        });
    }
    let empty: Vec<usize> = names
        .iter()
        .enumerate()
        .filter(|(_, name)| name.trim().is_empty())
        .map(|(i, _)| i + 1)
        .collect();
    // A header-only line of nothing is an empty file, reported elsewhere.
    if !empty.is_empty() && names.len() > 1 {
        return Err(DataError::HeaderEmptyName {
            path: label.to_path_buf(),
            positions: empty,
        });
    }
    for (second, name) in names.iter().enumerate() {
        if let Some(first) = names[..second].iter().position(|n| n == name) {
            return Err(DataError::HeaderRepeatedName {
                path: label.to_path_buf(),
                name: name.clone(),
                first: first + 1,
                second: second + 1,
            });
        }
    }
    Ok(())
}

/// Refuses text that is not UTF-8 in a way that would otherwise read as
/// garbled names: UTF-16 (its byte-order mark, or the NUL bytes that every
/// ASCII character of it carries) at the start of the file.
fn check_encoding(label: &Path, bytes: &[u8]) -> Result<(), DataError> {
    const SCANNED: usize = 4096;
    let found = if bytes.starts_with(b"\xff\xfe") || bytes.starts_with(b"\xfe\xff") {
        "it is UTF-16 (it starts with a UTF-16 byte-order mark)"
    } else if bytes[..bytes.len().min(SCANNED)].contains(&0) {
        "it holds NUL bytes near its start, as UTF-16 text does"
    } else {
        return Ok(());
    };
    Err(DataError::Encoding {
        path: label.to_path_buf(),
        found,
    })
}

/// The names in a CSV's first record, unquoted.
fn header_names(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut names = Vec::new();
    let mut name = Vec::new();
    let mut quoted = false;
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        match byte {
            // `""` inside quotes is one quote.
            b'"' if quoted && bytes.get(i + 1) == Some(&b'"') => {
                name.push(b'"');
                i += 1;
            }
            b'"' => quoted = !quoted,
            b',' if !quoted => names.push(std::mem::take(&mut name)),
            b'\n' if !quoted => break,
            b'\r' if !quoted => {}
            _ => name.push(byte),
        }
        i += 1;
    }
    names.push(name);
    names
        .into_iter()
        .map(|n| String::from_utf8_lossy(&n).into_owned())
        .collect()
}

/// A text column whose sampled cells are all empty: the sample said nothing
/// about its type.
fn has_undecided_column(frame: &DataFrame) -> bool {
    let sample = frame.height().min(TYPE_SAMPLE_ROWS);
    frame.columns().iter().any(|column| {
        matches!(column.dtype(), DataType::String) && column.slice(0, sample).null_count() == sample
    })
}

fn parse_table(path: &Path, format: TableFormat, bytes: Vec<u8>) -> Result<Table, DataError> {
    let frame = match format {
        TableFormat::Csv => csv(path, &bytes)?,
        TableFormat::CsvGz => csv(path, &decompress(path, format, bytes)?)?,
        TableFormat::Parquet => {
            ParquetReader::new(Cursor::new(bytes))
                .finish()
                .map_err(|source| DataError::Read {
                    path: path.to_path_buf(),
                    source,
                })?
        }
        TableFormat::Ndjson => return parse_ndjson(path, &bytes),
    };
    Ok(Table {
        path: path.to_path_buf(),
        frame,
    })
}

impl Table {
    /// Column names in file order.
    pub fn column_names(&self) -> Vec<String> {
        self.frame
            .get_column_names()
            .iter()
            .map(|c| c.to_string())
            .collect()
    }
}

/// The values of `column` as f64, with errors that name the first offending
/// row (1-based, not counting the header).
pub fn numeric_column(table: &Table, column: &str) -> Result<Vec<f64>, DataError> {
    let series = table
        .frame
        .column(column)
        .map_err(|source| DataError::Read {
            path: table.path.clone(),
            source,
        })?
        .as_materialized_series()
        .clone();
    let dtype = series.dtype();
    if !(dtype.is_primitive_numeric() || matches!(dtype, DataType::String)) {
        return Err(DataError::UnsupportedType {
            path: table.path.clone(),
            column: column.to_string(),
            dtype: dtype.to_string(),
        });
    }
    let missing = series.null_count();
    let as_f64 = series
        .cast(&DataType::Float64)
        .map_err(|source| DataError::Read {
            path: table.path.clone(),
            source,
        })?;
    let values = as_f64.f64().map_err(|source| DataError::Read {
        path: table.path.clone(),
        source,
    })?;
    if values.null_count() > missing {
        // Some non-empty cell did not parse as a number.
        let first = values
            .iter()
            .zip(series.iter())
            .position(|(v, raw)| v.is_none() && !matches!(raw, AnyValue::Null))
            .unwrap_or(0);
        let value = series
            .get(first)
            .map(|v| v.str_value().into_owned())
            .unwrap_or_default();
        return Err(DataError::NonNumeric {
            path: table.path.clone(),
            column: column.to_string(),
            row: first + 1,
            value,
        });
    }
    if missing > 0 {
        let first = series
            .iter()
            .position(|v| matches!(v, AnyValue::Null))
            .unwrap_or(0);
        return Err(DataError::MissingValues {
            path: table.path.clone(),
            column: column.to_string(),
            count: missing,
            first_row: first + 1,
            missing: pipeline_spec::Missing::Error,
        });
    }
    let values: Vec<f64> = values.into_no_null_iter().collect();
    if let Some(first) = values.iter().position(|v| !v.is_finite()) {
        return Err(DataError::NonNumeric {
            path: table.path.clone(),
            column: column.to_string(),
            row: first + 1,
            value: values[first].to_string(),
        });
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::Write;

    use super::*;

    #[test]
    fn gzip_csv_reads_like_plain_csv() {
        let csv = b"a,b\n1,x\n2.5,y\n".to_vec();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&csv).unwrap();
        let gz = gz.finish().unwrap();
        let plain = read_table_from(Path::new("t.csv"), TableFormat::Csv, csv).unwrap();
        let packed = read_table_from(Path::new("t.csv.gz"), TableFormat::CsvGz, gz).unwrap();
        assert_eq!(plain.frame, packed.frame);
        assert_eq!(numeric_column(&packed, "a").unwrap(), [1.0, 2.5]);
        let broken = read_table_from(Path::new("t.csv.gz"), TableFormat::CsvGz, b"nope".to_vec());
        assert!(broken.unwrap_err().to_string().contains("t.csv.gz"));
    }

    #[test]
    fn ndjson_rows_become_typed_columns() {
        let text =
            b"{\"a\": 1, \"b\": \"x\"}\n\n{\"b\": \"y\", \"a\": 2.5, \"c\": null}\n".to_vec();
        let table = read_table_from(Path::new("t.ndjson"), TableFormat::Ndjson, text).unwrap();
        assert_eq!(table.column_names(), ["a", "b", "c"]);
        assert_eq!(numeric_column(&table, "a").unwrap(), [1.0, 2.5]);
        assert!(matches!(
            numeric_column(&table, "c"),
            Err(DataError::MissingValues { count: 2, .. })
        ));
        assert!(matches!(
            numeric_column(&table, "b"),
            Err(DataError::NonNumeric { row: 1, .. })
        ));
        let bad = read_table_from(
            Path::new("t.ndjson"),
            TableFormat::Ndjson,
            b"{\"a\":1}\n[1]\n".to_vec(),
        );
        assert!(matches!(bad, Err(DataError::Json { line: 2, .. })));
        let nested = read_table_from(
            Path::new("t.ndjson"),
            TableFormat::Ndjson,
            b"{\"a\":{\"b\":1}}\n".to_vec(),
        );
        assert!(matches!(nested, Err(DataError::Json { line: 1, .. })));
    }

    /// Issue 18: a JSON value is named by its type. Booleans make a column
    /// of booleans (not the text `true`); a boolean among other values, a
    /// nested value and a key given twice are errors naming the line.
    #[test]
    fn json_values_are_named_by_their_type() {
        let read = |text: &str| {
            read_table_from(
                Path::new("t.ndjson"),
                TableFormat::Ndjson,
                text.as_bytes().to_vec(),
            )
        };
        let flags = read("{\"a\": true}\n{\"a\": null}\n{\"a\": false}\n").unwrap();
        assert_eq!(flags.frame.column("a").unwrap().dtype(), &DataType::Boolean);
        let message = |text: &str| read(text).unwrap_err().to_string();
        assert_eq!(
            message("{\"a\": 1}\n{\"a\": true}\n"),
            "t.ndjson: line 2: `a` holds a boolean here but a number on line 1; a column holds \
             booleans only, or numbers and text"
        );
        assert_eq!(
            message("{\"a\": [1]}\n"),
            "t.ndjson: line 1: `a` holds an array; only numbers, text and booleans are columns"
        );
        assert_eq!(
            message("{\"a\": 1}\n{\"a\": 1, \"b\": 2, \"a\": 3}\n"),
            "t.ndjson: line 2: the key `a` is given twice"
        );
    }

    #[test]
    fn the_numeric_fast_path_reads_what_the_full_read_does() {
        let dir = tempfile_dir();
        let path = dir.join("t.csv");
        // `b` is an integer for 1,000 rows, then a float: only a whole-file
        // inference types it right, so the fast path must fall back.
        let mut text = String::from("a,b,name\n");
        for i in 0..1500 {
            let b = if i < 1200 {
                format!("{i}")
            } else {
                format!("{i}.5")
            };
            text.push_str(&format!("{i}.25,{b},row{i}\n"));
        }
        std::fs::write(&path, &text).unwrap();
        let full = read_table(&path).unwrap();
        let fast =
            parse_csv_numeric(&path, std::fs::read(&path).unwrap(), &["a".to_owned()]).unwrap();
        assert_eq!(fast.frame.shape(), full.frame.shape());
        assert_eq!(
            numeric_column(&fast, "a").unwrap(),
            numeric_column(&full, "a").unwrap()
        );
        assert_eq!(
            numeric_column(&fast, "b").unwrap(),
            numeric_column(&full, "b").unwrap()
        );
        // A text cell in a numeric column: the full read's error, naming the row.
        std::fs::write(&path, "a\n1\nhigh\n").unwrap();
        let table =
            parse_csv_numeric(&path, std::fs::read(&path).unwrap(), &["a".to_owned()]).unwrap();
        assert!(matches!(
            numeric_column(&table, "a"),
            Err(DataError::NonNumeric { row: 2, .. })
        ));
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_sampled_csv_reads_what_a_whole_file_read_does() {
        let dir = tempfile_dir();
        let path = dir.join("sampled.csv");
        // `late` is empty for 1,100 rows; `turns` is an integer for 1,200
        // rows, then fractional; `text` has a word after 1,300 numbers.
        let mut text = String::from("a,late,turns,text\n");
        for i in 0..1500 {
            let late = if i < 1100 {
                String::new()
            } else {
                format!("{i}.5")
            };
            let turns = if i < 1200 {
                format!("{i}")
            } else {
                format!("{i}.5")
            };
            let word = if i == 1300 {
                "many".to_owned()
            } else {
                format!("{i}")
            };
            text.push_str(&format!("{i},{late},{turns},{word}\n"));
        }
        std::fs::write(&path, &text).unwrap();
        let sampled = read_table(&path).unwrap();
        let whole = CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(None)
            .try_into_reader_with_file_path(Some(path.clone()))
            .unwrap()
            .finish()
            .unwrap();
        assert_eq!(sampled.frame, whole);
        assert_eq!(
            sampled.frame.column("late").unwrap().dtype(),
            &DataType::Float64
        );
        // A file the sample types right is read the same way too.
        std::fs::write(&path, "a,b\n1,x\n2,y\n").unwrap();
        assert_eq!(
            read_table(&path)
                .unwrap()
                .frame
                .column("b")
                .unwrap()
                .dtype(),
            &DataType::String
        );
        std::fs::remove_dir_all(dir).ok();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "pipeline-data-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn read(text: &str) -> Result<Table, DataError> {
        read_table_from(
            Path::new("t.csv"),
            TableFormat::Csv,
            text.as_bytes().to_vec(),
        )
    }

    /// A short row used to read as empty cells, a long one as polars' raw
    /// error without a row: both name the row and the counts now.
    #[test]
    fn rows_with_another_number_of_fields_than_the_header_are_errors() {
        let short = read("a,b,c\n1,2,3\n\n\"x,y\",5,6\n4,5\n7,8,9\n").unwrap_err();
        assert!(
            matches!(
                short,
                DataError::RaggedRow {
                    row: 4,
                    found: 2,
                    expected: 3,
                    ..
                }
            ),
            "{short}"
        );
        assert!(
            short.to_string().contains("t.csv: row 4 has 2 field(s)"),
            "{short}"
        );
        let long = read("a,b,c\n1,2,3\n4,5,6,7\n7,8,9\n").unwrap_err();
        assert!(
            matches!(
                long,
                DataError::RaggedRow {
                    row: 2,
                    found: 4,
                    expected: 3,
                    ..
                }
            ),
            "{long}"
        );
        assert!(long.to_string().contains("unquoted comma"), "{long}");
        // The numeric fast path (inference batches) checks the same way.
        let fast = parse_csv_numeric(
            Path::new("t.csv"),
            b"a,b\n1,2\n3\n".to_vec(),
            &["a".to_owned()],
        )
        .unwrap_err();
        assert!(
            matches!(fast, DataError::RaggedRow { row: 2, .. }),
            "{fast}"
        );
        // Empty cells, blank lines, quoted commas and line breaks are fine.
        let fine = read("a,b,c\n1,,3\n\n\"x,\ny\",\"\"\"q\"\"\",\r\n7,8,9").unwrap();
        assert_eq!(fine.frame.height(), 4);
        assert_eq!(first_ragged_row(b"a,b\n1,2\n3,4\n\n\n"), None);
        assert_eq!(first_ragged_row(b"a,b\n1,2\n3,4,5"), Some((2, 3, 2)));
    }

    #[test]
    fn an_empty_or_repeated_header_name_is_an_error() {
        let repeated = read("age,bmi,age,target\n1,2,3,4\n").unwrap_err();
        assert!(
            matches!(
                &repeated,
                DataError::HeaderRepeatedName { name, first: 1, second: 3, .. } if name == "age"
            ),
            "{repeated}"
        );
        assert!(repeated.is_user_error());
        let empty = read("a,,target,\n1,2,3,4\n").unwrap_err();
        assert!(
            matches!(&empty, DataError::HeaderEmptyName { positions, .. } if positions == &[2, 4]),
            "{empty}"
        );
        assert!(empty.to_string().contains("column(s) 2, 4"), "{empty}");
        // Quoted names are compared unquoted.
        assert!(matches!(
            read("\"a\",a\n1,2\n"),
            Err(DataError::HeaderRepeatedName { .. })
        ));
        assert_eq!(
            header_names(b"\xef\xbb\xbf\"x,\"\"y\"\"\",z\r\n1,2\n"),
            ["x,\"y\"", "z"]
        );
        // Inference reads the header the same way.
        assert!(matches!(
            parse_csv_numeric(Path::new("t.csv"), b"a,a\n1,2\n".to_vec(), &[]),
            Err(DataError::HeaderRepeatedName { .. })
        ));
    }

    /// Issue 18: UTF-16 and semicolon-separated files read as one garbled
    /// column, with no word about the encoding or the separator.
    #[test]
    fn utf16_and_other_separators_are_named() {
        let utf16 = |bom: bool| {
            let mut bytes = if bom { vec![0xff, 0xfe] } else { Vec::new() };
            bytes.extend("a,b\n1,2\n".encode_utf16().flat_map(u16::to_le_bytes));
            read_table_from(Path::new("t.csv"), TableFormat::Csv, bytes).unwrap_err()
        };
        for bom in [true, false] {
            let e = utf16(bom);
            assert!(matches!(e, DataError::Encoding { .. }), "{e}");
            assert!(e.to_string().contains("UTF-16"), "{e}");
            assert!(e.to_string().contains("hint: save it as UTF-8"), "{e}");
        }
        let e = read("a;b;target\n1,5;2;3\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.csv: the header reads as one column, \"a;b;target\", whose name holds \
             semicolons; the fields of a CSV are separated by commas\nhint: save the file with \
             commas between the fields (spreadsheets write semicolons where the decimal mark is \
             a comma: make it a point too)"
        );
        let e = read("a\tb\n1\t2\n").unwrap_err();
        assert!(
            matches!(
                e,
                DataError::Separator {
                    separator: '\t',
                    ..
                }
            ),
            "{e}"
        );
        // Inference batches are checked the same way.
        assert!(matches!(
            parse_csv_numeric(Path::new("t.csv"), b"a;b\n1;2\n".to_vec(), &[]),
            Err(DataError::Separator { .. })
        ));
        // A semicolon in one of several names, or in a field, is fine.
        assert!(read("a;b,c\n1,x;y\n").is_ok());
    }

    /// Issue 18: a CSV whose last line is one huge field took quadratic
    /// time (100 MB: 6 s, 500 MB: minutes): polars typed the sampled rows
    /// reading the huge line again at every piece. A sample with a line that
    /// long is typed in one pass, from every row.
    #[test]
    fn a_huge_line_among_the_sampled_rows_is_typed_in_one_pass() {
        let huge = |before: usize, field: usize| {
            let mut text = b"a,b\n".to_vec();
            for i in 0..before {
                text.extend(format!("{i},x\n").as_bytes());
            }
            text.extend(b"1,\"");
            text.resize(text.len() + field, b'y');
            text.extend(b"\n2\"");
            text
        };
        assert_eq!(type_sample_rows(&huge(3, 100)), Some(TYPE_SAMPLE_ROWS));
        assert_eq!(type_sample_rows(&huge(3, LONGEST_SAMPLED_LINE + 1)), None);
        // The header is sampled too; a line beyond the sample is not.
        assert_eq!(type_sample_rows(&huge(0, 2 * LONGEST_SAMPLED_LINE)), None);
        assert_eq!(
            type_sample_rows(&huge(TYPE_SAMPLE_ROWS, 2 * LONGEST_SAMPLED_LINE)),
            Some(TYPE_SAMPLE_ROWS)
        );
        // A quoted line break does not end the line.
        let mut quoted = b"a\n\"".to_vec();
        for _ in 0..=LONGEST_SAMPLED_LINE / 2 {
            quoted.extend(b"y\n");
        }
        quoted.extend(b"\"\n");
        assert_eq!(type_sample_rows(&quoted), None);

        // Read either way, the table is the same.
        let text = huge(3, 3 * LONGEST_SAMPLED_LINE);
        let table = read_table_from(Path::new("t.csv"), TableFormat::Csv, text.clone()).unwrap();
        assert_eq!(table.frame.shape(), (4, 2));
        let b = table
            .frame
            .column("b")
            .unwrap()
            .str()
            .unwrap()
            .get(3)
            .unwrap()
            .len();
        assert_eq!(b, 3 * LONGEST_SAMPLED_LINE + 2);
        let fast = parse_csv_numeric(Path::new("t.csv"), text, &["a".to_owned()]).unwrap();
        assert_eq!(fast.frame, table.frame);
    }

    #[test]
    fn formats_follow_the_file_name() {
        assert_eq!(TableFormat::from_name("x.CSV"), Some(TableFormat::Csv));
        assert_eq!(
            TableFormat::from_name("mnist_5k.csv.gz"),
            Some(TableFormat::CsvGz)
        );
        assert_eq!(TableFormat::from_name("x.jsonl"), Some(TableFormat::Ndjson));
        assert_eq!(TableFormat::from_name("x.txt"), None);
    }
}
