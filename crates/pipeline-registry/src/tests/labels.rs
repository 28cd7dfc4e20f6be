//! Queued runs, heartbeats, tags, notes, aliases with history, `best:<metric>`
//! and the stored overfitting summary as a filter.

use super::{loss_curve, metric, new_run, open_temp};
use crate::{
    Completion, Condition, Overfitting, Registry, RegistryError, RunFilter, RunId, RunSelector,
    RunStatus,
};

async fn finished(reg: &Registry, tags: &[&str], test_r2: f64, onset: Option<u32>) -> RunId {
    let mut new = new_run("exp", false);
    new.tags = tags.iter().map(|t| (*t).to_owned()).collect();
    let id = reg.create_run(&new).await.unwrap();
    reg.complete_run(
        &id,
        &Completion {
            best_epoch: 1,
            epochs_run: 1,
            selection_value: 1.0 - test_r2,
            final_metrics: vec![metric("test", "r2", test_r2)],
            artifacts: vec![],
            overfitting: Overfitting {
                gap_at_best: Some(0.5),
                test_train_gap: Some(test_r2),
                onset,
                ..Overfitting::default()
            },
            weights_digest: None,
        },
    )
    .await
    .unwrap();
    id
}

#[tokio::test(flavor = "current_thread")]
async fn queued_run_starts_then_completes() {
    let (_dir, reg) = open_temp().await;
    let id = reg.queue_run(&new_run("exp", false)).await.unwrap();
    let record = reg.run(&id).await.unwrap();
    assert_eq!(record.status, RunStatus::Queued);
    assert!(record.queued_at.is_some());
    // Epochs are refused before the run starts.
    assert!(matches!(
        reg.record_epoch(&id, 1, &[]).await,
        Err(RegistryError::InvalidTransition {
            from: RunStatus::Queued,
            ..
        })
    ));
    reg.heartbeat(&id).await.unwrap();
    reg.start_run(&id).await.unwrap();
    assert_eq!(reg.run(&id).await.unwrap().status, RunStatus::Running);
    assert!(reg.start_run(&id).await.is_err());
    reg.record_epoch(&id, 1, &[metric("train", "loss", 1.0)])
        .await
        .unwrap();
    let record = reg.run(&id).await.unwrap();
    assert_eq!(record.epochs_run, 1);
    assert_eq!(record.git_commit.as_deref(), Some("0123abc"));
    assert_eq!(record.deterministic, Some(true));
}

#[tokio::test(flavor = "current_thread")]
async fn queued_run_can_be_killed_before_it_starts() {
    let (_dir, reg) = open_temp().await;
    let id = reg.queue_run(&new_run("exp", false)).await.unwrap();
    reg.end_run(
        &id,
        crate::EndStatus::Killed,
        Some("interrupted while queued"),
    )
    .await
    .unwrap();
    assert_eq!(reg.run(&id).await.unwrap().status, RunStatus::Killed);
    assert!(reg.heartbeat(&id).await.is_err());
}

#[tokio::test(flavor = "current_thread")]
async fn tags_and_notes() {
    let (_dir, reg) = open_temp().await;
    let a = finished(&reg, &["baseline", "v1"], 0.4, None).await;
    let b = finished(&reg, &["v1"], 0.5, Some(12)).await;
    reg.add_tags(&b, &["wide".to_owned(), "v1".to_owned()])
        .await
        .unwrap();
    assert_eq!(reg.run(&b).await.unwrap().tags, ["v1", "wide"]);
    assert_eq!(
        reg.remove_tags(&a, &["v1".to_owned(), "nope".to_owned()])
            .await
            .unwrap(),
        1
    );
    assert!(matches!(
        reg.add_tags(&a, &["has space".to_owned()]).await,
        Err(RegistryError::InvalidInput { .. })
    ));
    reg.set_note(&a, Some("first try")).await.unwrap();
    assert_eq!(
        reg.run(&a).await.unwrap().note.as_deref(),
        Some("first try")
    );

    let with_tag = |tags: &[&str]| RunFilter {
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        ..RunFilter::default()
    };
    let ids = |runs: Vec<crate::RunSummary>| {
        runs.into_iter()
            .map(|r| r.id.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(reg.list_runs(&with_tag(&["v1"])).await.unwrap()),
        vec![b.to_string()]
    );
    assert_eq!(
        ids(reg.list_runs(&with_tag(&["baseline"])).await.unwrap()),
        vec![a.to_string()]
    );
    let listed = reg.list_runs(&RunFilter::default()).await.unwrap();
    assert_eq!(listed[0].tags, ["v1", "wide"]);
    assert_eq!(listed[0].overfitting.onset, Some(12));
    assert_eq!(listed[1].tags, ["baseline"]);

    let condition = |text: &str| RunFilter {
        condition: Some(text.parse::<Condition>().unwrap()),
        ..RunFilter::default()
    };
    assert_eq!(
        ids(reg.list_runs(&condition("tag = wide")).await.unwrap()),
        vec![b.to_string()]
    );
    assert_eq!(
        ids(reg.list_runs(&condition("tag != wide")).await.unwrap()),
        vec![a.to_string()]
    );
    assert_eq!(
        ids(reg.list_runs(&condition("onset = none")).await.unwrap()),
        vec![a.to_string()]
    );
    assert_eq!(
        ids(reg.list_runs(&condition("onset > 10")).await.unwrap()),
        vec![b.to_string()]
    );
    assert_eq!(
        ids(reg
            .list_runs(&condition("test_gap > 0.45 or gap < 0"))
            .await
            .unwrap()),
        vec![b.to_string()]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn aliases_resolve_and_keep_their_history() {
    let (_dir, reg) = open_temp().await;
    let a = finished(&reg, &[], 0.4, None).await;
    let b = finished(&reg, &[], 0.5, None).await;
    assert_eq!(reg.set_alias("production", &a).await.unwrap(), None);
    let named = RunSelector::Id("production".to_owned());
    assert_eq!(reg.resolve(&named, None).await.unwrap(), a);
    assert_eq!(
        reg.set_alias("production", &b).await.unwrap(),
        Some(a.clone())
    );
    // Setting it to the run it already names changes nothing.
    assert_eq!(reg.set_alias("production", &b).await.unwrap(), None);
    assert_eq!(reg.resolve(&named, None).await.unwrap(), b);
    assert_eq!(reg.run(&b).await.unwrap().aliases, ["production"]);
    assert!(reg.run(&a).await.unwrap().aliases.is_empty());

    let history = reg.alias_history("production").await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].run_id, a);
    assert_eq!(
        history[0].unset_at.as_deref(),
        Some(history[1].set_at.as_str())
    );
    assert_eq!(history[1].run_id, b);
    assert!(history[1].unset_at.is_none());

    assert_eq!(reg.remove_alias("production").await.unwrap(), b);
    assert!(reg.aliases().await.unwrap().is_empty());
    assert_eq!(reg.alias_history("production").await.unwrap().len(), 2);
    assert!(matches!(
        reg.resolve(&named, None).await,
        Err(RegistryError::UnknownRun { .. })
    ));
    assert!(matches!(
        reg.remove_alias("production").await,
        Err(RegistryError::UnknownRun { .. })
    ));
    for bad in ["best", "latest", "cafe-01", "1abc", "with space", ""] {
        assert!(
            matches!(
                reg.set_alias(bad, &a).await,
                Err(RegistryError::InvalidInput { .. })
            ),
            "{bad:?} was accepted"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn best_by_metric_follows_the_metric_direction() {
    let (_dir, reg) = open_temp().await;
    let low = finished(&reg, &[], 0.1, None).await;
    let high = finished(&reg, &[], 0.9, None).await;
    let by = |higher_is_better| RunSelector::BestBy {
        split: "test".to_owned(),
        metric: "r2".to_owned(),
        higher_is_better,
    };
    assert_eq!(reg.resolve(&by(true), None).await.unwrap(), high);
    assert_eq!(reg.resolve(&by(false), None).await.unwrap(), low);
    assert_eq!(reg.resolve(&by(true), Some("exp")).await.unwrap(), high);
    let missing = RunSelector::BestBy {
        split: "test".to_owned(),
        metric: "accuracy".to_owned(),
        higher_is_better: true,
    };
    assert!(matches!(
        reg.resolve(&missing, None).await,
        Err(RegistryError::UnknownRun { .. })
    ));
    // Another experiment's test r2 does not compare with this one's: name one.
    let other = reg.create_run(&new_run("other", false)).await.unwrap();
    reg.complete_run(
        &other,
        &Completion {
            best_epoch: 1,
            epochs_run: 1,
            selection_value: 0.0,
            final_metrics: vec![metric("test", "r2", 0.99)],
            artifacts: vec![],
            overfitting: Overfitting::default(),
            weights_digest: None,
        },
    )
    .await
    .unwrap();
    assert!(matches!(
        reg.resolve(&by(true), None).await,
        Err(RegistryError::AmbiguousExperiment { .. })
    ));
    assert_eq!(reg.resolve(&by(true), Some("exp")).await.unwrap(), high);
    assert_eq!(reg.resolve(&by(true), Some("other")).await.unwrap(), other);
}

#[tokio::test(flavor = "current_thread")]
async fn imported_runs_read_back_like_trained_ones() {
    let (_dir, reg) = open_temp().await;
    let mut run = new_run("imported", false);
    run.tags = vec!["import".to_owned()];
    let epochs = loss_curve(3, f64::from);
    let id = reg
        .import_run(&crate::ImportedRun {
            run,
            started_at: "2026-01-01T00:00:00.000Z".to_owned(),
            ended_at: "2026-01-01T00:01:00.000Z".to_owned(),
            epochs: epochs.clone(),
            completion: Completion {
                best_epoch: 2,
                epochs_run: 3,
                selection_value: 2.0,
                final_metrics: vec![metric("test", "r2", 0.5)],
                artifacts: vec![],
                overfitting: Overfitting::default(),
                weights_digest: None,
            },
        })
        .await
        .unwrap();
    let record = reg.run(&id).await.unwrap();
    assert_eq!(record.status, RunStatus::Completed);
    assert_eq!(record.epochs_run, 3);
    assert_eq!(record.epochs.len(), epochs.len());
    assert_eq!(record.tags, ["import"]);
    assert_eq!(record.columns_hash.as_deref(), Some("0123456789abcdef"));
    assert_eq!(record.started_at, "2026-01-01T00:00:00.000Z");
    assert_eq!(
        reg.resolve(&RunSelector::Best, Some("imported"))
            .await
            .unwrap(),
        id
    );
}
