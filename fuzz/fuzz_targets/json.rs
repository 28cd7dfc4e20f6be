//! Arbitrary bytes as JSON rows (`serve`'s body, `infer --json`, a line of
//! NDJSON): the strict reader must answer every input with rows or an error
//! value, never a panic, a hang or unbounded memory; it must read what
//! serde_json reads wherever no object gives a key twice; and the rows it
//! gives must make a table or an error value.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use pipeline_data::{JsonRowsError, parse_rows, table_from_json_rows};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let strict = parse_rows(data);
    let loose = serde_json::from_slice::<Value>(data);
    match &strict {
        Ok(value) => assert_eq!(
            Some(value),
            loose.as_ref().ok(),
            "the strict reader read what serde_json refuses, or read it otherwise"
        ),
        Err(JsonRowsError::Invalid(_)) => {
            assert!(loose.is_err(), "serde_json reads what the strict reader refuses")
        }
        Err(JsonRowsError::DuplicateKey { .. }) => {}
    }
    let Ok(value) = strict else {
        return;
    };
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut object) => match object.remove("rows") {
            Some(Value::Array(items)) => items,
            _ => vec![Value::Object(object)],
        },
        _ => return,
    };
    let rows: Vec<_> = items
        .into_iter()
        .filter_map(|item| match item {
            Value::Object(row) => Some(row),
            _ => None,
        })
        .collect();
    let _ = table_from_json_rows(Path::new("fuzz.json"), &rows);
});
