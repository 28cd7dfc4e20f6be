//! Predicting with a registered run, for the `pipeline` commands that use a
//! trained model (`infer`, `evaluate`, `serve`, `export`) and for any other
//! program: load a stored run with its artifacts verified
//! ([`StoredModel`]), predict rows and series ([`Predictor`],
//! [`Predictions`]), score it on a labelled file ([`evaluate()`]), and
//! export it as a self-contained folder ([`export`]). Nothing here prints:
//! reports are typed values that the caller renders.

mod error;
pub mod evaluate;
mod example;
pub mod export;
mod final_metrics;
mod json;
mod predictions;
mod predictor;
mod rows;
mod stored;

pub use error::PredictError;
pub use evaluate::{Evaluation, Scored, evaluate};
pub use example::{example_json, example_row};
pub use final_metrics::{FinalMetrics, final_metrics};
pub use json::{Entries, Number32, json_f32, json_f64};
pub use predictions::{Label, PREDICTION, PROBABILITY, PredictionJson, Predictions};
pub use predictor::{Predictor, WINDOWS_PER_PASS};
pub use rows::{Rows, with_predictions};
pub use stored::{StoredModel, artifact, is_checkpoint};

#[cfg(test)]
mod library_tests;
