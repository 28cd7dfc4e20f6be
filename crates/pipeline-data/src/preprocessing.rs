//! [`Preprocessing`]: everything inference needs to turn raw rows into model
//! inputs, fitted on the training split and stored as JSON with each run.
//! Training encodes its splits with the same code ([`Preprocessing::encode`])
//! that inference uses, so both apply exactly the same thing.

use std::collections::HashMap;
use std::path::Path;

use pipeline_spec::{Encode, FillValue, Missing, Normalize, UnknownCategory};
use serde::{Deserialize, Serialize};

use crate::error::DataError;
use crate::normalize::ColumnTransform;
use crate::targets::TargetPlan;

/// The fitted preprocessing of a run.
///
/// JSON: `features`, `target`, `normalize` (the spec's default) and
/// `transforms` (one per model input, in input order) are the format of the
/// first runs; `columns` (one plan per feature: type, fill, categories) was
/// added with categorical columns and missing values, and `targets` (the
/// task, target columns, their normalization or the classes) with
/// classification. A file without `columns` (a run recorded before) reads as
/// float columns without fills; one without `targets` as one regression
/// target named by `target`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StoredPreprocessing")]
pub struct Preprocessing {
    /// The raw input columns the rows must carry, in the order of `columns`.
    pub features: Vec<String>,
    /// What the model predicts and how its outputs map back to the file's
    /// values or labels.
    pub targets: TargetPlan,
    /// The spec's `data.normalize` (per-column choices are in `columns`).
    pub normalize: Normalize,
    /// One per model input, in the order the model sees them; its `column`
    /// is the input's name (`bmi`, `color=red`).
    pub transforms: Vec<ColumnTransform>,
    /// How each feature becomes model inputs, in `features` order.
    pub columns: Vec<ColumnPlan>,
    /// Samples are windows of a series: `transforms` then holds one scaler
    /// per channel, and a row of the model is `steps × channels` inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<crate::windows::WindowPlan>,
}

/// How one raw column becomes one or more model inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnPlan {
    pub column: String,
    /// The spec's strategy, as resolved for this column.
    pub missing: Missing,
    /// What an empty cell becomes, fitted on the training split (mean,
    /// median, mode) or given (constant); `None`: an empty cell is an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill: Option<FillValue>,
    #[serde(flatten)]
    pub encoding: Encoding,
}

/// A column's type and, for a categorical one, its encoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Encoding {
    /// One input: the number, normalized.
    Float { normalize: Normalize },
    /// One-hot: one 0/1 input per category; ordinal: one input holding the
    /// category's index in `categories` (normalized with `normalize`), and
    /// `categories.len()` for an ignored unknown category.
    Categorical {
        encode: Encode,
        unknown: UnknownCategory,
        /// Learned from the training split, sorted.
        categories: Vec<String>,
        normalize: Normalize,
    },
}

/// Rows per block of [`Preprocessing::encode`]: 256 rows of 784 inputs
/// are 800 KB of output, inside one core's L2 cache.
const ENCODE_BLOCK_ROWS: usize = 256;

/// The largest magnitude a model input (an `f32`) holds.
pub(crate) const F32_LIMIT: f64 = f32::MAX as f64;

impl ColumnPlan {
    /// Refuses the cells of `rows` that [`Preprocessing::encode`] cannot
    /// encode: an empty cell without a fill (naming the first such row and
    /// their count), an unknown category under `unknown = "error"`. For a
    /// categorical column, the category code of each of `rows` (`None`: an
    /// unknown category left at zeros).
    fn check_cells(
        &self,
        path: &Path,
        column: &ColumnValues,
        rows: &[usize],
        row_number: &dyn Fn(usize) -> usize,
    ) -> Result<Option<Vec<Option<usize>>>, DataError> {
        let missing = |index: usize, cells: usize| DataError::MissingValues {
            path: path.to_path_buf(),
            column: self.column.clone(),
            count: cells,
            first_row: row_number(index),
            missing: self.missing.clone(),
        };
        match (&self.encoding, column) {
            (Encoding::Float { .. }, ColumnValues::Float(cells)) => {
                if !matches!(self.fill, Some(FillValue::Number(_)))
                    && let Some(&r) = rows.iter().find(|&&r| cells[r].is_nan())
                {
                    let count = rows.iter().filter(|&&r| cells[r].is_nan()).count();
                    return Err(missing(r, count));
                }
                Ok(None)
            }
            (
                Encoding::Categorical {
                    unknown,
                    categories,
                    ..
                },
                ColumnValues::Categorical(cells),
            ) => {
                let index: HashMap<&str, usize> = categories
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.as_str(), i))
                    .collect();
                let fill = match &self.fill {
                    Some(FillValue::Text(t)) => Some(t.as_str()),
                    _ => None,
                };
                let mut codes = Vec::with_capacity(rows.len());
                for &r in rows {
                    let Some(category) = cells[r].as_deref().or(fill) else {
                        let count = rows.iter().filter(|&&r| cells[r].is_none()).count();
                        return Err(missing(r, count));
                    };
                    codes.push(match (index.get(category), unknown) {
                        (Some(&code), _) => Some(code),
                        (None, UnknownCategory::Ignore) => None,
                        (None, UnknownCategory::Error) => {
                            return Err(DataError::UnknownCategory {
                                path: path.to_path_buf(),
                                column: self.column.clone(),
                                row: row_number(r),
                                value: category.to_string(),
                                known: categories.clone(),
                            });
                        }
                    });
                }
                Ok(Some(codes))
            }
            // Reported by `encode`.
            _ => Ok(None),
        }
    }

    /// Model inputs this column gives.
    pub fn width(&self) -> usize {
        match &self.encoding {
            Encoding::Categorical {
                encode: Encode::Onehot,
                categories,
                ..
            } => categories.len(),
            _ => 1,
        }
    }

    /// The names of its model inputs (`color=red` for one-hot inputs).
    pub fn input_names(&self) -> Vec<String> {
        match &self.encoding {
            Encoding::Categorical {
                encode: Encode::Onehot,
                categories,
                ..
            } => categories
                .iter()
                .map(|c| format!("{}={c}", self.column))
                .collect(),
            _ => vec![self.column.clone()],
        }
    }
}

/// One column's values for [`Preprocessing::encode`], typed by its plan.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ColumnValues {
    /// NaN is an empty cell.
    Float(Vec<f64>),
    Categorical(Vec<Option<String>>),
}

impl ColumnValues {
    pub(crate) fn is_missing(&self, row: usize) -> bool {
        match self {
            ColumnValues::Float(v) => v[row].is_nan(),
            ColumnValues::Categorical(v) => v[row].is_none(),
        }
    }
}

impl Preprocessing {
    /// Model inputs per row: the network's input size.
    pub fn input_width(&self) -> usize {
        match &self.window {
            Some(window) => window.steps * self.transforms.len(),
            None => self.transforms.len(),
        }
    }

    /// The raw columns read as numbers (float columns): what a reader may
    /// parse as floats up front. Categorical columns are not among them.
    pub fn float_columns(&self) -> Vec<String> {
        self.columns
            .iter()
            .filter(|c| matches!(c.encoding, Encoding::Float { .. }))
            .map(|c| c.column.clone())
            .collect()
    }

    /// The model inputs' names, in order.
    pub fn input_names(&self) -> Vec<String> {
        let names = self.transforms.iter().map(|t| t.column.clone());
        match &self.window {
            // `co2[t-23]` … `co2[t]`: t is the window's last row.
            Some(window) => (0..window.steps)
                .rev()
                .flat_map(|back| {
                    names.clone().map(move |name| match back {
                        0 => format!("{name}[t]"),
                        _ => format!("{name}[t-{back}]"),
                    })
                })
                .collect(),
            None => names.collect(),
        }
    }

    /// Normalizes a row-major `rows × input_width` matrix in place.
    pub fn apply(&self, matrix: &mut [f64]) {
        let width = self.transforms.len().max(1);
        for row in matrix.chunks_mut(width) {
            for (value, t) in row.iter_mut().zip(&self.transforms) {
                *value = t.apply(*value);
            }
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The row-major `rows.len() × input_width` model inputs of `rows`
    /// (0-based indices into `values`, one entry per plan in `columns`
    /// order). Empty cells get the plan's fill; an empty cell without one,
    /// or an unknown category under `unknown = "error"`, is an error naming
    /// the column and the 1-based row (`row_number` maps an index to it).
    pub(crate) fn encode(
        &self,
        path: &Path,
        values: &[ColumnValues],
        rows: &[usize],
        row_number: &dyn Fn(usize) -> usize,
    ) -> Result<Vec<f32>, DataError> {
        let width = self.input_width();
        // The errors first, column by column in order, as one pass per
        // column reports them; then the values, in blocks of rows, so that
        // the block's part of the row-major output stays in the cache while
        // every column writes into it (a pass per column would stride
        // through all of it once per column: 784 times for MNIST's pixels).
        let mut codes: Vec<Option<Vec<Option<usize>>>> = Vec::with_capacity(self.columns.len());
        for (plan, column) in self.columns.iter().zip(values) {
            codes.push(plan.check_cells(path, column, rows, row_number)?);
        }
        let mut out = vec![0f32; rows.len() * width];
        for (block, block_rows) in rows.chunks(ENCODE_BLOCK_ROWS).enumerate() {
            let first = block * ENCODE_BLOCK_ROWS;
            let out = &mut out[first * width..(first + block_rows.len()) * width];
            self.encode_block(path, values, &codes, first, block_rows, out)?;
        }
        // A finite cell can still overflow an f32 (1e308, or 1e30 over a
        // tiny standard deviation): the network would answer NaN.
        if let Some(index) = out.iter().position(|v| !v.is_finite()) {
            return Err(self.out_of_range(path, values, rows, row_number, index));
        }
        Ok(out)
    }

    /// Writes the inputs of one block of rows (`block_rows`, from the
    /// `first`-th of the rows encoded) into `out`, the block's part of the
    /// output, every column at its offset in each row. `codes` are each
    /// categorical column's checked category codes.
    fn encode_block(
        &self,
        path: &Path,
        values: &[ColumnValues],
        codes: &[Option<Vec<Option<usize>>>],
        first: usize,
        block_rows: &[usize],
        out: &mut [f32],
    ) -> Result<(), DataError> {
        let width = self.input_width();
        let mut offset = 0;
        for ((plan, column), codes) in self.columns.iter().zip(values).zip(codes) {
            let transforms = &self.transforms[offset..offset + plan.width()];
            match (&plan.encoding, column, codes) {
                (Encoding::Float { .. }, ColumnValues::Float(cells), _) => {
                    let fill = match &plan.fill {
                        Some(FillValue::Number(n)) => *n,
                        // Checked above: no empty cell without a fill.
                        _ => f64::NAN,
                    };
                    let t = &transforms[0];
                    for (i, &r) in block_rows.iter().enumerate() {
                        let value = cells[r];
                        let value = if value.is_nan() { fill } else { value };
                        // A cell beyond f32 is refused below, even when
                        // its normalized value is not.
                        out[i * width + offset] = if value.abs() > F32_LIMIT {
                            f32::INFINITY
                        } else {
                            t.apply(value) as f32
                        };
                    }
                }
                (
                    Encoding::Categorical {
                        encode, categories, ..
                    },
                    ColumnValues::Categorical(_),
                    Some(codes),
                ) => {
                    for (i, code) in codes[first..first + block_rows.len()].iter().enumerate() {
                        let row = &mut out[i * width + offset..][..plan.width()];
                        match encode {
                            Encode::Onehot => {
                                if let Some(code) = code {
                                    row[*code] = 1.0;
                                }
                            }
                            Encode::Ordinal => {
                                let code = code.unwrap_or(categories.len());
                                row[0] = transforms[0].apply(code as f64) as f32;
                            }
                        }
                    }
                }
                _ => {
                    return Err(DataError::Inconsistent {
                        path: path.to_path_buf(),
                        message: format!("column `{}` is not typed as its plan", plan.column),
                    });
                }
            }
            offset += plan.width();
        }
        Ok(())
    }

    /// The error for the input at `index` of the encoded output, which is
    /// not finite: the column and 1-based row it came from, and the cell's
    /// value when it is a number.
    fn out_of_range(
        &self,
        path: &Path,
        values: &[ColumnValues],
        rows: &[usize],
        row_number: &dyn Fn(usize) -> usize,
        index: usize,
    ) -> DataError {
        let width = self.input_width();
        let (row, input) = (index / width.max(1), index % width.max(1));
        let mut offset = 0;
        let plan = self.columns.iter().position(|plan| {
            offset += plan.width();
            input < offset
        });
        let cell = match plan.and_then(|p| values.get(p)) {
            Some(ColumnValues::Float(cells)) => cells.get(rows[row]).copied(),
            _ => None,
        };
        DataError::OutOfRange {
            path: path.to_path_buf(),
            column: plan.map_or_else(String::new, |p| self.columns[p].column.clone()),
            row: row_number(rows[row]),
            value: cell.map_or_else(|| "its value".to_owned(), |v| format!("{v:e}")),
            normalized: cell.is_some_and(|v| v.abs() <= F32_LIMIT),
        }
    }

    /// Checks that the parts agree (the file may have been written by hand).
    fn check(&self) -> Result<(), String> {
        let names: Vec<&String> = self.columns.iter().map(|c| &c.column).collect();
        if names != self.features.iter().collect::<Vec<_>>() {
            return Err(format!(
                "`columns` ({}) does not match `features` ({})",
                names.len(),
                self.features.len()
            ));
        }
        let width: usize = self.columns.iter().map(ColumnPlan::width).sum();
        if width != self.transforms.len() {
            return Err(format!(
                "the columns give {width} model inputs but there are {} transforms",
                self.transforms.len()
            ));
        }
        Ok(())
    }
}

/// The JSON as stored, of any version.
#[derive(Deserialize)]
struct StoredPreprocessing {
    features: Vec<String>,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    targets: Option<TargetPlan>,
    normalize: Normalize,
    transforms: Vec<ColumnTransform>,
    #[serde(default)]
    columns: Vec<ColumnPlan>,
    #[serde(default)]
    window: Option<crate::windows::WindowPlan>,
}

impl TryFrom<StoredPreprocessing> for Preprocessing {
    type Error = String;

    fn try_from(stored: StoredPreprocessing) -> Result<Self, String> {
        let columns = if stored.columns.is_empty() {
            // A run recorded before `columns` existed: float columns, no fills.
            stored
                .features
                .iter()
                .map(|column| ColumnPlan {
                    column: column.clone(),
                    missing: Missing::Error,
                    fill: None,
                    encoding: Encoding::Float {
                        normalize: stored.normalize,
                    },
                })
                .collect()
        } else {
            stored.columns
        };
        let targets = match (stored.targets, stored.target) {
            (Some(targets), _) => targets,
            (None, Some(target)) => TargetPlan::regression(&target),
            (None, None) => return Err("neither `targets` nor `target` is given".into()),
        };
        let preprocessing = Preprocessing {
            features: stored.features,
            targets,
            normalize: stored.normalize,
            transforms: stored.transforms,
            columns,
            window: stored.window,
        };
        preprocessing.check()?;
        Ok(preprocessing)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn color_plan(encode: Encode, unknown: UnknownCategory) -> Preprocessing {
        let plan = ColumnPlan {
            column: "color".into(),
            missing: Missing::Mode,
            fill: Some(FillValue::Text("red".into())),
            encoding: Encoding::Categorical {
                encode,
                unknown,
                categories: vec!["blue".into(), "red".into()],
                normalize: Normalize::None,
            },
        };
        let transforms = match encode {
            Encode::Onehot => plan
                .input_names()
                .iter()
                .map(|n| ColumnTransform::identity(n))
                .collect(),
            Encode::Ordinal => vec![ColumnTransform::identity("color")],
        };
        Preprocessing {
            features: vec!["color".into()],
            targets: TargetPlan::regression("y"),
            normalize: Normalize::Zscore,
            transforms,
            columns: vec![plan],
            window: None,
        }
    }

    fn encode(p: &Preprocessing, cells: &[Option<&str>]) -> Result<Vec<f32>, DataError> {
        let values = ColumnValues::Categorical(cells.iter().map(|c| c.map(String::from)).collect());
        let rows: Vec<usize> = (0..cells.len()).collect();
        p.encode(Path::new("t.csv"), &[values], &rows, &|r| r + 1)
    }

    #[test]
    fn one_hot_fills_then_encodes() {
        let p = color_plan(Encode::Onehot, UnknownCategory::Error);
        assert_eq!(p.input_width(), 2);
        assert_eq!(p.input_names(), ["color=blue", "color=red"]);
        assert_eq!(
            encode(&p, &[Some("red"), Some("blue"), None]).unwrap(),
            [0.0, 1.0, 1.0, 0.0, 0.0, 1.0]
        );
    }

    /// Several blocks of rows, a float column beside the categorical one,
    /// rows out of order: each row's inputs land in its own place.
    /// A finite number too large for an f32 input is an error naming its
    /// column and row, not a NaN prediction.
    #[test]
    fn a_value_beyond_f32_is_named() {
        let mut p = color_plan(Encode::Onehot, UnknownCategory::Error);
        p.columns.push(ColumnPlan {
            column: "x".into(),
            missing: Missing::Error,
            fill: None,
            encoding: Encoding::Float {
                normalize: Normalize::Zscore,
            },
        });
        p.features.push("x".into());
        p.transforms.push(ColumnTransform {
            column: "x".into(),
            shift: 0.0,
            scale: 1e-3,
        });
        let values = [
            ColumnValues::Categorical(vec![Some("red".into()); 3]),
            ColumnValues::Float(vec![1.0, 1e36, 1e308]),
        ];
        let err = p
            .encode(Path::new("t.csv"), &values, &[0, 1, 2], &|r| r + 1)
            .unwrap_err();
        assert!(
            matches!(&err, DataError::OutOfRange { column, row: 2, .. } if column == "x"),
            "{err}"
        );
        assert!(err.to_string().contains("row 2"), "{err}");
        assert!(
            err.to_string().contains(
                "1e36 is beyond what its 32-bit inputs hold (±3.4e38) after the run's normalization"
            ),
            "{err}"
        );
    }

    /// Issue 18: a cell beyond f32 itself (1e39) is refused even where the
    /// run's normalization would bring it back in range: the model was
    /// never trained on such a value, and its output overflows.
    #[test]
    fn a_cell_beyond_f32_is_named_before_normalization() {
        let mut p = color_plan(Encode::Onehot, UnknownCategory::Error);
        p.columns.push(ColumnPlan {
            column: "age".into(),
            missing: Missing::Error,
            fill: None,
            encoding: Encoding::Float {
                normalize: Normalize::Zscore,
            },
        });
        p.features.push("age".into());
        p.transforms.push(ColumnTransform {
            column: "age".into(),
            shift: 48.0,
            scale: 13.0,
        });
        let values = [
            ColumnValues::Categorical(vec![Some("red".into()); 2]),
            ColumnValues::Float(vec![59.0, -1e39]),
        ];
        let err = p
            .encode(Path::new("t.csv"), &values, &[0, 1], &|r| r + 1)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.csv: column `age` at row 2 is too large for the model: -1e39 is beyond what its 32-bit inputs hold (±3.4e38)"
        );
    }

    #[test]
    fn encoding_in_blocks_puts_every_row_in_place() {
        let mut p = color_plan(Encode::Onehot, UnknownCategory::Error);
        p.columns.insert(
            0,
            ColumnPlan {
                column: "x".into(),
                missing: Missing::Mean,
                fill: Some(FillValue::Number(-1.0)),
                encoding: Encoding::Float {
                    normalize: Normalize::Zscore,
                },
            },
        );
        p.features.insert(0, "x".into());
        p.transforms.insert(
            0,
            ColumnTransform {
                column: "x".into(),
                shift: 1.0,
                scale: 2.0,
            },
        );
        let n = ENCODE_BLOCK_ROWS * 2 + 7;
        let x: Vec<f64> = (0..n)
            .map(|i| if i % 97 == 5 { f64::NAN } else { i as f64 })
            .collect();
        let colors: Vec<Option<String>> = (0..n)
            .map(|i| (i % 3 != 0).then(|| if i % 2 == 0 { "red" } else { "blue" }.to_owned()))
            .collect();
        let rows: Vec<usize> = (0..n).rev().collect();
        let values = [
            ColumnValues::Float(x.clone()),
            ColumnValues::Categorical(colors.clone()),
        ];
        let out = p
            .encode(Path::new("t.csv"), &values, &rows, &|r| r + 1)
            .unwrap();
        assert_eq!(out.len(), n * 3);
        for (i, &r) in rows.iter().enumerate() {
            let value = if x[r].is_nan() { -1.0 } else { x[r] };
            let red = colors[r].as_deref().unwrap_or("red") == "red";
            let expected = [
                ((value - 1.0) / 2.0) as f32,
                f32::from(!red),
                f32::from(red),
            ];
            assert_eq!(out[i * 3..i * 3 + 3], expected, "row {r}");
        }
        // A missing value without a fill is reported for the first row in
        // the order given, with the count, before any value is encoded.
        p.columns[0].fill = None;
        let err = p
            .encode(Path::new("t.csv"), &values, &rows, &|r| r + 1)
            .unwrap_err();
        let last_nan = (0..n).rev().find(|&i| i % 97 == 5).unwrap();
        assert!(
            matches!(err, DataError::MissingValues { first_row, count, .. }
                if first_row == last_nan + 1 && count == (0..n).filter(|i| i % 97 == 5).count()),
            "{err}"
        );
    }

    #[test]
    fn unknown_category_is_an_error_naming_column_and_row() {
        let p = color_plan(Encode::Onehot, UnknownCategory::Error);
        let e = encode(&p, &[Some("red"), Some("green")]).unwrap_err();
        assert!(
            matches!(&e, DataError::UnknownCategory { column, row: 2, value, .. } if column == "color" && value == "green"),
            "{e}"
        );
    }

    #[test]
    fn ignored_unknown_category_is_all_zero_or_the_reserved_index() {
        let p = color_plan(Encode::Onehot, UnknownCategory::Ignore);
        assert_eq!(
            encode(&p, &[Some("green"), Some("blue")]).unwrap(),
            [0.0, 0.0, 1.0, 0.0]
        );
        let p = color_plan(Encode::Ordinal, UnknownCategory::Ignore);
        assert_eq!(
            encode(&p, &[Some("blue"), Some("red"), Some("green")]).unwrap(),
            [0.0, 1.0, 2.0]
        );
        let p = color_plan(Encode::Ordinal, UnknownCategory::Error);
        assert!(encode(&p, &[Some("green")]).is_err());
    }

    #[test]
    fn preprocessing_round_trips_as_json() {
        let mut p = color_plan(Encode::Onehot, UnknownCategory::Ignore);
        assert_eq!(Preprocessing::from_json(&p.to_json()).unwrap(), p);
        p.targets = TargetPlan::Multiclass {
            column: "species".into(),
            classes: vec!["setosa".into(), "versicolor".into(), "virginica".into()],
            counts: vec![35, 35, 35],
        };
        let json = p.to_json();
        assert!(json.contains(r#""task": "multiclass""#), "{json}");
        assert_eq!(Preprocessing::from_json(&json).unwrap(), p);
    }

    #[test]
    fn json_of_earlier_runs_still_loads() {
        // preprocessing.json as runs recorded before `columns` existed wrote it.
        let old = r#"{
  "features": ["age", "bmi"],
  "target": "target",
  "normalize": "zscore",
  "transforms": [
    {"column": "age", "shift": 0.5, "scale": 2.0},
    {"column": "bmi", "shift": 1.0, "scale": 4.0}
  ]
}"#;
        let p = Preprocessing::from_json(old).unwrap();
        assert_eq!(p.input_width(), 2);
        assert_eq!(p.columns.len(), 2);
        assert_eq!(
            p.columns[1].encoding,
            Encoding::Float {
                normalize: Normalize::Zscore
            }
        );
        assert_eq!(p.columns[1].fill, None);
        assert_eq!(p.targets, TargetPlan::regression("target"));
        let values = [
            ColumnValues::Float(vec![2.5]),
            ColumnValues::Float(vec![5.0]),
        ];
        assert_eq!(
            p.encode(Path::new("t.csv"), &values, &[0], &|r| r + 1)
                .unwrap(),
            [1.0, 1.0]
        );
        // A file whose parts disagree is refused.
        let bad = old.replace(r#", "bmi"]"#, "]");
        assert!(Preprocessing::from_json(&bad).is_err());
    }
}
