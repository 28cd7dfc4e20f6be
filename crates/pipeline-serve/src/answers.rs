//! The JSON bodies the server answers with: `GET /health`, `GET /model`,
//! `POST /predict`, and the error body every refusal carries.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use pipeline_data::{ColumnPlan, TargetPlan, WindowPlan};
use pipeline_predict::{FinalMetrics, PredictionJson, Predictor, final_metrics};
use pipeline_spec::Normalize;
use serde::Serialize;

/// `GET /health`.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    pub status: &'static str,
    pub run: String,
}

/// `POST /predict`: one prediction per row, in order.
#[derive(Debug, Clone, Serialize)]
pub struct PredictAnswer {
    pub run: String,
    pub predictions: Vec<PredictionJson>,
}

/// A refused or failed request.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorAnswer {
    pub error: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// A JSON error answer: `{"error": message, "status": code, "hint": ...}`.
pub fn error(status: StatusCode, message: String, hint: Option<&str>) -> Response {
    let body = ErrorAnswer {
        error: message,
        status: status.as_u16(),
        hint: hint.map(str::to_owned),
    };
    (status, Json(body)).into_response()
}

/// `GET /model`: the run, its spec, its inputs (in the order the network
/// sees them, with their normalization) and its final metrics.
#[derive(Debug, Clone, Serialize)]
pub struct ModelDescription {
    pub run: String,
    pub experiment: String,
    pub status: String,
    pub spec_toml: String,
    pub input: ModelInput,
    /// The target columns, comma-separated.
    pub target: String,
    pub targets: TargetPlan,
    pub final_metrics: FinalMetrics,
    pub best_epoch: Option<u32>,
    pub selection_metric: String,
}

/// What a row must hold and how it is normalized.
#[derive(Debug, Clone, Serialize)]
pub struct ModelInput {
    pub normalize: Normalize,
    pub formula: &'static str,
    /// One entry per model input (`color=red` for a one-hot input); the
    /// columns' fills and categories are in `columns`.
    pub features: Vec<Feature>,
    pub columns: Vec<ColumnPlan>,
    pub columns_hash: Option<String>,
    /// A windowed run predicts from a series: POST its rows (at least
    /// `steps`, one more under `difference`); each row where a window ends
    /// gets the forecast `horizon` rows after it, the others null.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowPlan>,
}

/// One model input's normalization, `(value - shift) / scale`.
#[derive(Debug, Clone, Serialize)]
pub struct Feature {
    pub name: String,
    pub shift: f64,
    pub scale: f64,
}

impl ModelDescription {
    pub fn of(predictor: &Predictor) -> ModelDescription {
        let record = &predictor.record;
        let preprocessing = &predictor.preprocessing;
        ModelDescription {
            run: record.id.to_string(),
            experiment: record.experiment.clone(),
            status: record.status.to_string(),
            spec_toml: record.spec_toml.clone(),
            input: ModelInput {
                normalize: preprocessing.normalize,
                formula: "(value - shift) / scale",
                features: preprocessing
                    .transforms
                    .iter()
                    .map(|t| Feature {
                        name: t.column.clone(),
                        shift: t.shift,
                        scale: t.scale,
                    })
                    .collect(),
                columns: preprocessing.columns.clone(),
                columns_hash: record.columns_hash.clone(),
                window: preprocessing.window.clone(),
            },
            target: preprocessing.targets.columns().join(","),
            targets: preprocessing.targets.clone(),
            final_metrics: final_metrics(record),
            best_epoch: record.best_epoch,
            selection_metric: record.selection_metric.clone(),
        }
    }
}
