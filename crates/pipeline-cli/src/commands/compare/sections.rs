//! The comparison's tables, in the order they are shown: the runs, the spec
//! differences, the metrics at each run's best epoch, generalization and
//! reproducibility. The text output and the HTML report both render these.

use pipeline_registry::RunRecord;

use crate::commands::curves::{final_metric, metric_names};
use crate::output::document::{Section, Table};
use crate::output::format::{number, signed};

use super::reproducibility::Outcome;
use super::{Comparison, SPLITS, gaps, label};

/// Every section, in order.
pub fn sections(comparison: &Comparison) -> Vec<Section> {
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

fn runs(comparison: &Comparison) -> Section {
    let rows = comparison
        .records
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

fn differences(comparison: &Comparison) -> Section {
    let runs = comparison.records.len();
    let (table, notes) = if comparison.differences.is_empty() {
        (None, vec!["none: the resolved specs are identical".into()])
    } else {
        let rows = comparison
            .differences
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

fn metrics(comparison: &Comparison) -> Section {
    let mut rows = Vec::new();
    let records: Vec<&RunRecord> = comparison.records.iter().collect();
    for metric in metric_names(&records) {
        for split in SPLITS {
            let mut row = vec![metric.to_string(), split.to_string()];
            row.extend(
                comparison
                    .records
                    .iter()
                    .map(|r| final_metric(r, split, metric).map_or("-".into(), number)),
            );
            rows.push(row);
        }
    }
    Section {
        title: "metrics at each run's best epoch".into(),
        table: Some(Table {
            header: header(&["metric", "split"], comparison.records.len()),
            rows,
            text_columns: 2,
        }),
        notes: Vec::new(),
    }
}

fn generalization(comparison: &Comparison) -> Section {
    let records = &comparison.records;
    let row = |name: &str, cell: &dyn Fn(&pipeline_registry::RunRecord) -> String| {
        std::iter::once(name.to_string())
            .chain(records.iter().map(cell))
            .collect::<Vec<_>>()
    };
    let rows = vec![
        row("gap: validation − train loss", &|r| {
            gaps(r).0.map_or("-".into(), signed)
        }),
        row("gap: test − train loss", &|r| {
            gaps(r).1.map_or("-".into(), signed)
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
            header: header(&[""], records.len()),
            rows,
            text_columns: 1,
        }),
        notes: comparison
            .verdicts
            .iter()
            .enumerate()
            .map(|(index, verdict)| format!("{}: {}", label(index), verdict.sentence()))
            .collect(),
    }
}

fn reproducibility(comparison: &Comparison) -> Section {
    let reference = label(0);
    let reproductions = &comparison.reproductions;
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
    let outcome = |name: &str, identical: &str, cell: &dyn Fn(&super::Reproduction) -> &Outcome| {
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
    header.extend((1..comparison.records.len()).map(label));
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
