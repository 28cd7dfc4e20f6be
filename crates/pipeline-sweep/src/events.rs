//! What a caller sees of a sweep while it runs: each trial as it starts
//! and ends. Called from every job's thread, so the observer is `Sync`
//! (the CLI writes one line per event to stderr).

use std::time::Duration;

use pipeline_registry::RunId;

/// A trial about to train.
pub struct TrialStarted<'a> {
    pub number: u32,
    pub budget: u32,
    pub run: &'a RunId,
    /// `(path, value)` as `--set` would say them.
    pub assignments: &'a [(String, toml::Value)],
    /// A trial trained again (resumed after an interruption, or retried).
    pub again: bool,
}

/// How a trial ended.
#[derive(Debug, Clone, PartialEq)]
pub enum TrialOutcome {
    Completed {
        value: Option<f64>,
        epochs: usize,
    },
    Pruned {
        epoch: u32,
        value: Option<f64>,
        reason: String,
    },
    Failed {
        reason: String,
    },
    /// Stopped by Ctrl-C, a signal or `--fail-fast`; trained again on resume.
    Interrupted,
}

/// A trial that ended.
pub struct TrialEnded<'a> {
    pub number: u32,
    pub budget: u32,
    /// `None` when it failed before its run could be created (its spec or
    /// model refused the combination).
    pub run: Option<&'a RunId>,
    pub outcome: &'a TrialOutcome,
    /// The best value so far in the sweep and its trial.
    pub best: Option<(u32, f64)>,
    pub elapsed: Duration,
}

/// Sees a sweep's trials; every method has a default that does nothing.
pub trait SweepEvents: Sync {
    fn trial_started(&self, _trial: &TrialStarted<'_>) {}
    fn trial_ended(&self, _trial: &TrialEnded<'_>) {}
}

/// Sees nothing.
pub struct NoEvents;

impl SweepEvents for NoEvents {}
