//! Deleting and archiving runs (issue 21, item 6): the rows go with every
//! child row and then the folder; a run in progress is refused, also when
//! it started after it was listed; an aliased run only when forced; an
//! archived run leaves listings, `best` and `latest` but keeps its id.

use super::{loss_curve, metric, new_run, open_temp};
use crate::{
    ArchivedRuns, ArtifactKind, Completion, EndStatus, Overfitting, Registry, RegistryError,
    RunFilter, RunId, RunSelector, RunStatus, UnownedReason,
};

/// A completed run of `exp` with epochs, final metrics, a weights file,
/// a tag and `selection_value`.
async fn completed(reg: &Registry, selection_value: f64) -> RunId {
    let mut new = new_run("exp", false);
    new.tags = vec!["sweep".to_owned()];
    let id = reg.create_run(&new).await.unwrap();
    reg.record_epochs(&id, &loss_curve(3, |e| 1.0 / f64::from(e)))
        .await
        .unwrap();
    let weights = reg
        .write_artifact(&id, ArtifactKind::Weights, "model.safetensors", b"weights")
        .await
        .unwrap();
    reg.complete_run(
        &id,
        &Completion {
            best_epoch: 3,
            epochs_run: 3,
            selection_value,
            final_metrics: vec![metric("test", "loss", selection_value)],
            artifacts: vec![weights],
            overfitting: Overfitting::default(),
            weights_digest: None,
        },
    )
    .await
    .unwrap();
    id
}

/// How many rows of `table` belong to run `id`.
async fn rows_of(reg: &Registry, table: &str, id: &RunId) -> i64 {
    let column = if table == "runs" { "id" } else { "run_id" };
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE {column} = $1");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id.as_str())
        .fetch_one(&reg.pool)
        .await
        .unwrap()
}

const TABLES: [&str; 6] = [
    "runs",
    "epoch_metrics",
    "final_metrics",
    "artifacts",
    "run_tags",
    "aliases",
];

#[tokio::test(flavor = "current_thread")]
async fn removing_a_run_deletes_every_row_then_its_folder() {
    let (_dir, reg) = open_temp().await;
    let gone = completed(&reg, 0.5).await;
    let kept = completed(&reg, 0.7).await;
    // Alias history of the deleted run: set once, then moved away.
    reg.set_alias("candidate", &gone).await.unwrap();
    reg.set_alias("candidate", &kept).await.unwrap();
    for table in TABLES {
        assert!(rows_of(&reg, table, &gone).await > 0, "{table}");
    }
    let folder = reg.root().join("artifacts").join(gone.as_str());
    assert!(folder.join("model.safetensors").is_file());

    let listed = reg
        .runs_to_remove(std::slice::from_ref(&gone))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, RunStatus::Completed);
    assert_eq!(listed[0].bytes, b"weights".len() as u64);
    assert!(listed[0].aliases.is_empty());
    assert!(listed[0].refusal(false).is_none());

    let removal = reg
        .remove_runs(std::slice::from_ref(&gone), false)
        .await
        .unwrap();
    assert_eq!(removal.removed, vec![gone.clone()]);
    assert!(removal.left_behind.is_empty());
    for table in TABLES {
        assert_eq!(rows_of(&reg, table, &gone).await, 0, "{table}");
        assert!(rows_of(&reg, table, &kept).await > 0, "{table}");
    }
    assert!(!folder.exists());
    assert!(matches!(
        reg.resolve(&RunSelector::Id(gone.to_string()), None).await,
        Err(RegistryError::UnknownRun { .. })
    ));
    reg.read_verified(&reg.run(&kept).await.unwrap().artifacts[0])
        .await
        .unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn a_folder_left_by_a_crash_after_the_rows_is_gcs_to_remove() {
    let (_dir, reg) = open_temp().await;
    let id = completed(&reg, 0.5).await;
    // The rows went, then the process died before the folder did.
    sqlx::query("DELETE FROM runs WHERE id = $1")
        .bind(id.as_str())
        .execute(&reg.pool)
        .await
        .unwrap();
    let unowned = reg.unowned_artifacts().await.unwrap();
    assert_eq!(unowned.len(), 1);
    assert_eq!(unowned[0].path, format!("artifacts/{id}"));
    assert_eq!(unowned[0].reason, UnownedReason::UnknownRun);
    reg.remove_unowned(&unowned).await.unwrap();
    assert!(!reg.root().join("artifacts").join(id.as_str()).exists());
}

#[tokio::test(flavor = "current_thread")]
async fn a_run_in_progress_is_refused_and_nothing_is_deleted() {
    let (_dir, reg) = open_temp().await;
    let ended = completed(&reg, 0.5).await;
    let running = reg.create_run(&new_run("exp", false)).await.unwrap();
    let queued = reg.queue_run(&new_run("exp", false)).await.unwrap();
    let listed = reg
        .runs_to_remove(&[running.clone(), queued.clone()])
        .await
        .unwrap();
    for run in &listed {
        assert!(matches!(
            run.refusal(true),
            Some(RegistryError::RunInProgress { .. })
        ));
    }
    // One refusal rolls back the deletions before it in the same call.
    let error = reg
        .remove_runs(&[ended.clone(), running.clone()], true)
        .await
        .unwrap_err();
    match &error {
        RegistryError::RunInProgress { run, status, .. } => {
            assert_eq!(run, running.as_str());
            assert_eq!(*status, RunStatus::Running);
        }
        other => panic!("expected RunInProgress, got {other:?}"),
    }
    assert!(error.is_user_error());
    assert!(error.to_string().contains(running.as_str()), "{error}");
    assert_eq!(rows_of(&reg, "runs", &ended).await, 1);
    assert_eq!(rows_of(&reg, "epoch_metrics", &ended).await, 6);
    assert!(reg.root().join("artifacts").join(ended.as_str()).is_dir());
    assert!(
        reg.remove_runs(std::slice::from_ref(&queued), true)
            .await
            .is_err()
    );
    assert_eq!(rows_of(&reg, "runs", &queued).await, 1);
}

#[tokio::test(flavor = "current_thread")]
async fn the_delete_checks_the_status_again() {
    let (_dir, reg) = open_temp().await;
    let id = reg.create_run(&new_run("exp", false)).await.unwrap();
    reg.record_epochs(&id, &loss_curve(2, |_| 1.0))
        .await
        .unwrap();
    reg.end_run(&id, EndStatus::Killed, Some("Ctrl-C"))
        .await
        .unwrap();
    // Listed while killed: nothing against deleting it.
    let listed = reg.runs_to_remove(std::slice::from_ref(&id)).await.unwrap();
    assert!(listed[0].refusal(false).is_none());
    // Resumed before the user confirmed.
    reg.resume_run(&id, 2).await.unwrap();
    assert!(matches!(
        reg.remove_runs(std::slice::from_ref(&id), true).await,
        Err(RegistryError::RunInProgress {
            status: RunStatus::Running,
            ..
        })
    ));
    assert_eq!(rows_of(&reg, "runs", &id).await, 1);
    assert_eq!(rows_of(&reg, "epoch_metrics", &id).await, 4);
}

#[tokio::test(flavor = "current_thread")]
async fn an_aliased_run_is_deleted_only_when_forced() {
    let (_dir, reg) = open_temp().await;
    let id = completed(&reg, 0.5).await;
    reg.set_alias("production", &id).await.unwrap();
    let listed = reg.runs_to_remove(std::slice::from_ref(&id)).await.unwrap();
    assert_eq!(listed[0].aliases, vec!["production".to_owned()]);
    assert!(matches!(
        listed[0].refusal(false),
        Some(RegistryError::AliasedRun { .. })
    ));
    assert!(listed[0].refusal(true).is_none());
    let error = reg
        .remove_runs(std::slice::from_ref(&id), false)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, RegistryError::AliasedRun { aliases, .. } if aliases == &["production"]),
        "{error:?}"
    );
    assert!(error.to_string().contains("production"), "{error}");
    assert_eq!(rows_of(&reg, "runs", &id).await, 1);

    reg.remove_runs(std::slice::from_ref(&id), true)
        .await
        .unwrap();
    assert_eq!(rows_of(&reg, "runs", &id).await, 0);
    assert!(reg.aliases().await.unwrap().is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn an_unknown_run_is_refused() {
    let (_dir, reg) = open_temp().await;
    let id = completed(&reg, 0.5).await;
    reg.remove_runs(std::slice::from_ref(&id), false)
        .await
        .unwrap();
    assert!(matches!(
        reg.runs_to_remove(std::slice::from_ref(&id)).await,
        Err(RegistryError::UnknownRun { .. })
    ));
    assert!(matches!(
        reg.remove_runs(std::slice::from_ref(&id), false).await,
        Err(RegistryError::UnknownRun { .. })
    ));
    assert!(matches!(
        reg.set_archived(&[id], true).await,
        Err(RegistryError::UnknownRun { .. })
    ));
}

#[tokio::test(flavor = "current_thread")]
async fn an_archived_run_leaves_listings_best_and_latest_but_keeps_its_id() {
    let (_dir, reg) = open_temp().await;
    let best = completed(&reg, 0.1).await;
    let other = completed(&reg, 0.9).await;
    let newest = completed(&reg, 0.5).await;
    let selector = |s: &str| s.parse::<RunSelector>().unwrap();
    let test_loss = RunSelector::BestBy {
        split: "test".to_owned(),
        metric: "loss".to_owned(),
        higher_is_better: false,
    };
    assert_eq!(reg.resolve(&selector("best"), None).await.unwrap(), best);
    assert_eq!(reg.resolve(&test_loss, None).await.unwrap(), best);
    assert_eq!(
        reg.resolve(&selector("latest"), None).await.unwrap(),
        newest
    );

    let changed = reg
        .set_archived(&[best.clone(), newest.clone(), best.clone()], true)
        .await
        .unwrap();
    assert_eq!(changed, vec![best.clone(), newest.clone()]);
    // Archiving again changes nothing.
    assert!(
        reg.set_archived(std::slice::from_ref(&best), true)
            .await
            .unwrap()
            .is_empty()
    );

    let listed = |archived| listed(&reg, archived);
    assert_eq!(listed(ArchivedRuns::Hidden).await, vec![other.clone()]);
    assert_eq!(
        listed(ArchivedRuns::Only).await,
        vec![newest.clone(), best.clone()]
    );
    assert_eq!(listed(ArchivedRuns::Included).await.len(), 3);
    assert_eq!(reg.resolve(&selector("best"), None).await.unwrap(), other);
    assert_eq!(reg.resolve(&test_loss, None).await.unwrap(), other);
    assert_eq!(reg.resolve(&selector("latest"), None).await.unwrap(), other);
    assert_eq!(reg.ranked_runs("exp").await.unwrap(), vec![other.clone()]);
    // Named by id, a prefix or an alias, it is still there.
    assert_eq!(
        reg.resolve(&RunSelector::Id(best.to_string()), None)
            .await
            .unwrap(),
        best
    );
    reg.set_alias("old", &best).await.unwrap();
    assert_eq!(reg.resolve(&selector("old"), None).await.unwrap(), best);
    let record = reg.run(&best).await.unwrap();
    assert!(record.archived_at.is_some());

    let back = reg
        .set_archived(std::slice::from_ref(&best), false)
        .await
        .unwrap();
    assert_eq!(back, vec![best.clone()]);
    assert!(reg.run(&best).await.unwrap().archived_at.is_none());
    assert_eq!(reg.resolve(&selector("best"), None).await.unwrap(), best);
    assert!(
        reg.set_archived(std::slice::from_ref(&other), false)
            .await
            .unwrap()
            .is_empty()
    );
}

/// The ids `list_runs` gives with `archived`.
async fn listed(reg: &Registry, archived: ArchivedRuns) -> Vec<RunId> {
    reg.list_runs(&RunFilter {
        archived,
        ..RunFilter::default()
    })
    .await
    .unwrap()
    .into_iter()
    .map(|r| r.id)
    .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn a_run_in_progress_is_not_archived() {
    let (_dir, reg) = open_temp().await;
    let running = reg.create_run(&new_run("exp", false)).await.unwrap();
    assert!(matches!(
        reg.set_archived(std::slice::from_ref(&running), true).await,
        Err(RegistryError::RunInProgress { .. })
    ));
    assert!(reg.run(&running).await.unwrap().archived_at.is_none());
}
