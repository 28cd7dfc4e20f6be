//! What the model learns to predict: regression targets (one or several
//! columns, optionally normalized with training statistics) or class labels
//! (integers or text, mapped to class indices in sorted order). The
//! [`TargetPlan`] is stored with the run so that inference gives predictions
//! in the file's units and labels.

use std::collections::HashMap;
use std::path::Path;

use pipeline_spec::{DataSpec, Normalize, Task};
use serde::{Deserialize, Serialize};

use crate::cells::Cells;
use crate::columns::unknown_column;
use crate::error::DataError;
use crate::normalize::ColumnTransform;
use crate::preprocessing::F32_LIMIT;
use crate::source::Table;

/// How the target columns become the values the loss sees, and back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "snake_case")]
pub enum TargetPlan {
    /// One model output per column; `transforms` (one per column) map the
    /// file's values to the model's scale (identity unless
    /// `data.normalize_target`).
    Regression {
        columns: Vec<String>,
        transforms: Vec<ColumnTransform>,
    },
    /// Two classes; the model's one output is the logit of `classes[1]`.
    /// `counts`: rows of each class in the training split.
    Binary {
        column: String,
        classes: Vec<String>,
        #[serde(default)]
        counts: Vec<u64>,
    },
    /// One logit per class, in `classes` order.
    Multiclass {
        column: String,
        classes: Vec<String>,
        #[serde(default)]
        counts: Vec<u64>,
    },
}

/// The targets of every row of a file: model-scale values, with `NaN` for an
/// empty cell.
pub(crate) struct TargetValues {
    /// Row-major, `rows × width`.
    pub values: Vec<f64>,
    pub width: usize,
}

impl TargetValues {
    pub(crate) fn is_missing(&self, row: usize) -> bool {
        self.values[row * self.width..(row + 1) * self.width]
            .iter()
            .any(|v| v.is_nan())
    }

    /// The error for the first of `rows` with an empty target cell, naming
    /// its column (one of `columns`, in value order) and counting every such
    /// row; `None` when none is empty.
    pub(crate) fn missing_error(
        &self,
        path: &Path,
        columns: &[String],
        rows: &[usize],
    ) -> Option<DataError> {
        let row = *rows.iter().find(|&&r| self.is_missing(r))?;
        let column = (0..self.width)
            .find(|&c| self.values[row * self.width + c].is_nan())
            .and_then(|c| columns.get(c).cloned())
            .unwrap_or_default();
        Some(DataError::TargetMissing {
            path: path.to_path_buf(),
            column,
            count: rows.iter().filter(|&&r| self.is_missing(r)).count(),
            first_row: row + 1,
        })
    }
}

impl TargetPlan {
    /// A single regression target without normalization: what runs recorded
    /// before classification stored as `"target": "name"`.
    pub fn regression(column: &str) -> TargetPlan {
        TargetPlan::Regression {
            columns: vec![column.to_string()],
            transforms: vec![ColumnTransform::identity(column)],
        }
    }

    pub fn task(&self) -> Task {
        match self {
            TargetPlan::Regression { .. } => Task::Regression,
            TargetPlan::Binary { .. } => Task::Binary,
            TargetPlan::Multiclass { .. } => Task::Multiclass,
        }
    }

    /// The target columns of the file.
    pub fn columns(&self) -> Vec<String> {
        match self {
            TargetPlan::Regression { columns, .. } => columns.clone(),
            TargetPlan::Binary { column, .. } | TargetPlan::Multiclass { column, .. } => {
                vec![column.clone()]
            }
        }
    }

    /// Values per row the loss sees: one per regression target, one class
    /// index (or 0/1) for classification.
    pub fn width(&self) -> usize {
        match self {
            TargetPlan::Regression { columns, .. } => columns.len(),
            _ => 1,
        }
    }

    /// Outputs of the model: one per regression target, one logit for
    /// binary, one per class for multiclass.
    pub fn outputs(&self) -> usize {
        match self {
            TargetPlan::Regression { columns, .. } => columns.len(),
            TargetPlan::Binary { .. } => 1,
            TargetPlan::Multiclass { classes, .. } => classes.len(),
        }
    }

    /// The class labels in index order; `None` for regression.
    pub fn classes(&self) -> Option<&[String]> {
        match self {
            TargetPlan::Regression { .. } => None,
            TargetPlan::Binary { classes, .. } | TargetPlan::Multiclass { classes, .. } => {
                Some(classes)
            }
        }
    }

    /// Regression values (row-major, `rows × width`) from the model's scale
    /// back to the file's; class indices are left alone.
    pub fn denormalize(&self, values: &mut [f32]) {
        if let TargetPlan::Regression { transforms, .. } = self {
            let width = transforms.len().max(1);
            if transforms.iter().all(|t| t.shift == 0.0 && t.scale == 1.0) {
                return;
            }
            for row in values.chunks_mut(width) {
                for (v, t) in row.iter_mut().zip(transforms) {
                    *v = (f64::from(*v) * t.scale + t.shift) as f32;
                }
            }
        }
    }

    /// Model-scale targets of every row of `table`, for evaluating a run on
    /// a labelled file: an empty cell or a label the run does not know is
    /// an error naming the column and the row.
    pub fn encode(&self, table: &Table) -> Result<Vec<f32>, DataError> {
        let available = table.column_names();
        for column in self.columns() {
            if !available.contains(&column) {
                return Err(unknown_column(
                    &table.path,
                    &column,
                    "target of the run",
                    &available,
                ));
            }
        }
        let values = match self {
            TargetPlan::Regression { .. } => self.read_regression(table)?,
            TargetPlan::Binary {
                column, classes, ..
            }
            | TargetPlan::Multiclass {
                column, classes, ..
            } => {
                let labels = Cells::read(table, column)?.into_categories();
                class_indices(&table.path, column, classes, &labels)?
            }
        };
        let rows: Vec<usize> = (0..values.values.len() / values.width.max(1)).collect();
        if let Some(error) = values.missing_error(&table.path, &self.columns(), &rows) {
            return Err(error);
        }
        // A target beyond f32 would score as an infinite error.
        if let Some(index) = values.values.iter().position(|v| v.abs() > F32_LIMIT)
            && let TargetPlan::Regression {
                columns,
                transforms,
            } = self
        {
            let width = values.width.max(1);
            let t = &transforms[index % width];
            let cell = values.values[index] * t.scale + t.shift;
            return Err(DataError::OutOfRange {
                path: table.path.clone(),
                column: columns[index % width].clone(),
                row: index / width + 1,
                value: format!("{cell:e}"),
                normalized: cell.abs() <= F32_LIMIT,
            });
        }
        Ok(values.values.iter().map(|&v| v as f32).collect())
    }

    /// Raw regression values; `NaN` for empty cells.
    fn read_regression(&self, table: &Table) -> Result<TargetValues, DataError> {
        let TargetPlan::Regression {
            columns,
            transforms,
        } = self
        else {
            return Ok(TargetValues {
                values: Vec::new(),
                width: 1,
            });
        };
        let rows = table.frame.height();
        let width = columns.len();
        let mut values = vec![0f64; rows * width];
        for (c, (column, transform)) in columns.iter().zip(transforms).enumerate() {
            let numbers = Cells::read(table, column)?.into_numbers(table, column)?;
            for (r, n) in numbers.into_iter().enumerate() {
                values[r * width + c] = transform.apply(n);
            }
        }
        Ok(TargetValues { values, width })
    }
}

/// Reads the spec's targets from the training file. Classes are the labels
/// of every row (an empty label is a missing target): the label set is part
/// of the problem, not a statistic, so a class seen only in the test split
/// still has its output. Counts and regression transforms are fitted later,
/// on the training rows ([`fit_targets`]).
pub(crate) fn read_targets(
    spec: &DataSpec,
    table: &Table,
) -> Result<(TargetPlan, TargetValues), DataError> {
    let columns = spec.target.columns();
    let available = table.column_names();
    for column in columns {
        if !available.contains(column) {
            return Err(unknown_column(&table.path, column, "target", &available));
        }
    }
    match spec.task {
        Task::Regression => {
            let plan = TargetPlan::Regression {
                columns: columns.to_vec(),
                transforms: columns
                    .iter()
                    .map(|c| ColumnTransform::identity(c))
                    .collect(),
            };
            let values = plan.read_regression(table)?;
            Ok((plan, values))
        }
        Task::Binary | Task::Multiclass => {
            let column = &columns[0];
            let labels = Cells::read(table, column)?.into_categories();
            let classes = sorted_classes(&labels);
            let found = classes.len();
            let fits = match spec.task {
                Task::Binary => found == 2,
                _ => found >= 2,
            };
            if !fits {
                return Err(DataError::ClassCount {
                    path: table.path.clone(),
                    column: column.clone(),
                    task: spec.task,
                    classes,
                });
            }
            let values = class_indices(&table.path, column, &classes, &labels)?;
            let plan = match spec.task {
                Task::Binary => TargetPlan::Binary {
                    column: column.clone(),
                    classes,
                    counts: Vec::new(),
                },
                _ => TargetPlan::Multiclass {
                    column: column.clone(),
                    classes,
                    counts: Vec::new(),
                },
            };
            Ok((plan, values))
        }
    }
}

/// Fits the targets on the training rows: the classes' counts, or
/// `data.normalize_target` (applied to every row's values).
pub(crate) fn fit_targets(
    plan: &mut TargetPlan,
    values: &mut TargetValues,
    normalize: Normalize,
    train_rows: &[usize],
) {
    let (columns, transforms) = match plan {
        TargetPlan::Regression {
            columns,
            transforms,
        } => (columns, transforms),
        TargetPlan::Binary {
            classes, counts, ..
        }
        | TargetPlan::Multiclass {
            classes, counts, ..
        } => {
            *counts = vec![0; classes.len()];
            for &r in train_rows {
                if let Some(count) = counts.get_mut(values.values[r] as usize) {
                    *count += 1;
                }
            }
            return;
        }
    };
    let width = values.width;
    for (c, column) in columns.iter().enumerate() {
        let train = train_rows.iter().map(|&r| values.values[r * width + c]);
        let t = ColumnTransform::fit(column, normalize, train);
        for row in values.values.chunks_mut(width) {
            row[c] = t.apply(row[c]);
        }
        transforms[c] = t;
    }
}

/// The distinct labels, sorted as numbers when every label is one (so that
/// 2 comes before 10), else as text.
fn sorted_classes(labels: &[Option<String>]) -> Vec<String> {
    let mut classes: Vec<String> = labels.iter().flatten().cloned().collect();
    classes.sort_unstable();
    classes.dedup();
    let numbers: Option<Vec<f64>> = classes.iter().map(|c| c.parse::<f64>().ok()).collect();
    if let Some(numbers) = numbers {
        let mut paired: Vec<(f64, String)> = numbers.into_iter().zip(classes).collect();
        paired.sort_by(|a, b| a.0.total_cmp(&b.0));
        classes = paired.into_iter().map(|(_, c)| c).collect();
    }
    classes
}

/// Class index of every label (`NaN` for an empty one).
fn class_indices(
    path: &Path,
    column: &str,
    classes: &[String],
    labels: &[Option<String>],
) -> Result<TargetValues, DataError> {
    let index: HashMap<&str, usize> = classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let values = labels
        .iter()
        .enumerate()
        .map(|(row, label)| match label {
            None => Ok(f64::NAN),
            Some(label) => match index.get(label.as_str()) {
                Some(&i) => Ok(i as f64),
                None => Err(DataError::UnknownLabel {
                    path: path.to_path_buf(),
                    column: column.to_string(),
                    row: row + 1,
                    value: label.clone(),
                    known: classes.to_vec(),
                }),
            },
        })
        .collect::<Result<_, _>>()?;
    Ok(TargetValues { values, width: 1 })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn classes_sort_as_numbers_when_they_are() {
        let labels =
            |v: &[&str]| -> Vec<Option<String>> { v.iter().map(|s| Some(s.to_string())).collect() };
        assert_eq!(
            sorted_classes(&labels(&["10", "2", "1", "2"])),
            ["1", "2", "10"]
        );
        assert_eq!(
            sorted_classes(&labels(&["M", "B", "M", "b"])),
            ["B", "M", "b"]
        );
        assert_eq!(sorted_classes(&[None, Some("x".into())]), ["x"]);
    }

    #[test]
    fn regression_values_round_trip_through_the_transforms() {
        let plan = TargetPlan::Regression {
            columns: vec!["a".into(), "b".into()],
            transforms: vec![
                ColumnTransform {
                    column: "a".into(),
                    shift: 10.0,
                    scale: 2.0,
                },
                ColumnTransform::identity("b"),
            ],
        };
        let mut values = [0.5f32, 3.0, -1.0, 4.0];
        plan.denormalize(&mut values);
        assert_eq!(values, [11.0, 3.0, 8.0, 4.0]);
        assert_eq!(plan.outputs(), 2);
        assert_eq!(plan.width(), 2);
    }

    #[test]
    fn unknown_labels_name_the_row() {
        let e = class_indices(
            Path::new("f.csv"),
            "label",
            &["a".into(), "b".into()],
            &[Some("a".into()), Some("c".into())],
        )
        .err()
        .unwrap();
        assert!(
            matches!(&e, DataError::UnknownLabel { row: 2, value, .. } if value == "c"),
            "{e}"
        );
    }
}
