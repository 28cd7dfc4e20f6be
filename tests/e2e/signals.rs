//! Ctrl-C stops a run at the end of the current batch and records it as
//! killed, with its finished epochs and its best checkpoint kept (issues #2, #5).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::common::{Workspace, mlp_spec};

#[test]
fn interrupt_marks_the_run_killed() {
    let ws = Workspace::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .current_dir(ws.path())
        .env("PIPELINE_REGISTRY", ws.registry_url())
        .args([
            "run",
            "-v",
            mlp_spec().to_str().unwrap(),
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
    // Wait for a few finished epochs, then press Ctrl-C.
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
    let code = child.wait().unwrap().code();
    assert_eq!(code, Some(130), "{rest:?}");
    assert!(rest.iter().any(|l| l.contains("killed")), "{rest:?}");
    assert_eq!(ws.query::<String>("SELECT status FROM runs"), ["killed"]);
    let kept = ws.query::<i64>("SELECT count(DISTINCT epoch) FROM epoch_metrics")[0];
    assert!(kept >= 3, "finished epochs are kept: {kept}");
    // The best epoch's weights are kept as its checkpoint, verified and usable.
    // Weights and preprocessing, and the checkpoints `pipeline resume` reads.
    assert_eq!(ws.query::<i64>("SELECT count(*) FROM artifacts"), [4]);
    assert_eq!(
        ws.query::<i64>(
            "SELECT count(*) FROM runs WHERE best_epoch >= 1 AND weights_digest IS NOT NULL"
        ),
        [1]
    );
    ws.ok(&["show", "latest", "--verify"]);
    let predictions = ws.ok(&[
        "infer",
        "--run",
        "latest",
        "--input",
        crate::common::diabetes_csv().to_str().unwrap(),
    ]);
    assert_eq!(predictions.lines().count(), 443);
}
