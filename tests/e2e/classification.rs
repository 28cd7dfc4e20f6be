//! Classification end to end (issues 3, 4 and 6): the shipped breast cancer
//! and iris specs reach their scores with a fixed seed, text labels map to
//! classes and back, `infer` writes a predicted label and one probability per class,
//! `evaluate` recomputes the recorded metrics, and mismatches between the
//! task, the loss, the outputs and the labels are clear errors.

use std::path::PathBuf;

use crate::common::{Workspace, repo_root, scrub, stderr};

fn experiment(name: &str) -> PathBuf {
    repo_root().join("experiments").join(name)
}

/// The iris rows with the species written out, in file order (sorted by class).
fn iris_with_names(ws: &Workspace) -> PathBuf {
    let text = std::fs::read_to_string(repo_root().join("experiments/data/iris.csv")).unwrap();
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    for line in lines {
        let (features, label) = line.rsplit_once(',').unwrap();
        let name = ["setosa", "versicolor", "virginica"][label.parse::<usize>().unwrap()];
        out.push_str(&format!("{features},{name}\n"));
    }
    ws.write("iris_named.csv", &out)
}

fn named_spec(ws: &Workspace, extra: &str) -> PathBuf {
    let data = iris_with_names(ws);
    ws.write(
        "iris_named.toml",
        &format!(
            r#"name = "iris-named"
seed = 7
[data]
path = {:?}
target = "label"
task = "multiclass"
{extra}
[model]
layers = [{{ type = "linear", units = 16 }}, {{ type = "relu" }}, {{ type = "linear", units = 3 }}]
[optimizer]
type = "adam"
learning_rate = 0.02
[train]
epochs = 60
batch_size = 16
"#,
            data.display().to_string()
        ),
    )
}

#[test]
fn breast_cancer_reaches_its_accuracy() {
    let ws = Workspace::new();
    let spec = experiment("breast_cancer.toml");
    let run: serde_json::Value =
        serde_json::from_str(&ws.ok(&["run", spec.to_str().unwrap(), "--json"])).unwrap();
    let test = &run["metrics"]["test"];
    assert!(test["accuracy"].as_f64().unwrap() >= 0.97, "{run}");
    assert!(test["roc_auc"].as_f64().unwrap() >= 0.97, "{run}");
    assert_eq!(run["classes"], serde_json::json!(["0", "1"]));
    // Stratified: the test split keeps the file's proportions (212 / 357).
    let support: Vec<u64> = run["reports"]["test"]["per_class"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["support"].as_u64().unwrap())
        .collect();
    assert_eq!(support, [32, 54], "{run}");
    // Per-class scores and the confusion matrix are in the registry and
    // shown by `show`.
    let shown = ws.ok(&["show", "latest"]);
    assert!(shown.contains("confusion matrix, test split"), "{shown}");
    assert!(shown.contains("roc_auc"), "{shown}");
    let runs = ws.ok(&["runs"]);
    assert!(runs.contains("test_accuracy"), "{runs}");
}

#[test]
fn text_labels_train_predict_and_evaluate() {
    let ws = Workspace::new();
    let spec = named_spec(&ws, "");
    let run: serde_json::Value =
        serde_json::from_str(&ws.ok(&["run", spec.to_str().unwrap(), "--json"])).unwrap();
    assert_eq!(
        run["classes"],
        serde_json::json!(["setosa", "versicolor", "virginica"])
    );
    assert!(
        run["metrics"]["test"]["accuracy"].as_f64().unwrap() >= 0.9,
        "{run}"
    );
    assert!(run["metrics"]["test"].get("roc_auc").is_none(), "{run}");

    // A label and one probability per class, summing to one.
    let out = ws.ok(&[
        "infer",
        "--json",
        r#"{"sepal_length_cm": 5.1, "sepal_width_cm": 3.5, "petal_length_cm": 1.4, "petal_width_cm": 0.2}"#,
        "--format",
        "ndjson",
    ]);
    let row: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(row["prediction"], "setosa", "{out}");
    let total: f64 = ["setosa", "versicolor", "virginica"]
        .iter()
        .map(|c| row[format!("probability_{c}")].as_f64().unwrap())
        .sum();
    assert!((total - 1.0).abs() < 1e-5, "{out}");

    // `evaluate` on the training file gives the recorded classes and a
    // confusion matrix over all 150 rows.
    let data = ws.path().join("iris_named.csv");
    let evaluation: serde_json::Value = serde_json::from_str(&ws.ok(&[
        "evaluate",
        "--run",
        "latest",
        "--input",
        data.to_str().unwrap(),
        "--json",
    ]))
    .unwrap();
    assert_eq!(evaluation["rows"], 150);
    let counted: u64 = evaluation["confusion"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter().map(|c| c.as_u64().unwrap()))
        .sum();
    assert_eq!(counted, 150);

    // Exported, the folder gives the same class probabilities outside
    // pipeline (tests/interop/check_export.py, when python3 exists).
    let export = ws.path().join("export");
    ws.ok(&["export", "latest", "--out", export.to_str().unwrap()]);
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(export.join("schema.json")).unwrap())
            .unwrap();
    assert_eq!(schema["output"]["task"], "multiclass");
    assert_eq!(schema["output"]["logits"], 3);
    let predictions = ws.path().join("predictions.csv");
    // Only the predictions, for the checker.
    ws.ok(&[
        "infer",
        "--input",
        data.to_str().unwrap(),
        "--only-predictions",
        "--output",
        predictions.to_str().unwrap(),
    ]);
    if std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok()
    {
        let check = std::process::Command::new("python3")
            .arg(repo_root().join("tests/interop/check_export.py"))
            .arg(&export)
            .arg(&data)
            .arg(&predictions)
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&check.stdout);
        assert!(check.status.success(), "{report}\n{}", stderr(&check));
        assert!(report.contains("pure-python: 150 rows match"), "{report}");
    }

    // A label the run never saw is an error naming the row.
    let unknown = ws.write(
        "unknown.csv",
        "sepal_length_cm,sepal_width_cm,petal_length_cm,petal_width_cm,label\n5.1,3.5,1.4,0.2,setosa\n6.0,3.0,4.5,1.5,orchid\n",
    );
    let out = ws.run(&[
        "evaluate",
        "--run",
        "latest",
        "--input",
        unknown.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(message.contains("\"orchid\" at row 2"), "{message}");
}

#[test]
fn class_weights_and_label_smoothing_train() {
    let ws = Workspace::new();
    let spec = named_spec(
        &ws,
        "[loss]\ntype = \"cross_entropy\"\nclass_weights = \"balanced\"\nlabel_smoothing = 0.1\n",
    );
    // The [loss] table must follow the [data] keys: write it after them.
    let text = std::fs::read_to_string(&spec).unwrap();
    let (head, tail) = text.split_once("[loss]").unwrap();
    let (loss, rest) = tail.split_once("[model]").unwrap();
    let spec = ws.write("weighted.toml", &format!("{head}[model]{rest}[loss]{loss}"));
    let run: serde_json::Value =
        serde_json::from_str(&ws.ok(&["run", spec.to_str().unwrap(), "--json"])).unwrap();
    assert!(
        run["metrics"]["test"]["accuracy"].as_f64().unwrap() >= 0.9,
        "{run}"
    );
    // Label smoothing keeps the loss above the log loss of the same outputs.
    let test = &run["metrics"]["test"];
    assert!(
        test["loss"].as_f64().unwrap() > test["log_loss"].as_f64().unwrap(),
        "{run}"
    );
}

#[test]
fn classification_mismatches_are_clear_errors() {
    let ws = Workspace::new();
    // Three labels under task = "binary".
    let spec = named_spec(&ws, "");
    let text = std::fs::read_to_string(&spec)
        .unwrap()
        .replace("task = \"multiclass\"", "task = \"binary\"")
        .replace("units = 3 }]", "units = 1 }]");
    let binary = ws.write("binary.toml", &text);
    let out = ws.run(&["run", binary.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    insta::assert_snapshot!("three_labels_for_binary", scrub(&stderr(&out), &ws));

    // Four outputs for three classes.
    let text = std::fs::read_to_string(&spec)
        .unwrap()
        .replace("units = 3 }]", "units = 4 }]");
    let four = ws.write("four.toml", &text);
    let out = ws.run(&["run", four.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    insta::assert_snapshot!("four_outputs_for_three_classes", scrub(&stderr(&out), &ws));

    // Neither wrote anything: not even a registry.
    assert!(ws.nothing_recorded());

    // A regression loss on a classification task, and a classification
    // metric on a regression task: spec errors with line and column.
    let text = std::fs::read_to_string(&spec)
        .unwrap()
        .replace("[optimizer]", "[loss]\ntype = \"mse\"\n[optimizer]");
    let mse = ws.write("mse.toml", &text);
    let out = ws.run(&["check", mse.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    insta::assert_snapshot!("regression_loss_on_classes", scrub(&stderr(&out), &ws));
    let out = ws.run(&[
        "check",
        crate::common::mlp_spec().to_str().unwrap(),
        "--set",
        "selection.metric=val_accuracy",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    insta::assert_snapshot!("accuracy_on_regression", scrub(&stderr(&out), &ws));
}
