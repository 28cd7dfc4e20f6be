//! Reading tables (CSV, Parquet) with polars, and the
//! sha256 of the bytes read.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use sha2::{Digest, Sha256};

use crate::error::DataError;

/// A table read from a file, every column as written.
#[derive(Debug, Clone)]
pub struct Table {
    pub path: PathBuf,
    pub frame: DataFrame,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Parquet,
}

fn format_of(path: &Path) -> Result<Format, DataError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if name.ends_with(".csv") {
        Ok(Format::Csv)
    } else if name.ends_with(".parquet") || name.ends_with(".pq") {
        Ok(Format::Parquet)
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

fn check_exists(path: &Path) -> Result<(), DataError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(_) => Err(DataError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other("not a regular file"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(DataError::FileNotFound {
            path: path.to_path_buf(),
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

fn read_bytes(path: &Path) -> Result<(Format, Vec<u8>), DataError> {
    check_exists(path)?;
    let format = format_of(path)?;
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok((format, bytes))
}

fn parse_table(path: &Path, format: Format, bytes: Vec<u8>) -> Result<Table, DataError> {
    let frame = match format {
        Format::Csv => CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(None)
            .into_reader_with_file_handle(Cursor::new(bytes))
            .finish(),
        Format::Parquet => ParquetReader::new(Cursor::new(bytes)).finish(),
    }
    .map_err(|source| DataError::Read {
        path: path.to_path_buf(),
        source,
    })?;
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
