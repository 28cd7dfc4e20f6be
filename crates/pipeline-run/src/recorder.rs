//! The registry's observer of a training run: commits the finished epochs'
//! metrics in batches and saves checkpoints (the training state and the
//! best epoch's weights) at most every few seconds.

use std::time::{Duration, Instant};

use pipeline_data::Preprocessing;
use pipeline_registry::{ArtifactKind, EpochMetric, MetricValue, RunId};
use pipeline_spec::{Spec, SplitName};
use pipeline_train::observer::ObserverResult;
use pipeline_train::{EpochRecord, Observer, TrainingState};

use crate::artifacts::{metric_values, weights_metadata};
use crate::error::{RunError, chain_text};
use crate::store::Store;

/// The name of the learning rate among an epoch's recorded metrics.
const LEARNING_RATE_METRIC: &str = "lr";

/// The least time between two checkpoints: saving after every epoch of a
/// small network would cost more than training it (each save is two files
/// written and synced, and a commit). A run that dies loses at most this
/// much training; one stopped by Ctrl-C loses none (its last finished epoch
/// is saved as it stops).
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(5);

/// The longest a finished epoch's metrics wait before they are committed
/// (checked after every batch and every epoch, so a batch longer than this
/// adds its own length). One commit per epoch cost the first experiment 3 ms
/// an epoch, fifteen times its training (a transaction of a dozen
/// statements, each a round trip to SQLite's thread); in batches a run of
/// 600 small epochs commits a few times. Live views (`runs`, `show`) lag by
/// about this much, and a process killed without warning loses about this
/// much of its curves, never a checkpoint's epochs (they are committed
/// before it).
const EPOCH_COMMIT_INTERVAL: Duration = Duration::from_millis(250);

/// A checkpoint that could not be saved, for the caller's watcher.
pub struct SaveFailure {
    pub epoch: u32,
    pub error: String,
}

/// Commits the finished epochs' metrics to the registry (in batches, see
/// [`EPOCH_COMMIT_INTERVAL`]), and saves checkpoints: the training state
/// (`checkpoint_last`) and the best epoch's weights (`checkpoint_best`),
/// after the first epoch and then at most every [`CHECKPOINT_INTERVAL`].
pub struct Recorder<'a> {
    store: Store<'a>,
    id: &'a RunId,
    spec: &'a Spec,
    preprocessing: &'a Preprocessing,
    /// The epoch of the last saved state (0: none yet).
    pub saved_epoch: u32,
    /// The best epoch whose weights were last saved.
    saved_best: Option<u32>,
    /// When this process last saved one (or last failed to).
    saved_at: Option<Instant>,
    /// The last attempt to save one failed (warned once until one succeeds).
    save_failing: bool,
    /// A failure to save not yet told to the watcher.
    pub unreported: Option<SaveFailure>,
    /// Finished epochs' metrics not committed yet.
    pending: Vec<EpochMetric>,
    /// When they were last committed (or the recorder made).
    committed_at: Instant,
}

impl<'a> Recorder<'a> {
    /// The recorder of run `id`, continuing from `start` when resumed.
    pub fn new(
        store: Store<'a>,
        id: &'a RunId,
        spec: &'a Spec,
        preprocessing: &'a Preprocessing,
        start: Option<&TrainingState>,
    ) -> Recorder<'a> {
        Recorder {
            store,
            id,
            spec,
            preprocessing,
            saved_epoch: start.map_or(0, TrainingState::epoch),
            saved_best: start.and_then(TrainingState::best_epoch),
            saved_at: None,
            save_failing: false,
            unreported: None,
            pending: Vec::new(),
            committed_at: Instant::now(),
        }
    }

    /// Commits the epochs' metrics still pending.
    pub fn commit(&mut self) -> Result<(), RunError> {
        if !self.pending.is_empty() {
            self.store
                .block_on(self.store.registry.record_epochs(self.id, &self.pending))?;
            self.pending.clear();
        }
        self.committed_at = Instant::now();
        Ok(())
    }

    /// Writes `state` (and the best weights, when the best epoch changed)
    /// under new names, then records them, which deletes the files they
    /// replace. Does nothing for a state already saved.
    pub fn save(&mut self, state: &TrainingState) -> Result<(), RunError> {
        let epoch = state.epoch();
        if epoch <= self.saved_epoch {
            return Ok(());
        }
        // The registry holds every epoch a saved state has finished.
        self.commit()?;
        let registry = self.store.registry;
        let mut artifacts = Vec::with_capacity(2);
        let best = state.best_epoch();
        if let Some(best) = best
            && Some(best) != self.saved_best
            && let Some(weights) =
                state.best_weights(weights_metadata(self.spec, self.preprocessing))?
        {
            artifacts.push(self.store.block_on(registry.write_artifact(
                self.id,
                ArtifactKind::CheckpointBest,
                &ArtifactKind::CheckpointBest.epoch_file_name(best),
                &weights,
            ))?);
        }
        artifacts.push(self.store.block_on(registry.write_artifact(
            self.id,
            ArtifactKind::CheckpointLast,
            &ArtifactKind::CheckpointLast.epoch_file_name(epoch),
            &state.to_bytes()?,
        ))?);
        self.store
            .block_on(registry.record_checkpoint(self.id, &artifacts))?;
        self.saved_epoch = epoch;
        self.saved_best = best;
        self.saved_at = Some(Instant::now());
        Ok(())
    }

    /// Saves `state` when the interval has passed; a failure is kept for
    /// the watcher the first time (training goes on either way).
    fn checkpoint(&mut self, state: &TrainingState) {
        // A checkpoint that cannot be written (a full disk, …) costs the run
        // the epochs since the last one if it stops, never the run: training
        // goes on, and the next try comes an interval later.
        match self.save(state) {
            Ok(()) if self.save_failing => {
                self.save_failing = false;
                tracing::info!(
                    "run {}: checkpoints are saved again (epoch {})",
                    self.id,
                    self.saved_epoch
                );
            }
            Ok(()) => {}
            Err(error) => {
                self.saved_at = Some(Instant::now());
                if !std::mem::replace(&mut self.save_failing, true) {
                    self.unreported = Some(SaveFailure {
                        epoch: state.epoch(),
                        error: chain_text(&error),
                    });
                } else {
                    tracing::debug!(
                        "checkpoint of epoch {} not saved: {}",
                        state.epoch(),
                        chain_text(&error)
                    );
                }
            }
        }
    }
}

impl Observer for Recorder<'_> {
    fn on_batch(&mut self, _epoch: u32, _batch: usize) {
        // A finished epoch does not wait for the end of a long next one. A
        // failure here is retried, and reported, at the end of the epoch.
        if !self.pending.is_empty()
            && self.committed_at.elapsed() >= EPOCH_COMMIT_INTERVAL
            && self.commit().is_err()
        {
            self.committed_at = Instant::now();
        }
    }

    fn on_epoch(&mut self, record: &EpochRecord) -> ObserverResult {
        // The learning rate is stored as the train split's metric `lr`.
        let values = metric_values(SplitName::Train, &record.train)
            .chain(metric_values(SplitName::Validation, &record.validation))
            .chain(std::iter::once(MetricValue {
                split: SplitName::Train.as_str().to_string(),
                metric: LEARNING_RATE_METRIC.to_string(),
                value: record.learning_rate,
            }));
        self.pending
            .extend(values.map(|m| m.at_epoch(record.epoch)));
        if self.committed_at.elapsed() >= EPOCH_COMMIT_INTERVAL {
            self.commit().map_err(|e| chain_text(&e))?;
        }
        Ok(())
    }

    fn on_checkpoint(&mut self, state: &TrainingState) -> ObserverResult {
        if self
            .saved_at
            .is_none_or(|at| at.elapsed() >= CHECKPOINT_INTERVAL)
        {
            self.checkpoint(state);
        }
        Ok(())
    }
}
