//! A sweep on the console: one line on stderr per trial that ends (its
//! state, value, the best so far, its parameters), written whole so that
//! lines of parallel jobs never interleave; nothing with `-q` but failures.

use std::io::Write;

use pipeline_sweep::{SweepEvents, TrialEnded, TrialOutcome};

use crate::output::format::{duration, number};

pub struct SweepConsole {
    pub quiet: bool,
    /// The metric's name, e.g. `val_loss`.
    pub metric: String,
}

impl SweepEvents for SweepConsole {
    fn trial_ended(&self, trial: &TrialEnded<'_>) {
        let failed = matches!(trial.outcome, TrialOutcome::Failed { .. });
        if self.quiet && !failed {
            return;
        }
        let width = trial.budget.saturating_sub(1).to_string().len();
        let head = format!("trial #{:<width$} of {}", trial.number, trial.budget);
        let metric = &self.metric;
        let value = |value: &Option<f64>| value.map_or_else(|| "-".to_owned(), number);
        let best = trial
            .best
            .map(|(best_trial, best)| format!("  best {} (#{best_trial})", number(best)))
            .unwrap_or_default();
        let line = match trial.outcome {
            TrialOutcome::Completed { value: v, epochs } => format!(
                "{head} completed  {metric} {}  {epochs} epochs  {}{best}",
                value(v),
                duration(trial.elapsed.as_secs_f64())
            ),
            TrialOutcome::Pruned {
                epoch, value: v, ..
            } => format!(
                "{head} pruned at epoch {epoch}  {metric} {}  {}{best}",
                value(v),
                duration(trial.elapsed.as_secs_f64())
            ),
            TrialOutcome::Failed { reason } => {
                let first = reason.lines().next().unwrap_or_default();
                format!("{head} failed: {first}")
            }
            TrialOutcome::Interrupted => format!("{head} interrupted"),
        };
        let mut stderr = std::io::stderr().lock();
        // A closed stderr is not worth failing a sweep for.
        let _ = writeln!(stderr, "{line}");
    }
}
