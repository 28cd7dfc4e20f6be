//! `pipeline compare A B [C …]`: the spec keys that differ, each run's
//! metrics on train/validation/test at its best epoch, the generalization
//! gaps, best against last epoch, an overfitting verdict, whether each run
//! reproduces the first, and the learning curves; on request also as an
//! HTML report (`--report`) and a chart file (`--plot`). The comparison is
//! built once (`report.rs`); `--json` prints it and every other output
//! renders it.

mod differences;
mod files;
mod report;
mod reproducibility;
mod sections;

use pipeline_registry::{Epochs, Registry, RunRecord};

use crate::cli::CompareArgs;
use crate::commands::shared::{Context, print};
use crate::exit::UserError;
use crate::output::chart::{Series, line_chart};
use crate::output::document::Section;

use files::PlotFormat;
use report::CompareReport;

const SPLITS: [&str; 3] = ["train", "validation", "test"];

pub fn compare(context: &Context, args: CompareArgs) -> anyhow::Result<()> {
    // A bad --plot name is reported before any work.
    let plot = match &args.plot {
        Some(path) => Some((path, PlotFormat::of_path(path)?)),
        None => None,
    };
    let registry = context.registry_to_read()?;
    let records: Vec<RunRecord> = match (&args.experiment, args.runs.is_empty()) {
        (Some(experiment), true) => ranked(context, &registry, experiment)?,
        _ => args
            .runs
            .iter()
            .map(|selector| {
                context.run_record(
                    &registry,
                    selector,
                    args.experiment.as_deref(),
                    Epochs::Losses,
                )
            })
            .collect::<anyhow::Result<_>>()?,
    };
    if !context.global.quiet {
        for warning in caveats(&records) {
            eprintln!("warning: {warning}");
        }
    }
    let comparison = CompareReport::new(&registry, &records, &context.short_ids(&registry)?);

    let wrote = |what: &str, path: &std::path::Path| {
        if !context.global.quiet {
            eprintln!("wrote {what} to {}", path.display());
        }
    };
    if let Some(path) = &args.report {
        files::write_report(&comparison, path, &context.registry_files())?;
        wrote("the report", path);
    }
    if let Some((path, format)) = plot {
        files::write_plot(&comparison, path, format, &context.registry_files())?;
        wrote("the learning curves", path);
    }
    if args.json {
        return print(&format!("{}\n", serde_json::to_string_pretty(&comparison)?));
    }
    print(&text(&comparison))
}

/// What a reader of the comparison must know first: a run named twice, or
/// runs of different experiments, whose losses and metrics need not measure
/// the same thing.
fn caveats(records: &[RunRecord]) -> Vec<String> {
    let mut caveats = Vec::new();
    for (i, record) in records.iter().enumerate() {
        if let Some(j) = records[..i].iter().position(|r| r.id == record.id) {
            caveats.push(format!(
                "{} and {} are the same run ({})",
                label(j),
                label(i),
                record.id
            ));
        }
    }
    let mut experiments: Vec<&str> = records.iter().map(|r| r.experiment.as_str()).collect();
    experiments.sort_unstable();
    experiments.dedup();
    if experiments.len() > 1 {
        caveats.push(format!(
            "the runs belong to {} experiments ({}): their losses and metrics may not measure \
             the same thing",
            experiments.len(),
            experiments.join(", ")
        ));
    }
    caveats
}

/// Every completed run of `experiment`, best first by its selection metric.
fn ranked(
    context: &Context,
    registry: &Registry,
    experiment: &str,
) -> anyhow::Result<Vec<RunRecord>> {
    let ranked = context.block_on(registry.ranked_runs(experiment))?;
    if ranked.len() < 2 {
        return Err(UserError::error(
            format!(
                "experiment {experiment:?} has {} completed run(s), cross-validation folds \
                 aside; a comparison needs two",
                ranked.len()
            ),
            Some(
                "`pipeline runs` lists the experiments and their runs; name runs to compare \
                 folds (`pipeline compare RUN RUN`)",
            ),
        ));
    }
    ranked
        .iter()
        .map(|id| {
            context
                .block_on(registry.run_with(id, Epochs::Losses))
                .map_err(anyhow::Error::from)
        })
        .collect()
}

/// The run's column name: `A`, `B`, …
fn label(index: usize) -> String {
    char::from(b'A' + (index % 26) as u8).to_string()
}

/// The text output: the sections, then a terminal chart per run.
fn text(comparison: &CompareReport) -> String {
    let mut out = sections::sections(comparison)
        .iter()
        .map(Section::text)
        .collect::<Vec<_>>()
        .join("\n");
    out.push_str("\nlearning curves\n");
    for (index, r) in comparison.runs.iter().enumerate() {
        let title = format!("{}  {}  loss", label(index), r.short_id);
        out.push_str(&line_chart(
            &title,
            &[
                Series {
                    label: "train",
                    glyph: '·',
                    points: &r.curves.train_loss,
                },
                Series {
                    label: "validation",
                    glyph: '•',
                    points: &r.curves.validation_loss,
                },
            ],
            60,
            10,
        ));
        out.push('\n');
    }
    out
}
