//! `pipeline alias set|rm|list|history`: names for runs (`production`),
//! usable wherever a run is selected, with the history of every assignment.

use pipeline_registry::{AliasRecord, RegistryError, ShortIds};

use crate::cli::AliasCommand;
use crate::commands::shared::{Context, print};
use crate::exit::UserError;
use crate::output::format;

pub fn alias(context: &Context, command: AliasCommand) -> anyhow::Result<()> {
    let registry = context.existing_registry()?;
    match command {
        AliasCommand::Set {
            name,
            run,
            experiment,
        } => {
            let id = context.run_id(&registry, &run, experiment.as_deref())?;
            let previous = context.block_on(registry.set_alias(&name, &id))?;
            let short_ids = context.short_ids(&registry)?;
            let run = short_ids.get(&id);
            match previous {
                Some(previous) => eprintln!(
                    "alias {name} moved from run {} to run {run}",
                    short_ids.get(&previous)
                ),
                None => eprintln!("alias {name} names run {run}"),
            }
            Ok(())
        }
        AliasCommand::Rm { name } => {
            let id = context
                .block_on(registry.remove_alias(&name))
                .map_err(|e| match e {
                    RegistryError::UnknownRun { .. } => UserError::error(
                        format!("no alias `{name}` is set"),
                        Some("`pipeline alias list` shows the aliases"),
                    ),
                    other => other.into(),
                })?;
            eprintln!("alias {name} removed (it named run {id}; its history is kept)");
            Ok(())
        }
        AliasCommand::List { json } => {
            let aliases = context.block_on(registry.aliases())?;
            output(&aliases, &context.short_ids(&registry)?, json, false)
        }
        AliasCommand::History { name, json } => {
            let history = context.block_on(registry.alias_history(&name))?;
            if history.is_empty() && !json {
                return Err(UserError::error(
                    format!("alias `{name}` was never set"),
                    Some("`pipeline alias list` shows the aliases"),
                ));
            }
            output(&history, &context.short_ids(&registry)?, json, true)
        }
    }
}

fn output(
    records: &[AliasRecord],
    short_ids: &ShortIds,
    json: bool,
    history: bool,
) -> anyhow::Result<()> {
    if json {
        return print(&format!("{}\n", serde_json::to_string_pretty(records)?));
    }
    if records.is_empty() {
        eprintln!("no aliases; `pipeline alias set NAME RUN` creates one");
        return Ok(());
    }
    let mut header = vec!["alias", "run", "since"];
    if history {
        header.push("until");
    }
    let mut table = format::table(&header);
    for r in records {
        let mut row = vec![r.name.clone(), short_ids.get(&r.run_id), r.set_at.clone()];
        if history {
            row.push(r.unset_at.clone().unwrap_or_else(|| "now".to_owned()));
        }
        table.add_row(row);
    }
    print(&format!("{}\n", format::render(&table)))
}
