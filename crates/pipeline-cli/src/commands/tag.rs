//! `pipeline tag RUN TAG…` and `pipeline note RUN TEXT`: labels that
//! `pipeline runs --tag` and `--where "tag = …"` find runs by.

use pipeline_registry::Epochs;

use crate::cli::{NoteArgs, TagArgs};
use crate::commands::shared::Context;

pub fn tag(context: &Context, args: TagArgs) -> anyhow::Result<()> {
    let registry = context.existing_registry()?;
    let id = context.run_id(&registry, &args.run, args.experiment.as_deref())?;
    if args.remove {
        let removed = context.block_on(registry.remove_tags(&id, &args.tags))?;
        eprintln!("run {id}: {removed} tag(s) removed");
    } else {
        context.block_on(registry.add_tags(&id, &args.tags))?;
    }
    let record = context.block_on(registry.run_with(&id, Epochs::None))?;
    eprintln!("run {id} tags: {}", record.tags.join(", "));
    Ok(())
}

pub fn note(context: &Context, args: NoteArgs) -> anyhow::Result<()> {
    let registry = context.existing_registry()?;
    let id = context.run_id(&registry, &args.run, args.experiment.as_deref())?;
    let text = args.text.trim();
    let note = (!text.is_empty()).then_some(text);
    context.block_on(registry.set_note(&id, note))?;
    match note {
        Some(_) => eprintln!("run {id}: note set"),
        None => eprintln!("run {id}: note cleared"),
    }
    Ok(())
}
