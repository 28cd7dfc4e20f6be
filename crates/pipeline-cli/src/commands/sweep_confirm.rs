//! `pipeline sweep confirm SWEEP --top K --folds F`: the winner's curse.
//! The best of many trials on one validation split is optimistic; the top
//! K completed trials are trained again with F-fold cross-validation (each
//! fold a run, tagged with the sweep) and ranked by their mean, which
//! `sweep show` puts beside the validation and test scores.

use std::process::ExitCode;

use pipeline_run::{RunError, RunSummary, Started, Watcher, WatcherError, check_request};
use pipeline_sweep::confirm;
use pipeline_train::Observer;

use crate::cli::SweepConfirmArgs;
use crate::commands::shared::{Context, install_signal_handlers, print, sweep_error};
use crate::exit;
use crate::output::format::{self, number};

pub fn run(context: &Context, args: SweepConfirmArgs) -> anyhow::Result<ExitCode> {
    check_request(args.folds, 1)?;
    let registry = context.existing_registry()?;
    let id = context.block_on(registry.resolve_sweep(&args.sweep))?;
    let record = context.block_on(registry.sweep(&id))?;
    let short = record.short_id.clone();
    if !context.global.quiet {
        eprintln!(
            "sweep {short}: cross-validating the {} best completed trials with {} folds each",
            args.top, args.folds
        );
    }
    let stop = install_signal_handlers()?;
    let mut folds = Folds {
        quiet: context.global.quiet,
    };
    let store = context.store(&registry);
    let mut confirmed =
        confirm(store, &id, args.top, args.folds, &stop, &mut folds).map_err(sweep_error)?;
    let lower = !record.higher_is_better;
    confirmed.sort_by(|a, b| match (a.mean, b.mean) {
        (Some(x), Some(y)) if lower => x.total_cmp(&y),
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.number.cmp(&b.number),
    });
    if args.json {
        print(&format!("{}\n", serde_json::to_string_pretty(&confirmed)?))?;
    } else {
        let metric = &record.metric;
        let mut table = format::table(&[
            "rank",
            "trial",
            &format!("{metric} (one split)"),
            &format!("{metric} cross-validated"),
            "std",
            "test",
        ]);
        let value = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), number);
        for (rank, c) in confirmed.iter().enumerate() {
            table.add_row(vec![
                (rank + 1).to_string(),
                format!("#{}", c.number),
                value(c.validation),
                value(c.mean),
                value(c.std),
                value(c.test),
            ]);
        }
        format::align_numbers(&mut table, 2);
        print(&format!("{}\n", format::render(&table)))?;
    }
    if stop.load(std::sync::atomic::Ordering::Relaxed) {
        return Ok(ExitCode::from(exit::INTERRUPTED));
    }
    if !context.global.quiet {
        eprintln!("the winner against its cross-validation: pipeline sweep show {short}");
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per fold as it starts and ends (the folds of one trial train
/// one after the other).
struct Folds {
    quiet: bool,
}

impl Observer for Folds {}

impl Watcher for Folds {
    fn started(&mut self, run: &Started<'_>) {
        if let (false, Some(fold)) = (self.quiet, run.spec.data.cross_validation) {
            eprint!("  {fold} ");
        }
    }

    fn completed(&mut self, summary: &RunSummary) -> Result<(), WatcherError> {
        if !self.quiet {
            eprintln!("completed in {}", format::duration(summary.seconds));
        }
        Ok(())
    }

    fn failed(&mut self, _id: &pipeline_registry::RunId, error: &RunError) {
        eprintln!("failed: {error}");
    }
}
