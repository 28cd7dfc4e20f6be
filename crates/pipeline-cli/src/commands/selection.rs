//! The runs `rm` and `archive` act on: named one by one (ids, prefixes,
//! aliases, `latest`, `best`), or selected by the filters of `pipeline runs`
//! (`--where`, `--tag`, `--status`, `--experiment`).

use pipeline_registry::{ArchivedRuns, Registry, RunFilter, RunId};

use crate::cli::RunSelectionArgs;
use crate::commands::shared::{Context, parse_status};
use crate::exit::UserError;

/// The ids the selection names, in the order named (a filter: newest
/// first); `archived` says which runs a filter looks among.
pub fn selected_runs(
    context: &Context,
    registry: &Registry,
    args: &RunSelectionArgs,
    archived: ArchivedRuns,
    verb: &str,
) -> anyhow::Result<Vec<RunId>> {
    if !args.runs.is_empty() {
        return args
            .runs
            .iter()
            .map(|run| context.run_id(registry, run, args.experiment.as_deref()))
            .collect();
    }
    let filtered = args.experiment.is_some()
        || args.status.is_some()
        || !args.tags.is_empty()
        || args.condition.is_some()
        || archived == ArchivedRuns::Only;
    if !filtered {
        return Err(UserError::error(
            format!("no runs to {verb}: name them, or select them with a filter"),
            Some(&format!(
                "`pipeline {verb} RUN...` (ids, aliases, `latest`), or `pipeline {verb} --where \
                 \"val_loss > 100\"` (also --tag, --status, --experiment)"
            )),
        ));
    }
    let status = match &args.status {
        None => None,
        Some(word) => Some(parse_status(word)?),
    };
    let filter = RunFilter {
        experiment: args.experiment.clone(),
        status,
        tags: args.tags.clone(),
        condition: args.condition.clone(),
        archived,
        ..RunFilter::default()
    };
    let runs = context.block_on(registry.list_runs(&filter))?;
    Ok(runs.into_iter().map(|run| run.id).collect())
}
