//! The README's tour, end to end (issue #2): run → runs → show → a second
//! run with a changed spec → compare → infer, checking the database rows,
//! the weights file and the predictions.

use sha2::{Digest, Sha256};

use crate::common::{Workspace, diabetes_csv, stderr};

#[test]
fn run_runs_compare_infer() {
    let ws = Workspace::new();
    let first = ws.train(&["train.epochs=5"]);
    let id = first["id"].as_str().unwrap().to_string();
    assert_eq!(first["status"], "completed");
    assert_eq!(first["epochs_run"], 5);
    for split in ["train", "validation", "test"] {
        for metric in ["loss", "mse", "rmse", "mae", "r2"] {
            assert!(
                first["metrics"][split][metric].is_number(),
                "{split} {metric}: {first}"
            );
        }
    }

    // The database holds the run, every epoch's metrics and the final metrics.
    assert_eq!(ws.query::<String>("SELECT status FROM runs"), ["completed"]);
    assert_eq!(
        ws.query::<i64>("SELECT count(DISTINCT epoch) FROM epoch_metrics"),
        [5]
    );
    // 5 epochs × (2 splits × 5 metrics + the learning rate `train`/`lr`).
    assert_eq!(
        ws.query::<i64>("SELECT count(*) FROM epoch_metrics"),
        [5 * (2 * 5 + 1)]
    );
    assert_eq!(
        ws.query::<i64>("SELECT count(*) FROM final_metrics"),
        [3 * 5]
    );
    assert_eq!(
        ws.query::<String>("SELECT experiment FROM runs"),
        ["diabetes-mlp"]
    );
    let data_sha = ws.query::<String>("SELECT data_sha256 FROM runs");
    let expected = hex::encode(Sha256::digest(std::fs::read(diabetes_csv()).unwrap()));
    assert_eq!(data_sha, [expected]);
    let spec_text = ws.query::<String>("SELECT spec_toml FROM runs").remove(0);
    assert!(
        spec_text.contains("epochs = 5"),
        "the resolved spec carries the override:\n{spec_text}"
    );

    // The weights are stored with the checksum the row claims.
    let paths = ws.query::<String>("SELECT path FROM artifacts WHERE kind = 'weights'");
    let sums = ws.query::<String>("SELECT sha256 FROM artifacts WHERE kind = 'weights'");
    assert_eq!(paths, [format!("artifacts/{id}/model.safetensors")]);
    assert_eq!(
        hex::encode(Sha256::digest(ws.artifact(&id, "model.safetensors"))),
        sums[0]
    );

    // `runs` lists it; `show` finds it by prefix.
    let runs: serde_json::Value = serde_json::from_str(&ws.ok(&["runs", "--json"])).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 1);
    let table = ws.ok(&["runs"]);
    assert!(
        table.contains("diabetes-mlp") && table.contains("completed"),
        "{table}"
    );
    let show = ws.ok(&["show", &id[..13]]);
    assert!(
        show.contains(&id) && show.contains("verdict:") && show.contains(" ok"),
        "{show}"
    );

    // A second run with a changed spec, and the comparison of the two.
    let second = ws.train(&["train.epochs=8", "optimizer.learning_rate=0.01"]);
    let second_id = second["id"].as_str().unwrap();
    let compare = ws.ok(&["compare", &id, second_id]);
    for expected in [
        "optimizer.learning_rate",
        "train.epochs",
        "gap: validation − train loss",
        "gap: test − train loss",
        "best epoch / last epoch",
        "learning curves",
        "epoch",
    ] {
        assert!(
            compare.contains(expected),
            "missing {expected:?} in:\n{compare}"
        );
    }
    assert!(
        !compare.contains("data.target"),
        "identical keys must not be listed:\n{compare}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ws.ok(&["compare", &id, second_id, "--json"])).unwrap();
    let keys: Vec<&str> = json["spec_differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["optimizer.learning_rate", "train.epochs"]);
    assert_eq!(
        json["runs"][1]["curves"]["train_loss"]
            .as_array()
            .unwrap()
            .len(),
        8
    );

    // `compare --experiment` ranks every completed run, best first.
    let ranked: serde_json::Value =
        serde_json::from_str(&ws.ok(&["compare", "--experiment", "diabetes-mlp", "--json"]))
            .unwrap();
    let ranked_losses: Vec<f64> = ranked["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["metrics"]["validation"]["loss"].as_f64().unwrap())
        .collect();
    assert_eq!(ranked_losses.len(), 2);
    assert!(ranked_losses[0] <= ranked_losses[1], "{ranked_losses:?}");

    // `runs --where … --sort …` filters and orders by final metrics.
    let sorted: serde_json::Value = serde_json::from_str(&ws.ok(&[
        "runs",
        "--where",
        "val_loss > 0 and (status = completed or status = failed)",
        "--sort",
        "val_loss",
        "--json",
    ]))
    .unwrap();
    let sorted_losses: Vec<f64> = sorted
        .as_array()
        .unwrap()
        .iter()
        .map(|run| {
            run["final_metrics"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["split"] == "validation" && m["metric"] == "loss")
                .unwrap()["value"]
                .as_f64()
                .unwrap()
        })
        .collect();
    assert_eq!(sorted_losses.len(), 2);
    assert!(sorted_losses[0] <= sorted_losses[1], "{sorted_losses:?}");
    let none = ws.ok(&["runs", "--where", "val_loss < 0", "--json"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&none).unwrap(),
        serde_json::json!([])
    );
    let table = ws.ok(&["runs", "--sort", "test_mae:desc"]);
    assert!(
        table.lines().next().unwrap().contains("test_mae"),
        "{table}"
    );
    let bad = ws.run(&["runs", "--where", "val_loss <"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("expected a value"),
        "{}",
        stderr(&bad)
    );

    // Predictions with the best run for all 442 rows, to stdout and to a file.
    let csv = ws.ok(&[
        "infer",
        "--run",
        "best",
        "--input",
        diabetes_csv().to_str().unwrap(),
    ]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 443, "header + 442 rows");
    assert_eq!(
        lines[0],
        "age,sex,bmi,bp,s1,s2,s3,s4,s5,s6,target,prediction"
    );
    let out = ws.path().join("predictions.csv");
    ws.ok(&[
        "infer",
        "--run",
        &id,
        "--input",
        diabetes_csv().to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 443);
    // Parquet out, and back in: the same predictions.
    let parquet = ws.path().join("predictions.parquet");
    ws.ok(&[
        "infer",
        "--run",
        &id,
        "--input",
        diabetes_csv().to_str().unwrap(),
        "--output",
        parquet.to_str().unwrap(),
    ]);
    // Its `prediction` column would be overwritten: only --only-predictions
    // may read such a file back.
    let refused = ws.run(&["infer", "--run", &id, "--input", parquet.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
    let again = ws.ok(&[
        "infer",
        "--run",
        &id,
        "--input",
        parquet.to_str().unwrap(),
        "--only-predictions",
    ]);
    let expected: String = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| format!("{}\n", l.rsplit(',').next().unwrap()))
        .collect();
    assert_eq!(again, expected, "parquet round trip changes nothing");

    // `best` is the run with the lower validation loss.
    let best = ws.ok(&["show", "best", "--json"]);
    let best: serde_json::Value = serde_json::from_str(&best).unwrap();
    let losses = [&first, &second].map(|r| r["metrics"]["validation"]["loss"].as_f64().unwrap());
    let expected_best = if losses[0] <= losses[1] {
        &id
    } else {
        second_id
    };
    assert_eq!(best["id"].as_str().unwrap(), expected_best);
}

#[test]
fn infer_detects_a_corrupted_weights_file() {
    let ws = Workspace::new();
    let run = ws.train(&["train.epochs=2"]);
    let id = run["id"].as_str().unwrap();
    ws.corrupt_artifact(&format!("artifacts/{id}/model.safetensors"));
    let out = ws.run(&["infer", "--input", diabetes_csv().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--verify"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("checksum") || stderr(&out).contains("corrupt"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn dry_run_prints_the_resolved_spec_and_records_nothing() {
    let ws = Workspace::new();
    let spec = crate::common::mlp_spec();
    let text = ws.ok(&[
        "run",
        spec.to_str().unwrap(),
        "--dry-run",
        "--set",
        "train.batch_size=16",
    ]);
    assert!(text.contains("batch_size = 16"), "{text}");
    assert!(text.contains("restore_best = true"), "{text}");
    assert!(ws.nothing_recorded());
}

#[test]
fn piped_stderr_gets_sparse_epoch_lines_and_every_one_with_verbose() {
    let ws = Workspace::new();
    let spec = crate::common::mlp_spec();
    let spec = spec.to_str().unwrap();
    let epoch_lines = |extra: &[&str]| {
        let mut args = vec!["run", spec, "--set", "train.epochs=40"];
        args.extend_from_slice(extra);
        let out = ws.run(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        stderr(&out)
            .lines()
            .filter(|line| line.starts_with("epoch "))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    // 40 epochs of the small network take well under the 5 s between lines.
    let sparse = epoch_lines(&[]);
    assert_eq!(sparse.len(), 1, "{sparse:?}");
    assert!(
        sparse[0].starts_with("epoch    1/40  train_loss "),
        "{sparse:?}"
    );
    let every = epoch_lines(&["-v"]);
    assert_eq!(every.len(), 40, "{every:?}");
    assert!(every[39].starts_with("epoch   40/40  "), "{every:?}");
}

#[test]
fn compare_warns_of_a_run_named_twice_and_of_other_experiments() {
    let ws = Workspace::new();
    let diabetes = ws.train(&["train.epochs=2"]);
    let id = diabetes["id"].as_str().unwrap();
    let same = ws.run(&["compare", id, "latest"]);
    assert!(same.status.success(), "{}", stderr(&same));
    assert!(
        stderr(&same).contains(&format!("A and B are the same run ({id})")),
        "{}",
        stderr(&same)
    );
    let iris = crate::common::repo_root().join("experiments/iris.toml");
    ws.ok(&["run", iris.to_str().unwrap(), "--set", "train.epochs=2"]);
    let mixed = ws.run(&["compare", id, "latest"]);
    assert!(mixed.status.success(), "{}", stderr(&mixed));
    assert!(
        stderr(&mixed).contains("the runs belong to 2 experiments (diabetes-mlp, iris-mlp)"),
        "{}",
        stderr(&mixed)
    );
}
