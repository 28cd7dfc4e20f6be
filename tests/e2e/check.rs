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
    assert!(ws.nothing_recorded());

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

/// Issue 22: `check` on a sweep spec shows its space and the pitfalls of its
/// corners, each once with the corner that causes it.
#[test]
fn check_shows_a_sweeps_space_and_its_corners() {
    let ws = Workspace::new();
    let shipped = crate::common::repo_root().join("experiments/sweep.toml");
    let out = ws.ok(&["check", shipped.to_str().unwrap()]);
    let start = out.find("\nsweep    ").expect("a sweep section");
    let end = out.find("checked in ").unwrap();
    insta::assert_snapshot!(&out[start + 1..end]);
    let report: serde_json::Value =
        serde_json::from_str(&ws.ok(&["check", shipped.to_str().unwrap(), "--json"])).unwrap();
    let sweep = &report["sweep"];
    assert_eq!(sweep["method"], "tpe");
    assert_eq!(sweep["size"], serde_json::Value::Null, "continuous");
    assert_eq!(sweep["budget"], 40);
    assert_eq!(sweep["parameters"].as_array().unwrap().len(), 5);
    assert_eq!(
        sweep["parameters"][1]["domain"]["values"],
        serde_json::json!([16, 32, 64, 128])
    );

    // A rate up to 1.0: its high corner is warned of; the spec's own
    // warnings are not repeated at a corner.
    let text = std::fs::read_to_string(&shipped)
        .unwrap()
        .replace(
            "data/diabetes.csv",
            crate::common::diabetes_csv().to_str().unwrap(),
        )
        .replace("log_uniform = [1e-4, 1e-1]", "log_uniform = [1e-4, 1.0]")
        .replace("method = \"tpe\"", "method = \"grid\"")
        .replace("trials = 40 ", "# trials")
        .replace(
            "\"optimizer.learning_rate\" = { log_uniform = [1e-4, 1.0] }",
            "\"optimizer.learning_rate\" = { values = [1e-3, 1.0] }",
        )
        .replace("{ uniform = [0.0, 1e-2] }", "{ values = [0.0, 1e-2] }")
        .replace("{ uniform = [0.0, 0.5] }", "{ values = [0.0, 0.5] }");
    let spec = ws.write("grid.toml", &text);
    let report: serde_json::Value =
        serde_json::from_str(&ws.ok(&["check", spec.to_str().unwrap(), "--json"])).unwrap();
    let sweep = &report["sweep"];
    assert_eq!(sweep["size"], 2 * 4 * 2 * 2 * 4);
    assert_eq!(sweep["budget"], 128);
    let corners = sweep["corners"].as_array().unwrap();
    assert_eq!(corners.len(), 1, "{corners:?}");
    assert_eq!(corners[0]["parameter"], "optimizer.learning_rate");
    assert_eq!(corners[0]["value"], 1.0);
    assert_eq!(corners[0]["kind"], "learning_rate");
    let text = ws.ok(&["check", spec.to_str().unwrap()]);
    assert!(
        text.contains("sweep    grid: 128 points, each once, 2 at a time, seed 7"),
        "{text}"
    );
    assert!(
        text.contains("warning at optimizer.learning_rate = 1.0: learning rate 1e0 is far outside"),
        "{text}"
    );

    // A corner the spec refuses stops check (and run) at the parameter.
    let bad = ws.write(
        "bad.toml",
        &text_with(
            &std::fs::read_to_string(spec).unwrap(),
            "[0.0, 0.5]",
            "[0.0, 1.5]",
        ),
    );
    let out = ws.run(&["check", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let error = stderr(&out);
    assert!(
        error.contains("sweep parameter `model.layers.2.rate` = 1.5:"),
        "{error}"
    );
    assert!(
        error.contains("\"model.layers.2.rate\" = { values = [0.0, 1.5] }"),
        "{error}"
    );
}

fn text_with(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from}");
    text.replacen(from, to, 1)
}
