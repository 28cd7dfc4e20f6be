//! `pipeline sweep resume SWEEP`: continues a sweep after Ctrl-C, kill -9
//! or a reboot. Its trials are read back from the registry: finished ones
//! are history, interrupted and never-started ones train again, new
//! numbers follow up to the budget; a finished trial never trains twice.

use std::process::ExitCode;

use pipeline_sweep::Options;

use crate::cli::SweepResumeArgs;
use crate::commands::shared::Context;
use crate::commands::sweep_drive::drive;

pub fn resume(context: &Context, args: SweepResumeArgs) -> anyhow::Result<ExitCode> {
    let registry = context.existing_registry()?;
    let id = context.block_on(registry.resolve_sweep(&args.sweep))?;
    let options = Options {
        jobs: args.jobs,
        fail_fast: args.fail_fast,
        retry: None,
    };
    drive(context, &registry, &id, &options, args.json)
}
