//! Messy tables (issue 3): a text column, empty cells and an id column to
//! leave out, trained with fills and one-hot categories; `infer` applies the
//! stored preprocessing, and a category the training split never had is an
//! error naming the column and row unless the spec says to ignore it.

use std::path::PathBuf;

use crate::common::{Workspace, diabetes_csv, scrub, stderr};

const REGIONS: [&str; 3] = ["north", "south", "east"];

/// The first 150 diabetes rows with an `id`, a `region` (text) and empty
/// cells: every 7th row's bmi, every 11th row's region.
fn messy_csv(ws: &Workspace) -> PathBuf {
    let text = std::fs::read_to_string(diabetes_csv()).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let mut out = format!("id,region,{header}\n");
    for (i, line) in lines.take(150).enumerate() {
        let mut fields: Vec<String> = line.split(',').map(String::from).collect();
        if i % 7 == 3 {
            fields[2] = String::new();
        }
        let region = if i % 11 == 5 { "" } else { REGIONS[i % 3] };
        out.push_str(&format!("{},{region},{}\n", 1000 + i, fields.join(",")));
    }
    ws.write("messy.csv", &out)
}

fn spec(ws: &Workspace, unknown: &str) -> PathBuf {
    let data = messy_csv(ws);
    ws.write(
        "messy.toml",
        &format!(
            r#"name = "messy"
[data]
path = {:?}
target = "target"
exclude = ["id"]
missing = "median"
unknown = "{unknown}"
[data.columns.region]
missing = "mode"
[data.columns.s6]
missing = "drop"
[model]
layers = [{{ type = "linear", units = 8 }}, {{ type = "relu" }}, {{ type = "linear", units = 1 }}]
[loss]
type = "mse"
[optimizer]
type = "adam"
learning_rate = 0.01
[train]
epochs = 3
"#,
            data.display().to_string()
        ),
    )
}

/// Two rows to predict: a known region with an empty bmi, then an unseen one.
fn new_rows(ws: &Workspace) -> PathBuf {
    ws.write(
        "new.csv",
        "id,region,age,sex,bmi,bp,s1,s2,s3,s4,s5,s6\n\
         1,north,50,1,,90,180,100,50,4,4.5,90\n\
         2,west,40,2,25.1,80,170,90,45,3,4.2,85\n",
    )
}

fn train(ws: &Workspace, unknown: &str) -> serde_json::Value {
    let spec = spec(ws, unknown);
    serde_json::from_str(&ws.ok(&["run", spec.to_str().unwrap(), "--json"])).unwrap()
}

#[test]
fn trains_on_text_and_empty_cells_and_refuses_an_unseen_category() {
    let ws = Workspace::new();
    let run = train(&ws, "error");
    // The stored preprocessing: one-hot region inputs, the fills, no id.
    let id = run["id"].as_str().unwrap();
    let preprocessing: serde_json::Value =
        serde_json::from_slice(&ws.artifact(id, "preprocessing.json")).unwrap();
    let features = preprocessing["features"].as_array().unwrap();
    assert_eq!(features.len(), 11, "{preprocessing}");
    assert_eq!(features[0], "region");
    let inputs: Vec<&str> = preprocessing["transforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["column"].as_str().unwrap())
        .collect();
    assert_eq!(
        &inputs[..4],
        ["region=east", "region=north", "region=south", "age"]
    );
    assert_eq!(inputs.len(), 13);
    // The most frequent training region fills empty region cells.
    let fill = preprocessing["columns"][0]["fill"].as_str().unwrap();
    assert!(REGIONS.contains(&fill), "{preprocessing}");
    assert!(
        preprocessing["columns"][3]["fill"].is_number(),
        "{preprocessing}"
    );

    // A known region and an empty bmi: predicted.
    let out = ws.ok(&[
        "infer",
        "--row",
        "region=north,age=50,sex=1,bmi=,bp=90,s1=180,s2=100,s3=50,s4=4,s5=4.5,s6=90",
    ]);
    assert!(out.starts_with("region,age"), "{out}");

    let rows = new_rows(&ws);
    let out = ws.run(&["infer", "--input", rows.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    insta::assert_snapshot!(scrub(&stderr(&out), &ws));
}

#[test]
fn an_ignored_unseen_category_predicts() {
    let ws = Workspace::new();
    train(&ws, "ignore");
    let rows = new_rows(&ws);
    let out = ws.ok(&["infer", "--input", rows.to_str().unwrap()]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].ends_with(",prediction"), "{out}");
    assert!(lines[2].starts_with("2,west,"), "{out}");
    // An empty cell in a column whose rows were dropped in training: there
    // is no fill, so it is an error naming the column and row.
    let bad = ws.write(
        "bad.csv",
        "region,age,sex,bmi,bp,s1,s2,s3,s4,s5,s6\nnorth,50,1,30,90,180,100,50,4,4.5,90\nnorth,50,1,30,90,180,100,50,4,4.5,\n",
    );
    let out = ws.run(&["infer", "--input", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    assert!(
        message.contains("column `s6` has 1 empty cell(s), the first at row 2; the run dropped"),
        "{message}"
    );
}

#[test]
fn an_exported_messy_run_predicts_the_same_outside_pipeline() {
    let ws = Workspace::new();
    let run = train(&ws, "ignore");
    let id = run["id"].as_str().unwrap().to_owned();
    let out = ws.path().join("export");
    ws.ok(&["export", &id, "--out", out.to_str().unwrap()]);
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("schema.json")).unwrap()).unwrap();
    let inputs = schema["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 13);
    assert_eq!(inputs[0]["type"], "onehot");
    assert_eq!(inputs[0]["column"], "region");
    assert_eq!(inputs[0]["category"], "east");
    assert_eq!(inputs[3]["type"], "float");
    assert!(inputs[5]["fill"].is_number(), "{schema}");

    // Training rows (empty bmi and region cells) and new ones (an unseen region).
    let mut rows = std::fs::read_to_string(messy_csv(&ws)).unwrap();
    rows.push_str(
        "1,north,50,1,,90,180,100,50,4,4.5,90,0\n2,west,40,2,25.1,80,170,90,45,3,4.2,85,0\n",
    );
    let input = ws.write("rows.csv", &rows);
    let predictions = ws.path().join("predictions.csv");
    ws.ok(&[
        "infer",
        "--input",
        input.to_str().unwrap(),
        "--output",
        predictions.to_str().unwrap(),
    ]);
    if std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("python3 not found: the interop check is skipped");
        return;
    }
    let check = std::process::Command::new("python3")
        .arg(crate::common::repo_root().join("tests/interop/check_export.py"))
        .arg(&out)
        .arg(&input)
        .arg(&predictions)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "check_export.py failed:\n{report}\n{}",
        stderr(&check)
    );
    assert!(report.contains("pure-python: 152 rows match"), "{report}");
}
