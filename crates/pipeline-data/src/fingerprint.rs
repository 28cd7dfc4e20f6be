//! The resolved input columns of a run: each feature's name and the type
//! training gave it after `[data.types]` (float or categorical, as the
//! preprocessing's `columns` store them); a short hash of that list, which
//! the registry records beside the data file's sha256; and the check that
//! an input column can be that type, so that `infer`, `evaluate` and
//! `serve` refuse rows laid out unlike the training data instead of
//! predicting from them.
//!
//! The check is about types, not values: any numbers (integers or floats,
//! from CSV, Parquet or JSON) and text that holds a number fill a float
//! column; a categorical column whose run learned text categories refuses
//! numbers, one that learned numbers refuses words. A value of the right
//! type the run never saw is the unknown-category rule's business.

use pipeline_spec::ColumnType;
use polars::prelude::DataType;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::cells::{Cells, parse_number};
use crate::error::{DataError, TypeMismatch};
use crate::preprocessing::{ColumnPlan, ColumnValues, Encoding, Preprocessing};
use crate::source::Table;

/// Hex digits kept of the list's sha256: enough to tell layouts apart at a
/// glance, short enough to read in `pipeline show`.
const HASH_DIGITS: usize = 16;

/// Categories named in a type mismatch message, at most.
const SHOWN_CATEGORIES: usize = 8;

/// One feature column as the run resolved it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedColumn {
    pub name: String,
    #[serde(rename = "type")]
    pub column_type: ColumnType,
}

impl ColumnPlan {
    /// The column's type as training resolved it.
    pub fn column_type(&self) -> ColumnType {
        match self.encoding {
            Encoding::Float { .. } => ColumnType::Float,
            Encoding::Categorical { .. } => ColumnType::Categorical,
        }
    }
}

impl Preprocessing {
    /// The feature columns in input order, with their types.
    pub fn resolved_columns(&self) -> Vec<ResolvedColumn> {
        self.columns
            .iter()
            .map(|plan| ResolvedColumn {
                name: plan.column.clone(),
                column_type: plan.column_type(),
            })
            .collect()
    }

    /// The short hash of [`Preprocessing::resolved_columns`].
    pub fn columns_hash(&self) -> String {
        columns_hash(&self.resolved_columns())
    }
}

/// The first [`HASH_DIGITS`] hex digits of the sha256 of the columns as
/// compact JSON (`[{"name":"age","type":"float"},…]`): equal for the same
/// names and types in the same order, whatever the file's format.
pub fn columns_hash(columns: &[ResolvedColumn]) -> String {
    // Strings and a unit enum always serialize.
    let json = serde_json::to_vec(columns).unwrap_or_default();
    let mut digest = hex::encode(Sha256::digest(&json));
    digest.truncate(HASH_DIGITS);
    digest
}

/// The input column `plan` reads, as the values [`Preprocessing::encode`]
/// takes, after checking it can be the run's type; otherwise a
/// [`DataError::ColumnTypeMismatch`] naming the column, both types and
/// the first offending row.
pub(crate) fn read_input_column(
    table: &Table,
    plan: &ColumnPlan,
) -> Result<ColumnValues, DataError> {
    let found = table
        .frame
        .column(&plan.column)
        .map(|c| holds(c.dtype()))
        .map_err(|source| DataError::Read {
            path: table.path.clone(),
            source,
        })?;
    let mismatch = |offending: Option<(usize, String)>| {
        DataError::ColumnTypeMismatch(Box::new(TypeMismatch {
            path: table.path.clone(),
            column: plan.column.clone(),
            expected: expected(plan),
            found: found.clone(),
            row: offending.as_ref().map(|(row, _)| row + 1),
            value: offending.map(|(_, value)| value),
            hint: hint(plan),
        }))
    };
    let cells = match Cells::read(table, &plan.column) {
        Err(DataError::UnsupportedType { .. }) => return Err(mismatch(None)),
        cells => cells?,
    };
    match &plan.encoding {
        Encoding::Float { .. } => {
            if let Some(offending) = cells.first_non_number() {
                return Err(mismatch(Some(offending)));
            }
            Ok(ColumnValues::Float(
                cells.into_numbers(table, &plan.column)?,
            ))
        }
        Encoding::Categorical { categories, .. } => {
            let (numbers, words) = category_kinds(categories);
            let offending = match (numbers, words) {
                (false, true) => cells.first_number(),
                (true, false) => cells.first_non_number(),
                // Both kinds, or no category at all: any cell may be one.
                _ => None,
            };
            if let Some(offending) = offending {
                return Err(mismatch(Some(offending)));
            }
            Ok(ColumnValues::Categorical(cells.into_categories()))
        }
    }
}

/// Whether some categories are numbers, and whether some are words.
fn category_kinds(categories: &[String]) -> (bool, bool) {
    let numbers = categories.iter().any(|c| parse_number(c).is_some());
    let words = categories.iter().any(|c| parse_number(c).is_none());
    (numbers, words)
}

/// The run's type of the column, as a message states it.
fn expected(plan: &ColumnPlan) -> String {
    match &plan.encoding {
        Encoding::Float { .. } => "float".to_string(),
        Encoding::Categorical { categories, .. } => {
            let kind = match category_kinds(categories) {
                (true, false) => "numbers",
                (false, true) => "text",
                _ => "categories",
            };
            let shown: Vec<&str> = categories
                .iter()
                .take(SHOWN_CATEGORIES)
                .map(String::as_str)
                .collect();
            let more = if categories.len() > shown.len() {
                ", …"
            } else {
                ""
            };
            format!("categorical ({kind}: {}{more})", shown.join(", "))
        }
    }
}

fn hint(plan: &ColumnPlan) -> &'static str {
    match &plan.encoding {
        Encoding::Float { .. } => {
            "a float column takes numbers (integers too), text that holds a number, or an empty cell; is this the input the run expects?"
        }
        Encoding::Categorical { categories, .. } => match category_kinds(categories) {
            (false, true) => {
                "the run's categories of this column are text, so a number is none of them; is this the input the run expects?"
            }
            _ => {
                "the run's categories of this column are numbers, so text that is not a number is none of them; is this the input the run expects?"
            }
        },
    }
}

/// What a column of this type holds, as a message states it.
fn holds(dtype: &DataType) -> String {
    if dtype.is_integer() {
        "integers".into()
    } else if dtype.is_float() {
        "floats".into()
    } else {
        match dtype {
            DataType::String => "text".into(),
            DataType::Boolean => "booleans".into(),
            DataType::Null => "only empty cells".into(),
            other => format!("values of type {other}"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use std::path::Path;

    use pipeline_spec::{Encode, Missing, Normalize, UnknownCategory};
    use polars::prelude::{Column, DataFrame, NamedFrom, Series};

    use super::*;
    use crate::source::{TableFormat, read_table_from};
    use crate::targets::TargetPlan;

    fn table(format: TableFormat, text: &str) -> Table {
        read_table_from(Path::new("in"), format, text.as_bytes().to_vec()).unwrap()
    }

    fn float(name: &str) -> ColumnPlan {
        ColumnPlan {
            column: name.into(),
            missing: Missing::Error,
            fill: None,
            encoding: Encoding::Float {
                normalize: Normalize::Zscore,
            },
        }
    }

    fn categorical(name: &str, categories: &[&str]) -> ColumnPlan {
        ColumnPlan {
            column: name.into(),
            missing: Missing::Error,
            fill: None,
            encoding: Encoding::Categorical {
                encode: Encode::Onehot,
                unknown: UnknownCategory::Ignore,
                categories: categories.iter().map(|c| c.to_string()).collect(),
                normalize: Normalize::None,
            },
        }
    }

    fn mismatch(e: DataError) -> (String, Option<usize>, Option<String>) {
        match e {
            DataError::ColumnTypeMismatch(m) => (m.found, m.row, m.value),
            other => panic!("not a type mismatch: {other}"),
        }
    }

    #[test]
    fn float_columns_take_any_numbers_and_numeric_text() {
        let plan = float("x");
        for (format, text) in [
            (TableFormat::Csv, "x\n1\n2\n"),
            (TableFormat::Csv, "x\n1.5\n\n"),
            (TableFormat::Ndjson, "{\"x\": 1}\n{\"x\": 2.5}\n"),
            (TableFormat::Ndjson, "{\"x\": \"2.5\"}\n{\"x\": null}\n"),
            (TableFormat::Csv, "x,y\n,1\n,2\n"),
        ] {
            let values = read_input_column(&table(format, text), &plan);
            assert!(
                matches!(values, Ok(ColumnValues::Float(_))),
                "{text}: {values:?}"
            );
        }
    }

    #[test]
    fn float_columns_refuse_words_and_booleans_at_their_first_row() {
        let plan = float("x");
        let e = read_input_column(&table(TableFormat::Csv, "x\n1\n2\nhigh\n"), &plan);
        assert_eq!(
            mismatch(e.unwrap_err()),
            ("text".into(), Some(3), Some("high".into()))
        );
        let e = read_input_column(&table(TableFormat::Csv, "x\n\ntrue\nfalse\n"), &plan);
        assert_eq!(
            mismatch(e.unwrap_err()),
            ("booleans".into(), Some(2), Some("true".into()))
        );
    }

    #[test]
    fn a_column_of_another_type_is_refused_without_a_row() {
        let nested = Series::new("x".into(), [Series::new("".into(), [1i64, 2])]);
        let table = Table {
            path: "in.parquet".into(),
            frame: DataFrame::new_infer_height(vec![Column::from(nested)]).unwrap(),
        };
        let (found, row, _) = mismatch(read_input_column(&table, &float("x")).unwrap_err());
        assert_eq!((found.as_str(), row), ("values of type list[i64]", None));
    }

    #[test]
    fn categorical_columns_refuse_the_other_kind_of_value() {
        let words = categorical("c", &["east", "north"]);
        let numbers = categorical("c", &["2139", "94110"]);
        let mixed = categorical("c", &["1", "A"]);
        let ints = table(TableFormat::Csv, "c\n\n94110\n");
        let text = table(TableFormat::Csv, "c\nnorth\nwest\n");
        let numeric_text = table(TableFormat::Ndjson, "{\"c\": \"94110\"}\n");
        // Numbers in a column of text categories: refused at the first one.
        assert_eq!(
            mismatch(read_input_column(&ints, &words).unwrap_err()),
            ("integers".into(), Some(2), Some("94110".into()))
        );
        // Words in a column of number categories.
        assert_eq!(
            mismatch(read_input_column(&text, &numbers).unwrap_err()),
            ("text".into(), Some(1), Some("north".into()))
        );
        // The right kind (an unknown value included: `west`), text holding
        // numbers, and a column whose categories are of both kinds.
        for (input, plan) in [
            (&text, &words),
            (&ints, &numbers),
            (&numeric_text, &numbers),
            (&ints, &mixed),
            (&text, &mixed),
        ] {
            assert!(read_input_column(input, plan).is_ok());
        }
    }

    #[test]
    fn the_message_names_the_column_both_types_and_the_row() {
        let plan = categorical("region", &["east", "north", "south"]);
        let e = read_input_column(&table(TableFormat::Csv, "region\n7\n"), &plan)
            .unwrap_err()
            .after_rows(100);
        assert_eq!(
            e.to_string(),
            "in: column `region` holds integers here, but the run was trained on it as \
             categorical (text: east, north, south): row 101 has \"7\"\nhint: the run's \
             categories of this column are text, so a number is none of them; is this the \
             input the run expects?"
        );
    }

    #[test]
    fn the_hash_follows_names_types_and_order() {
        let p = |plans: Vec<ColumnPlan>| Preprocessing {
            features: plans.iter().map(|c| c.column.clone()).collect(),
            targets: TargetPlan::regression("y"),
            normalize: Normalize::Zscore,
            transforms: Vec::new(),
            columns: plans,
            window: None,
        };
        let a = p(vec![float("age"), categorical("zip", &["1"])]);
        assert_eq!(a.columns_hash().len(), HASH_DIGITS);
        assert_eq!(
            a.columns_hash(),
            p(vec![float("age"), categorical("zip", &["2", "3"])]).columns_hash(),
            "categories are values, not the layout"
        );
        for other in [
            p(vec![float("age"), float("zip")]),
            p(vec![categorical("zip", &["1"]), float("age")]),
            p(vec![float("age")]),
        ] {
            assert_ne!(a.columns_hash(), other.columns_hash());
        }
        // The documented recipe: sha256 of the compact JSON list.
        let json = r#"[{"name":"age","type":"float"},{"name":"zip","type":"categorical"}]"#;
        assert_eq!(
            a.columns_hash(),
            hex::encode(Sha256::digest(json.as_bytes()))[..HASH_DIGITS]
        );
    }
}
