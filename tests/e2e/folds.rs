//! `pipeline run SPEC --folds K`: k-fold cross-validation recorded as K
//! grouped runs, with a summary of each metric per fold, its mean and std
//! (issue 3).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::{Workspace, mlp_spec, repo_root, scrub, stderr};

fn experiment(name: &str) -> String {
    repo_root()
        .join("experiments")
        .join(name)
        .display()
        .to_string()
}

/// `run SPEC --folds K ARGS…` with a few epochs.
fn folds_args<'a>(spec: &'a str, folds: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["run", spec, "--folds", folds, "--set", "train.epochs=3"];
    args.extend_from_slice(extra);
    args
}

/// Replaces run ids, the group id and metric values (they follow the
/// trainer's arithmetic, which these snapshots do not pin) by placeholders.
fn scrub_summary(text: &str, ws: &Workspace) -> String {
    let ids: Vec<String> = ws.query("SELECT id FROM runs ORDER BY id");
    let mut text = scrub(text, ws);
    for (index, id) in ids.iter().enumerate() {
        // As wide as an id, so that the table stays aligned.
        let placeholder = format!("[RUN {}]", index + 1);
        text = text.replace(id, &format!("{placeholder:<width$}", width = id.len()));
        // The fold table prints the short id (issue 21), random.
        let short = ws.short_id(id);
        text = text.replace(
            &short,
            &format!("{placeholder:<width$}", width = short.len()),
        );
    }
    let groups: Vec<String> = ws.query("SELECT DISTINCT tag FROM run_tags WHERE tag LIKE 'cv:%'");
    for group in groups {
        text = text.replace(&group, "cv:[GROUP]");
    }
    text.lines()
        .map(|line| {
            let mut words = line.split_whitespace();
            match words.next() {
                Some(name) if name.starts_with("val_") || name.starts_with("test_") => {
                    let values: Vec<&str> =
                        words.map(|w| if w == "-" { "-" } else { "[x]" }).collect();
                    format!("{name} {}", values.join(" "))
                }
                _ => line.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn metric(record: &Value, split: &str, name: &str) -> f64 {
    record["final_metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["split"] == split && m["metric"] == name)
        .unwrap_or_else(|| panic!("{split} {name} in {record}"))["value"]
        .as_f64()
        .unwrap()
}

#[test]
fn three_folds_of_diabetes_are_three_grouped_runs_whose_mean_is_reported() {
    let ws = Workspace::new();
    let spec = mlp_spec();
    let out = ws.ok(&folds_args(spec.to_str().unwrap(), "3", &["--json"]));
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["folds"], 3);
    assert_eq!(summary["complete"], true);
    let group = summary["group"].as_str().unwrap();
    assert!(group.starts_with("cv:"), "{group}");

    // Three completed runs, all in the group, each tagged with its fold.
    let runs = summary["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(
        ws.query::<String>("SELECT status FROM runs"),
        ["completed"; 3]
    );
    let grouped: Vec<String> = ws.query(&format!(
        "SELECT run_id FROM run_tags WHERE tag = '{group}' ORDER BY run_id"
    ));
    let mut ids: Vec<String> = runs
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    assert_eq!(grouped, ids);
    let listed = ws.ok(&["runs", "--tag", group, "--json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&listed)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // The test split is the spec's (66 rows of 442) in every fold; the
    // other 376 rows are dealt into folds of 126, 125, 125.
    let mut validation = 0;
    for (index, run) in runs.iter().enumerate() {
        assert_eq!(run["fold"], index + 1);
        assert_eq!(run["status"], "completed");
        assert_eq!(run["rows"]["test"], 66);
        assert_eq!(
            run["rows"]["train"].as_u64().unwrap() + run["rows"]["validation"].as_u64().unwrap(),
            376
        );
        validation += run["rows"]["validation"].as_u64().unwrap();
        let id = run["id"].as_str().unwrap();
        let tags: Vec<String> = ws.query(&format!(
            "SELECT tag FROM run_tags WHERE run_id = '{id}' AND tag LIKE 'fold:%'"
        ));
        assert_eq!(tags, [format!("fold:{}/3", index + 1)]);
        let spec_toml: Vec<String> =
            ws.query(&format!("SELECT spec_toml FROM runs WHERE id = '{id}'"));
        assert!(
            spec_toml[0].contains(&format!("fold = {}", index + 1)),
            "the stored spec names its fold: {}",
            spec_toml[0]
        );
    }
    assert_eq!(
        validation, 376,
        "every row outside the test split validates once"
    );

    // The mean and std are those of the metrics each run recorded.
    let records: Vec<Value> = runs
        .iter()
        .map(|r| {
            serde_json::from_str(&ws.ok(&["show", r["id"].as_str().unwrap(), "--json"])).unwrap()
        })
        .collect();
    for (split, prefix) in [("validation", "val"), ("test", "test")] {
        for name in ["loss", "mse", "rmse", "mae", "r2"] {
            let values: Vec<f64> = records.iter().map(|r| metric(r, split, name)).collect();
            for (run, value) in runs.iter().zip(&values) {
                assert_eq!(run["metrics"][split][name].as_f64(), Some(*value));
            }
            let mean = values.iter().sum::<f64>() / 3.0;
            let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
            let reported = summary["mean"][split][name].as_f64().unwrap();
            assert!(
                (reported - mean).abs() <= 1e-12 * mean.abs().max(1.0),
                "{prefix}_{name}: mean {reported} against {mean} of {values:?}"
            );
            let reported = summary["std"][split][name].as_f64().unwrap();
            assert!(
                (reported - std).abs() <= 1e-12 * std.abs().max(1.0),
                "{prefix}_{name}: std {reported} against {std} of {values:?}"
            );
        }
    }
    // Folds validate on different rows: their validation metrics differ;
    // the test rows are the same.
    assert_ne!(
        metric(&records[0], "validation", "loss"),
        metric(&records[1], "validation", "loss")
    );
}

#[test]
fn the_fold_summary_is_a_table_per_fold_with_mean_and_std() {
    let ws = Workspace::new();
    let spec = mlp_spec();
    let out = ws.run(&folds_args(spec.to_str().unwrap(), "3", &[]));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    insta::assert_snapshot!("diabetes_three_folds", scrub_summary(&text, &ws));
    // Progress per fold on stderr.
    let progress = stderr(&out);
    for fold in 1..=3 {
        assert!(
            progress.contains(&format!("fold {fold} of 3: run ")),
            "{progress}"
        );
    }
    assert!(progress.contains("pipeline runs --tag cv:"), "{progress}");
    // `compare` reads the folds as any runs when named; `--experiment`
    // ranks whole runs only, and there is none.
    let runs: Vec<serde_json::Value> = serde_json::from_str(&ws.ok(&["runs", "--json"])).unwrap();
    let ids: Vec<&str> = runs.iter().map(|r| r["id"].as_str().unwrap()).collect();
    ws.ok(&["compare", ids[0], ids[1]]);
    let none = ws.run(&["compare", "--experiment", "diabetes-mlp"]);
    assert_eq!(none.status.code(), Some(2), "{}", stderr(&none));
}

#[test]
fn iris_folds_are_stratified_and_the_plan_trains_nothing() {
    let ws = Workspace::new();
    let iris = experiment("iris.toml");
    // 150 rows, 50 per class; the stratified test split keeps 10 of each,
    // and the other 120 are dealt into folds of 40 (13 or 14 per class).
    let plan = ws.ok(&["run", &iris, "--folds", "3", "--dry-run"]);
    insta::assert_snapshot!("iris_plan", plan);
    assert!(ws.nothing_recorded(), "a dry run writes nothing");
    let plan: Value =
        serde_json::from_str(&ws.ok(&["run", &iris, "--folds", "3", "--dry-run", "--json"]))
            .unwrap();
    assert_eq!(plan["plan"][2]["rows"]["validation"], 40);

    let out = ws.ok(&folds_args(&iris, "3", &["--json"]));
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["complete"], true);
    for run in summary["runs"].as_array().unwrap() {
        assert_eq!(run["rows"]["validation"], 40);
        assert_eq!(run["rows"]["test"], 30);
        let id = run["id"].as_str().unwrap();
        let record: Value = serde_json::from_str(&ws.ok(&["show", id, "--json"])).unwrap();
        // Every class is in every fold's validation split: 13 or 14 each.
        for class in ["0", "1", "2"] {
            let support = record["final_metrics"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["split"] == "validation" && m["metric"] == format!("support[{class}]"))
                .unwrap_or_else(|| panic!("support[{class}] in {record}"))["value"]
                .as_f64()
                .unwrap();
            assert!((13.0..=14.0).contains(&support), "{class}: {support}");
        }
        assert!(run["metrics"]["validation"]["accuracy"].as_f64().is_some());
    }
    assert!(summary["mean"]["validation"]["accuracy"].as_f64().is_some());
    assert!(summary["std"]["test"]["f1"].as_f64().is_some());
    // Same spec and seed, same folds.
    let again: Value = serde_json::from_str(&ws.ok(&folds_args(&iris, "3", &["--json"]))).unwrap();
    assert_eq!(again["runs"][1]["metrics"], summary["runs"][1]["metrics"]);
}

#[test]
fn a_rerun_of_a_fold_trains_the_same_fold_outside_the_group() {
    let ws = Workspace::new();
    let spec = mlp_spec();
    let summary: Value =
        serde_json::from_str(&ws.ok(&folds_args(spec.to_str().unwrap(), "2", &["--json"])))
            .unwrap();
    let second = summary["runs"][1]["id"].as_str().unwrap();
    let rerun: Value = serde_json::from_str(&ws.ok(&["rerun", second, "--json"])).unwrap();
    assert_eq!(
        rerun["metrics"]["validation"],
        summary["runs"][1]["metrics"]["validation"]
    );
    let id = rerun["id"].as_str().unwrap();
    let tags: Vec<String> = ws.query(&format!(
        "SELECT tag FROM run_tags WHERE run_id = '{id}' ORDER BY tag"
    ));
    assert_eq!(tags, ["fold:2/2", "rerun"]);
}

#[test]
fn a_failing_fold_is_recorded_failed_and_gets_no_mean() {
    let ws = Workspace::new();
    let spec = mlp_spec();
    let out = ws.run(&folds_args(
        spec.to_str().unwrap(),
        "2",
        &["--set", "optimizer.learning_rate=1e30", "--json"],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let summary: Value =
        serde_json::from_str(&String::from_utf8(out.stdout.clone()).unwrap()).unwrap();
    assert_eq!(summary["complete"], false);
    assert_eq!(summary["mean"], Value::Null);
    assert_eq!(summary["std"], Value::Null);
    for run in summary["runs"].as_array().unwrap() {
        assert_eq!(run["status"], "failed");
        assert_eq!(run.get("metrics"), None);
    }
    assert_eq!(ws.query::<String>("SELECT status FROM runs"), ["failed"; 2]);
    assert!(
        stderr(&out).contains("2 of 2 folds did not complete"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn interrupting_a_fold_kills_it_and_the_folds_after_it() {
    let ws = Workspace::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .current_dir(ws.path())
        .env("PIPELINE_REGISTRY", ws.registry_url())
        .args([
            "run",
            "-v",
            mlp_spec().to_str().unwrap(),
            "--folds",
            "3",
            "--set",
            "train.epochs=100000",
            "--set",
            "train.early_stopping.patience=100000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut epochs = 0;
    for line in lines.by_ref() {
        if line.unwrap().starts_with("epoch") {
            epochs += 1;
            if epochs == 3 {
                break;
            }
        }
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{rest:?}");
    assert_eq!(ws.query::<String>("SELECT status FROM runs"), ["killed"; 3]);
    let summary = String::from_utf8(output.stdout).unwrap();
    assert!(
        summary.contains("3 of 3 folds did not complete"),
        "{summary}"
    );
    assert!(!summary.contains("completed"), "{summary}");
    // The killed fold shows the best of its finished epochs, as recorded.
    let best = ws.query::<i64>("SELECT best_epoch FROM runs WHERE best_epoch IS NOT NULL");
    assert_eq!(best.len(), 1, "{summary}");
    let row = summary.lines().find(|l| l.contains("killed")).unwrap();
    assert!(row.trim_end().ends_with(&best[0].to_string()), "{summary}");
}

#[test]
fn fold_mistakes_are_clear_errors() {
    let ws = Workspace::new();
    let mlp = mlp_spec().display().to_string();
    let cases: [(&str, Vec<&str>); 6] = [
        ("one_fold", vec!["run", &mlp, "--folds", "1"]),
        ("more_folds_than_rows", vec!["run", &mlp, "--folds", "400"]),
        (
            "folds_of_ordered_rows",
            vec!["run", &mlp, "--folds", "3", "--set", "data.shuffle=false"],
        ),
        (
            "folds_of_a_series",
            vec![
                "run",
                "[REPO]/experiments/sunspots_gru.toml",
                "--folds",
                "3",
            ],
        ),
        (
            "folds_of_two_specs",
            vec!["run", &mlp, &mlp, "--folds", "3"],
        ),
        (
            "folds_of_one_fold",
            vec![
                "run",
                &mlp,
                "--folds",
                "3",
                "--set",
                "data.cross_validation={ folds = 3, fold = 1 }",
            ],
        ),
    ];
    let repo = repo_root().display().to_string();
    for (name, args) in cases {
        let args: Vec<String> = args.iter().map(|a| a.replace("[REPO]", &repo)).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = ws.run(&args);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        insta::assert_snapshot!(name, scrub(&stderr(&out), &ws));
    }
    assert!(ws.nothing_recorded(), "a mistake writes nothing");
}
