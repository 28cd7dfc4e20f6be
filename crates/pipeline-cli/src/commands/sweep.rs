//! `pipeline sweep show SWEEP`: a sweep's space, state and trials ranked by
//! its metric, the cross-validation of its best trials when `sweep confirm`
//! recorded one (`output/sweep_report.rs` builds and renders it).

use crate::cli::SweepShowArgs;
use crate::commands::shared::{Context, print};
use crate::output::sweep_report::{render, report};

pub fn show(context: &Context, args: SweepShowArgs) -> anyhow::Result<()> {
    let registry = context.registry_to_read()?;
    let id = context.block_on(registry.resolve_sweep(&args.sweep))?;
    let sweep = context.block_on(registry.sweep(&id))?;
    // A table shows the best TABLE_ROWS unless --top says (0: all); JSON
    // every trial unless --top says.
    let top = match (args.top, args.json) {
        (Some(0), _) | (None, true) => None,
        (Some(n), _) => Some(n),
        (None, false) => Some(TABLE_ROWS),
    };
    let report = report(&sweep, top);
    if args.json {
        return print(&format!("{}\n", serde_json::to_string_pretty(&report)?));
    }
    print(&render(&report))?;
    let hidden = sweep.trials.len().saturating_sub(report.trials.len());
    if args.top.is_none() && hidden > 0 && !context.global.quiet {
        eprintln!(
            "{hidden} more trial(s); the best {TABLE_ROWS} are shown (--top N for more, --top 0 for all)"
        );
    }
    Ok(())
}

/// Trials in the table when `--top` is not given.
const TABLE_ROWS: usize = 50;
