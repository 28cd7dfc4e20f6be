//! The comparison's tables, in the order they are shown: the runs, the spec
//! differences, the metrics at each run's best epoch, generalization and
//! reproducibility. The text output and the HTML report both render these.

use crate::output::document::{Section, Table};
use crate::output::format::{number, signed};

use super::report::{CompareReport, RunReport};
use super::reproducibility::{Outcome, Reproduction};
use super::{SPLITS, label};

/// Every section, in order.
pub fn sections(comparison: &CompareReport) -> Vec<Section> {
    vec![
        runs(comparison),
        differences(comparison),
        metrics(comparison),
        generalization(comparison),
        reproducibility(comparison),
    ]
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
                r.id.to_string(),
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
        (None, vec!["none: the resolved specs are identical".into()])
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
        (Some(table), Vec::new())
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
            .map(|(index, r)| format!("{}: {}", label(index), r.verdict_text))
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
