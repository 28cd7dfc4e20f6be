//! `pipeline serve --run RUN [--addr 127.0.0.1:8080] [--public]`: a
//! registered run's predictions over HTTP. `POST /predict` takes one JSON
//! row, an array of rows or `{"rows": [...]}` and answers
//! `{"run": id, "predictions": [...]}`; `GET /model` describes the run and
//! its input schema; `GET /health` says it is up. The run is loaded (and its
//! artifacts verified) once, at start. Bad requests get a 4xx status and a
//! JSON `{"error": ...}` body and the server keeps serving; bodies are
//! limited to [`BODY_LIMIT`] (a larger one is read and discarded up to
//! [`DRAIN_LIMIT`] so that the client gets its 413 instead of a reset
//! connection). It listens on loopback unless `--public` is
//! given, and stops gracefully on Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt as _;
use pipeline_data::{DataError, JsonRowsError, parse_rows, table_from_json_rows};
use serde_json::{Map, Value, json};

use crate::cli::ServeArgs;
use crate::commands::predictor::Predictor;
use crate::commands::shared::Context;
use crate::exit::UserError;

/// The largest request body accepted (1 MiB, about 11,000 rows of 10 features).
const BODY_LIMIT: usize = 1024 * 1024;

/// How much of an over-limit body is read (and discarded) before the 413
/// answer; beyond it the connection is simply closed.
const DRAIN_LIMIT: usize = 16 * BODY_LIMIT;

/// How rows are named in error messages (where a file would name its path).
const LABEL: &str = "request";

/// What every request handler shares.
struct Served {
    predictor: Predictor,
    /// The `GET /model` answer, built once.
    model: Value,
}

pub fn serve(context: &Context, args: ServeArgs) -> anyhow::Result<ExitCode> {
    if !args.addr.ip().is_loopback() && !args.public {
        return Err(UserError::error(
            format!(
                "refusing to listen on {}: it is not a loopback address",
                args.addr
            ),
            Some(
                "the server has no authentication; pass --public to listen there anyway, \
                 or use --addr 127.0.0.1:PORT",
            ),
        ));
    }
    let registry = context.registry_to_read()?;
    let predictor = Predictor::load(
        context,
        &registry,
        &args.run,
        args.experiment.as_deref(),
        args.device,
    )?;
    context.block_on(registry.close());
    let model = describe(&predictor);
    let served = Arc::new(Served { predictor, model });
    context.block_on(listen(args.addr, served))?;
    Ok(ExitCode::SUCCESS)
}

async fn listen(addr: SocketAddr, served: Arc<Served>) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        UserError::error(
            format!("cannot listen on {addr}: {e}"),
            Some("pick another port with --addr 127.0.0.1:PORT (port 0: any free one)"),
        )
    })?;
    let bound = listener
        .local_addr()
        .context("cannot read the bound address")?;
    eprintln!(
        "listening on http://{bound} (run {}; POST /predict, GET /model, GET /health)",
        served.predictor.record.id
    );
    axum::serve(listener, router(served))
        .with_graceful_shutdown(shutdown())
        .await
        .context("the HTTP server failed")?;
    eprintln!("stopped");
    Ok(())
}

fn router(served: Arc<Served>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/model", get(model))
        .route("/predict", post(predict))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(served)
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    eprintln!("shutting down");
}

async fn health(State(served): State<Arc<Served>>) -> Json<Value> {
    Json(json!({"status": "ok", "run": served.predictor.record.id.to_string()}))
}

async fn model(State(served): State<Arc<Served>>) -> Json<Value> {
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
    let predictions = table_from_json_rows(Path::new(LABEL), &rows)
        .map_err(anyhow::Error::from)
        .and_then(|table| served.predictor.predict(&table));
    match predictions {
        Ok(predictions) => Json(json!({
            "run": served.predictor.record.id.to_string(),
            "predictions": predictions.json(),
        }))
        .into_response(),
        Err(e) => {
            let user = e
                .chain()
                .find_map(|cause| cause.downcast_ref::<DataError>())
                .is_some_and(DataError::is_user_error);
            if user {
                // A message's own hint goes in the answer's `hint`.
                let text = e.to_string();
                let (message, hint) = match text.split_once("\nhint: ") {
                    Some((message, hint)) => (message.to_owned(), Some(hint)),
                    None => (text.clone(), None),
                };
                error(StatusCode::UNPROCESSABLE_ENTITY, message, hint)
            } else {
                tracing::error!("prediction failed: {e:#}");
                error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("prediction failed: {e:#}"),
                    None,
                )
            }
        }
    }
}

/// The request body, or the 413 (over [`BODY_LIMIT`]) or 400 (broken
/// transfer) answer. An over-limit body is drained up to [`DRAIN_LIMIT`]
/// without being kept, so the connection stays usable.
async fn read_limited(mut body: Body) -> Result<Vec<u8>, Response> {
    let mut bytes = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            error(
                StatusCode::BAD_REQUEST,
                format!("cannot read the request body: {e}"),
                None,
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total += data.len();
        if total <= BODY_LIMIT {
            bytes.extend_from_slice(&data);
        } else if total > DRAIN_LIMIT {
            break;
        }
    }
    if total > BODY_LIMIT {
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is over the limit of {BODY_LIMIT} bytes"),
            Some("send fewer rows per request"),
        ));
    }
    Ok(bytes)
}

/// The rows of a `/predict` body, or why its shape is wrong.
fn rows(body: &[u8]) -> Result<Vec<Map<String, Value>>, String> {
    let value = parse_rows(body).map_err(|e| match e {
        JsonRowsError::DuplicateKey { .. } => format!("the request body's {e}"),
        JsonRowsError::Invalid(e) => format!("the request body is not valid JSON: {e}"),
    })?;
    let items = match value {
        Value::Object(mut object) => match object.remove("rows") {
            Some(Value::Array(items)) if object.is_empty() => items,
            Some(rows) => {
                object.insert("rows".to_owned(), rows);
                return Ok(vec![object]);
            }
            None => return Ok(vec![object]),
        },
        Value::Array(items) => items,
        _ => return Err("the request body must be a JSON object or an array of objects".into()),
    };
    if items.is_empty() {
        return Err("no rows to predict: the array is empty".into());
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Object(row) => Ok(row),
            _ => Err(format!("item {} of the rows is not an object", i + 1)),
        })
        .collect()
}

async fn not_found(method: Method, uri: Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!("no route for {method} {}", uri.path()),
        Some("the routes are POST /predict, GET /model and GET /health"),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{} does not accept {method}", uri.path()),
        Some("the routes are POST /predict, GET /model and GET /health"),
    )
}

/// A JSON error answer: `{"error": message, "status": code, "hint": ...}`.
fn error(status: StatusCode, message: String, hint: Option<&str>) -> Response {
    let mut body = json!({"error": message, "status": status.as_u16()});
    if let (Some(hint), Value::Object(object)) = (hint, &mut body) {
        object.insert("hint".to_owned(), Value::String(hint.to_owned()));
    }
    (status, Json(body)).into_response()
}

/// The `GET /model` answer: the run, its spec, its inputs (in the order the
/// network sees them, with their normalization) and its final metrics.
fn describe(predictor: &Predictor) -> Value {
    let record = &predictor.record;
    let preprocessing = &predictor.preprocessing;
    // One entry per model input (`color=red` for a one-hot input); the
    // columns' fills and categories are in `columns`.
    let features: Vec<Value> = preprocessing
        .transforms
        .iter()
        .map(|t| json!({"name": t.column, "shift": t.shift, "scale": t.scale}))
        .collect();
    let mut metrics = Map::new();
    for m in &record.final_metrics {
        let split = metrics
            .entry(m.split.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(split) = split {
            split.insert(m.metric.clone(), json!(m.value));
        }
    }
    let mut input = json!({
        "normalize": preprocessing.normalize,
        "formula": "(value - shift) / scale",
        "features": features,
        "columns": preprocessing.columns,
        "columns_hash": record.columns_hash,
    });
    if let Some(window) = &preprocessing.window {
        // A windowed run predicts from a series: POST its rows (at least
        // `steps`, one more under `difference`); each row where a window
        // ends gets the forecast `horizon` rows after it, the others null.
        input["window"] = json!(window);
    }
    json!({
        "run": record.id.to_string(),
        "experiment": record.experiment,
        "status": record.status.to_string(),
        "spec_toml": record.spec_toml,
        "input": input,
        "target": preprocessing.targets.columns().join(","),
        "targets": preprocessing.targets,
        "final_metrics": metrics,
        "best_epoch": record.best_epoch,
        "selection_metric": record.selection_metric,
    })
}
