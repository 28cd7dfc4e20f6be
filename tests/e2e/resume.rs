//! `pipeline resume RUN` (issue 4): a run stopped by Ctrl-C, or killed
//! outright, continues from its last checkpoint to the same final metrics
//! and bit-identical weights as the same spec trained without a stop; runs
//! that cannot be resumed are refused with a hint.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::common::{Workspace, mlp_spec, stderr};

/// Long enough that the stop lands mid-training, short enough for CI.
const EPOCHS: &str = "train.epochs=120";

/// Starts `pipeline run` on mlp.toml and sends `signal` once `epochs`
/// epochs have finished; returns the exit code and the rest of stderr.
fn stopped_run(ws: &Workspace, signal: &str, epochs: usize) -> (Option<i32>, Vec<String>) {
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .current_dir(ws.path())
        .env("PIPELINE_REGISTRY", ws.registry_url())
        .env_remove("RUST_LOG")
        .args(["run", "-v", mlp_spec().to_str().unwrap(), "--set", EPOCHS])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = 0;
    for line in lines.by_ref() {
        if line.unwrap().starts_with("epoch") {
            seen += 1;
            if seen == epochs {
                break;
            }
        }
    }
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    (child.wait().unwrap().code(), rest)
}

/// What must match between a resumed run and an uninterrupted one.
fn outcome(ws: &Workspace, id: &str) -> (String, i64, i64, Vec<(String, Option<f64>)>) {
    let one = |sql: &str| ws.query::<String>(&sql.replace("ID", id)).remove(0);
    let number = |sql: &str| ws.query::<i64>(&sql.replace("ID", id))[0];
    let order = "FROM final_metrics WHERE run_id = 'ID' ORDER BY split, metric";
    let names =
        ws.query::<String>(&format!("SELECT split || ':' || metric {order}").replace("ID", id));
    let values = ws.query::<Option<f64>>(&format!("SELECT value {order}").replace("ID", id));
    (
        one("SELECT weights_digest FROM runs WHERE id = 'ID'"),
        number("SELECT epochs_run FROM runs WHERE id = 'ID'"),
        number("SELECT best_epoch FROM runs WHERE id = 'ID'"),
        names.into_iter().zip(values).collect(),
    )
}

/// Run `run`'s epoch metrics: (epoch, split and metric, value), in order.
fn curve(ws: &Workspace, run: &str) -> Vec<(i64, String, Option<f64>)> {
    let order = format!("FROM epoch_metrics WHERE run_id = '{run}' ORDER BY epoch, split, metric");
    let epochs = ws.query::<i64>(&format!("SELECT epoch {order}"));
    let names = ws.query::<String>(&format!("SELECT split || metric {order}"));
    let values = ws.query::<Option<f64>>(&format!("SELECT value {order}"));
    epochs
        .into_iter()
        .zip(names)
        .zip(values)
        .map(|((epoch, name), value)| (epoch, name, value))
        .collect()
}

fn latest_id(ws: &Workspace) -> String {
    ws.query::<String>("SELECT id FROM runs ORDER BY started_at DESC, id DESC LIMIT 1")
        .remove(0)
}

#[test]
fn an_interrupted_run_resumes_to_the_same_result() {
    let ws = Workspace::new();
    let whole = ws.train(&[EPOCHS]);
    let whole_id = whole["id"].as_str().unwrap().to_owned();

    let (code, rest) = stopped_run(&ws, "-INT", 3);
    assert_eq!(code, Some(130), "{rest:?}");
    let id = latest_id(&ws);
    assert!(
        rest.iter()
            .any(|l| l.contains(&format!("pipeline resume {id}"))),
        "the kill message says how to resume: {rest:?}"
    );
    assert_eq!(
        ws.query::<String>(&format!(
            "SELECT kind FROM artifacts WHERE run_id = '{id}' ORDER BY kind"
        )),
        [
            "checkpoint_best",
            "checkpoint_last",
            "preprocessing",
            "weights"
        ]
    );
    let stopped_after =
        ws.query::<i64>(&format!("SELECT epochs_run FROM runs WHERE id = '{id}'"))[0];
    assert!(stopped_after >= 3, "{stopped_after}");
    // Checkpoints are artifacts like the others: verified by show.
    ws.ok(&["show", &id, "--verify"]);

    // A changed checkpoint is refused (and the run stays killed).
    let last = ws
        .query::<String>(&format!(
            "SELECT path FROM artifacts WHERE run_id = '{id}' AND kind = 'checkpoint_last'"
        ))
        .remove(0);
    ws.corrupt_artifact(&last);
    let refused = ws.run(&["resume", &id]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("is corrupt"),
        "{}",
        stderr(&refused)
    );
    assert!(stderr(&refused).contains("hint: "), "{}", stderr(&refused));
    ws.corrupt_artifact(&last); // restored
    assert_eq!(
        ws.query::<String>(&format!("SELECT status FROM runs WHERE id = '{id}'")),
        ["killed"]
    );

    let resumed: serde_json::Value =
        serde_json::from_str(&ws.ok(&["resume", &id[..13], "--json"])).unwrap();
    assert_eq!(resumed["id"], id);
    assert_eq!(resumed["status"], "completed");
    assert_eq!(resumed["metrics"], whole["metrics"], "same final metrics");
    assert_eq!(resumed["epochs_run"], whole["epochs_run"]);
    assert_eq!(resumed["best_epoch"], whole["best_epoch"]);
    assert_eq!(
        outcome(&ws, &id),
        outcome(&ws, &whole_id),
        "bit-identical weights"
    );
    // Every epoch once, with the values of the uninterrupted run.
    assert_eq!(curve(&ws, &id), curve(&ws, &whole_id));
    // Completed: the checkpoints are gone, rows and files.
    assert_eq!(
        ws.query::<String>(&format!(
            "SELECT kind FROM artifacts WHERE run_id = '{id}' ORDER BY kind"
        )),
        ["preprocessing", "weights"]
    );
    assert_eq!(
        ws.artifact_names(&id),
        ["model.safetensors", "preprocessing.json"]
    );

    // A completed run is not resumed.
    let again = ws.run(&["resume", &id]);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    let text = stderr(&again);
    assert!(text.contains(&format!("run {id} is completed")), "{text}");
    assert!(
        text.contains(&format!(
            "hint: only killed or crashed runs can be resumed; `pipeline rerun {id}`"
        )),
        "{text}"
    );
}

#[test]
fn a_crashed_run_resumes_from_its_last_saved_epoch() {
    let ws = Workspace::new();
    let whole = ws.train(&[EPOCHS]);
    let whole_id = whole["id"].as_str().unwrap().to_owned();

    // SIGKILL: nothing is cleaned up; the next command marks it crashed.
    let (code, _) = stopped_run(&ws, "-KILL", 3);
    assert_eq!(code, None, "killed by a signal");
    let id = latest_id(&ws);
    let shown: serde_json::Value = serde_json::from_str(&ws.ok(&["show", &id, "--json"])).unwrap();
    let short = shown["short_id"].as_str().unwrap().to_owned();
    let runs = ws.ok(&["runs", "--status", "crashed"]);
    assert!(runs.contains(&short), "{runs}");

    let out = ws.run(&["resume", "latest"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("resuming run {short}")),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        outcome(&ws, &id),
        outcome(&ws, &whole_id),
        "bit-identical weights"
    );
    let rows = |run: &str| {
        ws.query::<i64>(&format!(
            "SELECT count(*) FROM epoch_metrics WHERE run_id = '{run}'"
        ))[0]
    };
    assert_eq!(rows(&id), rows(&whole_id), "no epoch recorded twice");
}

#[test]
fn failed_and_checkpointless_runs_are_refused() {
    let ws = Workspace::new();
    // A run that fails: the loss overflows at once.
    let failed = ws.run(&[
        "run",
        mlp_spec().to_str().unwrap(),
        "--set",
        "train.epochs=2",
        "--set",
        "optimizer.learning_rate=1e30",
    ]);
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    let out = ws.run(&["resume", "latest"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(text.contains("failed"), "{text}");
    assert!(
        text.contains("only killed or crashed runs can be resumed"),
        "{text}"
    );
    assert!(text.contains("hint: "), "{text}");

    let unknown = ws.run(&["resume", "ffffffff"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", stderr(&unknown));
}
