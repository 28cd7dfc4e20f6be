//! Issue 22: sweeps, their trials (state derived from each trial's run),
//! pruned runs, listing, resolving and `best` within a sweep.

use serde_json::json;

use super::{metric, new_run, open_temp};
use crate::{
    Completion, EndStatus, NewConfirmation, NewRun, NewSweep, PrunedRun, Registry, RegistryError,
    RunFilter, RunId, RunSelector, RunStatus, SweepFilter, SweepId, SweepState, TrialLink,
    TrialState,
};

fn new_sweep(budget: u32) -> NewSweep {
    NewSweep {
        experiment: "exp".to_owned(),
        name: None,
        spec_path: "specs/sweep.toml".to_owned(),
        source_spec: "[sweep]\nmethod = \"random\"\n".to_owned(),
        spec_toml: "[sweep]\nmethod = \"random\"\n".to_owned(),
        method: "random".to_owned(),
        metric: "val_loss".to_owned(),
        higher_is_better: false,
        budget,
        jobs: 2,
        seed: 7,
        parameters: json!([{"key": "optimizer.learning_rate", "log_uniform": [1e-4, 1e-1]}]),
        pruner: Some(json!({"type": "asha", "min_epochs": 2, "reduction": 3})),
        tags: Vec::new(),
    }
}

fn trial_run(sweep: &SweepId, number: u32) -> NewRun {
    NewRun {
        trial: Some(TrialLink {
            sweep: sweep.clone(),
            number,
        }),
        ..new_run("exp", false)
    }
}

/// Claims trial `number` and creates its run, with validation losses
/// `losses` recorded for epochs 1, 2, …
async fn started_trial(reg: &Registry, sweep: &SweepId, number: u32, losses: &[f64]) -> RunId {
    let lr = 0.001 * f64::from(number + 1);
    assert!(
        reg.claim_trial(sweep, number, &json!({"optimizer.learning_rate": lr}))
            .await
            .unwrap()
    );
    let run = reg.create_run(&trial_run(sweep, number)).await.unwrap();
    for (epoch, loss) in (1..).zip(losses) {
        reg.record_epoch(
            &run,
            epoch,
            &[
                metric("train", "loss", *loss),
                metric("validation", "loss", *loss),
            ],
        )
        .await
        .unwrap();
    }
    run
}

async fn complete(reg: &Registry, run: &RunId, value: f64) {
    reg.complete_run(
        run,
        &Completion {
            best_epoch: 1,
            epochs_run: 1,
            selection_value: value,
            final_metrics: vec![metric("test", "loss", value * 2.0)],
            artifacts: vec![],
            overfitting: Default::default(),
            weights_digest: None,
        },
    )
    .await
    .unwrap();
}

fn pruned(epoch: u32, value: f64) -> PrunedRun {
    PrunedRun {
        epoch,
        reason: format!("val_loss {value} at epoch {epoch} is not in the best 1/3"),
        best_epoch: Some(epoch),
        value: Some(value),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_trial_number_is_claimed_once() {
    let (_dir, reg) = open_temp().await;
    let sweep = reg.create_sweep(&new_sweep(4)).await.unwrap();
    let params = json!({"optimizer.learning_rate": 0.01});
    assert!(reg.claim_trial(&sweep, 0, &params).await.unwrap());
    assert!(!reg.claim_trial(&sweep, 0, &params).await.unwrap());
    assert!(reg.claim_trial(&sweep, 1, &params).await.unwrap());
    let unknown = SweepId::from_db("0190aaaa-0000-7000-8000-000000000001".to_owned());
    let err = reg.claim_trial(&unknown, 0, &params).await.unwrap_err();
    assert!(matches!(err, RegistryError::UnknownSweep { .. }), "{err}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_run_of_an_unclaimed_trial_is_refused_and_not_created() {
    let (_dir, reg) = open_temp().await;
    let sweep = reg.create_sweep(&new_sweep(4)).await.unwrap();
    let err = reg.create_run(&trial_run(&sweep, 3)).await.unwrap_err();
    assert!(matches!(err, RegistryError::InvalidInput { .. }), "{err}");
    assert!(
        reg.list_runs(&RunFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "current_thread")]
async fn trial_states_follow_their_runs() {
    let (_dir, reg) = open_temp().await;
    let sweep = reg.create_sweep(&new_sweep(7)).await.unwrap();
    let done = started_trial(&reg, &sweep, 0, &[0.5, 0.4]).await;
    complete(&reg, &done, 0.4).await;
    let cut = started_trial(&reg, &sweep, 1, &[0.9, 0.8]).await;
    reg.prune_run(&cut, &pruned(2, 0.8)).await.unwrap();
    let failed = started_trial(&reg, &sweep, 2, &[0.7]).await;
    reg.end_run(&failed, EndStatus::Failed, Some("NaN loss"))
        .await
        .unwrap();
    let killed = started_trial(&reg, &sweep, 3, &[0.6]).await;
    reg.end_run(&killed, EndStatus::Killed, None).await.unwrap();
    let _running = started_trial(&reg, &sweep, 4, &[0.3]).await;
    assert!(reg.claim_trial(&sweep, 5, &json!({})).await.unwrap());
    let better = started_trial(&reg, &sweep, 6, &[0.2]).await;
    complete(&reg, &better, 0.2).await;

    let record = reg.sweep(&sweep).await.unwrap();
    let states: Vec<TrialState> = record.trials.iter().map(|t| t.state).collect();
    assert_eq!(
        states,
        [
            TrialState::Completed,
            TrialState::Pruned,
            TrialState::Failed,
            TrialState::Interrupted,
            TrialState::Running,
            TrialState::Pending,
            TrialState::Completed,
        ]
    );
    let cut_trial = &record.trials[1];
    assert_eq!(cut_trial.pruned_epoch, Some(2));
    assert_eq!(cut_trial.value, Some(0.8));
    assert_eq!(cut_trial.epochs, 2);
    assert!(cut_trial.error.as_deref().unwrap().contains("best 1/3"));
    assert_eq!(record.trials[0].attempts, 1);
    assert_eq!(record.trials[5].attempts, 0);
    assert_eq!(record.trials[0].params["optimizer.learning_rate"], 0.001);
    assert_eq!(record.state(), SweepState::Running);
    let counts = record.counts();
    assert_eq!((counts.completed, counts.pruned, counts.pending), (2, 1, 1));
    let ranked: Vec<u32> = record.ranked().iter().map(|t| t.number).collect();
    assert_eq!(ranked, [6, 0, 1, 4, 2, 3, 5]);
    assert_eq!(record.best().map(|t| t.number), Some(6));
    assert_eq!(record.pruner.as_ref().unwrap()["type"], "asha");
    // Completion order 0 (0.4), then 1 pruned, 2 failed, 6 (0.2).
    let so_far = record.best_so_far();
    assert_eq!(so_far.get(&0), Some(&0.4));
    assert_eq!(so_far.get(&1), Some(&0.4));
    assert_eq!(so_far.get(&6), Some(&0.2));
    assert_eq!(so_far.get(&4), None);
}

#[tokio::test(flavor = "current_thread")]
async fn a_pruned_run_reads_pruned_everywhere_and_is_never_resumed() {
    let (_dir, reg) = open_temp().await;
    let sweep = reg.create_sweep(&new_sweep(2)).await.unwrap();
    let cut = started_trial(&reg, &sweep, 0, &[0.9, 0.8]).await;
    reg.prune_run(&cut, &pruned(2, 0.8)).await.unwrap();
    let killed = reg.create_run(&new_run("exp", false)).await.unwrap();
    reg.end_run(&killed, EndStatus::Killed, None).await.unwrap();

    let record = reg.run(&cut).await.unwrap();
    assert_eq!(record.status, RunStatus::Pruned);
    assert_eq!(record.best_epoch, Some(2));
    assert!(record.ended_at.is_some());
    let with = |status| RunFilter {
        status: Some(status),
        ..RunFilter::default()
    };
    let ids = |runs: Vec<crate::RunSummary>| runs.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(reg.list_runs(&with(RunStatus::Pruned)).await.unwrap()),
        vec![cut.clone()]
    );
    assert_eq!(
        ids(reg.list_runs(&with(RunStatus::Killed)).await.unwrap()),
        vec![killed.clone()]
    );
    let condition = RunFilter {
        condition: Some("status = pruned".parse().unwrap()),
        ..RunFilter::default()
    };
    assert_eq!(
        ids(reg.list_runs(&condition).await.unwrap()),
        vec![cut.clone()]
    );
    let err = reg.resume_run(&cut, 1).await.unwrap_err();
    assert!(
        matches!(
            err,
            RegistryError::NotResumable {
                from: RunStatus::Pruned,
                ..
            }
        ),
        "{err}"
    );
    // Only a running run is pruned.
    let err = reg.prune_run(&killed, &pruned(1, 1.0)).await.unwrap_err();
    assert!(
        matches!(err, RegistryError::InvalidTransition { .. }),
        "{err}"
    );
    // `best` never picks a pruned run.
    let err = reg.resolve(&RunSelector::Best, None).await.unwrap_err();
    assert!(matches!(err, RegistryError::UnknownRun { .. }), "{err}");
}

#[tokio::test(flavor = "current_thread")]
async fn best_in_a_sweep_prefers_completed_trials_then_pruned_ones() {
    let (_dir, reg) = open_temp().await;
    let sweep = reg.create_sweep(&new_sweep(3)).await.unwrap();
    // A better run of the same experiment outside the sweep is not picked.
    let outside = reg.create_run(&new_run("exp", false)).await.unwrap();
    complete(&reg, &outside, 0.01).await;
    let cut = started_trial(&reg, &sweep, 0, &[0.1]).await;
    reg.prune_run(&cut, &pruned(1, 0.1)).await.unwrap();
    assert_eq!(
        reg.resolve_in_sweep(&RunSelector::Best, &sweep)
            .await
            .unwrap(),
        cut
    );
    let good = started_trial(&reg, &sweep, 1, &[0.5]).await;
    complete(&reg, &good, 0.5).await;
    let best = started_trial(&reg, &sweep, 2, &[0.3]).await;
    complete(&reg, &best, 0.3).await;
    assert_eq!(
        reg.resolve_in_sweep(&RunSelector::Best, &sweep)
            .await
            .unwrap(),
        best
    );
    let by_test = RunSelector::BestBy {
        split: "test".to_owned(),
        metric: "loss".to_owned(),
        higher_is_better: true,
    };
    assert_eq!(reg.resolve_in_sweep(&by_test, &sweep).await.unwrap(), good);
    let err = reg
        .resolve_in_sweep(&RunSelector::Id(outside.to_string()), &sweep)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a trial"), "{err}");
    assert_eq!(
        reg.resolve_in_sweep(&RunSelector::Latest, &sweep)
            .await
            .unwrap(),
        best
    );
}

#[tokio::test(flavor = "current_thread")]
async fn sweeps_are_listed_with_counts_and_resolved_by_prefix() {
    let (_dir, reg) = open_temp().await;
    let first = reg.create_sweep(&new_sweep(2)).await.unwrap();
    let run = started_trial(&reg, &first, 0, &[0.5]).await;
    complete(&reg, &run, 0.5).await;
    let run = started_trial(&reg, &first, 1, &[0.9]).await;
    reg.prune_run(&run, &pruned(1, 0.9)).await.unwrap();
    let second = reg
        .create_sweep(&NewSweep {
            name: Some("wide-lr".to_owned()),
            ..new_sweep(5)
        })
        .await
        .unwrap();

    let all = reg.sweeps(&SweepFilter::default()).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].id, second);
    assert_eq!(all[0].state, SweepState::Stopped);
    assert_eq!(all[0].counts.ended(), 0);
    assert_eq!(all[1].state, SweepState::Finished);
    assert_eq!((all[1].counts.completed, all[1].counts.pruned), (1, 1));
    assert_eq!(all[1].best_value, Some(0.5));
    assert_eq!(all[1].best_trial, Some(0));
    let other = SweepFilter {
        experiment: Some("other".to_owned()),
    };
    assert!(reg.sweeps(&other).await.unwrap().is_empty());

    assert_eq!(reg.resolve_sweep("latest").await.unwrap(), second);
    assert_eq!(reg.resolve_sweep("wide-lr").await.unwrap(), second);
    assert_eq!(reg.resolve_sweep(first.as_str()).await.unwrap(), first);
    let short = &all[1].short_id;
    assert_eq!(reg.resolve_sweep(short).await.unwrap(), first);
    assert_eq!(
        reg.resolve_sweep(&short.to_uppercase()).await.unwrap(),
        first
    );
    let err = reg.resolve_sweep("zzzz").await.unwrap_err();
    assert!(matches!(err, RegistryError::UnknownSweep { .. }), "{err}");
    // Both ids start with their creation time.
    let err = reg.resolve_sweep(&first.as_str()[..4]).await.unwrap_err();
    assert!(matches!(err, RegistryError::AmbiguousSweep { .. }), "{err}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_deleted_trial_run_leaves_its_trial_deleted() {
    let (_dir, reg) = open_temp().await;
    let sweep = reg.create_sweep(&new_sweep(1)).await.unwrap();
    let run = started_trial(&reg, &sweep, 0, &[0.5]).await;
    complete(&reg, &run, 0.5).await;
    reg.remove_runs(std::slice::from_ref(&run), false)
        .await
        .unwrap();
    let record = reg.sweep(&sweep).await.unwrap();
    assert_eq!(record.trials[0].state, TrialState::Deleted);
    assert_eq!(record.trials[0].run_id, None);
    assert_eq!(record.state(), SweepState::Finished);
}

#[tokio::test(flavor = "current_thread")]
async fn a_retried_trial_points_at_its_latest_run() {
    let (_dir, reg) = open_temp().await;
    let sweep = reg.create_sweep(&new_sweep(1)).await.unwrap();
    let first = started_trial(&reg, &sweep, 0, &[0.5]).await;
    reg.end_run(&first, EndStatus::Failed, Some("boom"))
        .await
        .unwrap();
    let second = reg.create_run(&trial_run(&sweep, 0)).await.unwrap();
    let record = reg.sweep(&sweep).await.unwrap();
    assert_eq!(record.trials[0].run_id.as_ref(), Some(&second));
    assert_eq!(record.trials[0].attempts, 2);
    assert_eq!(record.trials[0].state, TrialState::Running);
}

#[tokio::test(flavor = "current_thread")]
async fn trial_curves_hold_the_metric_per_epoch() {
    let (_dir, reg) = open_temp().await;
    let sweep = reg.create_sweep(&new_sweep(3)).await.unwrap();
    started_trial(&reg, &sweep, 0, &[0.9, 0.7, 0.6]).await;
    started_trial(&reg, &sweep, 2, &[0.8]).await;
    assert!(reg.claim_trial(&sweep, 1, &json!({})).await.unwrap());
    let curves = reg.trial_curves(&sweep).await.unwrap();
    assert_eq!(
        curves,
        [(0, vec![(1, 0.9), (2, 0.7), (3, 0.6)]), (2, vec![(1, 0.8)])]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn confirmations_are_recorded_and_replaced() {
    let (_dir, reg) = open_temp().await;
    let sweep = reg.create_sweep(&new_sweep(1)).await.unwrap();
    let mut confirmation = NewConfirmation {
        number: 0,
        folds: 5,
        metric: "val_loss".to_owned(),
        mean: Some(0.5),
        std: Some(0.1),
        group_id: "cv-abc".to_owned(),
        test_value: None,
    };
    reg.record_confirmation(&sweep, &confirmation)
        .await
        .unwrap();
    confirmation.test_value = Some(0.45);
    reg.record_confirmation(&sweep, &confirmation)
        .await
        .unwrap();
    let record = reg.sweep(&sweep).await.unwrap();
    assert_eq!(record.confirmations.len(), 1);
    assert_eq!(record.confirmations[0].confirmation, confirmation);
}
