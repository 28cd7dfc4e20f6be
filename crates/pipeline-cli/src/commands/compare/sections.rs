//! The comparison's tables, in the order they are shown: the runs ranked,
//! the spec differences, the metrics at each run's best epoch,
//! generalization and reproducibility. The text output and the HTML report
//! both render these; [`View`] says which.
//!
//! Two runs get every section by default, side by side (one column each):
//! they fit, and "what changed and what did it do" is the question. Three
//! or more get the ranked table (which carries the differing keys, gap and
//! verdict) and reproducibility only; `--metrics` and `--details` add the
//! rest, with the metrics as one table per split, a row per run.

use crate::output::document::{Section, Table};
use crate::output::format::{number, signed};

use super::ranked::ranked;
use super::report::{CompareReport, ReproductionGroup, RunReport};
use super::reproducibility::{Outcome, Reproduction};
use super::{SPLITS, label};

/// Which sections to show.
pub struct View {
    /// More than two runs: the compact view unless asked for more.
    pub many: bool,
    /// `--metrics`: every split's metrics.
    pub metrics: bool,
    /// `--details` / `--all`: every section.
    pub details: bool,
    /// The terminal charts, even for many runs (`--metric` was asked).
    pub charts: bool,
}

impl View {
    /// Every section (the HTML report).
    pub fn everything(runs: usize) -> View {
        View {
            many: runs > 2,
            metrics: true,
            details: true,
            charts: true,
        }
    }
}

/// The sections `view` asks for, in order.
pub fn sections(comparison: &CompareReport, view: &View) -> Vec<Section> {
    let full = !view.many || view.details;
    let mut out = vec![ranked(comparison)];
    if full {
        out.push(runs(comparison));
        out.push(differences(comparison));
    } else if !comparison.layer_changes.is_empty() {
        out.push(layer_changes(comparison));
    }
    if full || view.metrics {
        if view.many {
            out.extend(
                SPLITS
                    .iter()
                    .map(|split| metrics_of_split(comparison, split)),
            );
        } else {
            out.push(metrics(comparison));
        }
    }
    if full {
        out.push(generalization(comparison));
    }
    out.push(reruns(comparison));
    if view.details && comparison.runs.len() > 1 {
        out.push(reproducibility(comparison));
    }
    out
}

/// `Section` of notes only.
fn notes(title: &str, notes: Vec<String>) -> Section {
    Section {
        title: title.into(),
        table: None,
        notes,
    }
}

/// Each layer a run inserted or removed against A's layers.
fn change_notes(comparison: &CompareReport) -> Vec<String> {
    comparison
        .layer_changes
        .iter()
        .map(|c| {
            let index = comparison
                .runs
                .iter()
                .position(|r| r.id == c.run)
                .unwrap_or(0);
            format!("{}: {}", label(index), c.text)
        })
        .collect()
}

fn layer_changes(comparison: &CompareReport) -> Section {
    notes(
        "layers inserted or removed (against A's layers)",
        change_notes(comparison),
    )
}

/// Every run's metrics on one split, a row per run, best first.
fn metrics_of_split(comparison: &CompareReport, split: &str) -> Section {
    let names = comparison.metric_names();
    let rows = comparison
        .ranked()
        .into_iter()
        .map(|index| {
            let r = &comparison.runs[index];
            std::iter::once(label(index))
                .chain(
                    names
                        .iter()
                        .map(|m| r.metric(split, m).map_or("-".into(), number)),
                )
                .collect()
        })
        .collect();
    Section {
        title: format!("{split} metrics at each run's best epoch"),
        table: Some(Table {
            header: std::iter::once("run".to_string())
                .chain(names.iter().map(|m| m.to_string()))
                .collect(),
            rows,
            text_columns: 1,
        }),
        notes: Vec::new(),
    }
}

/// Reproducibility where runs claim to be the same spec (same spec hash,
/// data and seed); otherwise one line.
fn reruns(comparison: &CompareReport) -> Section {
    let groups = &comparison.reproducibility.groups;
    if groups.is_empty() {
        return notes(
            "reproducibility",
            vec![
                "no two runs share spec, data and seed: none is a rerun of another (--details \
                 compares every run with A)"
                    .into(),
            ],
        );
    }
    let index_of = |id: &pipeline_registry::RunId| {
        comparison
            .runs
            .iter()
            .position(|r| &r.id == id)
            .unwrap_or(0)
    };
    let lines = groups
        .iter()
        .flat_map(|group: &ReproductionGroup| {
            let reference = label(index_of(&group.reference));
            group.runs.iter().map(move |r| (reference.clone(), r))
        })
        .map(|(reference, r)| {
            format!(
                "{} against {reference}: {}",
                label(index_of(&r.id)),
                r.reproduction.summary()
            )
        })
        .collect();
    notes(
        "reproducibility of reruns (same spec, data and seed)",
        lines,
    )
}

/// `first` followed by one column per run: `A`, `B`, …
fn header(first: &[&str], runs: usize) -> Vec<String> {
    first
        .iter()
        .map(|s| s.to_string())
        .chain((0..runs).map(label))
        .collect()
}

fn runs(comparison: &CompareReport) -> Section {
    let rows = comparison
        .runs
        .iter()
        .enumerate()
        .map(|(index, r)| {
            vec![
                label(index),
                r.name.as_ref().map_or_else(
                    || r.short_id.clone(),
                    |name| format!("{} {name}", r.short_id),
                ),
                r.experiment.clone(),
                r.status.to_string(),
                format!(
                    "{} {}",
                    r.selection_metric,
                    r.selection_value.map_or("-".into(), number)
                ),
            ]
        })
        .collect();
    Section {
        title: "runs".into(),
        table: Some(Table {
            header: ["run", "id", "experiment", "status", "selection"]
                .map(String::from)
                .to_vec(),
            rows,
            text_columns: 5,
        }),
        notes: Vec::new(),
    }
}

fn differences(comparison: &CompareReport) -> Section {
    let runs = comparison.runs.len();
    let (table, notes) = if comparison.spec_differences.is_empty() {
        if comparison.layer_changes.is_empty() {
            (None, vec!["none: the resolved specs are identical".into()])
        } else {
            (None, change_notes(comparison))
        }
    } else {
        let rows = comparison
            .spec_differences
            .iter()
            .map(|d| {
                std::iter::once(d.key.clone())
                    .chain(
                        d.values
                            .iter()
                            .map(|v| v.clone().unwrap_or_else(|| "(absent)".into())),
                    )
                    .collect()
            })
            .collect();
        let table = Table {
            header: header(&["spec key"], runs),
            rows,
            text_columns: runs + 1,
        };
        (Some(table), change_notes(comparison))
    };
    Section {
        title: "spec differences".into(),
        table,
        notes,
    }
}

fn metrics(comparison: &CompareReport) -> Section {
    let mut rows = Vec::new();
    for metric in comparison.metric_names() {
        for split in SPLITS {
            let mut row = vec![metric.to_string(), split.to_string()];
            row.extend(
                comparison
                    .runs
                    .iter()
                    .map(|r| r.metric(split, metric).map_or("-".into(), number)),
            );
            rows.push(row);
        }
    }
    Section {
        title: "metrics at each run's best epoch".into(),
        table: Some(Table {
            header: header(&["metric", "split"], comparison.runs.len()),
            rows,
            text_columns: 2,
        }),
        notes: Vec::new(),
    }
}

fn generalization(comparison: &CompareReport) -> Section {
    let runs = &comparison.runs;
    let row = |name: &str, cell: &dyn Fn(&RunReport) -> String| {
        std::iter::once(name.to_string())
            .chain(runs.iter().map(cell))
            .collect::<Vec<_>>()
    };
    let rows = vec![
        row("gap: validation − train loss", &|r| {
            r.gap.validation_minus_train_loss.map_or("-".into(), signed)
        }),
        row("gap: test − train loss", &|r| {
            r.gap.test_minus_train_loss.map_or("-".into(), signed)
        }),
        row("best epoch / last epoch", &|r| {
            format!(
                "{} / {}",
                r.best_epoch.map_or("-".into(), |e| e.to_string()),
                r.epochs_run
            )
        }),
    ];
    Section {
        title: "generalization".into(),
        table: Some(Table {
            header: header(&[""], runs.len()),
            rows,
            text_columns: 1,
        }),
        notes: runs
            .iter()
            .enumerate()
            .map(|(index, r)| {
                let d = &r.diagnosis;
                let graded = crate::output::diagnosis::render(d);
                let first = graded.lines().next().unwrap_or_default();
                format!("{}: {}; {first}", label(index), r.verdict_text)
            })
            .collect(),
    }
}

fn reproducibility(comparison: &CompareReport) -> Section {
    let reference = label(0);
    let reproductions: Vec<&Reproduction> = comparison
        .reproducibility
        .runs
        .iter()
        .map(|r| &r.reproduction)
        .collect();
    let mut rows: Vec<Vec<String>> = Vec::new();
    if let Some(first) = reproductions.first() {
        for (index, input) in first.inputs.iter().enumerate() {
            let name = match input.name {
                "spec" => "resolved spec (sha256)",
                "data" => "data (sha256)",
                other => other,
            };
            let cells = reproductions.iter().map(|r| match r.inputs.get(index) {
                Some(i) if i.same() => "same".to_string(),
                Some(i) => format!("{} ({reference}: {})", short(&i.other), short(&i.reference)),
                None => "-".to_string(),
            });
            rows.push(std::iter::once(name.to_string()).chain(cells).collect());
        }
    }
    let outcome = |name: &str, identical: &str, cell: &dyn Fn(&Reproduction) -> &Outcome| {
        std::iter::once(name.to_string())
            .chain(reproductions.iter().map(|r| {
                match cell(r) {
                    Outcome::Identical => identical,
                    Outcome::Different => "differ",
                    Outcome::Unavailable(_) => "not compared",
                }
                .to_string()
            }))
            .collect::<Vec<_>>()
    };
    rows.push(outcome("weights", "bit-identical", &|r| &r.weights));
    rows.push(outcome("final metrics", "identical", &|r| &r.final_metrics));
    let mut header = vec!["check".to_string()];
    header.extend((1..comparison.runs.len()).map(label));
    let columns = header.len();
    Section {
        title: format!("reproducibility (against {reference})"),
        table: Some(Table {
            header,
            rows,
            text_columns: columns,
        }),
        notes: reproductions
            .iter()
            .enumerate()
            .map(|(index, r)| format!("{}: {}", label(index + 1), r.summary()))
            .collect(),
    }
}

/// A value short enough for a table cell: hashes cut to 12 characters.
fn short(value: &str) -> String {
    match value.char_indices().nth(12) {
        Some((end, _)) if value.len() > 16 => format!("{}…", &value[..end]),
        _ => value.to_string(),
    }
}
