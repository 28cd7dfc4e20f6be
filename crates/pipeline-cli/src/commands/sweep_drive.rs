//! Driving a sweep from the command line, for `run` (a spec with
//! `[sweep]`), `sweep resume` and `sweep retry`: signals, a line per trial
//! on stderr, the ranked trials on stdout (or JSON), the exit code.

use std::process::ExitCode;

use pipeline_registry::{Registry, SweepId, SweepRecord};
use pipeline_sweep::{Options, Swept};

use crate::commands::shared::{Context, install_signal_handlers, print, sweep_error};
use crate::exit;
use crate::output::format::number;
use crate::output::sweep_progress::SweepConsole;
use crate::output::sweep_report::report;

/// Trains sweep `id`'s trials as `options` say and reports them.
pub fn drive(
    context: &Context,
    registry: &Registry,
    id: &SweepId,
    options: &Options,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let stop = install_signal_handlers()?;
    let store = context.store(registry);
    let record = context.block_on(registry.sweep(id))?;
    let console = SweepConsole {
        quiet: context.global.quiet,
        metric: record.metric.clone(),
    };
    let swept = pipeline_sweep::run(store, id, options, &stop, &console).map_err(sweep_error)?;
    let record = context.block_on(registry.sweep(id))?;
    let short = record.short_id.clone();
    summarize(context, &record, json)?;
    Ok(match swept {
        Swept::Finished => ExitCode::SUCCESS,
        Swept::FailedFast => {
            eprintln!("error: a trial failed and --fail-fast stopped the sweep");
            eprintln!(
                "hint: see why with `pipeline sweep show {short}`; continue with \
                 `pipeline sweep resume {short}`"
            );
            ExitCode::from(exit::FAILURE)
        }
        Swept::Interrupted => {
            eprintln!("sweep {short} interrupted: `pipeline sweep resume {short}` continues it");
            ExitCode::from(exit::INTERRUPTED)
        }
    })
}

/// The sweep's outcome: on stderr a line of counts and the best trial, and
/// the next commands; on stdout (`--json`) the sweep as `sweep show --json`
/// prints it.
fn summarize(context: &Context, record: &SweepRecord, json: bool) -> anyhow::Result<()> {
    if json {
        print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&report(record, None))?
        ))?;
    }
    if context.global.quiet {
        return Ok(());
    }
    let counts = record.counts();
    let short = &record.short_id;
    let mut line = format!(
        "sweep {short}: {}/{} trials ended ({} completed, {} pruned, {} failed)",
        counts.ended(),
        record.budget,
        counts.completed,
        counts.pruned,
        counts.failed
    );
    if let Some(best) = record.best() {
        let value = best.value.map_or_else(|| "-".to_owned(), number);
        let run = best.run_short_id.as_deref().unwrap_or("-");
        line.push_str(&format!(
            "; best {} {value}: trial #{} (run {run})",
            record.metric, best.number
        ));
    }
    eprintln!("{line}");
    eprintln!(
        "the trials: pipeline sweep show {short}; the winner's curse: pipeline sweep confirm {short}"
    );
    Ok(())
}
