//! Run folders against the artifact table (issue 18): a crashed run takes
//! back the checkpoint it wrote but did not record and loses its other
//! stray files; completion tidies the folder; `unowned_artifacts` lists
//! what no run owns and never a running run's files.

use super::{metric, new_run, temp_db};
use crate::{ArtifactKind, Completion, Registry, RunStatus, UnownedReason};

#[tokio::test(flavor = "current_thread")]
async fn a_crashed_run_takes_back_its_unrecorded_checkpoint() {
    let (dir, path) = temp_db();
    let reg = Registry::open(&path).await.unwrap();
    let id = reg.create_run(&new_run("exp", false)).await.unwrap();
    for epoch in 1..=3 {
        reg.record_epoch(&id, epoch, &[metric("train", "loss", 1.0)])
            .await
            .unwrap();
    }
    let first = reg
        .write_artifact(
            &id,
            ArtifactKind::CheckpointLast,
            "checkpoint-last-epoch-000001.safetensors",
            b"one",
        )
        .await
        .unwrap();
    reg.record_checkpoint(&id, &[first]).await.unwrap();
    // Written, then the process died before recording it.
    reg.write_artifact(
        &id,
        ArtifactKind::CheckpointLast,
        "checkpoint-last-epoch-000003.safetensors",
        b"three",
    )
    .await
    .unwrap();
    let folder = dir.path().join("registry/artifacts").join(id.as_str());
    std::fs::write(folder.join(".tmp-a1b2c3"), b"half").unwrap();
    sqlx::query("UPDATE runs SET pid = 999999999 WHERE id = $1")
        .bind(id.as_str())
        .execute(&reg.pool)
        .await
        .unwrap();
    reg.close().await;

    let reg = Registry::open(&path).await.unwrap();
    let record = reg.run(&id).await.unwrap();
    assert_eq!(record.status, RunStatus::Crashed);
    let last = record.artifact(ArtifactKind::CheckpointLast).unwrap();
    assert!(
        last.path
            .ends_with("checkpoint-last-epoch-000003.safetensors")
    );
    assert_eq!(reg.read_verified(last).await.unwrap(), b"three");
    let mut left: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["checkpoint-last-epoch-000003.safetensors"]);
    assert!(reg.unowned_artifacts().await.unwrap().is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn unowned_files_are_listed_and_removed_but_never_a_running_runs() {
    let (dir, path) = temp_db();
    let reg = Registry::open(&path).await.unwrap();
    let artifacts = dir.path().join("registry/artifacts");
    let running = reg.create_run(&new_run("exp", false)).await.unwrap();
    reg.write_artifact(&running, ArtifactKind::Weights, "model.safetensors", b"w")
        .await
        .unwrap();
    std::fs::write(artifacts.join(running.as_str()).join(".tmp-x"), b"x").unwrap();

    let done = reg.create_run(&new_run("exp", false)).await.unwrap();
    let weights = reg
        .write_artifact(&done, ArtifactKind::Weights, "model.safetensors", b"w")
        .await
        .unwrap();
    reg.complete_run(
        &done,
        &Completion {
            best_epoch: 1,
            epochs_run: 1,
            selection_value: 0.5,
            final_metrics: vec![],
            artifacts: vec![weights],
            overfitting: Default::default(),
            weights_digest: None,
        },
    )
    .await
    .unwrap();
    let folder = artifacts.join(done.as_str());
    std::fs::write(
        folder.join("checkpoint-best-epoch-000001.safetensors"),
        b"cb",
    )
    .unwrap();
    std::fs::create_dir_all(artifacts.join("not-a-run")).unwrap();
    std::fs::write(artifacts.join("not-a-run/file"), b"12345").unwrap();

    let unowned = reg.unowned_artifacts().await.unwrap();
    let listed: Vec<(&str, UnownedReason, u64)> = unowned
        .iter()
        .map(|u| (u.path.as_str(), u.reason, u.bytes))
        .collect();
    let stray = format!("artifacts/{done}/checkpoint-best-epoch-000001.safetensors");
    assert_eq!(
        listed,
        [
            (stray.as_str(), UnownedReason::NotRecorded, 2),
            ("artifacts/not-a-run", UnownedReason::UnknownRun, 5),
        ]
    );
    let removed = reg.remove_unowned(&unowned).await.unwrap();
    assert_eq!(removed, unowned);
    assert!(!artifacts.join("not-a-run").exists());
    assert!(folder.join("model.safetensors").exists());
    assert!(artifacts.join(running.as_str()).join(".tmp-x").exists());
    assert!(reg.unowned_artifacts().await.unwrap().is_empty());
}
