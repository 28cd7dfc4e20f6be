//! Training one claimed item with a registry handle that writes as its
//! lease, and judging how it ended from what the registry then holds:
//! completed or pruned is done; a failure of the spec, data or training is
//! final; a failure of the environment is retried; a run stopped by the
//! worker's stop flag is given back (its checkpoint saved).

use std::sync::atomic::Ordering;

use pipeline_registry::{Claimed, RunId, RunStatus, WorkEnd, WorkKind};
use pipeline_run::{Store, Watcher, chain_text, continue_run, prepare_resume, stored_plan};
use pipeline_spec::Device;
use pipeline_sweep::{TrialOutcome, WorkedTrial, work_trial};
use pipeline_train::observer::ObserverResult;
use pipeline_train::{EpochRecord, Observer};

use crate::events::{ItemEnded, WorkerEvents};
use crate::lease::Held;

/// Trains `claimed` on `store` (whose registry writes as its lease) and
/// says how it ended.
pub fn train_item(
    store: Store<'_>,
    claimed: &Claimed,
    held: &Held,
    device: Option<Device>,
    events: &dyn WorkerEvents,
) -> ItemEnded {
    let ended = match &claimed.kind {
        WorkKind::Run(id) => train_run(store, id, held, device),
        WorkKind::Trial { sweep, number } => {
            match work_trial(
                store,
                sweep,
                *number,
                device,
                &held.stop,
                &held.drain,
                events,
            ) {
                Ok(WorkedTrial::Ended) => Ok((WorkEnd::Done, None)),
                Ok(WorkedTrial::Trained { run: None, outcome }) => Ok((
                    match outcome {
                        TrialOutcome::Failed { reason } => WorkEnd::Failed(reason),
                        TrialOutcome::Interrupted => WorkEnd::GiveBack,
                        _ => WorkEnd::Done,
                    },
                    None,
                )),
                Ok(WorkedTrial::Trained { run: Some(run), .. }) => {
                    judge(store, &run).map(|end| (end, Some(run)))
                }
                Err(error) => Err(chain_text(&error)),
            }
        }
    };
    if held.lost.load(Ordering::Relaxed) {
        return ItemEnded::LeaseLost;
    }
    match ended {
        Ok((end, run)) => ItemEnded::Ended { end, run },
        Err(error) => ItemEnded::Ended {
            end: WorkEnd::Retry(error),
            run: None,
        },
    }
}

/// Trains a submitted run: started when queued, continued from its
/// checkpoint when a worker stopped or lost it before.
fn train_run(
    store: Store<'_>,
    id: &RunId,
    held: &Held,
    device: Option<Device>,
) -> Result<(WorkEnd, Option<RunId>), String> {
    let registry = store.registry;
    let record = store
        .block_on(registry.run(id))
        .map_err(|error| error.to_string())?;
    let resumable = matches!(record.status, RunStatus::Killed | RunStatus::Crashed)
        || (record.status == RunStatus::Failed && record.failed_on_environment);
    let trained = match record.status {
        RunStatus::Queued => {
            store
                .block_on(registry.start_run(id))
                .map_err(|error| error.to_string())?;
            let planned = stored_plan(
                &record,
                "a worker reads the data at the path the submitted spec named; put the same \
                 file there on every worker's machine",
            )
            .map_err(|error| chain_text(&error))
            .and_then(|plan| match device {
                Some(device) => plan.on_device(device).map_err(|error| chain_text(&error)),
                None => Ok(plan),
            });
            let plan = match planned {
                Ok(plan) => plan,
                Err(message) => {
                    // Its data is missing or changed on this machine: another
                    // worker may have it; the attempts decide.
                    let end = pipeline_registry::EndStatus::FailedOnEnvironment;
                    if let Err(error) = store.block_on(registry.end_run(id, end, Some(&message))) {
                        tracing::warn!("cannot record run {id} as failed: {error}");
                    }
                    return Ok((WorkEnd::Retry(message), Some(id.clone())));
                }
            };
            continue_run(store, plan, id, None, &held.stop, &mut Drain(held))
        }
        _ if resumable => {
            let resumption = prepare_resume(store, &record).map_err(|error| chain_text(&error))?;
            continue_run(
                store,
                resumption.plan,
                id,
                resumption.state,
                &held.stop,
                &mut Drain(held),
            )
        }
        RunStatus::Completed | RunStatus::Pruned => return Ok((WorkEnd::Done, Some(id.clone()))),
        RunStatus::Failed => {
            return Ok((
                WorkEnd::Failed(record.error.unwrap_or_else(|| "failed".to_owned())),
                Some(id.clone()),
            ));
        }
        other => return Err(format!("run {id} is {other} in another process")),
    };
    judge(store, &trained.id).map(|end| (end, Some(trained.id)))
}

/// The watcher of a run item: raises its stop flag once an epoch ends
/// after the worker was asked to stop (SIGTERM), so that the run stops
/// with that epoch finished and checkpointed.
struct Drain<'a>(&'a Held);

impl Observer for Drain<'_> {
    fn on_epoch(&mut self, _record: &EpochRecord) -> ObserverResult {
        if self.0.drain.load(Ordering::Relaxed) {
            self.0.stop.store(true, Ordering::Relaxed);
        }
        Ok(())
    }
}

impl Watcher for Drain<'_> {}

/// How the item of run `id` ended, from the run's status as stored now.
fn judge(store: Store<'_>, id: &RunId) -> Result<WorkEnd, String> {
    let record = store
        .block_on(store.registry.run(id))
        .map_err(|error| error.to_string())?;
    let error = || record.error.clone().unwrap_or_else(|| "failed".to_owned());
    Ok(match record.status {
        RunStatus::Completed | RunStatus::Pruned => WorkEnd::Done,
        RunStatus::Failed if record.failed_on_environment => WorkEnd::Retry(error()),
        RunStatus::Failed => WorkEnd::Failed(error()),
        RunStatus::Killed => WorkEnd::GiveBack,
        RunStatus::Crashed | RunStatus::Queued | RunStatus::Running => WorkEnd::Retry(format!(
            "run {id} was left {} by its training",
            record.status
        )),
    })
}
