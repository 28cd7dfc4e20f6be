//! The one status guard of a run's changes (`touch.rs`): every change a
//! live run alone may take is refused in the same words once the run has
//! ended, and an unknown run is named as such.

use super::{metric, new_run, open_temp};
use crate::{ArtifactKind, EndStatus, RegistryError, RunId, RunStatus};

#[tokio::test(flavor = "current_thread")]
async fn an_ended_run_refuses_an_epoch_with_the_same_error_as_before() {
    let (_dir, reg) = open_temp().await;
    let id = reg.create_run(&new_run("exp", false)).await.unwrap();
    reg.record_epoch(&id, 1, &[metric("train", "loss", 0.5)])
        .await
        .unwrap();
    reg.end_run(&id, EndStatus::Killed, None).await.unwrap();

    let epoch = reg
        .record_epoch(&id, 2, &[metric("train", "loss", 0.4)])
        .await
        .unwrap_err();
    match &epoch {
        RegistryError::InvalidTransition { run, from } => {
            assert_eq!(run, id.as_str());
            assert_eq!(*from, RunStatus::Killed);
        }
        other => panic!("expected InvalidTransition, got {other:?}"),
    }
    assert_eq!(
        epoch.to_string(),
        format!("run {id} is killed; that change is only allowed while it is queued or running")
    );
    assert!(!epoch.is_user_error());
    // The other changes of a live run say the same.
    let heartbeat = reg.heartbeat(&id).await.unwrap_err();
    let checkpoint = reg.record_checkpoint(&id, &[]).await.unwrap_err();
    let artifact = reg
        .write_artifact(&id, ArtifactKind::Weights, "model.safetensors", b"w")
        .await
        .unwrap_err();
    let end = reg.end_run(&id, EndStatus::Failed, None).await.unwrap_err();
    for error in [heartbeat, checkpoint, artifact, end] {
        assert_eq!(error.to_string(), epoch.to_string());
    }
    assert_eq!(reg.run(&id).await.unwrap().epochs.len(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn an_unknown_run_is_refused_as_unknown_by_every_guarded_change() {
    let (_dir, reg) = open_temp().await;
    let ghost = RunId::from_db("0190aaaa-0000-7000-8000-000000000000".to_owned());
    let errors = [
        reg.record_epoch(&ghost, 1, &[metric("train", "loss", 0.5)])
            .await
            .unwrap_err(),
        reg.heartbeat(&ghost).await.unwrap_err(),
        reg.start_run(&ghost).await.unwrap_err(),
        reg.write_artifact(&ghost, ArtifactKind::Weights, "w.bin", b"w")
            .await
            .unwrap_err(),
    ];
    for error in errors {
        assert!(
            matches!(&error, RegistryError::UnknownRun { selector, .. } if selector == ghost.as_str()),
            "{error:?}"
        );
        assert!(error.to_string().contains("no such run in"), "{error}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_queued_run_takes_a_heartbeat_but_no_epoch() {
    let (_dir, reg) = open_temp().await;
    let id = reg.queue_run(&new_run("exp", false)).await.unwrap();
    reg.heartbeat(&id).await.unwrap();
    let error = reg
        .record_epoch(&id, 1, &[metric("train", "loss", 0.5)])
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            RegistryError::InvalidTransition {
                from: RunStatus::Queued,
                ..
            }
        ),
        "{error:?}"
    );
    reg.start_run(&id).await.unwrap();
    reg.record_epoch(&id, 1, &[metric("train", "loss", 0.5)])
        .await
        .unwrap();
}
