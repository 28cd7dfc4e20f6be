//! The data of a hyperparameter sweep as the registry stores and returns it
//! (migration 0010): a sweep, its trials (each a claimed point whose state
//! is derived from its run's status, never stored) and the confirmations of
//! its best trials by cross-validation.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use crate::types::{RunId, RunStatus};

/// Identifier of one sweep: a UUID v7, like a run's id ([`RunId`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SweepId(String);

impl SweepId {
    pub(crate) fn new_v7() -> Self {
        Self(uuid::Uuid::now_v7().hyphenated().to_string())
    }

    pub(crate) fn from_db(id: String) -> Self {
        Self(id)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SweepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Everything known about a sweep when it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSweep {
    pub experiment: String,
    /// Unique among sweeps when given (checked like a run's name).
    pub name: Option<String>,
    /// The spec file's path, as given on the command line.
    pub spec_path: String,
    /// The spec file's text, `[sweep]` included.
    pub source_spec: String,
    /// The resolved base spec, `[sweep]` included, as TOML.
    pub spec_toml: String,
    /// `grid`, `random` or `tpe`.
    pub method: String,
    /// The metric the trials are ranked by (their selection metric), e.g. `val_r2`.
    pub metric: String,
    pub higher_is_better: bool,
    /// Trials to run (grid: the number of points).
    pub budget: u32,
    pub jobs: u32,
    /// Stored as a signed 64-bit INTEGER: seeds above `i64::MAX` are refused.
    pub seed: u64,
    /// The space, for display: any JSON (one entry per parameter).
    pub parameters: serde_json::Value,
    /// The pruner, for display; `None`: no pruning.
    pub pruner: Option<serde_json::Value>,
    /// Tags every trial's run carries.
    pub tags: Vec<String>,
}

/// The trial a new run trains ([`crate::NewRun::trial`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrialLink {
    pub sweep: SweepId,
    pub number: u32,
}

/// How a sweep's pruner stopped a running run ([`crate::Registry::prune_run`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PrunedRun {
    /// The last epoch trained.
    pub epoch: u32,
    /// Why, in words (stored as the run's error).
    pub reason: String,
    /// The best epoch so far and its value of the selection metric.
    pub best_epoch: Option<u32>,
    pub value: Option<f64>,
}

/// A cross-validation of one trial (`pipeline sweep confirm`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewConfirmation {
    pub number: u32,
    pub folds: u32,
    /// The metric of `mean` and `std`, e.g. `val_r2`.
    pub metric: String,
    pub mean: Option<f64>,
    pub std: Option<f64>,
    /// The tag grouping the folds' runs.
    pub group_id: String,
    /// The trial's test score, when known.
    pub test_value: Option<f64>,
}

/// A stored [`NewConfirmation`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Confirmation {
    #[serde(flatten)]
    pub confirmation: NewConfirmation,
    pub created_at: String,
}

/// A trial's state, derived from its run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TrialState {
    /// Claimed, no run yet.
    Pending,
    /// Its run is queued or running.
    Running,
    Completed,
    /// Stopped early by the pruner.
    Pruned,
    Failed,
    /// Its run was killed or crashed: a resume trains it again.
    Interrupted,
    /// Its run was deleted (`pipeline rm`): the trial stays, ended, and is
    /// not trained again.
    Deleted,
}

impl TrialState {
    /// The state of a trial whose run has `status` (`None`: no run) after
    /// `attempts` runs were created for it; `failed_unrun`: it failed before
    /// a run could be made for it.
    pub(crate) fn of(status: Option<RunStatus>, attempts: u32, failed_unrun: bool) -> Self {
        match status {
            None if failed_unrun => Self::Failed,
            None if attempts > 0 => Self::Deleted,
            None => Self::Pending,
            Some(RunStatus::Queued | RunStatus::Running) => Self::Running,
            Some(RunStatus::Completed) => Self::Completed,
            Some(RunStatus::Pruned) => Self::Pruned,
            Some(RunStatus::Failed) => Self::Failed,
            Some(RunStatus::Killed | RunStatus::Crashed) => Self::Interrupted,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Pruned => "pruned",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
            Self::Deleted => "deleted",
        }
    }

    /// Done for good: completed, pruned, failed or deleted (an interrupted
    /// trial is trained again by a resume).
    pub fn is_ended(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Pruned | Self::Failed | Self::Deleted
        )
    }

    /// Where trials of this state come in a ranking: completed, pruned,
    /// running, failed, interrupted, pending, deleted.
    fn rank_group(self) -> u8 {
        match self {
            Self::Completed => 0,
            Self::Pruned => 1,
            Self::Running => 2,
            Self::Failed => 3,
            Self::Interrupted => 4,
            Self::Pending => 5,
            Self::Deleted => 6,
        }
    }
}

impl fmt::Display for TrialState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One trial of a sweep, with what its run recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialRecord {
    pub number: u32,
    /// Parameter key → value, as claimed.
    pub params: serde_json::Value,
    /// Its latest run; `None` before one is created or after it was deleted.
    pub run_id: Option<RunId>,
    pub run_short_id: Option<String>,
    pub run_name: Option<String>,
    pub state: TrialState,
    /// The run's selection value (best epoch's value of the sweep's metric).
    pub value: Option<f64>,
    pub epochs: u32,
    pub pruned_epoch: Option<u32>,
    /// Why the run failed, was pruned, killed or crashed.
    pub error: Option<String>,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    /// Runs created for this trial.
    pub attempts: u32,
}

/// How many trials are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TrialCounts {
    pub pending: u32,
    pub running: u32,
    pub completed: u32,
    pub pruned: u32,
    pub failed: u32,
    pub interrupted: u32,
    pub deleted: u32,
}

impl TrialCounts {
    pub(crate) fn add(&mut self, state: TrialState) {
        let count = match state {
            TrialState::Pending => &mut self.pending,
            TrialState::Running => &mut self.running,
            TrialState::Completed => &mut self.completed,
            TrialState::Pruned => &mut self.pruned,
            TrialState::Failed => &mut self.failed,
            TrialState::Interrupted => &mut self.interrupted,
            TrialState::Deleted => &mut self.deleted,
        };
        *count += 1;
    }

    /// Trials done for good ([`TrialState::is_ended`]).
    pub fn ended(&self) -> u32 {
        self.completed + self.pruned + self.failed + self.deleted
    }
}

/// A sweep's state, derived from its trials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SweepState {
    /// Some trial's run is queued or running.
    Running,
    /// As many trials ended as the budget asks.
    Finished,
    /// Neither: interrupted or not yet resumed (`pipeline sweep resume`).
    Stopped,
}

impl SweepState {
    pub(crate) fn of(counts: &TrialCounts, budget: u32) -> Self {
        if counts.running > 0 {
            Self::Running
        } else if counts.ended() >= budget {
            Self::Finished
        } else {
            Self::Stopped
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Finished => "finished",
            Self::Stopped => "stopped",
        }
    }
}

impl fmt::Display for SweepState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything recorded about one sweep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepRecord {
    pub id: SweepId,
    /// The shortest unique prefix of the id's random part among sweeps.
    pub short_id: String,
    pub name: Option<String>,
    pub experiment: String,
    pub created_at: String,
    pub archived_at: Option<String>,
    pub method: String,
    pub metric: String,
    pub higher_is_better: bool,
    pub budget: u32,
    pub jobs: u32,
    pub seed: u64,
    pub parameters: serde_json::Value,
    pub pruner: Option<serde_json::Value>,
    pub spec_path: String,
    pub source_spec: String,
    pub spec_toml: String,
    /// Tags every trial's run carries.
    pub tags: Vec<String>,
    /// By number.
    pub trials: Vec<TrialRecord>,
    /// By trial number, then folds.
    pub confirmations: Vec<Confirmation>,
}

impl SweepRecord {
    pub fn counts(&self) -> TrialCounts {
        let mut counts = TrialCounts::default();
        for trial in &self.trials {
            counts.add(trial.state);
        }
        counts
    }

    pub fn state(&self) -> SweepState {
        SweepState::of(&self.counts(), self.budget)
    }

    /// Best first: completed trials by value in the metric's direction,
    /// then pruned ones by value, then running, failed, interrupted,
    /// pending and deleted ones; by number within each.
    pub fn ranked(&self) -> Vec<&TrialRecord> {
        let mut ranked: Vec<&TrialRecord> = self.trials.iter().collect();
        ranked.sort_by(|a, b| {
            a.state
                .rank_group()
                .cmp(&b.state.rank_group())
                .then_with(|| match a.state {
                    TrialState::Completed | TrialState::Pruned => {
                        compare_values(a.value, b.value, self.higher_is_better)
                    }
                    _ => Ordering::Equal,
                })
                .then(a.number.cmp(&b.number))
        });
        ranked
    }

    /// The best completed trial (what `infer --run best --sweep` picks);
    /// the best pruned one when none completed.
    pub fn best(&self) -> Option<&TrialRecord> {
        self.ranked()
            .into_iter()
            .find(|t| matches!(t.state, TrialState::Completed | TrialState::Pruned))
            .filter(|t| t.run_id.is_some())
    }

    /// For each ended trial with an end time, by number: the best value of
    /// the trials completed by then (itself included), in the metric's
    /// direction; what the sweep had found when that trial ended.
    pub fn best_so_far(&self) -> HashMap<u32, f64> {
        let mut ended: Vec<&TrialRecord> = self
            .trials
            .iter()
            .filter(|t| t.state.is_ended() && t.ended_at.is_some())
            .collect();
        ended.sort_by(|a, b| a.ended_at.cmp(&b.ended_at).then(a.number.cmp(&b.number)));
        let mut best: Option<f64> = None;
        let mut so_far = HashMap::with_capacity(ended.len());
        for trial in ended {
            if trial.state == TrialState::Completed
                && let Some(value) = trial.value.filter(|v| !v.is_nan())
                && best.is_none_or(|b| better(value, b, self.higher_is_better))
            {
                best = Some(value);
            }
            if let Some(best) = best {
                so_far.insert(trial.number, best);
            }
        }
        so_far
    }
}

/// One line of `pipeline sweeps`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepSummary {
    pub id: SweepId,
    pub short_id: String,
    pub name: Option<String>,
    pub experiment: String,
    pub method: String,
    pub metric: String,
    pub higher_is_better: bool,
    pub created_at: String,
    pub budget: u32,
    pub counts: TrialCounts,
    pub state: SweepState,
    /// The best completed trial's value and number.
    pub best_value: Option<f64>,
    pub best_trial: Option<u32>,
}

/// Which sweeps [`crate::Registry::sweeps`] lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepFilter {
    pub experiment: Option<String>,
}

/// Whether `a` is strictly better than `b`.
pub(crate) fn better(a: f64, b: f64, higher_is_better: bool) -> bool {
    if higher_is_better { a > b } else { a < b }
}

/// Best first; missing and NaN values last.
fn compare_values(a: Option<f64>, b: Option<f64>, higher_is_better: bool) -> Ordering {
    let a = a.filter(|v| !v.is_nan());
    let b = b.filter(|v| !v.is_nan());
    match (a, b) {
        (Some(a), Some(b)) if higher_is_better => b.total_cmp(&a),
        (Some(a), Some(b)) => a.total_cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}
