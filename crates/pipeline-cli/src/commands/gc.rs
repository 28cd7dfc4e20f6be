//! `pipeline gc [--force] [--json]`: the files under the registry's
//! `artifacts/` that no run owns (see `pipeline_registry::Unowned`), listed
//! on stdout; `--force` removes them. Listing is the default, as `git clean`
//! refuses to delete without `-f`: a removal cannot be undone, and gc is run
//! to see first what a crash left behind. Queued and running runs' folders
//! are never touched.

use pipeline_registry::Unowned;
use serde::Serialize;

use crate::cli::GcArgs;
use crate::commands::shared::{Context, print};
use crate::output::format::{self, human_bytes};

pub fn gc(context: &Context, args: GcArgs) -> anyhow::Result<()> {
    let registry = context.existing_registry()?;
    let unowned = context.block_on(registry.unowned_artifacts())?;
    let listed = if args.force {
        context.block_on(registry.remove_unowned(&unowned))?
    } else {
        unowned
    };
    let report = GcReport::new(args.force, listed);
    if args.json {
        print(&format!("{}\n", serde_json::to_string(&report)?))?;
    } else if !report.entries.is_empty() {
        print(&text(&report.entries))?;
    }
    if !context.global.quiet {
        eprintln!("{}", report.summary());
    }
    Ok(())
}

/// What gc listed or removed: `--json` prints it, the table and the
/// summary on stderr read it.
#[derive(Debug, Serialize)]
struct GcReport {
    /// Whether the entries were removed (`--force`) or only listed.
    removed: bool,
    /// Their size in all.
    bytes: u64,
    entries: Vec<Unowned>,
}

impl GcReport {
    fn new(removed: bool, entries: Vec<Unowned>) -> GcReport {
        GcReport {
            removed,
            bytes: entries.iter().map(|u| u.bytes).sum(),
            entries,
        }
    }

    /// What was found and done, in a sentence (and a hint).
    fn summary(&self) -> String {
        let count = self.entries.len();
        let what = format!(
            "{count} {} ({})",
            if count == 1 { "entry" } else { "entries" },
            human_bytes(self.bytes)
        );
        match (count == 0, self.removed) {
            (true, _) => "nothing under artifacts/ is unowned".to_owned(),
            (false, true) => format!("removed {what} that no run owned"),
            (false, false) => format!(
                "{what} that no run owns; nothing removed\nhint: `pipeline gc --force` removes them"
            ),
        }
    }
}

/// One row per entry: path, size, why nothing owns it.
fn text(listed: &[Unowned]) -> String {
    let mut table = format::table(&["path", "size", "reason"]);
    for entry in listed {
        table.add_row(vec![
            entry.path.clone(),
            human_bytes(entry.bytes),
            entry.reason.describe().to_string(),
        ]);
    }
    format!("{}\n", format::render(&table))
}
