//! A column's cells as the data stage sees them: numbers or text, each one
//! possibly missing. Messages number rows from 1, not counting the header.

use polars::prelude::*;

use crate::error::DataError;
use crate::source::Table;

/// The cells of one column, as read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cells {
    /// A numeric column; NaN is an empty cell (a null or a NaN in the file).
    Numbers(Vec<f64>),
    /// A text (or boolean) column; `None` is an empty or blank cell.
    Text(Vec<Option<String>>),
}

impl Cells {
    /// Reads `column` of `table`. Infinite numbers are an error; NaN is an
    /// empty cell, as in pandas.
    pub(crate) fn read(table: &Table, column: &str) -> Result<Cells, DataError> {
        let read_error = |source| DataError::Read {
            path: table.path.clone(),
            source,
        };
        let series = table
            .frame
            .column(column)
            .map_err(read_error)?
            .as_materialized_series();
        let dtype = series.dtype();
        if dtype.is_primitive_numeric() {
            let as_f64 = series.cast(&DataType::Float64).map_err(read_error)?;
            let chunked = as_f64.f64().map_err(read_error)?;
            let values: Vec<f64> = if chunked.null_count() == 0 {
                chunked.into_no_null_iter().collect()
            } else {
                chunked.iter().map(|v| v.unwrap_or(f64::NAN)).collect()
            };
            if let Some(row) = values.iter().position(|v| v.is_infinite()) {
                return Err(DataError::NonNumeric {
                    path: table.path.clone(),
                    column: column.to_string(),
                    row: row + 1,
                    value: values[row].to_string(),
                });
            }
            return Ok(Cells::Numbers(values));
        }
        match dtype {
            DataType::String => Ok(Cells::Text(
                series
                    .str()
                    .map_err(read_error)?
                    .iter()
                    .map(|v| v.map(str::trim).filter(|v| !v.is_empty()).map(String::from))
                    .collect(),
            )),
            DataType::Boolean => Ok(Cells::Text(
                series
                    .bool()
                    .map_err(read_error)?
                    .iter()
                    .map(|v| v.map(|b| b.to_string()))
                    .collect(),
            )),
            // A column of nothing but empty cells (CSV and JSON rows give it
            // this type): every cell is missing.
            DataType::Null => Ok(Cells::Numbers(vec![f64::NAN; series.len()])),
            other => Err(DataError::UnsupportedType {
                path: table.path.clone(),
                column: column.to_string(),
                dtype: other.to_string(),
            }),
        }
    }

    /// True for text whose filled cells are mostly numbers: a numeric column
    /// with a few bad cells (`n/a`), rather than a categorical one.
    pub(crate) fn is_mostly_numbers(&self) -> bool {
        match self {
            Cells::Numbers(_) => true,
            Cells::Text(v) => {
                let filled = v.iter().flatten().count();
                let numbers = v
                    .iter()
                    .flatten()
                    .filter(|t| parse_number(t).is_some())
                    .count();
                filled > 0 && numbers * 2 > filled
            }
        }
    }

    /// The first filled cell that is not a finite number (0-based row, as
    /// written): what a float column cannot take.
    pub(crate) fn first_non_number(&self) -> Option<(usize, String)> {
        match self {
            Cells::Numbers(_) => None,
            Cells::Text(v) => v.iter().enumerate().find_map(|(row, cell)| {
                cell.as_ref()
                    .filter(|t| parse_number(t).is_none())
                    .map(|t| (row, t.clone()))
            }),
        }
    }

    /// The first filled cell that is a number, or text that holds one
    /// (0-based row, as written).
    pub(crate) fn first_number(&self) -> Option<(usize, String)> {
        match self {
            Cells::Numbers(v) => v
                .iter()
                .position(|n| !n.is_nan())
                .map(|row| (row, category_of(v[row]))),
            Cells::Text(v) => v.iter().enumerate().find_map(|(row, cell)| {
                cell.as_ref()
                    .filter(|t| parse_number(t).is_some())
                    .map(|t| (row, t.clone()))
            }),
        }
    }

    /// The cells as numbers (NaN: empty); text must parse as a finite number.
    pub(crate) fn into_numbers(self, table: &Table, column: &str) -> Result<Vec<f64>, DataError> {
        match self {
            Cells::Numbers(v) => Ok(v),
            Cells::Text(v) => v
                .into_iter()
                .enumerate()
                .map(|(row, cell)| match cell {
                    None => Ok(f64::NAN),
                    Some(text) => match parse_number(&text) {
                        Some(n) => Ok(n),
                        None => Err(DataError::NonNumeric {
                            path: table.path.clone(),
                            column: column.to_string(),
                            row: row + 1,
                            value: text,
                        }),
                    },
                })
                .collect(),
        }
    }

    /// The cells as categories: numbers are written as [`category_of`] does.
    pub(crate) fn into_categories(self) -> Vec<Option<String>> {
        match self {
            Cells::Numbers(v) => v
                .into_iter()
                .map(|n| (!n.is_nan()).then(|| category_of(n)))
                .collect(),
            Cells::Text(v) => v,
        }
    }
}

/// A finite number written as text, or `None`.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// The category a number stands for: whole numbers without a fraction
/// (`94110`, not `94110.0`), so that a column read as integers in training
/// and as floats at inference gives the same categories.
pub fn category_of(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::path::Path;

    use super::*;
    use crate::source::{TableFormat, read_table_from};

    fn table(csv: &str) -> Table {
        read_table_from(
            Path::new("t.csv"),
            TableFormat::Csv,
            csv.as_bytes().to_vec(),
        )
        .unwrap()
    }

    #[test]
    fn cells_keep_numbers_text_and_gaps() {
        let t = table("a,b,c\n1,red,\n,blue,\n2.5, ,\n");
        let Cells::Numbers(a) = Cells::read(&t, "a").unwrap() else {
            unreachable!("a is numeric")
        };
        assert_eq!((a[0], a[1].is_nan(), a[2]), (1.0, true, 2.5));
        assert_eq!(
            Cells::read(&t, "b").unwrap(),
            Cells::Text(vec![Some("red".into()), Some("blue".into()), None])
        );
        assert_eq!(
            Cells::read(&t, "c").unwrap().into_categories(),
            [None, None, None]
        );
    }

    #[test]
    fn numbers_name_the_same_category_whatever_their_type() {
        assert_eq!(category_of(94110.0), "94110");
        assert_eq!(category_of(-3.0), "-3");
        assert_eq!(category_of(2.5), "2.5");
        let ints = table("zip\n94110\n2139\n");
        let floats = table("zip\n94110.0\n2139.0\n");
        assert_eq!(
            Cells::read(&ints, "zip").unwrap().into_categories(),
            Cells::read(&floats, "zip").unwrap().into_categories()
        );
    }

    #[test]
    fn mostly_numeric_text_is_a_numeric_column_with_bad_cells() {
        let t = table("x,y\n1,a\nn/a,b\n3,4\n");
        let x = Cells::read(&t, "x").unwrap();
        assert!(x.is_mostly_numbers());
        assert!(matches!(
            x.into_numbers(&t, "x"),
            Err(DataError::NonNumeric { row: 2, .. })
        ));
        assert!(!Cells::read(&t, "y").unwrap().is_mostly_numbers());
    }
}
