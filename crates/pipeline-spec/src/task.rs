//! The task of an experiment: what its model predicts.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What the model predicts: numbers, or one of two or of several classes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// One or several numeric targets.
    #[default]
    Regression,
    /// Two classes; the model has one output, the logit of the positive
    /// (second, in sorted order) class.
    Binary,
    /// Two or more classes; one output (logit) per class.
    Multiclass,
}

impl Task {
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Regression => "regression",
            Task::Binary => "binary",
            Task::Multiclass => "multiclass",
        }
    }

    pub fn is_classification(self) -> bool {
        self != Task::Regression
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
