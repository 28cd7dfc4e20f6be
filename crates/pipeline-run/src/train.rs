//! Training one registered run to its end, in named steps: tell the
//! watcher, train with the watcher and the registry's [`Recorder`] as
//! observers, settle how training ended (recording a failure), then end the
//! run killed (keeping what it trained) or complete it.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use pipeline_data::PreparedData;
use pipeline_registry::{EndStatus, PrunedRun, RunId};
use pipeline_spec::{Spec, SplitName};
use pipeline_train::observer::ObserverResult;
use pipeline_train::{
    EpochRecord, Observer, Outcome, Plan, SplitMetrics, TrainError, TrainingState, train,
};

use crate::artifacts::keep_checkpoint;
use crate::ending::{Ending, Finished};
use crate::error::{RunError, chain_text};
use crate::failure::{Failure, record_failure};
use crate::finish::finish;
use crate::overfitting::overfitting;
use crate::plan::Planned;
use crate::recorder::{CHECKPOINT_INTERVAL, Recorder};
use crate::store::Store;
use crate::summary::RunSummary;
use crate::watch::{CheckpointFailing, Killed, Prune, Started, Watcher};

/// Trains run `id` (registered, `running`) from `start` (`None`: its first
/// epoch) and records how it ended; `stop` set ends it killed.
pub(crate) fn train_one(
    store: Store<'_>,
    plan: Planned,
    id: &RunId,
    stop: &AtomicBool,
    watcher: &mut dyn Watcher,
    start: Option<TrainingState>,
) -> Result<Ending, RunError> {
    let Planned {
        loaded,
        data,
        device,
        network,
        ..
    } = plan;
    let spec = &loaded.spec;
    tracing::debug!(run = %id, "run started");
    watcher.started(&Started {
        id,
        spec,
        parameters: network.parameter_count(),
        sizes: data.sizes,
        resumed: start.is_some(),
    });
    let started = Instant::now();
    let mut recorder = Recorder::new(store, id, spec, &data.preprocessing, start.as_ref());
    let mut observers = Observers {
        id,
        watcher: &mut *watcher,
        recorder: &mut recorder,
    };
    let result = train(spec, &data, network, &device, &mut observers, stop, start);
    watcher.trained();
    // The last epochs, whatever the ending: a failed or interrupted run
    // keeps its curves too.
    let committed = recorder.commit();
    let seconds = started.elapsed().as_secs_f64();
    let run = Training {
        store,
        id,
        spec,
        data: &data,
    };
    let outcome = run.settle(recorder.saved_epoch, result, committed)?;
    match outcome.final_metrics.as_ref() {
        None => match watcher.pruning() {
            Some(prune) => run.end_pruned(&outcome, prune),
            None => run.end_killed(&outcome, &mut recorder, watcher),
        },
        Some(metrics) => run.complete(&outcome, metrics, recorder.saved_epoch, seconds, watcher),
    }
}

/// The watcher, then the recorder; a checkpoint the recorder could not
/// save is told to the watcher as it happens.
struct Observers<'w, 'r> {
    id: &'w RunId,
    watcher: &'w mut dyn Watcher,
    recorder: &'w mut Recorder<'r>,
}

impl Observer for Observers<'_, '_> {
    fn on_start(&mut self, plan: &Plan) {
        self.watcher.on_start(plan);
        self.recorder.on_start(plan);
    }

    fn on_batch(&mut self, epoch: u32, batch: usize) {
        self.watcher.on_batch(epoch, batch);
        self.recorder.on_batch(epoch, batch);
    }

    fn on_epoch(&mut self, record: &EpochRecord) -> ObserverResult {
        self.watcher.on_epoch(record)?;
        self.recorder.on_epoch(record)
    }

    fn on_checkpoint(&mut self, state: &TrainingState) -> ObserverResult {
        self.watcher.on_checkpoint(state)?;
        self.recorder.on_checkpoint(state)?;
        if let Some(failure) = self.recorder.unreported.take() {
            self.watcher.checkpoint_failing(&CheckpointFailing {
                id: self.id,
                epoch: failure.epoch,
                last_saved: self.recorder.saved_epoch,
                retry_seconds: CHECKPOINT_INTERVAL.as_secs(),
                error: &failure.error,
            });
        }
        Ok(())
    }
}

/// The run being ended, for the steps after its training loop.
struct Training<'a> {
    store: Store<'a>,
    id: &'a RunId,
    spec: &'a Spec,
    data: &'a PreparedData,
}

impl Training<'_> {
    /// The outcome of training, or the run recorded as failed: on its work
    /// (training's own error), or on its environment (the registry could
    /// not be written; `saved_epoch`: its last checkpoint).
    fn settle(
        &self,
        saved_epoch: u32,
        result: Result<Outcome, TrainError>,
        committed: Result<(), RunError>,
    ) -> Result<Outcome, RunError> {
        let id = self.id;
        match (result, committed) {
            (Ok(outcome), Ok(())) => Ok(outcome),
            // An interrupted run still ends killed and resumable.
            (Ok(outcome), Err(lost)) if outcome.final_metrics.is_none() => {
                tracing::warn!(
                    "cannot record the last epochs of run {id}: {}",
                    chain_text(&lost)
                );
                Ok(outcome)
            }
            (Ok(_), Err(error)) => {
                let failure = Failure::Environment(saved_epoch);
                record_failure(self.store, id, &chain_text(&error), failure);
                Err(failure.error(id, "while recording its epochs", error))
            }
            (Err(error), committed) => {
                if let Err(lost) = committed {
                    tracing::warn!(
                        "cannot record the last epochs of run {id}: {}",
                        chain_text(&lost)
                    );
                }
                // The recorder failed (the registry or its disk), not training.
                let failure = if matches!(error, TrainError::Observer(_)) {
                    Failure::Environment(saved_epoch)
                } else {
                    Failure::Work
                };
                // The whole chain: "an observer failed" alone hid the cause.
                let message = match error.hint() {
                    Some(hint) => format!("{}\nhint: {hint}", chain_text(&error)),
                    None => chain_text(&error),
                };
                record_failure(self.store, id, &message, failure);
                Err(failure.error(id, "", RunError::Train(error)))
            }
        }
    }

    /// Ends an interrupted run killed: its overfitting summary, its state
    /// for `pipeline resume`, its best epoch's weights kept.
    fn end_killed(
        &self,
        outcome: &Outcome,
        recorder: &mut Recorder<'_>,
        watcher: &mut dyn Watcher,
    ) -> Result<Ending, RunError> {
        let (store, id) = (self.store, self.id);
        let message = format!(
            "interrupted after {} finished epoch(s)",
            outcome.history.len()
        );
        let summary = overfitting(self.spec, outcome, None);
        if let Err(error) = store.block_on(store.registry.record_overfitting(id, &summary)) {
            tracing::warn!("cannot record the overfitting summary of run {id}: {error}");
        }
        // The state after the last finished epoch, for `pipeline resume`.
        if let Some(state) = &outcome.state
            && let Err(error) = recorder.save(state)
        {
            tracing::warn!(
                "cannot save the training state of run {id}: {}",
                chain_text(&error)
            );
        }
        let resumable = recorder.saved_epoch > 0;
        let kept_best = outcome.best_epoch.and_then(|best| self.keep(outcome, best));
        store.block_on(
            store
                .registry
                .end_run(id, EndStatus::Killed, Some(&message)),
        )?;
        watcher.killed(&Killed {
            id,
            message: &message,
            started: true,
            kept_best,
            resume_from: resumable.then_some(recorder.saved_epoch + 1),
        });
        Ok(Ending::Killed {
            best_epoch: outcome.best_epoch,
        })
    }

    /// Ends a trial that a sweep's pruner stopped: its overfitting summary,
    /// its best epoch's weights kept (so that a sweep where nothing
    /// completed still has a model), then the run recorded pruned. No state
    /// is saved for `pipeline resume`: a pruned trial is not to continue.
    fn end_pruned(&self, outcome: &Outcome, prune: Prune) -> Result<Ending, RunError> {
        let (store, id) = (self.store, self.id);
        let summary = overfitting(self.spec, outcome, None);
        if let Err(error) = store.block_on(store.registry.record_overfitting(id, &summary)) {
            tracing::warn!("cannot record the overfitting summary of run {id}: {error}");
        }
        let best_epoch = outcome.best_epoch.and_then(|best| self.keep(outcome, best));
        let value = outcome.best_epoch.and_then(|best| {
            let record = outcome.history.get(best.checked_sub(1)? as usize)?;
            let selection = self.spec.selection.metric;
            match selection.split {
                SplitName::Train => record.train.get(selection.metric),
                _ => record.validation.get(selection.metric),
            }
        });
        let pruned = PrunedRun {
            epoch: prune.epoch,
            reason: prune.reason,
            best_epoch,
            value,
        };
        store.block_on(store.registry.prune_run(id, &pruned))?;
        Ok(Ending::Pruned {
            epoch: pruned.epoch,
            best_epoch,
            value,
        })
    }

    /// Keeps the weights of best epoch `best`; `None` when they could not be
    /// written (logged).
    fn keep(&self, outcome: &Outcome, best: u32) -> Option<u32> {
        let preprocessing = &self.data.preprocessing;
        match keep_checkpoint(self.store, self.id, self.spec, outcome, best, preprocessing) {
            Ok(()) => Some(best),
            Err(error) => {
                tracing::warn!(
                    "cannot keep the checkpoint of run {}: {}",
                    self.id,
                    chain_text(&error)
                );
                None
            }
        }
    }

    /// Completes a run that trained to its end and tells the watcher.
    fn complete(
        &self,
        outcome: &Outcome,
        metrics: &SplitMetrics,
        saved_epoch: u32,
        seconds: f64,
        watcher: &mut dyn Watcher,
    ) -> Result<Ending, RunError> {
        let (id, spec) = (self.id, self.spec);
        let preprocessing = &self.data.preprocessing;
        if let Err(error) = finish(self.store, id, spec, outcome, metrics, preprocessing) {
            let failure = Failure::Environment(saved_epoch);
            record_failure(self.store, id, &chain_text(&error), failure);
            return Err(failure.error(id, "while saving its results", error));
        }
        let classes = preprocessing.targets.classes();
        let summary = RunSummary::new(id, spec, outcome, metrics, classes, seconds);
        watcher.completed(&summary).map_err(RunError::Watcher)?;
        Ok(Ending::Completed(Box::new(Finished {
            metrics: metrics.clone(),
            best_epoch: outcome.best_epoch,
            epochs: outcome.history.len(),
            seconds,
        })))
    }
}
