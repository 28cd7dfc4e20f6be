//! Selectors and listing: latest, best in both directions, id prefixes,
//! ambiguity and unknown runs.

use super::{metric, new_run, open_temp};
use crate::{Completion, Registry, RegistryError, RunFilter, RunId, RunSelector, RunStatus};

async fn finished(reg: &Registry, experiment: &str, higher: bool, value: f64) -> RunId {
    let id = reg.create_run(&new_run(experiment, higher)).await.unwrap();
    reg.record_epoch(&id, 1, &[metric("validation", "loss", value)])
        .await
        .unwrap();
    reg.complete_run(
        &id,
        &Completion {
            best_epoch: 1,
            epochs_run: 1,
            selection_value: value,
            final_metrics: vec![],
            artifacts: vec![],
            overfitting: Default::default(),
            weights_digest: None,
        },
    )
    .await
    .unwrap();
    id
}

#[test]
fn selector_parses() {
    assert_eq!(
        "latest".parse::<RunSelector>().unwrap(),
        RunSelector::Latest
    );
    assert_eq!("best".parse::<RunSelector>().unwrap(), RunSelector::Best);
    assert_eq!(
        "0190ab".parse::<RunSelector>().unwrap(),
        RunSelector::Id("0190ab".to_owned())
    );
    assert!("".parse::<RunSelector>().is_err());
}

#[tokio::test(flavor = "current_thread")]
async fn latest_and_best_lower_is_better() {
    let (_dir, reg) = open_temp().await;
    let err = reg.resolve(&RunSelector::Latest, None).await.unwrap_err();
    assert!(matches!(err, RegistryError::UnknownRun { .. }), "{err:?}");
    let err = reg.resolve(&RunSelector::Best, None).await.unwrap_err();
    assert!(err.to_string().contains("no completed run"), "{err}");

    let good = finished(&reg, "loss", false, 0.1).await;
    let worse = finished(&reg, "loss", false, 0.9).await;
    let running = reg.create_run(&new_run("loss", false)).await.unwrap();

    assert_eq!(
        reg.resolve(&RunSelector::Latest, None).await.unwrap(),
        running
    );
    assert_eq!(reg.resolve(&RunSelector::Best, None).await.unwrap(), good);
    assert_eq!(
        reg.resolve(&RunSelector::Best, Some("loss")).await.unwrap(),
        good
    );
    assert_ne!(good, worse);

    let listed = reg.list_runs(&RunFilter::default()).await.unwrap();
    let order: Vec<_> = listed.iter().map(|s| s.id.clone()).collect();
    assert_eq!(order, vec![running.clone(), worse.clone(), good.clone()]);
    let completed = reg
        .list_runs(&RunFilter {
            experiment: Some("loss".to_owned()),
            status: Some(RunStatus::Completed),
            limit: Some(1),
            ..RunFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(completed.len(), 1);
    assert_eq!(completed[0].id, worse);
}

#[tokio::test(flavor = "current_thread")]
async fn best_higher_is_better_and_ambiguous_experiment() {
    let (_dir, reg) = open_temp().await;
    let low = finished(&reg, "r2", true, 0.2).await;
    let high = finished(&reg, "r2", true, 0.8).await;
    assert_ne!(low, high);
    assert_eq!(reg.resolve(&RunSelector::Best, None).await.unwrap(), high);

    let other = finished(&reg, "loss", false, 0.5).await;
    let err = reg.resolve(&RunSelector::Best, None).await.unwrap_err();
    match &err {
        RegistryError::AmbiguousExperiment {
            selector,
            experiments,
        } => {
            assert_eq!(selector, "best");
            assert_eq!(experiments, &vec!["loss".to_owned(), "r2".to_owned()]);
        }
        other => panic!("expected AmbiguousExperiment, got {other:?}"),
    }
    assert!(err.is_user_error());
    // Issue 21: without an experiment, `best` is the current one's (the
    // latest run's), and says so.
    let current = reg.resolve_current(&RunSelector::Best, None).await.unwrap();
    assert_eq!(current.id, other);
    assert_eq!(current.current_experiment.as_deref(), Some("loss"));
    let named = reg
        .resolve_current(&RunSelector::Best, Some("r2"))
        .await
        .unwrap();
    assert_eq!((named.id, named.current_experiment), (high.clone(), None));
    assert_eq!(
        reg.resolve(&RunSelector::Best, Some("r2")).await.unwrap(),
        high
    );
    assert_eq!(
        reg.resolve(&RunSelector::Best, Some("loss")).await.unwrap(),
        other
    );
    assert_eq!(
        reg.resolve(&RunSelector::Latest, Some("r2")).await.unwrap(),
        high
    );
    let err = reg
        .resolve(&RunSelector::Best, Some("nope"))
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::UnknownRun { .. }), "{err:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn ids_and_prefixes() {
    let (_dir, reg) = open_temp().await;
    let a = reg.create_run(&new_run("exp", false)).await.unwrap();
    let b = reg.create_run(&new_run("exp", false)).await.unwrap();

    let exact = RunSelector::Id(a.to_string());
    assert_eq!(reg.resolve(&exact, None).await.unwrap(), a);
    assert_eq!(reg.resolve(&exact, Some("other")).await.unwrap(), a);

    // UUID v7 ids made back to back share their leading timestamp digits.
    let shared: String = a
        .as_str()
        .chars()
        .zip(b.as_str().chars())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x)
        .collect();
    assert!(!shared.is_empty());
    let err = reg
        .resolve(&RunSelector::Id(shared.clone()), None)
        .await
        .unwrap_err();
    match &err {
        RegistryError::AmbiguousRun { prefix, matches } => {
            assert_eq!(prefix, &shared);
            assert_eq!(matches.len(), 2);
        }
        other => panic!("expected AmbiguousRun, got {other:?}"),
    }
    assert!(err.is_user_error());

    let unique_b: String = b
        .as_str()
        .chars()
        .take(shared.chars().count() + 1)
        .collect();
    assert_eq!(
        reg.resolve(&RunSelector::Id(unique_b.to_uppercase()), None)
            .await
            .unwrap(),
        b
    );

    let err = reg
        .resolve(&RunSelector::Id("zzzz".to_owned()), None)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::UnknownRun { .. }), "{err:?}");
    assert!(err.is_user_error());
    let err = reg
        .resolve(&RunSelector::Id(shared), Some("other"))
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::UnknownRun { .. }), "{err:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn best_ranks_only_runs_selected_by_the_newest_metric() {
    let (_dir, reg) = open_temp().await;
    // An older run chosen by val_r2, then the spec switched to val_loss:
    // -0.9 (r2, negated) must not be compared with a loss of 50.
    let by_r2 = finished(&reg, "mix", true, 0.9).await;
    let by_loss = finished(&reg, "mix", false, 50.0).await;
    assert_ne!(by_r2, by_loss);
    assert_eq!(
        reg.resolve(&RunSelector::Best, Some("mix")).await.unwrap(),
        by_loss
    );
}

#[tokio::test(flavor = "current_thread")]
async fn ranked_runs_follow_best() {
    let (_dir, reg) = open_temp().await;
    let by_r2 = finished(&reg, "mix", true, 0.9).await;
    let worse = finished(&reg, "mix", false, 80.0).await;
    let better = finished(&reg, "mix", false, 50.0).await;
    let ranked = reg.ranked_runs("mix").await.unwrap();
    assert_eq!(ranked, [better.clone(), worse, by_r2]);
    assert_eq!(
        reg.resolve(&RunSelector::Best, Some("mix")).await.unwrap(),
        ranked[0]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_cross_validation_fold_is_never_best() {
    let (_dir, reg) = open_temp().await;
    let whole = finished(&reg, "cv", false, 50.0).await;
    // A fold validates on its own slice: a lower loss there is no better
    // model than a whole run's.
    let fold = finished(&reg, "cv", false, 10.0).await;
    reg.add_tags(&fold, &["fold:1/5".to_owned(), "cv:ab12".to_owned()])
        .await
        .unwrap();
    assert_eq!(
        reg.resolve(&RunSelector::Best, Some("cv")).await.unwrap(),
        whole
    );
    assert_eq!(reg.resolve(&RunSelector::Best, None).await.unwrap(), whole);
    // Not ranked at all, for `compare --experiment`.
    assert_eq!(
        reg.ranked_runs("cv").await.unwrap(),
        std::slice::from_ref(&whole)
    );
    // `fold:` is reserved for that.
    let err = reg
        .add_tags(&whole, &["fold:manual".to_owned()])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("reserved for the folds"), "{err}");
    // With only folds there is no best, and the error says why.
    let (_dir, reg) = open_temp().await;
    let fold = finished(&reg, "cv", false, 10.0).await;
    reg.add_tags(&fold, &["fold:1/5".to_owned()]).await.unwrap();
    let err = reg
        .resolve(&RunSelector::Best, Some("cv"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("never `best`"), "{err}");
}
