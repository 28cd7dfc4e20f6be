//! The JSON shapes of the prediction commands (issue 19: typed reports),
//! pinned so that a script reading them is not broken silently:
//! `evaluate --json` for a regression and a classification run, and the
//! JSON files of `export`. Run ids, hashes, times, paths and measured
//! numbers (metrics, byte sizes, confusion counts) are replaced by
//! placeholders; keys, their order and the types
//! of values are what is pinned.

use std::path::Path;

use serde_json::Value;

use crate::common::{Workspace, diabetes_csv, repo_root, scrub};

/// `value` with what changes from run to run replaced by placeholders.
fn shape(value: &Value, ws: &Workspace) -> Value {
    shape_of(None, value, ws)
}

fn shape_of(key: Option<&str>, value: &Value, ws: &Workspace) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), shape_of(Some(k), v, ws)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| shape_of(key, v, ws)).collect()),
        Value::Number(n) if n.is_f64() => Value::String("[float]".into()),
        Value::Number(_) if key == Some("bytes") => Value::String("[bytes]".into()),
        // Counts of a confusion matrix follow the training's arithmetic.
        Value::Number(_) if key == Some("confusion") => Value::String("[count]".into()),
        Value::String(_) if key == Some("git_commit") => Value::String("[GIT]".into()),
        Value::String(text) => Value::String(placeholder(text, ws)),
        other => other.clone(),
    }
}

fn placeholder(text: &str, ws: &Workspace) -> String {
    let hex = |s: &str| s.chars().all(|c| c.is_ascii_hexdigit());
    let bytes = text.as_bytes();
    if text.len() == 36 && [8, 13, 18, 23].iter().all(|&i| bytes[i] == b'-') {
        "[RUN]".into()
    } else if text.len() >= 19 && bytes[4] == b'-' && bytes[10] == b'T' {
        "[TIME]".into()
    } else if text.len() >= 12 && hex(text) {
        "[HASH]".into()
    } else {
        scrub(text, ws)
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap()
}

#[test]
fn evaluate_json_of_a_regression_run() {
    let ws = Workspace::new();
    ws.train(&["train.epochs=2"]);
    let input = diabetes_csv();
    let out = ws.ok(&[
        "evaluate",
        "--run",
        "latest",
        "--input",
        input.to_str().unwrap(),
        "--json",
    ]);
    let value: Value = serde_json::from_str(&out).unwrap();
    insta::assert_snapshot!(pretty(&shape(&value, &ws)));
}

#[test]
fn evaluate_json_of_a_classification_run() {
    let ws = Workspace::new();
    let spec = repo_root().join("experiments/iris.toml");
    ws.ok(&[
        "run",
        spec.to_str().unwrap(),
        "--set",
        "train.epochs=2",
        "--json",
    ]);
    let input = repo_root().join("experiments/data/iris.csv");
    let out = ws.ok(&[
        "evaluate",
        "--run",
        "latest",
        "--input",
        input.to_str().unwrap(),
        "--json",
    ]);
    let value: Value = serde_json::from_str(&out).unwrap();
    insta::assert_snapshot!(pretty(&shape(&value, &ws)));
}

#[test]
fn export_json_files() {
    let ws = Workspace::new();
    ws.train(&["train.epochs=2"]);
    ws.ok(&["export", "latest", "--out", "exported"]);
    let folder = ws.path().join("exported");
    let read = |name: &str| -> Value {
        serde_json::from_slice(&std::fs::read(Path::new(&folder).join(name)).unwrap()).unwrap()
    };
    for name in ["schema.json", "metrics.json", "receipt.json"] {
        insta::assert_snapshot!(
            format!("export_{}", name.trim_end_matches(".json")),
            pretty(&shape(&read(name), &ws))
        );
    }
}
