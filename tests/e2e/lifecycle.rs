//! A run's data survives its environment (issue 18, "Never lose a user's
//! data"): a checkpoint that cannot be written does not fail the run, a
//! full disk stores its cause and leaves the run resumable, and a run queued
//! behind one that was stopped resumes from its first epoch.

use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStderr, Command, Stdio};

use crate::common::{Workspace, mlp_spec};

/// `pipeline ARGS` in `ws` with stderr piped, to follow its progress.
fn spawn(ws: &Workspace, args: &[&str]) -> (Child, Lines<BufReader<ChildStderr>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .current_dir(ws.path())
        .env("PIPELINE_REGISTRY", ws.registry())
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stderr.take().unwrap()).lines();
    (child, lines)
}

/// Reads stderr up to the line `queued N runs: ID, ID`; returns the ids.
fn queued_ids(lines: &mut Lines<BufReader<ChildStderr>>) -> Vec<String> {
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some((_, ids)) = line.split_once(" runs: ") {
            return ids.split(", ").map(str::to_owned).collect();
        }
    }
    panic!("no `queued` line on stderr");
}

fn status(ws: &Workspace, id: &str) -> String {
    ws.query::<String>(&format!("SELECT status FROM runs WHERE id = '{id}'"))
        .remove(0)
}

#[test]
fn a_checkpoint_that_cannot_be_written_does_not_fail_the_run() {
    let ws = Workspace::new();
    let spec = mlp_spec();
    let spec = spec.to_str().unwrap();
    let (mut child, mut lines) = spawn(
        &ws,
        &[
            "run",
            spec,
            spec,
            "--set",
            "train.epochs=300",
            "--set",
            "train.early_stopping.patience=300",
        ],
    );
    // While the first run trains, a directory takes the name of the second
    // run's first checkpoint: writing it fails.
    let ids = queued_ids(&mut lines);
    let blocked = ws
        .path()
        .join("registry/artifacts")
        .join(&ids[1])
        .join("checkpoint-last-epoch-000001.safetensors");
    std::fs::create_dir_all(blocked.join("in-the-way")).unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let code = child.wait().unwrap().code();
    let text = rest.join("\n");
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(&format!(
            "warning: run {}: cannot save the checkpoint of epoch 1:",
            ids[1]
        )),
        "{text}"
    );
    assert!(text.contains("training goes on"), "{text}");
    assert_eq!(status(&ws, &ids[1]), "completed");
    assert_eq!(
        ws.query::<i64>(&format!(
            "SELECT epochs_run FROM runs WHERE id = '{}'",
            ids[1]
        )),
        [300]
    );
}

#[test]
fn a_run_queued_behind_a_stopped_one_resumes_from_its_first_epoch() {
    let ws = Workspace::new();
    let spec = mlp_spec();
    let spec = spec.to_str().unwrap();
    let settings = [
        "--set",
        "train.epochs=100000",
        "--set",
        "train.early_stopping.patience=20",
    ];
    let mut args = vec!["run", "-v", spec, spec];
    args.extend(settings);
    let (mut child, mut lines) = spawn(&ws, &args);
    let ids = queued_ids(&mut lines);
    wait_for_epochs(&mut lines, 3);
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _: Vec<String> = lines.map_while(Result::ok).collect();
    assert_eq!(child.wait().unwrap().code(), Some(130));
    assert_eq!(status(&ws, &ids[1]), "killed");

    let out = ws.run(&["resume", &ids[1]]);
    let text = stderr(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("from epoch 1"), "{text}");
    assert_eq!(status(&ws, &ids[1]), "completed");
    // The same weights as the spec trained in one go.
    let mut args = vec!["run", spec];
    args.extend(settings);
    ws.ok(&args);
    let digests = ws.query::<String>(&format!(
        "SELECT weights_digest FROM runs WHERE id <> '{}' AND status = 'completed' \
         ORDER BY id",
        ids[0]
    ));
    assert_eq!(digests.len(), 2);
    assert_eq!(digests[0], digests[1]);
}
