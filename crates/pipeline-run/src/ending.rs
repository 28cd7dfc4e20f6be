//! How one run ended, as the queue reports it to its caller.

use pipeline_train::SplitMetrics;

/// How one run of a queue ended.
#[derive(Debug)]
pub enum Ending {
    Completed(Box<Finished>),
    /// Recorded as failed, with its error.
    Failed,
    /// Stopped by the stop flag (with the best of its finished epochs, whose
    /// weights are kept), or never started because of it.
    Killed {
        best_epoch: Option<u32>,
    },
    /// Stopped by a sweep's pruner after `epoch` (its curve and its best
    /// epoch's weights are kept; `value`: the best epoch's selection value).
    Pruned {
        epoch: u32,
        best_epoch: Option<u32>,
        value: Option<f64>,
    },
}

/// A completed run: its final metrics and how training went.
#[derive(Debug)]
pub struct Finished {
    pub metrics: SplitMetrics,
    pub best_epoch: Option<u32>,
    pub epochs: usize,
    pub seconds: f64,
}
