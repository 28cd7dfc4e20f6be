//! Several `pipeline run` processes write one registry at once, some killed
//! with SIGKILL mid-way (DEVELOPERS.md, "Reliability"). Afterwards the
//! database is intact, no "database is locked" reached a user, no run is left
//! looking like it is still running, every epoch is recorded once and every
//! artifact verifies.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::{Workspace, mlp_spec};

const PROCESSES: usize = 8;

/// Every third process is to be killed: it trains "forever", so the kill
/// always lands mid-run; the others train 40 epochs.
fn doomed(index: usize) -> bool {
    index % 3 == 1
}

fn spawn(ws: &Workspace, index: usize) -> Child {
    let epochs = if doomed(index) { 1_000_000 } else { 40 };
    Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .current_dir(ws.path())
        .env("PIPELINE_REGISTRY", ws.registry_url())
        .args(["run", mlp_spec().to_str().unwrap(), "--quiet", "--json"])
        .args([
            "--set",
            &format!("train.epochs={epochs}"),
            "--set",
            &format!("seed={index}"),
        ])
        .args(["--set", "train.early_stopping.patience=1000000"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn concurrent_runs_with_sigkill_leave_a_consistent_registry() {
    let ws = Workspace::new();
    let mut children: Vec<Child> = (0..PROCESSES).map(|index| spawn(&ws, index)).collect();
    // Kill the doomed processes at different moments of their lives.
    for (index, child) in children.iter_mut().enumerate().filter(|(i, _)| doomed(*i)) {
        std::thread::sleep(Duration::from_millis(150 * index as u64));
        child.kill().unwrap();
    }
    let mut survivors = 0;
    for (index, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("locked"), "process {index}: {stderr}");
        if !doomed(index) {
            assert!(out.status.success(), "process {index} failed: {stderr}");
            survivors += 1;
        }
    }

    // Any command that opens the registry marks the dead processes' runs.
    let runs: serde_json::Value = serde_json::from_str(&ws.ok(&["runs", "--json"])).unwrap();
    let runs = runs.as_array().unwrap();
    assert!(runs.len() >= survivors, "{runs:?}");
    ws.assert_integrity();
    for status in ws.query::<String>("SELECT status FROM runs") {
        assert!(
            matches!(status.as_str(), "completed" | "killed" | "crashed"),
            "{status}"
        );
    }
    assert_eq!(
        ws.query::<i64>("SELECT count(*) FROM runs WHERE status = 'completed'"),
        [survivors as i64]
    );
    // Every run's recorded epochs are 1..=n with each metric exactly once
    // (2 splits × 5 metrics, and the learning rate).
    let bad = ws.query::<String>(
        "SELECT r.id FROM runs r JOIN epoch_metrics e ON e.run_id = r.id \
         GROUP BY r.id HAVING count(*) != count(DISTINCT e.epoch) * 11 OR max(e.epoch) != count(DISTINCT e.epoch)",
    );
    assert!(
        bad.is_empty(),
        "runs with missing or duplicate epochs: {bad:?}"
    );
    let completed_epochs = ws.query::<i64>(
        "SELECT count(DISTINCT e.epoch) FROM runs r JOIN epoch_metrics e ON e.run_id = r.id \
         WHERE r.status = 'completed' GROUP BY r.id",
    );
    assert!(
        completed_epochs.iter().all(|n| *n == 40),
        "{completed_epochs:?}"
    );
    // Every completed run's artifacts verify.
    for id in ws.query::<String>("SELECT id FROM runs WHERE status = 'completed'") {
        let show: serde_json::Value =
            serde_json::from_str(&ws.ok(&["show", &id, "--json"])).unwrap();
        let checks = show["artifact_checks"].as_array().unwrap();
        assert_eq!(checks.len(), 2);
        assert!(checks.iter().all(|c| c["state"] == "ok"), "{checks:?}");
    }
}
