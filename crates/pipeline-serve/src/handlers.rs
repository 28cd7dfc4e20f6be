//! The routes and what each answers.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use pipeline_data::table_from_json_rows;
use pipeline_predict::PredictError;

use crate::Served;
use crate::answers::{Health, ModelDescription, PredictAnswer, error};
use crate::body::{read_limited, rows};

/// How rows are named in error messages (where a file would name its path).
const LABEL: &str = "request";

/// The routes the hints name.
const ROUTES: &str = "the routes are POST /predict, GET /model and GET /health";

pub fn router(served: Arc<Served>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/model", get(model))
        .route("/predict", post(predict))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(served)
}

async fn health(State(served): State<Arc<Served>>) -> Json<Health> {
    Json(Health {
        status: "ok",
        run: served.predictor.record.id.to_string(),
    })
}

async fn model(State(served): State<Arc<Served>>) -> Json<ModelDescription> {
    Json(served.model.clone())
}

async fn predict(State(served): State<Arc<Served>>, body: Body) -> Response {
    let body = match read_limited(body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let rows = match rows(&body) {
        Ok(rows) => rows,
        Err(message) => {
            let example = served.predictor.example_json();
            let hint = format!("send a row {example}, an array of rows or {{\"rows\": [...]}}");
            return error(StatusCode::BAD_REQUEST, message, Some(&hint));
        }
    };
    let predictions = match table_from_json_rows(Path::new(LABEL), &rows) {
        Ok(table) => served.predictor.predict(&table),
        Err(e) => Err(PredictError::from(e)),
    };
    match predictions {
        Ok(predictions) => Json(PredictAnswer {
            run: served.predictor.record.id.to_string(),
            predictions: predictions.json(),
        })
        .into_response(),
        Err(e) => refused(&e),
    }
}

/// The answer to rows the run cannot predict (422, the message's own hint
/// apart), or to a failure (500).
fn refused(e: &PredictError) -> Response {
    if e.data_error().is_some_and(|e| e.is_user_error()) {
        // A message's own hint goes in the answer's `hint`.
        let text = e.to_string();
        let (message, hint) = match text.split_once("\nhint: ") {
            Some((message, hint)) => (message.to_owned(), Some(hint)),
            None => (text.clone(), None),
        };
        error(StatusCode::UNPROCESSABLE_ENTITY, message, hint)
    } else {
        let text = chain(e);
        tracing::error!("prediction failed: {text}");
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("prediction failed: {text}"),
            None,
        )
    }
}

/// The error and its causes, `: `-separated (as anyhow's `{:#}` writes them).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

async fn not_found(method: Method, uri: Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!("no route for {method} {}", uri.path()),
        Some(ROUTES),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{} does not accept {method}", uri.path()),
        Some(ROUTES),
    )
}
