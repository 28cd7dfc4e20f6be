//! `pipeline rm RUN... | --where EXPR [--yes] [--dry-run] [--force] [--json]`:
//! deletes runs, rows first then artifacts (`pipeline_registry::Registry::
//! remove_runs`). What will go is listed first (count, runs, experiments,
//! bytes freed); at a terminal it asks `[y/N]` on stderr, elsewhere it
//! refuses without `--yes`. Runs in progress are refused, and runs an alias
//! names unless `--force`, before anything is asked.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use pipeline_registry::{ArchivedRuns, RunToRemove};
use serde::Serialize;

use crate::cli::RmArgs;
use crate::commands::selection::selected_runs;
use pipeline_registry::ShortIds;

use crate::commands::shared::{Context, print};
use crate::exit::UserError;
use crate::output::format::{self, human_bytes};

pub fn rm(context: &Context, args: RmArgs) -> anyhow::Result<()> {
    let registry = context.existing_registry()?;
    let archived = if args.archived {
        ArchivedRuns::Only
    } else {
        ArchivedRuns::Hidden
    };
    let ids = selected_runs(context, &registry, &args.selection, archived, "rm")?;
    let runs = context.block_on(registry.runs_to_remove(&ids))?;
    // Before the rows go: a deleted run has no short id.
    let short_ids = context.short_ids(&registry)?;
    if runs.is_empty() {
        if args.json {
            print(&format!(
                "{}\n",
                serde_json::to_string_pretty(&RmReport::new(false, runs, Vec::new()))?
            ))?;
        }
        eprintln!("no runs match; nothing deleted");
        return Ok(());
    }
    if let Some(refusal) = runs.iter().find_map(|run| run.refusal(args.force)) {
        return Err(refusal.into());
    }
    let planned = RmReport::new(false, runs, Vec::new());
    if args.dry_run {
        if args.json {
            print(&format!("{}\n", serde_json::to_string_pretty(&planned)?))?;
        } else {
            print(&planned.listing(&short_ids))?;
        }
        eprintln!("dry run: nothing deleted");
        return Ok(());
    }
    if !args.yes && !confirmed(&planned, &short_ids)? {
        eprintln!("nothing deleted");
        return Ok(());
    }
    let ids: Vec<_> = planned.runs.iter().map(|run| run.id.clone()).collect();
    let removal = context.block_on(registry.remove_runs(&ids, args.force))?;
    let mut left_behind = Vec::new();
    for (path, error) in &removal.left_behind {
        eprintln!("warning: cannot remove {}: {error}", path.display());
        left_behind.push(path.display().to_string());
    }
    if !left_behind.is_empty() {
        eprintln!("hint: `pipeline gc --force` removes what is left once it can be");
    }
    let done = RmReport::new(true, planned.runs, left_behind);
    if args.json {
        print(&format!("{}\n", serde_json::to_string_pretty(&done)?))?;
    }
    if !context.global.quiet {
        eprintln!("{}", done.summary());
    }
    Ok(())
}

/// Whether the user said yes to deleting `planned`: asked on stderr at a
/// terminal; off a terminal, a refusal that names `--yes`.
fn confirmed(planned: &RmReport, short_ids: &ShortIds) -> anyhow::Result<bool> {
    eprint!("{}", planned.listing(short_ids));
    let count = planned.runs.len();
    let what = runs_word(count);
    if !std::io::stdin().is_terminal() {
        return Err(UserError::error(
            format!(
                "refusing to delete {count} {what} without confirmation: stdin is not a terminal"
            ),
            Some("add --yes to delete them (--dry-run only lists them)"),
        ));
    }
    eprint!(
        "delete {count} {what} and {} of artifacts? [y/N] ",
        human_bytes(planned.bytes)
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(is_yes(&answer))
}

/// `y` or `yes`, in any case; anything else (an empty line too) is no.
fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

fn runs_word(count: usize) -> &'static str {
    if count == 1 { "run" } else { "runs" }
}

/// What `rm` deleted (or, `deleted: false`, would delete): `--json` prints
/// it, the listing and the summary read it.
#[derive(Debug, Serialize)]
struct RmReport {
    /// False for `--dry-run` (and when nothing matched).
    deleted: bool,
    count: usize,
    /// Bytes of the runs' artifact folders.
    bytes: u64,
    /// The experiments the runs belong to, sorted.
    experiments: Vec<String>,
    runs: Vec<RunToRemove>,
    /// Artifact folders that could not be removed (`pipeline gc` finds them).
    left_behind: Vec<String>,
}

impl RmReport {
    fn new(deleted: bool, runs: Vec<RunToRemove>, left_behind: Vec<String>) -> RmReport {
        let mut experiments: Vec<String> = runs.iter().map(|r| r.experiment.clone()).collect();
        experiments.sort();
        experiments.dedup();
        RmReport {
            deleted,
            count: runs.len(),
            bytes: runs.iter().map(|r| r.bytes).sum(),
            experiments,
            runs,
            left_behind,
        }
    }

    /// The runs as a table, then a line: count, experiments, bytes
    /// (`2 runs in diabetes-mlp, iris (8.4 KiB of artifacts)`).
    fn listing(&self, short_ids: &ShortIds) -> String {
        let mut table = format::table(&["id", "experiment", "status", "artifacts", "aliases"]);
        for run in &self.runs {
            table.add_row(vec![
                short_ids.get(&run.id),
                run.experiment.clone(),
                run.status.to_string(),
                human_bytes(run.bytes),
                run.aliases.join(", "),
            ]);
        }
        format!(
            "{}\n{} {} in {} ({} of artifacts)\n",
            format::render(&table),
            self.count,
            runs_word(self.count),
            self.experiments.join(", "),
            human_bytes(self.bytes)
        )
    }

    /// What was deleted, in a sentence.
    fn summary(&self) -> String {
        format!(
            "deleted {} {} ({} of artifacts freed)",
            self.count,
            runs_word(self.count),
            human_bytes(self.bytes)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::is_yes;

    #[test]
    fn only_yes_confirms() {
        for yes in ["y\n", "Y\n", "yes\n", " YES \n"] {
            assert!(is_yes(yes), "{yes:?}");
        }
        for no in ["\n", "", "n\n", "no\n", "yess\n", "oui\n"] {
            assert!(!is_yes(no), "{no:?}");
        }
    }
}
