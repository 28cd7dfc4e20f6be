//! `pipeline worker`: claims submitted runs and sweep trials from the
//! registry's queue and trains them (see `pipeline-worker`); a line per
//! event on stderr, with `--json` a summary on stdout when it exits.

use std::io::Write as _;
use std::process::ExitCode;

use pipeline_registry::{Claimed, Reaped, WorkEnd, WorkKind};
use pipeline_sweep::{SweepEvents, TrialEnded, TrialOutcome};
use pipeline_worker::{ItemEnded, Options, WorkerEvents, new_worker_id, work};

use crate::cli::WorkerArgs;
use crate::commands::shared::{Context, install_signal_handlers, print};
use crate::exit;
use crate::output::format::number;

pub fn worker(context: &Context, args: WorkerArgs) -> anyhow::Result<ExitCode> {
    let registry = context.existing_registry()?;
    let sweep = match &args.sweep {
        Some(text) => Some(context.block_on(registry.resolve_sweep(text))?),
        None => None,
    };
    let options = Options {
        id: new_worker_id(),
        device: args.device,
        jobs: args.jobs.get(),
        sweep,
        max_items: args.max_trials,
        lease: args.lease,
        poll: args.poll,
        exit_when_done: args.exit_when_done,
    };
    let stop = install_signal_handlers()?;
    let console = WorkerConsole {
        quiet: context.global.quiet,
        worker: options.id.clone(),
    };
    console.say(&format!(
        "worker {} (pid {}): {} job(s), leases of {} s, on {}{}",
        options.id,
        std::process::id(),
        options.jobs,
        options.lease.as_secs_f64(),
        context.location(),
        options
            .sweep
            .as_ref()
            .map(|sweep| format!(", sweep {sweep} only"))
            .unwrap_or_default()
    ));
    let worked = work(&registry, context.runtime(), &options, &stop, &console)?;
    console.say(&format!(
        "worker {}: {} item(s) ended, {} handed back, {} lease(s) lost{}",
        options.id,
        worked.ended,
        worked.handed_back,
        worked.lost,
        if worked.interrupted {
            "; stopped by a signal"
        } else {
            ""
        }
    ));
    if args.json {
        print(&format!(
            "{}\n",
            serde_json::json!({
                "worker": options.id,
                "ended": worked.ended,
                "handed_back": worked.handed_back,
                "leases_lost": worked.lost,
                "interrupted": worked.interrupted,
            })
        ))?;
    }
    Ok(if worked.interrupted {
        ExitCode::from(exit::INTERRUPTED)
    } else {
        ExitCode::SUCCESS
    })
}

/// The worker's lines on stderr.
struct WorkerConsole {
    quiet: bool,
    worker: String,
}

impl WorkerConsole {
    fn say(&self, line: &str) {
        if !self.quiet {
            // A closed stderr is not worth stopping a worker for.
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        }
    }
}

/// What an item is, in words.
fn item(claimed: &Claimed) -> String {
    match &claimed.kind {
        WorkKind::Run(run) => format!("run {run}"),
        WorkKind::Trial { sweep, number } => format!("trial #{number} of sweep {sweep}"),
    }
}

impl SweepEvents for WorkerConsole {
    fn trial_ended(&self, trial: &TrialEnded<'_>) {
        let run = trial
            .run
            .map(|run| format!(" (run {run})"))
            .unwrap_or_default();
        let line = match trial.outcome {
            TrialOutcome::Completed { value, epochs } => format!(
                "trial #{} completed: {} after {epochs} epochs{run}",
                trial.number,
                value.map_or_else(|| "-".to_owned(), number)
            ),
            TrialOutcome::Pruned { epoch, .. } => {
                format!("trial #{} pruned at epoch {epoch}{run}", trial.number)
            }
            TrialOutcome::Failed { reason } => format!(
                "trial #{} failed: {}{run}",
                trial.number,
                reason.lines().next().unwrap_or_default()
            ),
            TrialOutcome::Interrupted => format!("trial #{} stopped{run}", trial.number),
        };
        self.say(&line);
    }
}

impl WorkerEvents for WorkerConsole {
    fn reaped(&self, reaped: &Reaped) {
        self.say(&format!(
            "worker {}: reaped work item {} of worker {} (its lease expired){}",
            self.worker,
            reaped.item,
            reaped.worker.as_deref().unwrap_or("?"),
            match (&reaped.run, reaped.failed) {
                (Some(run), false) => format!("; run {run} marked crashed, queued again"),
                (Some(run), true) => format!("; run {run} failed: no attempts left"),
                (None, false) => "; queued again".to_owned(),
                (None, true) => "; failed: no attempts left".to_owned(),
            }
        ));
    }

    fn claimed(&self, claimed: &Claimed) {
        let attempt = if claimed.attempts > 0 {
            format!(
                " (attempt {} of {})",
                claimed.attempts + 1,
                claimed.max_attempts
            )
        } else {
            String::new()
        };
        self.say(&format!(
            "worker {}: claimed {}{attempt}",
            self.worker,
            item(claimed)
        ));
    }

    fn ended(&self, claimed: &Claimed, ended: &ItemEnded) {
        let what = item(claimed);
        let line = match ended {
            ItemEnded::LeaseLost => format!(
                "worker {}: lost the lease of {what}; wrote nothing more to it",
                self.worker
            ),
            ItemEnded::Ended { end, run } => {
                let run = match (run, &claimed.kind) {
                    (Some(run), WorkKind::Trial { .. }) => format!(" (run {run})"),
                    _ => String::new(),
                };
                match end {
                    WorkEnd::Done => format!("worker {}: {what} done{run}", self.worker),
                    WorkEnd::Failed(error) => format!(
                        "worker {}: {what} failed{run}: {}",
                        self.worker,
                        error.lines().next().unwrap_or_default()
                    ),
                    WorkEnd::GiveBack => format!(
                        "worker {}: {what} handed back after its checkpoint{run}",
                        self.worker
                    ),
                    WorkEnd::Retry(error) => format!(
                        "worker {}: {what} queued again{run}: {}",
                        self.worker,
                        error.lines().next().unwrap_or_default()
                    ),
                }
            }
        };
        self.say(&line);
    }
}
