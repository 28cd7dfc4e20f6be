//! A row of a run's own input columns with values from its training data,
//! for hints that show what a row looks like: `age=48.5,sex=1.47,bmi=26.4`
//! or `{"age":48.5,"sex":1.47,"bmi":26.4}`.

use pipeline_data::{Encoding, Preprocessing};
use serde_json::Value;

use crate::json::json_f64;

/// The first three input columns with a typical value each (a numeric
/// column's mean or median, a categorical's first category), as
/// `COLUMN=VALUE` pairs.
pub fn example_row(preprocessing: &Preprocessing) -> String {
    example_values(preprocessing)
        .into_iter()
        .map(|(column, value)| match value {
            Value::String(text) => format!("{column}={text}"),
            other => format!("{column}={other}"),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// [`example_row`] as a JSON object.
pub fn example_json(preprocessing: &Preprocessing) -> String {
    Value::Object(example_values(preprocessing).into_iter().collect()).to_string()
}

fn example_values(p: &Preprocessing) -> Vec<(String, Value)> {
    p.columns
        .iter()
        .take(3)
        .map(|plan| {
            let value = match &plan.encoding {
                Encoding::Categorical { categories, .. } => categories
                    .first()
                    .map_or(Value::Null, |c| Value::String(c.clone())),
                Encoding::Float { .. } => {
                    let typical = p
                        .transforms
                        .iter()
                        .find(|t| t.column == plan.column)
                        .map_or(0.0, |t| t.shift);
                    let rounded = format!("{typical:.3}").parse::<f64>().unwrap_or(0.0);
                    json_f64(rounded)
                }
            };
            (plan.column.clone(), value)
        })
        .collect()
}
