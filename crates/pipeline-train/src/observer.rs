//! What the training loop tells the outside world. The registry writer and
//! the progress display are observers; tests use an in-memory one.

use crate::metrics::Metrics;
use crate::state::TrainingState;

/// What the loop is about to do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    pub epochs: u32,
    /// 1, or the epoch after a resumed state's last.
    pub first_epoch: u32,
    pub batches_per_epoch: usize,
    pub parameters: usize,
}

/// One finished epoch.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EpochRecord {
    /// 1-based.
    pub epoch: u32,
    pub train: Metrics,
    pub validation: Metrics,
    /// The monitored metric improved on this epoch.
    pub improved: bool,
    /// The learning rate of the epoch's first batch (`one_cycle` changes it
    /// after every batch; the other schedules after every epoch).
    pub learning_rate: f64,
    /// The whole epoch: training and scoring the train and validation
    /// splits.
    pub seconds: f64,
    /// The batches alone: shuffling, forward, backward and optimizer steps.
    pub train_seconds: f64,
}

pub type ObserverResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

pub trait Observer {
    fn on_start(&mut self, _plan: &Plan) {}
    fn on_batch(&mut self, _epoch: u32, _batch: usize) {}
    /// An error stops training (for example: the registry cannot be written).
    fn on_epoch(&mut self, _record: &EpochRecord) -> ObserverResult {
        Ok(())
    }
    /// After each finished epoch (after [`Observer::on_epoch`]): everything
    /// needed to continue the training from there, for saving. An error
    /// stops training.
    fn on_checkpoint(&mut self, _state: &TrainingState) -> ObserverResult {
        Ok(())
    }
}

/// Observes nothing.
pub struct NoObserver;

impl Observer for NoObserver {}

impl<A: Observer, B: Observer> Observer for (A, B) {
    fn on_start(&mut self, plan: &Plan) {
        self.0.on_start(plan);
        self.1.on_start(plan);
    }

    fn on_batch(&mut self, epoch: u32, batch: usize) {
        self.0.on_batch(epoch, batch);
        self.1.on_batch(epoch, batch);
    }

    fn on_epoch(&mut self, record: &EpochRecord) -> ObserverResult {
        self.0.on_epoch(record)?;
        self.1.on_epoch(record)
    }

    fn on_checkpoint(&mut self, state: &TrainingState) -> ObserverResult {
        self.0.on_checkpoint(state)?;
        self.1.on_checkpoint(state)
    }
}

impl<T: Observer + ?Sized> Observer for &mut T {
    fn on_start(&mut self, plan: &Plan) {
        (**self).on_start(plan);
    }

    fn on_batch(&mut self, epoch: u32, batch: usize) {
        (**self).on_batch(epoch, batch);
    }

    fn on_epoch(&mut self, record: &EpochRecord) -> ObserverResult {
        (**self).on_epoch(record)
    }

    fn on_checkpoint(&mut self, state: &TrainingState) -> ObserverResult {
        (**self).on_checkpoint(state)
    }
}
