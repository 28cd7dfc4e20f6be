//! The write path end to end: create, epochs, artifacts, complete or end,
//! and what reading back returns.

use super::{completed_run, loss_curve, metric, new_run, open_temp};
use crate::{
    ArtifactKind, Completion, EndStatus, EpochMetric, Epochs, RegistryError, RunFilter, RunId,
    RunStatus,
};

#[tokio::test(flavor = "current_thread")]
async fn full_lifecycle_is_read_back() {
    let (_dir, reg) = open_temp().await;
    let id = completed_run(&reg).await;
    let record = reg.run(&id).await.unwrap();

    assert_eq!(record.id, id);
    assert_eq!(record.status, RunStatus::Completed);
    assert_eq!(record.experiment, "exp");
    assert_eq!(record.seed, 42);
    assert_eq!(record.columns_hash.as_deref(), Some("0123456789abcdef"));
    assert_eq!(record.best_epoch, Some(3));
    assert_eq!(record.epochs_run, 3);
    assert!(record.ended_at.is_some());
    assert_eq!(record.pid, Some(std::process::id()));
    assert!(record.started_at.ends_with('Z'));
    assert_eq!(record.epochs.len(), 6);
    assert_eq!(record.epochs[0].epoch, 1);
    assert_eq!(record.epochs[0].split, "train");
    assert_eq!(record.epochs[1].split, "validation");
    assert_eq!(record.epochs[5].epoch, 3);
    assert_eq!(record.final_metrics.len(), 2);
    assert_eq!(record.final_metrics[0].metric, "mse");

    let weights = record.artifact(ArtifactKind::Weights).unwrap();
    assert_eq!(weights.path, format!("artifacts/{id}/model.safetensors"));
    assert_eq!(weights.bytes, 13);
    assert_eq!(reg.read_verified(weights).await.unwrap(), b"weights-bytes");
    let prep = record.artifact(ArtifactKind::Preprocessing).unwrap();
    assert_eq!(reg.read_verified(prep).await.unwrap(), b"{\"mean\":1}");
    // No temporary files are left beside the artifacts.
    let names: Vec<_> = std::fs::read_dir(reg.root().join("artifacts").join(id.as_str()))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    let summaries = reg.list_runs(&RunFilter::default()).await.unwrap();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].final_metrics.len(), 2);
    assert_eq!(summaries[0].selection_metric, "val_loss");

    let json = serde_json::to_value(&record).unwrap();
    assert_eq!(json["status"], "completed");
    assert_eq!(json["id"], id.as_str());
    assert_eq!(json["artifacts"][0]["kind"], "preprocessing");
}

#[tokio::test(flavor = "current_thread")]
async fn corrupt_and_missing_artifacts_are_detected() {
    let (_dir, reg) = open_temp().await;
    let id = completed_run(&reg).await;
    let record = reg.run(&id).await.unwrap();
    let weights = record.artifact(ArtifactKind::Weights).unwrap();
    let file = reg.root().join(&weights.path);

    std::fs::write(&file, b"weights-bytez").unwrap();
    let err = reg.read_verified(weights).await.unwrap_err();
    assert!(
        matches!(err, RegistryError::ArtifactCorrupt { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(id.as_str()), "{err}");

    std::fs::write(&file, b"short").unwrap();
    let err = reg.read_verified(weights).await.unwrap_err();
    assert!(
        matches!(err, RegistryError::ArtifactCorrupt { .. }),
        "{err:?}"
    );

    std::fs::remove_file(&file).unwrap();
    let err = reg.read_verified(weights).await.unwrap_err();
    assert!(
        matches!(err, RegistryError::ArtifactMissing { .. }),
        "{err:?}"
    );
}

/// Issue 18: an artifact that is not a regular file of the recorded size is
/// refused before it is read: a link to `/dev/zero` (read without end), a
/// named pipe (opening it waits for a writer) and a sparse file of another
/// size (held whole in memory) all fail at once, in reading and verifying.
#[cfg(unix)]
#[tokio::test(flavor = "current_thread")]
async fn artifacts_that_are_not_regular_files_of_their_size_are_refused() {
    let (_dir, reg) = open_temp().await;
    let id = completed_run(&reg).await;
    let record = reg.run(&id).await.unwrap();
    let weights = record.artifact(ArtifactKind::Weights).unwrap().clone();
    let file = reg.root().join(&weights.path);

    let replace = |how: &dyn Fn(&std::path::Path)| {
        std::fs::remove_file(&file).unwrap();
        how(&file);
    };
    // Each read on a thread: a regression (a pipe opened and waited on)
    // fails the test instead of hanging the suite.
    let refused = |reg: &crate::Registry| {
        let (send, receive) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            let weights = &weights;
            let handle = scope.spawn(move || {
                // A file registry reads without I/O of the runtime's.
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                let _ = send.send(runtime.block_on(async {
                    (
                        reg.read_verified(weights).await.map(|_| ()),
                        reg.verify_artifact(weights).await,
                    )
                }));
            });
            let answer = receive.recv_timeout(std::time::Duration::from_secs(10));
            let Ok((read, verify)) = answer else {
                // Unblock the pipe so that the scope can end.
                let _ = std::fs::OpenOptions::new().write(true).open(&file);
                let _ = handle.join();
                panic!("reading the artifact did not return within 10 s");
            };
            [read.unwrap_err(), verify.unwrap_err()]
        })
    };

    replace(&|f| std::os::unix::fs::symlink("/dev/zero", f).unwrap());
    for err in refused(&reg) {
        let text = err.to_string();
        assert!(
            matches!(err, RegistryError::ArtifactCorrupt { .. }),
            "{err:?}"
        );
        assert!(
            text.contains("expected a regular file of 13 bytes, found a character device, through a symbolic link"),
            "{text}"
        );
    }

    replace(&|f| {
        let made = std::process::Command::new("mkfifo")
            .arg(f)
            .status()
            .unwrap();
        assert!(made.success());
    });
    for err in refused(&reg) {
        assert!(
            err.to_string().contains("found a named pipe (FIFO)"),
            "{err}"
        );
    }

    replace(&|f| {
        let sparse = std::fs::File::create(f).unwrap();
        sparse.set_len(1 << 30).unwrap();
    });
    for err in refused(&reg) {
        assert!(
            err.to_string()
                .contains("expected 13 bytes, found 1073741824 bytes"),
            "{err}"
        );
    }

    // The same bytes again: read and verified.
    replace(&|f| std::fs::write(f, b"weights-bytes").unwrap());
    assert_eq!(reg.read_verified(&weights).await.unwrap(), b"weights-bytes");
    reg.verify_artifact(&weights).await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn killed_run_keeps_its_epochs() {
    let (_dir, reg) = open_temp().await;
    let id = reg.create_run(&new_run("exp", false)).await.unwrap();
    reg.record_epoch(&id, 1, &[metric("train", "loss", 0.5)])
        .await
        .unwrap();
    reg.record_epoch(&id, 2, &[metric("train", "loss", 0.4)])
        .await
        .unwrap();
    reg.end_run(&id, EndStatus::Killed, Some("interrupted by SIGINT"))
        .await
        .unwrap();
    let record = reg.run(&id).await.unwrap();
    assert_eq!(record.status, RunStatus::Killed);
    assert_eq!(record.error.as_deref(), Some("interrupted by SIGINT"));
    assert_eq!(record.epochs.len(), 2);
    assert_eq!(record.epochs_run, 2);
    assert!(record.ended_at.is_some());

    let err = reg
        .record_epoch(&id, 3, &[metric("train", "loss", 0.3)])
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        RegistryError::InvalidTransition {
            from: RunStatus::Killed,
            ..
        }
    ));
    assert_eq!(reg.run(&id).await.unwrap().epochs.len(), 2);
}

#[tokio::test(flavor = "current_thread")]
async fn completing_twice_is_an_invalid_transition() {
    let (_dir, reg) = open_temp().await;
    let id = completed_run(&reg).await;
    let done = Completion {
        best_epoch: 1,
        epochs_run: 1,
        selection_value: 0.0,
        final_metrics: vec![metric("test", "mae", 9.0)],
        artifacts: vec![],
        overfitting: Default::default(),
        weights_digest: None,
    };
    let err = reg.complete_run(&id, &done).await.unwrap_err();
    match &err {
        RegistryError::InvalidTransition { run, from } => {
            assert_eq!(run, id.as_str());
            assert_eq!(*from, RunStatus::Completed);
        }
        other => panic!("expected InvalidTransition, got {other:?}"),
    }
    assert!(!err.is_user_error());
    let err = reg.end_run(&id, EndStatus::Failed, None).await.unwrap_err();
    assert!(matches!(err, RegistryError::InvalidTransition { .. }));
    // Nothing of the refused completion was written.
    let record = reg.run(&id).await.unwrap();
    assert_eq!(record.best_epoch, Some(3));
    assert!(record.final_metrics.iter().all(|m| m.metric != "mae"));
}

#[tokio::test(flavor = "current_thread")]
async fn unknown_run_and_bad_inputs_are_refused() {
    let (_dir, reg) = open_temp().await;
    let ghost = RunId::from_db("0190aaaa-0000-7000-8000-000000000000".to_owned());
    let err = reg
        .end_run(&ghost, EndStatus::Failed, None)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::UnknownRun { .. }), "{err:?}");
    let err = reg.run(&ghost).await.unwrap_err();
    assert!(matches!(err, RegistryError::UnknownRun { .. }), "{err:?}");

    let mut too_big = new_run("exp", false);
    too_big.seed = u64::MAX;
    let err = reg.create_run(&too_big).await.unwrap_err();
    assert!(matches!(err, RegistryError::InvalidInput { .. }), "{err:?}");

    let id = reg.create_run(&new_run("exp", false)).await.unwrap();
    for bad in ["", "..", "a/b", "a\\b"] {
        let err = reg
            .write_artifact(&id, ArtifactKind::Weights, bad, b"x")
            .await
            .unwrap_err();
        assert!(
            matches!(err, RegistryError::InvalidInput { .. }),
            "{bad}: {err:?}"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn nan_metrics_round_trip_as_nan() {
    let (_dir, reg) = open_temp().await;
    let id = reg.create_run(&new_run("exp", false)).await.unwrap();
    reg.record_epoch(&id, 0, &[metric("train", "loss", f64::NAN)])
        .await
        .unwrap();
    let record = reg.run(&id).await.unwrap();
    assert!(record.epochs[0].value.is_nan());
    assert_eq!(record.epochs_run, 1);
}

#[tokio::test(flavor = "current_thread")]
async fn epochs_recorded_together_equal_epochs_recorded_one_by_one() {
    let (_dir, reg) = open_temp().await;
    let id = reg.create_run(&new_run("exp", false)).await.unwrap();
    reg.record_epoch(&id, 1, &[metric("train", "loss", 9.0)])
        .await
        .unwrap();
    // More rows than one INSERT takes, and epoch 1 again: its value is
    // replaced, not duplicated.
    let epochs = loss_curve(400, |epoch| 1.0 / f64::from(epoch));
    reg.record_epochs(&id, &epochs).await.unwrap();
    let record = reg.run(&id).await.unwrap();
    assert_eq!(record.epochs_run, 400);
    assert_eq!(record.epochs.len(), 800);
    let first = record
        .epochs
        .iter()
        .find(|m| m.epoch == 1 && m.split == "train")
        .unwrap();
    assert_eq!(first.value, 1.0);
    // One epoch, split and metric twice in one batch is refused, and
    // nothing of the batch is written.
    let twice = [epochs[0].clone(), epochs[2].clone(), epochs[0].clone()];
    assert!(matches!(
        reg.record_epochs(&id, &twice).await,
        Err(RegistryError::InvalidInput { .. })
    ));
    reg.end_run(&id, EndStatus::Killed, None).await.unwrap();
    assert!(matches!(
        reg.record_epochs(&id, &epochs[..2]).await,
        Err(RegistryError::InvalidTransition {
            from: RunStatus::Killed,
            ..
        })
    ));
}

#[tokio::test(flavor = "current_thread")]
async fn a_run_read_with_losses_has_its_loss_rows_only() {
    let (_dir, reg) = open_temp().await;
    let id = reg.create_run(&new_run("exp", false)).await.unwrap();
    let mut epochs = loss_curve(3, f64::from);
    epochs.extend((1..=3).map(|epoch| EpochMetric {
        epoch,
        split: "validation".to_owned(),
        metric: "r2".to_owned(),
        value: 0.5,
    }));
    reg.record_epochs(&id, &epochs).await.unwrap();
    assert_eq!(reg.run(&id).await.unwrap().epochs.len(), 9);
    let losses = reg.run_with(&id, Epochs::Losses).await.unwrap();
    assert_eq!(losses.epochs.len(), 6);
    assert!(losses.epochs.iter().all(|m| m.metric == "loss"));
    assert!(
        reg.run_with(&id, Epochs::None)
            .await
            .unwrap()
            .epochs
            .is_empty()
    );
}
