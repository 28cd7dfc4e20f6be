//! `pipeline compare A B [C …]`: the spec keys that differ, each run's
//! metrics on train/validation/test at its best epoch, the generalization
//! gaps, best against last epoch, an overfitting verdict, whether each run
//! reproduces the first, and the learning curves; on request also as an
//! HTML report (`--report`) and a chart file (`--plot`).

mod differences;
mod files;
mod json;
mod reproducibility;
mod sections;

use pipeline_registry::{ArtifactKind, Epochs, Registry, RunRecord};
use pipeline_train::generalization::{Verdict, assess};

use crate::cli::CompareArgs;
use crate::commands::curves::{curve, final_metric, loss_curve};
use crate::commands::shared::{Context, print, short_id};
use crate::exit::UserError;
use crate::output::chart::{Series, line_chart};
use crate::output::document::Section;

use differences::{Difference, spec_differences};
use files::PlotFormat;
use reproducibility::{Reproduction, Weights};

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
    let comparison = Comparison::new(&registry, records);

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
        return print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&json::to_json(&comparison))?
        ));
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

/// Everything compare shows, computed once for every output.
struct Comparison {
    records: Vec<RunRecord>,
    differences: Vec<Difference>,
    verdicts: Vec<Verdict>,
    /// Each run after the first against the first.
    reproductions: Vec<Reproduction>,
}

impl Comparison {
    fn new(registry: &Registry, records: Vec<RunRecord>) -> Comparison {
        let weights: Vec<Weights> = records
            .iter()
            .enumerate()
            .map(|(index, r)| weights(registry, r, &label(index)))
            .collect();
        let reproductions = match (records.first(), weights.first()) {
            (Some(first), Some(first_weights)) => records
                .iter()
                .zip(&weights)
                .skip(1)
                .map(|other| Reproduction::check((first, first_weights), other))
                .collect(),
            _ => Vec::new(),
        };
        Comparison {
            differences: spec_differences(&records),
            verdicts: records.iter().map(|r| assess(&loss_curve(r))).collect(),
            reproductions,
            records,
        }
    }
}

/// The digest of the run's weights, read from its artifact with the
/// file's checksum verified (so a file changed since the run is reported).
fn weights(registry: &Registry, record: &RunRecord, label: &str) -> Weights {
    let artifact = record
        .artifact(ArtifactKind::Weights)
        .ok_or_else(|| format!("{label} has no weights"))?;
    let bytes = registry
        .read_verified(artifact)
        .map_err(|e| format!("{label}: {e}"))?;
    pipeline_model::weights_digest(&bytes).map_err(|e| format!("{label}'s weights: {e}"))
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

/// Validation − train and test − train loss at the best epoch.
fn gaps(r: &RunRecord) -> (Option<f64>, Option<f64>) {
    let loss = |split| final_metric(r, split, "loss");
    let train = loss("train");
    (
        loss("validation").zip(train).map(|(v, t)| v - t),
        loss("test").zip(train).map(|(v, t)| v - t),
    )
}

/// The text output: the sections, then a terminal chart per run.
fn text(comparison: &Comparison) -> String {
    let mut out = sections::sections(comparison)
        .iter()
        .map(Section::text)
        .collect::<Vec<_>>()
        .join("\n");
    out.push_str("\nlearning curves\n");
    for (index, r) in comparison.records.iter().enumerate() {
        let train = curve(r, "train", "loss");
        let validation = curve(r, "validation", "loss");
        let title = format!("{}  {}  loss", label(index), short_id(r.id.as_str()));
        out.push_str(&line_chart(
            &title,
            &[
                Series {
                    label: "train",
                    glyph: '·',
                    points: &train,
                },
                Series {
                    label: "validation",
                    glyph: '•',
                    points: &validation,
                },
            ],
            60,
            10,
        ));
        out.push('\n');
    }
    out
}
