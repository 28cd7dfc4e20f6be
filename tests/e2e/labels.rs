//! The registry's lifecycle and labels through the real binary (issue #5):
//! queued runs, tags and notes, aliases with history, `best:<metric>`,
//! the overfitting columns, `show --verify`, and `rerun` with its data check.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::common::{Workspace, mlp_spec, stderr};

fn show(ws: &Workspace, run: &str) -> serde_json::Value {
    serde_json::from_str(&ws.ok(&["show", run, "--json"])).unwrap()
}

#[test]
fn several_specs_are_queued_then_trained_in_order() {
    let ws = Workspace::new();
    let spec = mlp_spec();
    let spec = spec.to_str().unwrap();
    let out = ws.run(&[
        "run",
        spec,
        spec,
        "--set",
        "train.epochs=3",
        "--tag",
        "sweep",
        "--note",
        "two of them",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // --json: one summary per line (JSON Lines), in the order trained.
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|run| run["status"] == "completed"));
    assert!(stderr(&out).contains("queued 2 runs"), "{}", stderr(&out));
    let rows = ws.query::<String>(
        "SELECT status \
         || CASE WHEN queued_at IS NOT NULL THEN ' 1' ELSE ' 0' END \
         || CASE WHEN queued_at <= started_at THEN ' 1' ELSE ' 0' END \
         FROM runs ORDER BY id",
    );
    assert_eq!(rows, ["completed 1 1", "completed 1 1"]);
    let tagged = ws.ok(&["runs", "--tag", "sweep", "--json"]);
    let tagged: Vec<serde_json::Value> = serde_json::from_str(&tagged).unwrap();
    assert_eq!(tagged.len(), 2);
    assert_eq!(show(&ws, "latest")["note"], "two of them");
    assert!(ws.run(&["runs", "--status", "queued"]).status.success());
}

#[test]
fn interrupting_a_queue_kills_the_runs_not_yet_started() {
    let ws = Workspace::new();
    let spec = mlp_spec();
    let spec = spec.to_str().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .current_dir(ws.path())
        .env("PIPELINE_REGISTRY", ws.registry_url())
        .args([
            "run",
            "-v",
            spec,
            spec,
            spec,
            "--set",
            "train.epochs=100000",
            "--set",
            "train.early_stopping.patience=100000",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    for line in lines.by_ref() {
        if line.unwrap().starts_with("epoch    2/") {
            break;
        }
    }
    assert!(
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert_eq!(child.wait().unwrap().code(), Some(130), "{rest:?}");
    let rows =
        ws.query::<String>("SELECT status || ' ' || COALESCE(error, '') FROM runs ORDER BY id");
    assert_eq!(rows.len(), 3);
    assert!(rows[0].starts_with("killed interrupted after"), "{rows:?}");
    for row in &rows[1..] {
        assert_eq!(row, "killed interrupted before it started");
    }
}

#[test]
fn tags_notes_and_aliases_name_runs() {
    let ws = Workspace::new();
    let small = ws.train(&["train.epochs=3"]);
    let larger = ws.train(&["train.epochs=12"]);
    let small_id = small["id"].as_str().unwrap();
    let larger_id = larger["id"].as_str().unwrap();

    ws.ok(&["tag", small_id, "baseline", "short"]);
    ws.ok(&["tag", &small_id[..13], "short", "--remove"]);
    ws.ok(&["note", "latest", "more epochs"]);
    assert_eq!(show(&ws, small_id)["tags"], serde_json::json!(["baseline"]));
    assert_eq!(show(&ws, larger_id)["note"], "more epochs");

    let bad = ws.run(&["tag", small_id, "has space"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("is not allowed"), "{}", stderr(&bad));

    ws.ok(&["alias", "set", "production", small_id]);
    assert_eq!(show(&ws, "production")["id"], small_id);
    ws.ok(&["alias", "set", "production", "best:test_r2"]);
    let best_r2 = show(&ws, "best:test_r2");
    assert_eq!(show(&ws, "production")["id"], best_r2["id"]);
    // More epochs of the same model fit diabetes better.
    assert_eq!(best_r2["id"], larger_id);
    assert_eq!(show(&ws, "best:test_rmse")["id"], larger_id);

    let history: Vec<serde_json::Value> =
        serde_json::from_str(&ws.ok(&["alias", "history", "production", "--json"])).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["run_id"], small_id);
    assert_eq!(history[0]["unset_at"], history[1]["set_at"]);
    assert!(history[1]["unset_at"].is_null());
    let list = ws.ok(&["alias", "list"]);
    assert!(list.contains("production"), "{list}");

    let reserved = ws.run(&["alias", "set", "best", small_id]);
    assert_eq!(reserved.status.code(), Some(2));
    let unknown = ws.run(&["show", "best:val_accurcy"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("best:"), "{}", stderr(&unknown));

    let filtered = ws.ok(&["runs", "--where", "tag = baseline or test_r2 > 100"]);
    assert!(filtered.contains(&ws.short_id(small_id)), "{filtered}");
    assert!(!filtered.contains(&ws.short_id(larger_id)), "{filtered}");

    ws.ok(&["alias", "rm", "production"]);
    let gone = ws.run(&["show", "production"]);
    assert_eq!(gone.status.code(), Some(2));
    // Aliases that are not there: exit 2, pointing at the list.
    for args in [["alias", "rm", "nosuch"], ["alias", "history", "nosuch"]] {
        let out = ws.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("pipeline alias list"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn overfitting_columns_are_stored_and_filterable() {
    let ws = Workspace::new();
    // A wide network trained long on few rows overfits diabetes.
    let overfit = ws.train(&[
        "model.layers.0.units=256",
        "optimizer.learning_rate=0.01",
        "train.epochs=150",
        "data.split.train=0.3",
        "data.split.validation=0.35",
        "data.split.test=0.35",
        "train.early_stopping.patience=10",
    ]);
    let gentle = ws.train(&["train.epochs=5"]);
    let overfit = show(&ws, overfit["id"].as_str().unwrap());
    let gentle = show(&ws, gentle["id"].as_str().unwrap());
    let onset = overfit["onset"].as_u64().expect("the wide run overfits");
    assert!((1..150).contains(&onset), "{onset}");
    assert!(gentle["onset"].is_null());
    for run in [&overfit, &gentle] {
        let best = run["best_epoch"].as_u64().unwrap();
        let gaps = run["epoch_gaps"].as_array().unwrap();
        let at_best = gaps.iter().find(|g| g["epoch"] == best).unwrap()["gap"]
            .as_f64()
            .unwrap();
        let stored = run["gap_at_best"].as_f64().unwrap();
        assert!(
            (at_best - stored).abs() <= 1e-9 * stored.abs().max(1.0),
            "{at_best} {stored}"
        );
        assert!(run["test_train_gap"].is_f64());
    }
    let none = ws.ok(&["runs", "--where", "onset = none", "--json"]);
    let none: Vec<serde_json::Value> = serde_json::from_str(&none).unwrap();
    assert_eq!(none.len(), 1);
    assert_eq!(none[0]["id"], gentle["id"]);
    let sorted = ws.ok(&["runs", "--sort", "gap:desc", "--json"]);
    let sorted: Vec<serde_json::Value> = serde_json::from_str(&sorted).unwrap();
    assert_eq!(sorted.len(), 2);
    let text = ws.ok(&["show", "latest", "--epochs"]);
    assert!(text.contains("overfitting onset"), "{text}");
    assert!(text.contains("epochs (* best)"), "{text}");
}

#[test]
fn rerun_repeats_a_run_exactly_and_refuses_changed_data() {
    let ws = Workspace::new();
    let data = ws.path().join("diabetes.csv");
    std::fs::copy(crate::common::diabetes_csv(), &data).unwrap();
    let spec = std::fs::read_to_string(mlp_spec())
        .unwrap()
        .replace("data/diabetes.csv", "diabetes.csv");
    let spec = ws.write("mlp.toml", &spec);
    let first = ws.ok(&[
        "run",
        spec.to_str().unwrap(),
        "--set",
        "train.epochs=4",
        "--json",
    ]);
    let first: serde_json::Value = serde_json::from_str(&first).unwrap();
    let first_id = first["id"].as_str().unwrap();
    // The spec file may change or vanish: the stored resolved spec is used.
    std::fs::remove_file(&spec).unwrap();
    let again = ws.run(&["rerun", first_id, "--json"]);
    assert!(again.status.success(), "{}", stderr(&again));
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    let (a, b) = (
        show(&ws, first_id),
        show(&ws, again["id"].as_str().unwrap()),
    );
    assert_ne!(a["id"], b["id"]);
    assert_eq!(a["spec_hash"], b["spec_hash"]);
    assert_eq!(a["data_sha256"], b["data_sha256"]);
    assert_eq!(b["note"], format!("rerun of {first_id}"));
    assert_eq!(b["tags"], serde_json::json!(["rerun"]));
    assert!(a["weights_digest"].is_string());
    assert_eq!(
        a["weights_digest"], b["weights_digest"],
        "a CPU rerun gives identical weights"
    );
    assert_eq!(a["final_metrics"], b["final_metrics"]);
    assert_eq!(b["deterministic"], true);
    assert!(b["git_commit"].is_string());

    // One changed byte in the data: refused, nothing recorded.
    let mut bytes = std::fs::read(&data).unwrap();
    let last = bytes.len() - 2;
    bytes[last] = if bytes[last] == b'1' { b'2' } else { b'1' };
    std::fs::write(&data, bytes).unwrap();
    let refused = ws.run(&["rerun", first_id]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("changed since it trained"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(ws.query::<i64>("SELECT COUNT(*) FROM runs"), [2]);
}

#[test]
fn show_verify_fails_on_a_corrupted_artifact() {
    let ws = Workspace::new();
    let run = ws.train(&["train.epochs=2"]);
    let id = run["id"].as_str().unwrap();
    ws.ok(&["show", id, "--verify"]);
    ws.corrupt_artifact(&format!("artifacts/{id}/model.safetensors"));
    let out = ws.run(&["show", id, "--verify"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("failed verification"),
        "{}",
        stderr(&out)
    );
    // Without --verify the state is shown, and the command succeeds.
    let text = ws.ok(&["show", id]);
    assert!(text.contains("FAILED"), "{text}");
}

#[test]
fn the_runs_table_shows_fifty_unless_told_otherwise() {
    let ws = Workspace::new();
    let spec = mlp_spec();
    let mut args = vec!["run", "--set", "train.epochs=1", "-q"];
    args.extend(std::iter::repeat_n(spec.to_str().unwrap(), 51));
    ws.ok(&args);
    let out = ws.run(&["runs"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(table.lines().count(), 51, "a header and 50 runs");
    assert!(stderr(&out).contains("more runs match"), "{}", stderr(&out));
    assert_eq!(ws.ok(&["runs", "--limit", "0"]).lines().count(), 52);
    let all: Vec<serde_json::Value> = serde_json::from_str(&ws.ok(&["runs", "--json"])).unwrap();
    assert_eq!(all.len(), 51);
    let out = ws.run(&["runs", "--limit", "5"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 6);
    assert!(!stderr(&out).contains("more runs match"));
}
