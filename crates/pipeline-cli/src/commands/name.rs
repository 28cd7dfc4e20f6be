//! `pipeline name RUN NAME`: name a run after the fact (`run --name` names
//! it at the start), rename it, or clear its name with "". A name is unique
//! and selects its run wherever an id does.

use crate::cli::NameArgs;
use crate::commands::shared::Context;

pub fn name(context: &Context, args: NameArgs) -> anyhow::Result<()> {
    let registry = context.existing_registry()?;
    let id = context.run_id(&registry, &args.run, args.experiment.as_deref())?;
    let short = context.block_on(registry.short_ids())?.get(&id);
    let name = args.name.trim();
    let name = (!name.is_empty()).then_some(name);
    context.block_on(registry.set_name(&id, name))?;
    match name {
        Some(name) => eprintln!("run {short} is now named {name}"),
        None => eprintln!("run {short}: name cleared"),
    }
    Ok(())
}
