//! The predictions of a batch of rows as a user reads them: values in the
//! file's units, or labels and class probabilities; as output columns
//! (`prediction`, or `prediction_TARGET` per target, and `probability_CLASS`
//! per class) or one JSON value per row.

use polars::prelude::Column;
use serde::Serialize;

use crate::json::{Entries, Number32};

/// The default column of a prediction: the value of a regression, the
/// label of a classification (`prediction_TARGET` with several targets).
/// Not the target's own name, so a labelled file can be predicted with its
/// target column left in (issue 21).
pub const PREDICTION: &str = "prediction";
/// The prefix of each class's probability column (`probability_CLASS`).
pub const PROBABILITY: &str = "probability";

/// Predictions of a batch of rows.
pub enum Predictions {
    /// Regression: `values` row-major, one per name, in the file's units.
    Values {
        names: Vec<String>,
        values: Vec<f32>,
        /// A windowed run's forecasts: `NaN` marks a row without one (an
        /// empty cell), not a number the model gave.
        sparse: bool,
    },
    /// Classification: each row's class index and the probability of
    /// every class (row-major); `column` names the predicted label's column.
    Classes {
        column: String,
        classes: Vec<String>,
        labels: Vec<usize>,
        probabilities: Vec<f32>,
    },
}

/// One row's prediction in JSON: a number (one target), an object of
/// numbers by target, or `{"label": …, "probabilities": {class: p}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PredictionJson {
    Value(Number32),
    Targets(Entries<Number32>),
    Class {
        label: Label,
        probabilities: Entries<Number32>,
    },
}

/// A predicted class: a number when every class is written as one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Label {
    Integer(i64),
    Text(String),
}

impl Predictions {
    /// The output columns' names.
    pub fn names(&self) -> Vec<String> {
        match self {
            Predictions::Values { names, .. } => names.clone(),
            Predictions::Classes {
                column, classes, ..
            } => std::iter::once(column.clone())
                .chain(classes.iter().map(|c| format!("{PROBABILITY}_{c}")))
                .collect(),
        }
    }

    /// As polars columns. Labels that are all integers stay integers.
    pub fn columns(&self) -> Vec<Column> {
        match self {
            Predictions::Values {
                names,
                values,
                sparse,
            } => value_columns(names, values, *sparse),
            Predictions::Classes {
                column,
                classes,
                labels,
                probabilities,
            } => class_columns(column, classes, labels, probabilities),
        }
    }

    /// One JSON value per row (see [`PredictionJson`]).
    pub fn json(&self) -> Vec<PredictionJson> {
        match self {
            Predictions::Values { names, values, .. } => {
                let width = names.len().max(1);
                values
                    .chunks(width)
                    .map(|row| match row {
                        [one] if width == 1 => PredictionJson::Value(Number32(*one)),
                        row => PredictionJson::Targets(Entries(
                            names
                                .iter()
                                .zip(row)
                                .map(|(n, v)| (n.clone(), Number32(*v)))
                                .collect(),
                        )),
                    })
                    .collect()
            }
            Predictions::Classes {
                classes,
                labels,
                probabilities,
                ..
            } => {
                let k = classes.len().max(1);
                let numbers = integer_classes(classes);
                labels
                    .iter()
                    .zip(probabilities.chunks(k))
                    .map(|(&label, row)| PredictionJson::Class {
                        label: match &numbers {
                            Some(numbers) => Label::Integer(numbers[label]),
                            None => Label::Text(classes[label].clone()),
                        },
                        probabilities: Entries(
                            classes
                                .iter()
                                .zip(row)
                                .map(|(c, p)| (c.clone(), Number32(*p)))
                                .collect(),
                        ),
                    })
                    .collect()
            }
        }
    }
}

/// One column per name, from row-major `values`.
fn value_columns(names: &[String], values: &[f32], sparse: bool) -> Vec<Column> {
    let width = names.len().max(1);
    names
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let column = values.iter().skip(c).step_by(width).copied();
            if sparse {
                // A row before a windowed run's first full window: an empty cell.
                let column: Vec<Option<f32>> = column.map(|v| (!v.is_nan()).then_some(v)).collect();
                Column::new(name.into(), column)
            } else {
                Column::new(name.into(), column.collect::<Vec<f32>>())
            }
        })
        .collect()
}

/// The label column, then one probability column per class.
fn class_columns(
    column: &str,
    classes: &[String],
    labels: &[usize],
    probabilities: &[f32],
) -> Vec<Column> {
    let k = classes.len().max(1);
    let label = match integer_classes(classes) {
        Some(numbers) => Column::new(
            column.into(),
            labels.iter().map(|&l| numbers[l]).collect::<Vec<i64>>(),
        ),
        None => Column::new(
            column.into(),
            labels
                .iter()
                .map(|&l| classes[l].as_str())
                .collect::<Vec<&str>>(),
        ),
    };
    std::iter::once(label)
        .chain(classes.iter().enumerate().map(|(c, class)| {
            let column: Vec<f32> = probabilities.iter().skip(c).step_by(k).copied().collect();
            Column::new(format!("{PROBABILITY}_{class}").into(), column)
        }))
        .collect()
}

/// The classes as integers when every one is written as one (`0`, `1`).
fn integer_classes(classes: &[String]) -> Option<Vec<i64>> {
    classes.iter().map(|c| c.parse::<i64>().ok()).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    fn json_of(predictions: &Predictions) -> Vec<serde_json::Value> {
        predictions
            .json()
            .iter()
            .map(|p| serde_json::to_value(p).unwrap())
            .collect()
    }

    #[test]
    fn classification_predictions_keep_the_labels() {
        let numbers = Predictions::Classes {
            column: PREDICTION.into(),
            classes: vec!["0".into(), "1".into()],
            labels: vec![1, 0],
            probabilities: vec![0.25, 0.75, 0.9, 0.1],
        };
        assert_eq!(
            numbers.names(),
            ["prediction", "probability_0", "probability_1"]
        );
        assert_eq!(
            json_of(&numbers)[0],
            json!({"label": 1, "probabilities": {"0": 0.25, "1": 0.75}})
        );
        let text = Predictions::Classes {
            column: "species_predicted".into(),
            classes: vec!["cat".into(), "dog".into(), "emu".into()],
            labels: vec![2],
            probabilities: vec![0.125, 0.125, 0.75],
        };
        assert_eq!(json_of(&text)[0]["label"], "emu");
        let columns = text.columns();
        assert_eq!(columns.len(), 4);
        assert_eq!(columns[0].name().as_str(), "species_predicted");
        assert_eq!(
            columns[0].str().map(|c| c.get(0)).ok().flatten(),
            Some("emu")
        );
    }

    #[test]
    fn regression_predictions_are_one_value_or_one_per_target() {
        let one = Predictions::Values {
            names: vec![PREDICTION.into()],
            values: vec![1.5, 2.5],
            sparse: false,
        };
        assert_eq!(json_of(&one), [json!(1.5), json!(2.5)]);
        let two = Predictions::Values {
            names: vec!["prediction_a".into(), "prediction_b".into()],
            values: vec![1.0, 2.0, 3.0, 4.0],
            sparse: false,
        };
        assert_eq!(
            json_of(&two)[1],
            json!({"prediction_a": 3.0, "prediction_b": 4.0})
        );
        assert_eq!(two.columns().len(), 2);
        // A forecast's missing rows are empty cells (null in JSON); a
        // model's NaN stays NaN in a column.
        let values = vec![f32::NAN, 2.0];
        for (sparse, nulls) in [(true, 1), (false, 0)] {
            let p = Predictions::Values {
                names: vec![PREDICTION.into()],
                values: values.clone(),
                sparse,
            };
            assert_eq!(p.columns()[0].null_count(), nulls);
            assert_eq!(json_of(&p)[0], serde_json::Value::Null);
        }
    }
}
