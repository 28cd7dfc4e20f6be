//! Checkpoints and the resume transition (issue 4): killed or crashed runs go
//! back to running, other statuses are refused; a checkpoint row replaces
//! the previous one only once committed, and its old file goes after.

use super::{metric, new_run, open_temp};
use crate::{ArtifactKind, Completion, EndStatus, RegistryError, RunStatus};

#[tokio::test(flavor = "current_thread")]
async fn killed_and_crashed_runs_resume_others_are_refused() {
    let (_dir, reg) = open_temp().await;
    let killed = reg.create_run(&new_run("exp", false)).await.unwrap();
    for epoch in 1..=3 {
        reg.record_epoch(&killed, epoch, &[metric("train", "loss", 1.0)])
            .await
            .unwrap();
    }
    reg.end_run(&killed, EndStatus::Killed, Some("interrupted"))
        .await
        .unwrap();
    // Checkpoint after epoch 2: epoch 3 is trained again.
    reg.resume_run(&killed, 2).await.unwrap();
    let record = reg.run(&killed).await.unwrap();
    assert_eq!(record.status, RunStatus::Running);
    assert_eq!(record.epochs_run, 2);
    assert_eq!(record.epochs.last().unwrap().epoch, 2);
    assert_eq!(record.error, None);
    assert_eq!(record.ended_at, None);
    assert_eq!(record.pid, Some(std::process::id()));
    // Running: refused (it is someone's training).
    assert!(matches!(
        reg.resume_run(&killed, 0).await,
        Err(RegistryError::NotResumable {
            from: RunStatus::Running,
            ..
        })
    ));

    let crashed = reg.create_run(&new_run("exp", false)).await.unwrap();
    sqlx::query("UPDATE runs SET status = 'crashed', error = 'gone' WHERE id = $1")
        .bind(crashed.as_str())
        .execute(&reg.pool)
        .await
        .unwrap();
    reg.resume_run(&crashed, 0).await.unwrap();
    assert_eq!(reg.run(&crashed).await.unwrap().status, RunStatus::Running);

    let failed = reg.create_run(&new_run("exp", false)).await.unwrap();
    reg.end_run(&failed, EndStatus::Failed, Some("nan"))
        .await
        .unwrap();
    let error = reg.resume_run(&failed, 0).await.unwrap_err();
    assert!(
        matches!(
            error,
            RegistryError::NotResumable {
                from: RunStatus::Failed,
                ..
            }
        ),
        "{error}"
    );
    assert!(error.is_user_error());
    assert!(error.to_string().contains("only killed or crashed runs"));
    assert_eq!(reg.run(&failed).await.unwrap().status, RunStatus::Failed);
}

#[tokio::test(flavor = "current_thread")]
async fn a_run_failed_on_its_environment_is_resumable() {
    // Issue 18: a full disk stopped the run; its checkpoint is on disk.
    let (_dir, reg) = open_temp().await;
    let id = reg.create_run(&new_run("exp", false)).await.unwrap();
    let cause = "recording epoch 3: database or disk is full";
    reg.end_run(&id, EndStatus::FailedOnEnvironment, Some(cause))
        .await
        .unwrap();
    let record = reg.run(&id).await.unwrap();
    assert_eq!(record.status, RunStatus::Failed);
    assert_eq!(record.error.as_deref(), Some(cause));
    assert!(record.failed_on_environment);
    reg.resume_run(&id, 0).await.unwrap();
    let record = reg.run(&id).await.unwrap();
    assert_eq!(record.status, RunStatus::Running);
    assert!(!record.failed_on_environment);
    // Failing again on its spec or data: not resumable.
    reg.end_run(&id, EndStatus::Failed, Some("nan"))
        .await
        .unwrap();
    assert!(!reg.run(&id).await.unwrap().failed_on_environment);
    assert!(reg.resume_run(&id, 0).await.is_err());
}

#[tokio::test(flavor = "current_thread")]
async fn a_checkpoint_replaces_the_previous_one_and_completion_drops_them() {
    let (dir, reg) = open_temp().await;
    let id = reg.create_run(&new_run("exp", false)).await.unwrap();
    let root = dir.path().join("registry");
    let mut previous = None;
    for epoch in 1..=2 {
        let last = reg
            .write_artifact(
                &id,
                ArtifactKind::CheckpointLast,
                &format!("checkpoint-last-{epoch}.safetensors"),
                format!("state {epoch}").as_bytes(),
            )
            .await
            .unwrap();
        let best = reg
            .write_artifact(
                &id,
                ArtifactKind::CheckpointBest,
                "checkpoint-best-1.safetensors",
                b"best 1",
            )
            .await
            .unwrap();
        reg.record_checkpoint(&id, &[last.clone(), best])
            .await
            .unwrap();
        let record = reg.run(&id).await.unwrap();
        let stored = record.artifact(ArtifactKind::CheckpointLast).unwrap();
        assert_eq!(stored, &last);
        assert_eq!(
            reg.read_verified(stored).await.unwrap(),
            format!("state {epoch}").as_bytes()
        );
        if let Some(previous) = previous.replace(last.path.clone()) {
            assert!(!root.join(previous).exists(), "the replaced file is gone");
        }
        assert!(
            root.join("artifacts")
                .join(id.as_str())
                .join("checkpoint-best-1.safetensors")
                .exists()
        );
    }
    // Only checkpoint kinds, only this run's folder.
    let weights = reg
        .write_artifact(&id, ArtifactKind::Weights, "model.safetensors", b"w")
        .await
        .unwrap();
    assert!(matches!(
        reg.record_checkpoint(&id, std::slice::from_ref(&weights))
            .await,
        Err(RegistryError::InvalidInput { .. })
    ));

    reg.complete_run(
        &id,
        &Completion {
            best_epoch: 1,
            epochs_run: 2,
            selection_value: 0.5,
            final_metrics: vec![],
            artifacts: vec![weights],
            overfitting: Default::default(),
            weights_digest: None,
        },
    )
    .await
    .unwrap();
    let record = reg.run(&id).await.unwrap();
    let kinds: Vec<ArtifactKind> = record.artifacts.iter().map(|a| a.kind).collect();
    assert_eq!(kinds, [ArtifactKind::Weights]);
    let files: Vec<String> = std::fs::read_dir(root.join("artifacts").join(id.as_str()))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, ["model.safetensors"]);
    // Not running any more: no checkpoint.
    assert!(matches!(
        reg.record_checkpoint(&id, &[]).await,
        Err(RegistryError::InvalidTransition { .. })
    ));
}
