//! `pipeline compare A B [C …]`: first a ranked table (one row per run,
//! best first, the differing spec keys as columns), then, for two runs or
//! on request (`--metrics`, `--details`), the spec differences with layers
//! aligned, each run's metrics on train/validation/test at its best epoch,
//! the generalization gaps, reproducibility where runs are reruns of one
//! spec, and the learning curves; on request also as an HTML report
//! (`--report`) and a chart file (`--plot`, legends by what differs).
//! `--top N` keeps the N best runs. The comparison is built once
//! (`report.rs`); `--json` prints it and every other output renders it.

mod align;
mod differences;
mod files;
mod legend;
mod ranked;
mod report;
mod reproducibility;
mod sections;
mod sweep;

use pipeline_registry::{Epochs, Registry, RunRecord};
use pipeline_spec::MetricName;

use crate::cli::CompareArgs;
use crate::commands::shared::{Context, print};
use crate::exit::UserError;
use crate::output::chart::{Series, marked_line_chart};
use crate::output::document::Section;

use files::PlotFormat;
use report::CompareReport;
use sections::View;

const SPLITS: [&str; 3] = ["train", "validation", "test"];

pub fn compare(context: &Context, args: CompareArgs) -> anyhow::Result<()> {
    // A bad --plot name is reported before any work.
    let plot = match &args.plot {
        Some(path) => Some((path, PlotFormat::of_path(path)?)),
        None => None,
    };
    let registry = context.registry_to_read()?;
    // Only the loss is read per epoch unless another metric is plotted.
    let epochs = match args.metric.as_str() {
        "loss" | "train_loss" | "val_loss" => Epochs::Losses,
        _ => Epochs::All,
    };
    let mut sweep_plot = None;
    let mut records: Vec<RunRecord> = match (&args.experiment, args.runs.is_empty()) {
        _ if args.sweep.is_some() => {
            let selector = args.sweep.as_deref().unwrap_or_default();
            let (record, runs) = sweep::sweep_runs(context, &registry, selector, args.top, epochs)?;
            if args.report.is_some() {
                sweep_plot = Some(sweep::plot(&record)?);
            }
            runs
        }
        (Some(experiment), true) => ranked(context, &registry, experiment, epochs)?,
        _ => args
            .runs
            .iter()
            .map(|selector| {
                context.run_record(&registry, selector, args.experiment.as_deref(), epochs)
            })
            .collect::<anyhow::Result<_>>()?,
    };
    if !context.global.quiet {
        for warning in caveats(&records) {
            eprintln!("warning: {warning}");
        }
    }
    let plotted = PlotMetric::resolve(&args.metric, &records)?;
    if let Some(top) = args.top.filter(|_| args.sweep.is_none()) {
        let ranks = ranks(&records);
        let mut index = 0;
        records.retain(|_| {
            index += 1;
            u64::try_from(ranks[index - 1]).is_ok_and(|rank| rank <= top)
        });
    }
    let comparison = CompareReport::new(
        context,
        &registry,
        &records,
        &plotted,
        &context.short_ids(&registry)?,
    );

    let wrote = |what: &str, path: &std::path::Path| {
        if !context.global.quiet {
            eprintln!("wrote {what} to {}", path.display());
        }
    };
    if let Some(path) = &args.report {
        files::write_report(
            &comparison,
            path,
            &context.registry_files(),
            sweep_plot.as_ref(),
        )?;
        wrote("the report", path);
    }
    if let Some((path, format)) = plot {
        files::write_plot(&comparison, path, format, &context.registry_files())?;
        wrote("the learning curves", path);
    }
    if args.json {
        return print(&format!("{}\n", serde_json::to_string_pretty(&comparison)?));
    }
    let asked_for_text = args.top.is_some() || args.metrics || args.details;
    if args.plot.is_some() && !asked_for_text {
        // The file is the output; its one line went to stderr.
        return Ok(());
    }
    let view = View {
        many: comparison.runs.len() > 2,
        metrics: args.metrics,
        details: args.details,
        charts: args.metric != "loss",
    };
    if view.many && !view.details && !context.global.quiet {
        eprintln!(
            "hint: --metrics shows every split's metrics, --details everything (spec values, \
             gaps, reproducibility against A, curves), --top N the N best"
        );
    }
    print(&text(&comparison, &view))
}

/// The per-epoch metric `--metric` asks for: `loss` (train and
/// validation), `val_accuracy` (one split) or `accuracy` (both).
pub struct PlotMetric {
    /// As asked: `val_accuracy`.
    pub name: String,
    /// As recorded: `accuracy`.
    pub metric: String,
    /// `(split, name)` of each series: `("validation", "val_accuracy")`.
    pub series: Vec<(&'static str, String)>,
}

impl PlotMetric {
    /// Checks `asked` against the metrics the runs recorded per epoch; an
    /// unknown one is the user's mistake, answered with the recorded ones.
    fn resolve(asked: &str, records: &[RunRecord]) -> anyhow::Result<PlotMetric> {
        let splits = [("train", "train"), ("validation", "val")];
        let (wanted, metric): (Vec<(&'static str, &str)>, &str) = match asked.split_once('_') {
            Some((prefix, metric)) if splits.iter().any(|(_, p)| *p == prefix) => (
                splits
                    .iter()
                    .filter(|(_, p)| *p == prefix)
                    .copied()
                    .collect(),
                metric,
            ),
            _ => (splits.to_vec(), asked),
        };
        let recorded = |split: &str, name: &str| {
            records.iter().any(|r| {
                r.epochs
                    .iter()
                    .any(|e| e.split == split && e.metric == name)
            })
        };
        let series: Vec<(&'static str, String)> = wanted
            .iter()
            .filter(|(split, _)| metric == "loss" || recorded(split, metric))
            .map(|(split, prefix)| (*split, format!("{prefix}_{metric}")))
            .collect();
        if series.is_empty() || MetricName::parse(metric).is_none() {
            let mut names: Vec<String> = records
                .iter()
                .flat_map(|r| r.epochs.iter())
                .filter_map(|e| {
                    let prefix = splits.iter().find(|(s, _)| *s == e.split)?.1;
                    Some(format!("{prefix}_{}", e.metric))
                })
                .collect();
            names.sort_unstable();
            names.dedup();
            return Err(UserError::error(
                format!("--metric {asked}: no run here recorded it per epoch"),
                Some(&format!(
                    "the runs recorded per epoch: {} (or a metric without its split, e.g. \
                     `loss`, for both)",
                    names.join(", ")
                )),
            ));
        }
        Ok(PlotMetric {
            name: asked.to_string(),
            metric: metric.to_string(),
            series,
        })
    }
}

/// Each run's rank by its selection metric, 1 for the best; runs without a
/// value, and ties, in the order named.
fn ranks(records: &[RunRecord]) -> Vec<usize> {
    let higher_is_better = |r: &RunRecord| {
        let metric = r.selection_metric.split_once('_').map_or("", |(_, m)| m);
        MetricName::parse(metric).is_some_and(|m| m.direction().higher_is_better())
    };
    let key = |i: usize| {
        let r = &records[i];
        match r.selection_value.filter(|v| v.is_finite()) {
            Some(v) if higher_is_better(r) => (0, -v),
            Some(v) => (0, v),
            None => (1, 0.0),
        }
    };
    let mut order: Vec<usize> = (0..records.len()).collect();
    order.sort_by(|&a, &b| {
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
    });
    let mut ranks = vec![0; records.len()];
    for (rank, index) in order.into_iter().enumerate() {
        ranks[index] = rank + 1;
    }
    ranks
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
    epochs: Epochs,
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
                .block_on(registry.run_with(id, epochs))
                .map_err(anyhow::Error::from)
        })
        .collect()
}

/// The run's column name: `A`, `B`, … `Z`, `AA`, `AB`, …
fn label(index: usize) -> String {
    let letter = |i: usize| char::from(b'A' + (i % 26) as u8);
    if index < 26 {
        letter(index).to_string()
    } else {
        format!("{}{}", label(index / 26 - 1), letter(index))
    }
}

/// The text output: the sections `view` asks for, then a terminal chart
/// per run when it asks for them.
fn text(comparison: &CompareReport, view: &View) -> String {
    let mut out = sections::sections(comparison, view)
        .iter()
        .map(Section::text)
        .collect::<Vec<_>>()
        .join("\n");
    if !(view.charts || view.details || !view.many) {
        return out;
    }
    out.push_str("\nlearning curves\n");
    let metric = &comparison.plotted_metric;
    for index in comparison.ranked() {
        let r = &comparison.runs[index];
        let title = format!("{}  {}  {metric}", label(index), r.legend);
        let glyphs = ['·', '•'];
        let series: Vec<Series<'_>> = r
            .curves
            .plotted
            .iter()
            .enumerate()
            .map(|(i, (name, points))| Series {
                label: name,
                glyph: glyphs[i % 2],
                points,
            })
            .collect();
        out.push_str(&marked_line_chart(&title, &series, &best_points(r), 60, 10));
        out.push('\n');
    }
    out
}

/// The best epoch's point on the run's last plotted series (validation
/// when plotted), for the charts' mark.
fn best_points(r: &report::RunReport) -> Vec<(f64, f64)> {
    let Some(best) = r.best_epoch.map(f64::from) else {
        return Vec::new();
    };
    r.curves
        .plotted
        .values()
        .last()
        .and_then(|points| points.iter().find(|(epoch, _)| *epoch == best))
        .copied()
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_go_on_past_z() {
        assert_eq!(label(0), "A");
        assert_eq!(label(25), "Z");
        assert_eq!(label(26), "AA");
        assert_eq!(label(51), "AZ");
        assert_eq!(label(52), "BA");
    }
}
