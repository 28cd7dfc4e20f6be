//! The watcher of one trial's run: it passes the sweep's stop (Ctrl-C,
//! `--fail-fast`) to the trial, records each epoch's monitored value for the
//! pruner, and raises the trial's own stop flag when the pruner says so, so
//! that the run ends pruned rather than killed.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use pipeline_run::{Prune, Started, Watcher};
use pipeline_spec::{MetricRef, SplitName};
use pipeline_train::observer::ObserverResult;
use pipeline_train::{EpochRecord, Observer};

use crate::coordinator::Coordinator;
use crate::events::{SweepEvents, TrialStarted};

pub struct TrialWatcher<'a> {
    pub number: u32,
    pub budget: u32,
    pub again: bool,
    pub assignments: &'a [(String, toml::Value)],
    pub coordinator: &'a Mutex<Coordinator>,
    /// Ctrl-C and signals.
    pub interrupt: &'a AtomicBool,
    /// `--fail-fast` after another trial failed.
    pub halt: &'a AtomicBool,
    /// The trial's own flag, given to its training loop.
    pub stop: &'a AtomicBool,
    pub metric: MetricRef,
    /// The spec's last epoch: no pruning after it.
    pub epochs: u32,
    pub events: &'a dyn SweepEvents,
    pub pruned: Option<Prune>,
    /// Raised (a worker's SIGTERM): stop once the epoch in progress ends.
    pub drain: Option<&'a AtomicBool>,
}

impl TrialWatcher<'_> {
    fn forward_stop(&self) {
        if self.interrupt.load(Ordering::Relaxed) || self.halt.load(Ordering::Relaxed) {
            self.stop.store(true, Ordering::Relaxed);
        }
    }
}

impl Observer for TrialWatcher<'_> {
    fn on_batch(&mut self, _epoch: u32, _batch: usize) {
        self.forward_stop();
    }

    fn on_epoch(&mut self, record: &EpochRecord) -> ObserverResult {
        self.forward_stop();
        if self
            .drain
            .is_some_and(|drain| drain.load(Ordering::Relaxed))
        {
            self.stop.store(true, Ordering::Relaxed);
        }
        let metrics = match self.metric.split {
            SplitName::Train => &record.train,
            _ => &record.validation,
        };
        let Some(value) = metrics.get(self.metric.metric).filter(|v| v.is_finite()) else {
            return Ok(());
        };
        let mut coordinator = self
            .coordinator
            .lock()
            .map_err(|_| "a sweep job panicked while holding the sweep's state")?;
        coordinator.record_curve(self.number, record.epoch, value);
        if record.epoch >= self.epochs || self.pruned.is_some() {
            return Ok(());
        }
        if let Some(pruning) = coordinator.prune(self.number, record.epoch) {
            self.pruned = Some(Prune {
                epoch: record.epoch,
                reason: pruning.reason,
            });
            self.stop.store(true, Ordering::Relaxed);
        }
        Ok(())
    }
}

impl Watcher for TrialWatcher<'_> {
    fn started(&mut self, run: &Started<'_>) {
        self.events.trial_started(&TrialStarted {
            number: self.number,
            budget: self.budget,
            run: run.id,
            assignments: self.assignments,
            again: self.again,
        });
    }

    fn pruning(&mut self) -> Option<Prune> {
        self.pruned.clone()
    }
}
