//! Runs training on the console: the run library's [`Watcher`] of the CLI
//! (the progress display, each run's lines on stderr, its summary on
//! stdout as a table or a JSON line), and the pitfalls warned of before.

use pipeline_registry::RunId;
use pipeline_run::{
    CheckpointFailing, Killed, Planned, RunError, RunSummary, Started, Trained, Verdict, Watcher,
    WatcherError, chain_text,
};
use pipeline_spec::{MetricName, SplitName};
use pipeline_train::observer::ObserverResult;
use pipeline_train::{EpochRecord, Observer, Plan, TrainingState};

use crate::cli::GlobalArgs;
use crate::output::classes::ClassTable;
use crate::output::color::{self, Paint};
use crate::output::format::{self, number};
use crate::output::print;
use crate::output::progress::Progress;

/// What the console prints on stdout as each run completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutput {
    /// The run's summary table.
    Text,
    /// The run's summary as JSON.
    Json,
    /// Nothing: the caller reports the runs (a line per run on stderr).
    Collected,
}

impl RunOutput {
    /// `Json` with `--json`, else `Text`.
    pub fn of(json: bool) -> RunOutput {
        if json {
            RunOutput::Json
        } else {
            RunOutput::Text
        }
    }
}

/// The CLI's watcher of runs (see the module doc); `-q` leaves the errors,
/// the warnings and the killed runs.
pub struct Console {
    quiet: bool,
    every_epoch: bool,
    output: RunOutput,
    /// The run in training's progress display.
    progress: Option<Progress>,
    /// `fold 2/5: ` for a fold of a cross-validation.
    fold: String,
}

impl Console {
    pub fn new(global: &GlobalArgs, output: RunOutput) -> Console {
        Console {
            quiet: global.quiet,
            every_epoch: global.verbose > 0,
            output,
            progress: None,
            fold: String::new(),
        }
    }
}

/// Prints the pitfalls of a plan on stderr, each with its hint; `from` says
/// which plan when there are several.
pub fn warn_pitfalls(plan: &Planned, from: &str) {
    for pitfall in plan.pitfalls() {
        let text = format!(
            "warning{from}: {}\n  hint: {}",
            pitfall.message, pitfall.hint
        );
        eprintln!("{}", color::prefixes(&text));
    }
}

/// Says which runs of a queue failed, when some did and none was
/// interrupted.
pub fn report_failures(trained: &Trained) {
    let failed = trained.failed();
    if trained.verdict == Verdict::Failed && !failed.is_empty() {
        eprintln!(
            "{} of {} runs failed: {}",
            failed.len(),
            trained.runs.len(),
            join_ids(failed)
        );
    }
}

fn join_ids<'a>(ids: impl IntoIterator<Item = &'a RunId>) -> String {
    ids.into_iter()
        .map(RunId::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Observer for Console {
    fn on_start(&mut self, plan: &Plan) {
        if let Some(progress) = &mut self.progress {
            progress.on_start(plan);
        }
    }

    fn on_batch(&mut self, epoch: u32, batch: usize) {
        if let Some(progress) = &mut self.progress {
            progress.on_batch(epoch, batch);
        }
    }

    fn on_epoch(&mut self, record: &EpochRecord) -> ObserverResult {
        match &mut self.progress {
            Some(progress) => progress.on_epoch(record),
            None => Ok(()),
        }
    }

    fn on_checkpoint(&mut self, state: &TrainingState) -> ObserverResult {
        match &mut self.progress {
            Some(progress) => progress.on_checkpoint(state),
            None => Ok(()),
        }
    }
}

impl Watcher for Console {
    fn queued(&mut self, ids: &[RunId]) {
        if !self.quiet {
            eprintln!("queued {} runs: {}", ids.len(), join_ids(ids));
        }
    }

    fn started(&mut self, run: &Started<'_>) {
        let spec = run.spec;
        self.fold = spec
            .data
            .cross_validation
            .map(|cv| format!("{cv}: "))
            .unwrap_or_default();
        if !self.quiet && !run.resumed {
            eprintln!(
                "{}run {}: training {} ({} parameters; {} train / {} validation / {} test rows)",
                self.fold,
                run.id,
                spec.name,
                run.parameters,
                run.sizes.train,
                run.sizes.validation,
                run.sizes.test
            );
        }
        self.progress = Some(Progress::new(
            self.quiet,
            self.every_epoch,
            spec.train.monitor,
        ));
    }

    fn trained(&mut self) {
        if let Some(progress) = self.progress.take() {
            progress.finish();
        }
    }

    fn checkpoint_failing(&mut self, failing: &CheckpointFailing<'_>) {
        let last = match failing.last_saved {
            0 => "none yet".to_string(),
            epoch => format!("epoch {epoch}"),
        };
        let text = format!(
            "warning: run {}: cannot save the checkpoint of epoch {}: {}\n  training goes on \
             and tries again every {} s; the last saved checkpoint is {last}\n  hint: free \
             space where the registry keeps its artifacts",
            failing.id, failing.epoch, failing.error, failing.retry_seconds
        );
        eprintln!("{}", color::prefixes(&text));
    }

    fn killed(&mut self, killed: &Killed<'_>) {
        let (id, message) = (killed.id, killed.message);
        if !killed.started {
            eprintln!("run {id} {}: {message}", color::status_err("killed"));
            return;
        }
        let kept = killed
            .kept_best
            .map(|best| format!("; the best epoch's weights (epoch {best}) are kept"))
            .unwrap_or_default();
        eprintln!(
            "run {id} {}: {message}; its finished epochs are kept{kept}",
            color::status_err("killed")
        );
        if let Some(from) = killed.resume_from
            && !self.quiet
        {
            eprintln!(
                "{} continue it with `pipeline resume {id}` (from epoch {from})",
                color::hint()
            );
        }
    }

    fn completed(&mut self, summary: &RunSummary) -> Result<(), WatcherError> {
        match self.output {
            RunOutput::Text => print(&summary_text(summary))?,
            // One line per run: several specs give JSON Lines.
            RunOutput::Json => print(&format!("{}\n", serde_json::to_string(summary)?))?,
            RunOutput::Collected if !self.quiet => {
                eprintln!("{}{}", self.fold, headline(summary, color::err));
            }
            RunOutput::Collected => {}
        }
        Ok(())
    }

    fn failed(&mut self, _id: &RunId, error: &RunError) {
        eprintln!("{} {}", color::error(), chain_text(error));
    }
}

/// One line: the run, how it stopped, its best epoch and time; `paint`
/// colours for the stream it goes to.
fn headline(summary: &RunSummary, paint: fn(Paint, &str) -> String) -> String {
    let best = summary.best_epoch.unwrap_or(0);
    format!(
        "run {}  {}  {}: {}, {} by {}, {}",
        summary.id,
        summary.experiment,
        paint(Paint::Good, "completed"),
        summary.stop(),
        paint(Paint::Best, &format!("best epoch {best}")),
        summary.monitor,
        format::duration(summary.seconds)
    )
}

/// The headline, each split's metrics and a classification run's test
/// split per class.
fn summary_text(summary: &RunSummary) -> String {
    let mut out = format!("{}\n", headline(summary, color::out));
    let metrics = &summary.metrics;
    let names: Vec<MetricName> = metrics.train.iter().map(|(name, _)| name).collect();
    let mut header = vec!["split"];
    header.extend(names.iter().map(|name| name.as_str()));
    let mut table = format::table(&header);
    for split in SplitName::ALL {
        let m = metrics.get(split);
        let mut row = vec![split.to_string()];
        row.extend(
            names
                .iter()
                .map(|&name| m.get(name).map_or("-".into(), number)),
        );
        table.add_row(row);
    }
    format::align_numbers(&mut table, 1);
    out.push_str(&format::render(&table));
    out.push('\n');
    if let (Some(reports), Some(classes)) = (&summary.reports, summary.classes.as_deref()) {
        let test = ClassTable::from_report(&reports.test, classes);
        out.push_str(&test.render("test split"));
    }
    out
}
