//! The winner's curse: the best of many trials on one validation split is
//! optimistic. `sweep confirm` trains the top K completed trials again with
//! k-fold cross-validation (each fold a run, as `run --folds` makes them)
//! and records each one's mean and standard deviation, so that `sweep show`
//! can rank them by the mean and say when the validation winner is not the
//! cross-validated winner.

use std::sync::atomic::{AtomicBool, Ordering};

use pipeline_registry::{NewConfirmation, RunId, SweepId, TrialState};
use pipeline_run::{Labels, Watcher, cross_validate, new_group, plan_folds};
use serde::Serialize;

use crate::driver::{stored_spec, sweep_tag};
use crate::error::SweepError;
use crate::space::SearchSpace;

/// One trial confirmed by cross-validation.
#[derive(Debug, Clone, Serialize)]
pub struct Confirmed {
    pub number: u32,
    pub run: Option<RunId>,
    /// Its value on the single validation split.
    pub validation: Option<f64>,
    /// Mean and population standard deviation across the folds (`None`
    /// when a fold did not complete).
    pub mean: Option<f64>,
    pub std: Option<f64>,
    /// Its run's value of the same metric on the test split.
    pub test: Option<f64>,
    /// Every validation metric's mean across the folds (`val_r2`, …).
    pub validation_means: Option<pipeline_train::Metrics>,
    /// The tag of its folds, `cv:GROUP`.
    pub group: String,
}

/// Cross-validates the `top` best completed trials of sweep `id` with
/// `folds` folds, one after the other, and records each result.
pub fn confirm(
    store: pipeline_run::Store<'_>,
    id: &SweepId,
    top: u32,
    folds: u32,
    interrupt: &AtomicBool,
    watcher: &mut dyn Watcher,
) -> Result<Vec<Confirmed>, SweepError> {
    let record = store.block_on(store.registry.sweep(id))?;
    let loaded = stored_spec(&record)?;
    let Some(sweep) = loaded.spec.sweep.as_ref() else {
        return Err(SweepError::user(
            format!("sweep {id}: its stored spec has no [sweep] table"),
            None,
        ));
    };
    let space = SearchSpace::new(sweep);
    let base = loaded.trial(&[])?;
    let selection = base.spec.selection.metric;
    // Best first, in the metric's direction (`SweepRecord::ranked`).
    let completed: Vec<_> = record
        .ranked()
        .into_iter()
        .filter(|t| t.state == TrialState::Completed)
        .filter_map(|t| Some((t, t.value.filter(|v| v.is_finite())?)))
        .collect();
    if completed.is_empty() {
        return Err(SweepError::user(
            format!("sweep {id} has no completed trial to confirm"),
            Some("run or resume the sweep first: pipeline sweep resume ID"),
        ));
    }
    let mut confirmed = Vec::new();
    for (trial, value) in completed.into_iter().take(top as usize) {
        if interrupt.load(Ordering::Relaxed) {
            break;
        }
        let Some(assignments) = space.stored_assignments(&trial.params) else {
            continue;
        };
        let trial_spec = loaded.trial(&assignments)?;
        let plans = plan_folds(&trial_spec, folds)?;
        let group = new_group();
        let labels = Labels {
            tags: vec![sweep_tag(id), format!("trial:{}", trial.number)],
            ..Labels::default()
        };
        let validated = cross_validate(store, plans, &group, &labels, interrupt, watcher)?;
        let report = &validated.report;
        let mean = report
            .mean
            .as_ref()
            .and_then(|m| m.validation.get(selection.metric));
        let std = report
            .std
            .as_ref()
            .and_then(|m| m.validation.get(selection.metric));
        let test = match &trial.run_id {
            Some(run) => store
                .block_on(store.registry.run(run))?
                .final_metrics
                .iter()
                .find(|m| m.split == "test" && m.metric == selection.metric.to_string())
                .map(|m| m.value),
            None => None,
        };
        if report.complete {
            let confirmation = NewConfirmation {
                number: trial.number,
                folds,
                metric: selection.to_string(),
                mean,
                std,
                group_id: group.clone(),
                test_value: test,
            };
            store.block_on(store.registry.record_confirmation(id, &confirmation))?;
        }
        confirmed.push(Confirmed {
            number: trial.number,
            run: trial.run_id.clone(),
            validation: Some(value),
            mean,
            std,
            test,
            validation_means: report.mean.as_ref().map(|m| m.validation.clone()),
            group,
        });
    }
    Ok(confirmed)
}
