//! `pipeline resume RUN`: continue a killed or crashed run (or one that
//! failed on its environment: a full disk, an I/O error) from its last
//! checkpoint (`checkpoint_last`, verified against its sha256) with the
//! run's stored resolved spec on the data file it read (same sha256), so it
//! ends as it would have without the stop: on the CPU, the same weights bit
//! for bit. The run goes back to `running` under its own id, its epochs
//! after the checkpoint are trained again, and it ends like `pipeline run`.
//! A run that never finished an epoch (queued behind one that stopped)
//! starts from its first epoch.

use std::process::ExitCode;

use pipeline_registry::Epochs;
use pipeline_run::{Resumption, prepare_resume, resume_one, short};

use crate::cli::ResumeArgs;
use crate::commands::shared::{Context, install_signal_handlers};
use crate::exit;
use crate::output::training::{Console, RunOutput};

pub fn resume(context: &Context, args: ResumeArgs) -> anyhow::Result<ExitCode> {
    let registry = context.existing_registry()?;
    let record = context.run_record(
        &registry,
        &args.run,
        args.experiment.as_deref(),
        Epochs::None,
    )?;
    let store = context.store(&registry);
    let Resumption { plan, state, after } = prepare_resume(store, &record)?;
    let id = &record.id;
    let epochs = plan.loaded.spec.train.epochs;
    if !context.global.quiet {
        let short_id = context.short_ids(&registry)?.get(id);
        if state.is_some() {
            eprintln!(
                "resuming run {short_id} ({}) after epoch {after} of {epochs}; data unchanged \
                 (sha256 {})",
                record.experiment,
                short(&record.data_sha256)
            );
        } else {
            eprintln!(
                "starting run {short_id} ({}) from epoch 1 of {epochs}: it had not finished an \
                 epoch; data unchanged (sha256 {})",
                record.experiment,
                short(&record.data_sha256)
            );
        }
    }
    let stop = install_signal_handlers()?;
    let mut console = Console::new(&context.global, RunOutput::of(args.json));
    let verdict = resume_one(store, plan, id, state, &stop, &mut console)?;
    Ok(exit::of_verdict(verdict))
}
