//! Every bad input of issue #2 gets a clear error naming the file, field,
//! column or run, exit code 2, and nothing written; a diverging loss fails
//! the run with exit code 1. Messages are snapshot-tested.

use std::path::{Path, PathBuf};

use crate::common::{Workspace, diabetes_csv, mlp_spec, scrub, sqlite_only, stderr};

/// A copy of the first experiment in the workspace, with one text replacement.
fn spec_with(ws: &Workspace, from: &str, to: &str) -> PathBuf {
    let text = std::fs::read_to_string(mlp_spec()).unwrap();
    assert!(text.contains(from), "{from}");
    let text = text.replacen(from, to, 1).replace(
        "path = \"data/diabetes.csv\"",
        &format!("path = {:?}", diabetes_csv().display().to_string()),
    );
    ws.write("spec.toml", &text)
}

/// Runs `args`, expects exit code `code` and no registry left behind; returns scrubbed stderr.
fn fails(ws: &Workspace, args: &[&str], code: i32) -> String {
    let out = ws.run(args);
    assert_eq!(out.status.code(), Some(code), "stderr:\n{}", stderr(&out));
    assert!(
        out.stdout.is_empty(),
        "nothing on stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    scrub(&stderr(&out), ws)
}

fn run_fails(ws: &Workspace, spec: &Path) -> String {
    let message = fails(ws, &["run", spec.to_str().unwrap()], 2);
    assert!(
        ws.nothing_recorded(),
        "a rejected spec must not create the registry"
    );
    message
}

#[test]
fn unknown_spec_key() {
    let ws = Workspace::new();
    let spec = spec_with(&ws, "batch_size = 32", "batch_sise = 32");
    insta::assert_snapshot!(run_fails(&ws, &spec));
}

/// The message of `run` with the first experiment and `--set setting`.
fn override_fails(setting: &str) -> String {
    let ws = Workspace::new();
    fails(
        &ws,
        &["run", mlp_spec().to_str().unwrap(), "--set", setting],
        2,
    )
}

#[test]
fn unknown_override_key() {
    insta::assert_snapshot!(override_fails("train.epoch=5"));
}

#[test]
fn missing_data_file() {
    let ws = Workspace::new();
    let spec = ws.write("spec.toml", &std::fs::read_to_string(mlp_spec()).unwrap());
    insta::assert_snapshot!(run_fails(&ws, &spec));
}

#[test]
fn unknown_column() {
    let ws = Workspace::new();
    let spec = spec_with(&ws, "target = \"target\"", "target = \"progression\"");
    insta::assert_snapshot!(run_fails(&ws, &spec));
}

fn with_bad_cell(ws: &Workspace, replacement: &str) -> PathBuf {
    let csv = std::fs::read_to_string(diabetes_csv()).unwrap();
    let mut lines: Vec<String> = csv.lines().map(String::from).collect();
    // Row 3 (line 4): replace its bmi (third field).
    let mut fields: Vec<String> = lines[3].split(',').map(String::from).collect();
    fields[2] = replacement.into();
    lines[3] = fields.join(",");
    ws.write("bad.csv", &(lines.join("\n") + "\n"));
    let text = std::fs::read_to_string(mlp_spec())
        .unwrap()
        .replace("data/diabetes.csv", "bad.csv");
    ws.write("spec.toml", &text)
}

#[test]
fn non_numeric_cell() {
    let ws = Workspace::new();
    let spec = with_bad_cell(&ws, "n/a");
    insta::assert_snapshot!(run_fails(&ws, &spec));
}

#[test]
fn empty_cell() {
    let ws = Workspace::new();
    let spec = with_bad_cell(&ws, "");
    insta::assert_snapshot!(run_fails(&ws, &spec));
}

#[test]
fn fractions_not_summing_to_one() {
    let ws = Workspace::new();
    let spec = spec_with(&ws, "test = 0.15", "test = 0.25");
    insta::assert_snapshot!(run_fails(&ws, &spec));
}

#[test]
fn learning_rate_not_positive() {
    let ws = Workspace::new();
    let spec = spec_with(&ws, "learning_rate = 1e-3", "learning_rate = 0.0");
    insta::assert_snapshot!(run_fails(&ws, &spec));
}

#[test]
fn zero_width_layer() {
    let ws = Workspace::new();
    let spec = spec_with(&ws, "units = 64", "units = 0");
    insta::assert_snapshot!(run_fails(&ws, &spec));
}

#[test]
fn unknown_run() {
    let ws = Workspace::new();
    ws.train(&["train.epochs=1"]);
    insta::assert_snapshot!(fails(&ws, &["show", "ffffffff"], 2));
    let out = fails(
        &ws,
        &[
            "infer",
            "--run",
            "ffffffff",
            "--input",
            diabetes_csv().to_str().unwrap(),
        ],
        2,
    );
    assert!(out.contains("ffffffff"), "{out}");
}

#[test]
fn registry_that_is_not_one() {
    sqlite_only!("corrupt database file");
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.registry().parent().unwrap()).unwrap();
    std::fs::write(ws.registry(), "name,value\nnot,a database\n").unwrap();
    let before = std::fs::read(ws.registry()).unwrap();
    insta::assert_snapshot!(fails(&ws, &["runs"], 2));
    let out = fails(
        &ws,
        &[
            "run",
            mlp_spec().to_str().unwrap(),
            "--set",
            "train.epochs=1",
        ],
        2,
    );
    assert!(out.contains("not a"), "{out}");
    assert_eq!(
        std::fs::read(ws.registry()).unwrap(),
        before,
        "the file is left untouched"
    );
}

#[test]
fn infer_input_missing_a_feature_column() {
    let ws = Workspace::new();
    ws.train(&["train.epochs=1"]);
    let csv = std::fs::read_to_string(diabetes_csv()).unwrap();
    let without_bmi: String = csv
        .lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split(',').collect();
            f.remove(2);
            f.join(",") + "\n"
        })
        .collect();
    let input = ws.write("no_bmi.csv", &without_bmi);
    let output = ws.path().join("out.csv");
    let out = fails(
        &ws,
        &[
            "infer",
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
        ],
        2,
    );
    assert!(!output.exists(), "no partial output");
    insta::assert_snapshot!(out);
}

#[test]
fn infinite_cell() {
    let ws = Workspace::new();
    let spec = with_bad_cell(&ws, "inf");
    let message = run_fails(&ws, &spec);
    assert!(
        message.contains("column `bmi` has a non-numeric value \"inf\" at row 3"),
        "{message}"
    );
}

#[test]
fn unknown_metric_in_where() {
    let ws = Workspace::new();
    ws.train(&["train.epochs=1"]);
    let message = fails(&ws, &["runs", "--where", "val_rsme < 3"], 2);
    assert!(
        message.contains("unknown metric `rsme` in `val_rsme`"),
        "{message}"
    );
    assert!(
        message.contains("hint: did you mean `val_rmse`?"),
        "{message}"
    );
    let far = fails(&ws, &["runs", "--where", "val_zzzzzz < 3"], 2);
    assert!(
        far.contains("hint: known metrics: loss, mse, rmse, mae, r2"),
        "{far}"
    );
}

#[test]
fn override_of_the_wrong_type() {
    insta::assert_snapshot!(override_fails("train.epochs=abc"));
}

#[test]
fn diverging_loss_fails_the_run() {
    let ws = Workspace::new();
    let out = ws.run(&[
        "run",
        mlp_spec().to_str().unwrap(),
        "--set",
        "data.normalize=none",
        "--set",
        "optimizer.type=sgd",
        "--set",
        "optimizer.learning_rate=1e6",
        "--set",
        "train.epochs=20",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(message.contains("the training loss became"), "{message}");
    assert!(message.contains("at epoch 1, batch"), "{message}");
    assert!(
        message.contains("hint: lower optimizer.learning_rate"),
        "{message}"
    );
    assert_eq!(ws.query::<String>("SELECT status FROM runs"), ["failed"]);
    let error = ws.query::<String>("SELECT error FROM runs").remove(0);
    assert!(error.contains("epoch 1"), "{error}");
    assert_eq!(ws.query::<i64>("SELECT count(*) FROM artifacts"), [0]);
}
