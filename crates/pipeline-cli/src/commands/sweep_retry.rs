//! `pipeline sweep retry SWEEP --failed | --trial N`: trains a sweep's
//! failed trials (or the named ones) again with the parameters they were
//! drawn with, each as a new run linked to its trial; no new trial starts.

use std::process::ExitCode;

use pipeline_registry::TrialState;
use pipeline_sweep::Options;

use crate::cli::SweepRetryArgs;
use crate::commands::shared::Context;
use crate::commands::sweep_drive::drive;
use crate::exit::UserError;

pub fn retry(context: &Context, args: SweepRetryArgs) -> anyhow::Result<ExitCode> {
    let registry = context.existing_registry()?;
    let id = context.block_on(registry.resolve_sweep(&args.sweep))?;
    let record = context.block_on(registry.sweep(&id))?;
    let short = &record.short_id;
    let mut numbers: Vec<u32> = Vec::new();
    if args.failed {
        numbers.extend(
            record
                .trials
                .iter()
                .filter(|t| t.state == TrialState::Failed)
                .map(|t| t.number),
        );
        if numbers.is_empty() && args.trial.is_empty() {
            if !context.global.quiet {
                eprintln!("sweep {short} has no failed trial: nothing to retry");
            }
            return Ok(ExitCode::SUCCESS);
        }
    }
    for &number in &args.trial {
        let Some(trial) = record.trials.iter().find(|t| t.number == number) else {
            return Err(UserError::error(
                format!("sweep {short} has no trial #{number}"),
                Some(&format!("its trials: pipeline sweep show {short}")),
            ));
        };
        if trial.state == TrialState::Running {
            return Err(UserError::error(
                format!("trial #{number} of sweep {short} is training now"),
                Some("retry it once it ended"),
            ));
        }
        numbers.push(number);
    }
    numbers.sort_unstable();
    numbers.dedup();
    let options = Options {
        jobs: args.jobs,
        fail_fast: false,
        retry: Some(numbers),
    };
    drive(context, &registry, &id, &options, args.json)
}
