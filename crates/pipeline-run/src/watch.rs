//! What a caller sees of its runs while they train: the epochs (a
//! [`Watcher`] is a training [`Observer`], e.g. a progress bar) and each
//! run's events (queued, started, killed, completed, failed). The library
//! prints nothing; the CLI's watcher writes what it wrote before.

use pipeline_data::SplitSizes;
use pipeline_registry::RunId;
use pipeline_spec::Spec;
use pipeline_train::Observer;

use crate::error::{RunError, WatcherError};
use crate::summary::RunSummary;

/// A run about to train.
pub struct Started<'a> {
    pub id: &'a RunId,
    pub spec: &'a Spec,
    pub parameters: usize,
    pub sizes: SplitSizes,
    /// Continued from a checkpoint (`pipeline resume`), not from its start.
    pub resumed: bool,
}

/// A checkpoint that could not be saved; training goes on and tries again
/// every `retry_seconds`.
pub struct CheckpointFailing<'a> {
    pub id: &'a RunId,
    pub epoch: u32,
    /// The epoch of the last checkpoint saved (0: none yet).
    pub last_saved: u32,
    pub retry_seconds: u64,
    /// The error, with its causes.
    pub error: &'a str,
}

/// A run that ended killed.
pub struct Killed<'a> {
    pub id: &'a RunId,
    /// The message recorded with it.
    pub message: &'a str,
    /// It trained before it stopped (its finished epochs are kept); `false`
    /// for a queued run that never started.
    pub started: bool,
    /// The best epoch whose weights were kept.
    pub kept_best: Option<u32>,
    /// The epoch `pipeline resume` continues it from, when it can.
    pub resume_from: Option<u32>,
}

/// Why a sweep's pruner stopped a trial (it raised the trial's stop flag
/// after epoch `epoch`): the run ends pruned, not killed.
#[derive(Debug, Clone, PartialEq)]
pub struct Prune {
    pub epoch: u32,
    /// Said in the run's `error` column and to the user.
    pub reason: String,
}

/// Events of a caller's runs; each has a default that does nothing.
pub trait Watcher: Observer {
    /// Several runs were queued, in the order they will train.
    fn queued(&mut self, _ids: &[RunId]) {}
    /// A run starts training (the epochs follow as [`Observer`] calls).
    fn started(&mut self, _run: &Started<'_>) {}
    /// The run's training loop ended, however it ended.
    fn trained(&mut self) {}
    /// A checkpoint could not be saved (said once until one is saved).
    fn checkpoint_failing(&mut self, _failing: &CheckpointFailing<'_>) {}
    /// A run ended killed (interrupted while or before it trained).
    fn killed(&mut self, _killed: &Killed<'_>) {}
    /// A run completed. An error (its result could not be shown) makes the
    /// run's call fail with it.
    fn completed(&mut self, _summary: &RunSummary) -> Result<(), WatcherError> {
        Ok(())
    }
    /// A queued run failed; the queue goes on with the next one.
    fn failed(&mut self, _id: &RunId, _error: &RunError) {}
    /// Asked once training stopped on the stop flag: the pruning that
    /// raised it, when this watcher's pruner did (a sweep's trial).
    fn pruning(&mut self) -> Option<Prune> {
        None
    }
}

/// Watches nothing.
pub struct NoWatcher;

impl Observer for NoWatcher {}

impl Watcher for NoWatcher {}
