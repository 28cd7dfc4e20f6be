//! `pipeline check` (issue #3): the spec, data and model looked at together
//! before training, with warnings for the classic pitfalls; `run` prints the
//! same warnings first.

use crate::common::{Workspace, mlp_spec, stderr};

#[test]
fn check_reports_columns_splits_layers_and_warnings() {
    let ws = Workspace::new();
    let spec = mlp_spec();
    let out = ws.ok(&["check", spec.to_str().unwrap()]);
    let stable = out
        .lines()
        .map(|l| {
            if l.starts_with("checked in ") {
                "checked in [time]"
            } else if l.starts_with("diabetes-mlp (") {
                "diabetes-mlp ([spec])"
            } else if l.starts_with("data     ") {
                "data     [path]: 442 rows"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!(stable);

    let report: serde_json::Value =
        serde_json::from_str(&ws.ok(&["check", spec.to_str().unwrap(), "--json"])).unwrap();
    let splits = &report["splits"];
    let rows = splits["train"].as_u64().unwrap()
        + splits["validation"].as_u64().unwrap()
        + splits["test"].as_u64().unwrap();
    assert_eq!(rows, 442);
    assert_eq!(report["model"]["parameters"], 769);
    assert_eq!(report["model"]["layers"][0]["output_shape"][0], 64);
    assert_eq!(report["columns"].as_array().unwrap().len(), 11);
    // 310 rows for 769 parameters, but with early stopping: not warned.
    assert_eq!(report["warnings"], serde_json::json!([]));
    // Nothing is written: no registry appears.
    assert!(!ws.registry().exists());

    // Each pitfall the overrides create is named.
    let risky: serde_json::Value = serde_json::from_str(&ws.ok(&[
        "check",
        spec.to_str().unwrap(),
        "--json",
        "--set",
        "optimizer.learning_rate=0.9",
        "--set",
        "data.split.validation=0.05",
        "--set",
        "data.split.train=0.8",
    ]))
    .unwrap();
    let kinds: Vec<&str> = risky["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["learning_rate", "small_validation_split"]);

    // A mistake is the same error, and exit code, as `run` gives.
    let out = ws.run(&[
        "check",
        spec.to_str().unwrap(),
        "--set",
        "data.target=targte",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("did you mean `target`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn run_prints_the_warnings_before_training() {
    let ws = Workspace::new();
    let spec = mlp_spec();
    let out = ws.run(&[
        "run",
        spec.to_str().unwrap(),
        "--set",
        "train.epochs=1",
        "--set",
        "optimizer.learning_rate=0.9",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let warning = err.find("warning: learning rate 9e-1").unwrap();
    let epoch = err.find("epoch").unwrap();
    assert!(warning < epoch, "{err}");
    // -q silences them.
    let out = ws.run(&[
        "run",
        spec.to_str().unwrap(),
        "--set",
        "train.epochs=1",
        "-q",
    ]);
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
}

#[test]
fn the_shipped_schema_is_what_pipeline_schema_prints() {
    let ws = Workspace::new();
    let printed = ws.ok(&["schema"]);
    let shipped = std::fs::read_to_string(
        crate::common::repo_root().join("experiments/pipeline.schema.json"),
    )
    .unwrap();
    assert_eq!(
        printed, shipped,
        "regenerate it: pipeline schema > experiments/pipeline.schema.json"
    );
    let schema: serde_json::Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(schema["additionalProperties"], false);
    assert!(
        schema["required"]
            .as_array()
            .unwrap()
            .contains(&"data".into())
    );
}

#[test]
fn a_constant_fill_reads_as_one() {
    let ws = Workspace::new();
    let text = std::fs::read_to_string(mlp_spec()).unwrap().replacen(
        "[data]\n",
        "[data]\nmissing = { constant = 0 }\n",
        1,
    );
    let spec = mlp_spec().with_file_name("constant_fill.toml");
    let spec = ws.write(
        "constant_fill.toml",
        &text.replace(
            "path = \"data/diabetes.csv\"",
            &format!(
                "path = {:?}",
                spec.with_file_name("data/diabetes.csv")
                    .display()
                    .to_string()
            ),
        ),
    );
    let out = ws.ok(&["check", spec.to_str().unwrap()]);
    let age = out
        .lines()
        .find(|l| l.trim_start().starts_with("age "))
        .unwrap();
    assert!(age.ends_with("constant 0.0"), "{out}");
}
