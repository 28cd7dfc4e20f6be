//! A `/predict` request's body: read up to [`BODY_LIMIT`] (an over-limit
//! body drained, not kept, so the connection stays usable), then its rows.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use http_body_util::BodyExt as _;
use pipeline_data::{JsonRowsError, parse_rows};
use serde_json::{Map, Value};

use crate::answers::error;
use crate::{BODY_LIMIT, DRAIN_LIMIT};

/// The request body, or the 413 (over [`BODY_LIMIT`]) or 400 (broken
/// transfer) answer. An over-limit body is drained up to [`DRAIN_LIMIT`]
/// without being kept.
pub async fn read_limited(mut body: Body) -> Result<Vec<u8>, Response> {
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
pub fn rows(body: &[u8]) -> Result<Vec<Map<String, Value>>, String> {
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
