//! Runs as a library: plan specs, queue their runs in the registry, train
//! them with a heartbeat and a registry observer (metrics, checkpoints),
//! then finish, fail or kill them; resume a stopped run; cross-validate.
//! Callers (the `pipeline` binary today, sweeps and workers later) pass a
//! registry [`Store`], a stop flag and a [`Watcher`] that sees the epochs
//! and each run's events; the library prints nothing.

mod artifacts;
mod check;
mod ending;
mod error;
mod failure;
mod finish;
mod fold_report;
mod folds;
mod heartbeat;
mod overfitting;
mod plan;
mod queue;
mod receipt;
mod recorder;
mod resume;
mod store;
mod stored;
mod summary;
mod train;
mod watch;

pub use artifacts::{class_metric_values, weights_metadata};
pub use check::{
    Becomes, CheckReport, CheckedColumn, CheckedData, CheckedModel, CheckedParameter, CheckedSweep,
    CornerWarning, EmptyCells,
};
pub use ending::{Ending, Finished};
pub use error::{RunError, WatcherError, chain_text};
pub use fold_report::{
    FoldMetrics, FoldPlanReport, FoldReport, FoldRows, FoldRun, REPORTED, mean_and_std,
};
pub use folds::{
    CrossValidated, GROUP_TAG_PREFIX, check_request, cross_validate, fold_tag, new_group,
    plan_folds,
};
pub use overfitting::overfitting;
pub use plan::Planned;
pub use queue::{Trained, TrialRun, Verdict, continue_run, resume_one, train_all, train_trial};
pub use receipt::{GIT_COMMIT, Labels, fold_name, new_run};
pub use resume::{Resumption, prepare_resume};
pub use store::Store;
pub use stored::{short, stored_plan};
pub use summary::RunSummary;
pub use watch::{CheckpointFailing, Killed, NoWatcher, Prune, Started, Watcher};

#[cfg(test)]
mod library_tests;
