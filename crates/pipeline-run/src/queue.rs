//! Starting runs: several plans are queued in the registry, then trained in
//! order under one heartbeat; a failed run does not stop the ones after it,
//! the stop flag does and ends them killed. Also continuing one stopped run
//! ([`resume_one`]).

use std::sync::atomic::{AtomicBool, Ordering};

use pipeline_registry::{EndStatus, RunId};
use pipeline_train::TrainingState;

use crate::ending::Ending;
use crate::error::RunError;
use crate::heartbeat::with_heartbeat;
use crate::plan::Planned;
use crate::receipt::{Labels, new_run};
use crate::store::Store;
use crate::train::train_one;
use crate::watch::{Killed, Watcher};

/// The worst way a call's runs ended (the CLI's exit code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every run completed.
    Completed,
    /// At least one run failed; none was interrupted.
    Failed,
    /// The stop flag was set.
    Interrupted,
}

/// What [`train_all`] did: each run's ending, in order, and the worst.
#[derive(Debug)]
pub struct Trained {
    pub runs: Vec<(RunId, Ending)>,
    pub verdict: Verdict,
}

impl Trained {
    /// The runs that failed, in order.
    pub fn failed(&self) -> Vec<&RunId> {
        self.runs
            .iter()
            .filter(|(_, ending)| matches!(ending, Ending::Failed))
            .map(|(id, _)| id)
            .collect()
    }
}

/// Registers every plan (queued, when there are several), then trains them
/// in order. One plan's error is returned; with several, a failed run is
/// told to `watcher` and the next one trains. Setting `stop` ends the run
/// in training killed, and the ones after it without training them.
pub fn train_all(
    store: Store<'_>,
    plans: Vec<Planned>,
    labels: &Labels,
    stop: &AtomicBool,
    watcher: &mut dyn Watcher,
) -> Result<Trained, RunError> {
    let queue = plans.len() > 1;
    let ids = register(store, &plans, labels, queue)?;
    if queue {
        watcher.queued(&ids);
    }
    let (runs, verdict) = with_heartbeat(store, &ids, |heartbeat| {
        let mut runs = Vec::with_capacity(ids.len());
        let mut pending = plans.into_iter().zip(ids.iter());
        let mut verdict = Verdict::Completed;
        for (plan, id) in pending.by_ref() {
            if queue {
                store.block_on(store.registry.start_run(id))?;
            }
            let ending = match train_one(store, plan, id, stop, &mut *watcher, None) {
                Ok(ending) => ending,
                Err(error) if !queue => return Err(error),
                Err(error) => {
                    watcher.failed(id, &error);
                    Ending::Failed
                }
            };
            heartbeat.forget(id);
            let killed = matches!(ending, Ending::Killed { .. });
            runs.push((id.clone(), ending));
            // Interrupted after the last epoch finished: the run is complete,
            // but the caller asked to stop the queue.
            if killed || stop.load(Ordering::Relaxed) {
                verdict = Verdict::Interrupted;
                break;
            }
        }
        for (_, id) in pending {
            kill_unstarted(store, id, watcher)?;
            runs.push((id.clone(), Ending::Killed { best_epoch: None }));
        }
        Ok((runs, verdict))
    })?;
    let trained = Trained { runs, verdict };
    if verdict == Verdict::Completed && !trained.failed().is_empty() {
        return Ok(Trained {
            verdict: Verdict::Failed,
            ..trained
        });
    }
    Ok(trained)
}

/// The plans' runs: queued when `queue`, else started at once.
fn register(
    store: Store<'_>,
    plans: &[Planned],
    labels: &Labels,
    queue: bool,
) -> Result<Vec<RunId>, RunError> {
    let mut ids = Vec::with_capacity(plans.len());
    for plan in plans {
        let new = new_run(plan, labels);
        let id = if queue {
            store.block_on(store.registry.queue_run(&new))?
        } else {
            store.block_on(store.registry.create_run(&new))?
        };
        ids.push(id);
    }
    Ok(ids)
}

/// Ends a queued run that the stop flag kept from starting.
fn kill_unstarted(store: Store<'_>, id: &RunId, watcher: &mut dyn Watcher) -> Result<(), RunError> {
    let message = "interrupted before it started";
    store.block_on(store.registry.end_run(id, EndStatus::Killed, Some(message)))?;
    watcher.killed(&Killed {
        id,
        message,
        started: false,
        kept_best: None,
        resume_from: None,
    });
    Ok(())
}

/// Continues run `id`, which [`Registry::resume_run`] moved back to
/// `running`, from `state` (its last checkpoint; `None`: from its first
/// epoch), and ends it as [`train_all`] ends a run.
///
/// [`Registry::resume_run`]: pipeline_registry::Registry::resume_run
pub fn resume_one(
    store: Store<'_>,
    plan: Planned,
    id: &RunId,
    state: Option<TrainingState>,
    stop: &AtomicBool,
    watcher: &mut dyn Watcher,
) -> Result<Verdict, RunError> {
    let ended = with_heartbeat(store, std::slice::from_ref(id), |_| {
        train_one(store, plan, id, stop, watcher, state)
    });
    Ok(match ended? {
        Ending::Completed(_) if !stop.load(Ordering::Relaxed) => Verdict::Completed,
        Ending::Failed => Verdict::Failed,
        Ending::Completed(_) | Ending::Killed { .. } | Ending::Pruned { .. } => {
            Verdict::Interrupted
        }
    })
}

/// One run of a sweep (`labels.trial` links it to its trial): registered
/// and started, trained under its own heartbeat, ended as [`train_all`]
/// ends a run, or pruned when `watcher`'s pruner raised `stop`. Only a run
/// that could not be registered is an `Err`; a failed run is recorded and
/// comes back with its error.
pub fn train_trial(
    store: Store<'_>,
    plan: Planned,
    labels: &Labels,
    stop: &AtomicBool,
    watcher: &mut dyn Watcher,
) -> Result<TrialRun, RunError> {
    let new = new_run(&plan, labels);
    let id = store.block_on(store.registry.create_run(&new))?;
    Ok(continue_run(store, plan, &id, None, stop, watcher))
}

/// Continues run `id`, which [`Registry::resume_run`] moved back to
/// `running` (a worker taking over a stopped run or trial), from `state`
/// as [`resume_one`] does, and says how it ended as [`train_trial`] does.
///
/// [`Registry::resume_run`]: pipeline_registry::Registry::resume_run
pub fn continue_run(
    store: Store<'_>,
    plan: Planned,
    id: &RunId,
    state: Option<TrainingState>,
    stop: &AtomicBool,
    watcher: &mut dyn Watcher,
) -> TrialRun {
    let ended = with_heartbeat(store, std::slice::from_ref(id), |_| {
        train_one(store, plan, id, stop, watcher, state)
    });
    match ended {
        Ok(ending) => TrialRun {
            id: id.clone(),
            ending,
            error: None,
        },
        Err(error) => TrialRun {
            id: id.clone(),
            ending: Ending::Failed,
            error: Some(error),
        },
    }
}

/// How a sweep's run ended ([`train_trial`]).
#[derive(Debug)]
pub struct TrialRun {
    pub id: RunId,
    pub ending: Ending,
    /// Why it failed (already recorded with the run).
    pub error: Option<RunError>,
}
