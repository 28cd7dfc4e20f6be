//! `pipeline archive RUN... | --where EXPR [--undo] [--json]`: hides runs
//! from `runs`, `latest`, `best` and rankings without deleting anything
//! (`pipeline_registry::Registry::set_archived`); `--undo` brings them
//! back. Reversible, so it asks nothing.

use pipeline_registry::{ArchivedRuns, RunId};
use serde::Serialize;

use crate::cli::ArchiveArgs;
use crate::commands::selection::selected_runs;
use pipeline_registry::ShortIds;

use crate::commands::shared::{Context, print};

pub fn archive(context: &Context, args: ArchiveArgs) -> anyhow::Result<()> {
    let registry = context.existing_registry()?;
    let (among, verb) = if args.undo {
        (ArchivedRuns::Only, "archive --undo")
    } else {
        (ArchivedRuns::Hidden, "archive")
    };
    let ids = selected_runs(context, &registry, &args.selection, among, verb)?;
    let changed = context.block_on(registry.set_archived(&ids, !args.undo))?;
    let report = ArchiveReport::new(!args.undo, &ids, changed);
    if args.json {
        print(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
    }
    if !context.global.quiet {
        eprintln!("{}", report.summary(&context.short_ids(&registry)?));
    }
    Ok(())
}

/// What `archive` changed: `--json` prints it, the summary reads it.
#[derive(Debug, Serialize)]
struct ArchiveReport {
    /// True: the runs were archived; false: brought back (`--undo`).
    archived: bool,
    /// The runs whose state changed.
    runs: Vec<RunId>,
    /// The runs named that were already in that state.
    unchanged: Vec<RunId>,
}

impl ArchiveReport {
    fn new(archived: bool, named: &[RunId], changed: Vec<RunId>) -> ArchiveReport {
        let mut unchanged: Vec<RunId> = Vec::new();
        for id in named {
            if !changed.contains(id) && !unchanged.contains(id) {
                unchanged.push(id.clone());
            }
        }
        ArchiveReport {
            archived,
            runs: changed,
            unchanged,
        }
    }

    /// What changed, in a sentence, and how to see or undo it.
    fn summary(&self, short_ids: &ShortIds) -> String {
        let ids = |runs: &[RunId]| {
            runs.iter()
                .map(|id| short_ids.get(id))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let count = |n: usize| format!("{n} run{}", if n == 1 { "" } else { "s" });
        let (done, already) = if self.archived {
            ("archived", "already archived")
        } else {
            ("brought back", "not archived")
        };
        let mut text = if self.runs.is_empty() {
            format!("no run {done}")
        } else {
            format!("{done} {}: {}", count(self.runs.len()), ids(&self.runs))
        };
        if !self.unchanged.is_empty() {
            text.push_str(&format!(
                "; {} {already}: {}",
                count(self.unchanged.len()),
                ids(&self.unchanged)
            ));
        }
        if self.archived && !self.runs.is_empty() {
            text.push_str(
                "\nhint: `pipeline runs --archived` lists archived runs; \
                 `pipeline archive --undo RUN` brings one back",
            );
        }
        text
    }
}
