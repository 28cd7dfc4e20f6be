//! Malformed inputs that used to pass unnoticed or fail without a location:
//! rows with more or fewer fields than the header, repeated or empty header
//! names, a repeated time in a windowed series, a window longer than the
//! series, an empty `--json` array and a header-only file to evaluate. Each
//! exits 2 naming the file (and row or column) with a hint; messages are
//! snapshot-tested.

use std::path::PathBuf;

use crate::common::{Workspace, diabetes_csv, mlp_spec, repo_root, scrub, stderr};

/// Runs `args`, expects exit code 2; returns scrubbed stderr.
fn fails(ws: &Workspace, args: &[&str]) -> String {
    let out = ws.run(args);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{}", stderr(&out));
    scrub(&stderr(&out), ws)
}

/// The first experiment on `csv` (written to the workspace), with overrides.
fn run_on(ws: &Workspace, csv: &str, overrides: &[&str]) -> String {
    let data = ws.write("data.csv", csv);
    let spec = mlp_spec();
    let path = format!("data.path={:?}", data.display().to_string());
    let mut args = vec!["run", spec.to_str().unwrap(), "--set", &path];
    for o in overrides {
        args.extend(["--set", o]);
    }
    fails(ws, &args)
}

/// The diabetes data with line `line` (1 = the header) changed by `edit`.
fn diabetes_with(line: usize, edit: impl Fn(&str) -> String) -> String {
    let text = std::fs::read_to_string(diabetes_csv()).unwrap();
    text.lines()
        .enumerate()
        .map(|(i, l)| if i + 1 == line { edit(l) } else { l.to_owned() } + "\n")
        .collect()
}

#[test]
fn a_row_with_a_field_too_few() {
    let ws = Workspace::new();
    // Row 3 loses its target: it used to read as an empty cell, which
    // missing = "drop" then dropped without a word.
    let csv = diabetes_with(4, |l| l.rsplit_once(',').unwrap().0.to_owned());
    let message = run_on(&ws, &csv, &["data.missing=drop"]);
    insta::assert_snapshot!(message);
}

#[test]
fn a_row_with_a_field_too_many_at_inference() {
    let ws = Workspace::new();
    ws.train(&["train.epochs=1"]);
    // Row 300 has an unquoted decimal comma; read in batches of 64 rows, the
    // error still counts rows in the whole input.
    let csv = diabetes_with(301, |l| l.replacen('.', ",", 1));
    let input = ws.write("input.csv", &csv);
    let message = fails(
        &ws,
        &[
            "infer",
            "--input",
            input.to_str().unwrap(),
            "--batch-rows",
            "64",
        ],
    );
    insta::assert_snapshot!(message);
    // Training reads the whole file and says the same.
    let training = run_on(&ws, &csv, &[]);
    assert!(
        training.contains("row 300 has 12 field(s), but the header has 11"),
        "{training}"
    );
}

#[test]
fn a_repeated_header_name() {
    let ws = Workspace::new();
    let csv = diabetes_with(1, |l| l.replacen("sex", "age", 1));
    insta::assert_snapshot!(run_on(&ws, &csv, &[]));
}

#[test]
fn an_empty_header_name() {
    let ws = Workspace::new();
    let csv = diabetes_with(1, |l| l.replacen("sex", "", 1));
    insta::assert_snapshot!(run_on(&ws, &csv, &[]));
}

/// The CO2 experiment on its data with `edit` applied to the lines.
fn co2(ws: &Workspace, edit: impl Fn(&mut Vec<String>)) -> PathBuf {
    let root = repo_root().join("experiments");
    let text = std::fs::read_to_string(root.join("data/co2_weekly.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    edit(&mut lines);
    let data = ws.write("co2.csv", &(lines.join("\n") + "\n"));
    let spec = std::fs::read_to_string(root.join("co2_lstm.toml"))
        .unwrap()
        .replace(
            "path = \"data/co2_weekly.csv\"",
            &format!("path = {:?}", data.display().to_string()),
        );
    ws.write("co2.toml", &spec)
}

#[test]
fn a_repeated_date_in_a_series() {
    let ws = Workspace::new();
    // Row 10's date again at the end of the file.
    let spec = co2(&ws, |lines| {
        let date = lines[10].split(',').next().unwrap().to_owned();
        lines.push(format!("{date},999.9"));
    });
    insta::assert_snapshot!(fails(&ws, &["run", spec.to_str().unwrap()]));
}

#[test]
fn a_window_longer_than_the_series() {
    let ws = Workspace::new();
    let spec = co2(&ws, |_| {});
    insta::assert_snapshot!(fails(
        &ws,
        &[
            "run",
            spec.to_str().unwrap(),
            "--set",
            "data.window.steps=5000",
            "--set",
            "model.input=[5000,1]",
        ],
    ));
}

#[test]
fn an_empty_json_array_and_a_header_only_file_to_evaluate() {
    let ws = Workspace::new();
    ws.train(&["train.epochs=1"]);
    insta::assert_snapshot!("empty_json_array", fails(&ws, &["infer", "--json", "[]"]));
    let header = std::fs::read_to_string(diabetes_csv())
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let input = ws.write("header.csv", &format!("{header}\n"));
    insta::assert_snapshot!(
        "evaluate_header_only",
        fails(&ws, &["evaluate", "--input", input.to_str().unwrap()])
    );
}
