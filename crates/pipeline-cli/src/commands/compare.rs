//! `pipeline compare A B [C …]`: the spec keys that differ, each run's
//! metrics on train/validation/test at its best epoch, the generalization
//! gaps, best against last epoch, an overfitting verdict and the learning
//! curves.

use std::collections::{BTreeMap, BTreeSet};

use pipeline_registry::{Registry, RunRecord};
use pipeline_train::generalization::{Verdict, assess};
use serde_json::json;

use crate::cli::CompareArgs;
use crate::commands::shared::{Context, curve, final_metric, loss_curve, print, short_id};
use crate::exit::UserError;
use crate::output::chart::{Series, line_chart};
use crate::output::format::{self, number, signed};

const METRICS: [&str; 5] = ["loss", "mse", "rmse", "mae", "r2"];
const SPLITS: [&str; 3] = ["train", "validation", "test"];

pub fn compare(context: &Context, args: CompareArgs) -> anyhow::Result<()> {
    let registry = context.existing_registry()?;
    let records: Vec<RunRecord> = match (&args.experiment, args.runs.is_empty()) {
        (Some(experiment), true) => ranked(context, &registry, experiment)?,
        _ => args
            .runs
            .iter()
            .map(|selector| context.run_record(&registry, selector, args.experiment.as_deref()))
            .collect::<anyhow::Result<_>>()?,
    };
    let differences = spec_differences(&records);
    let verdicts: Vec<Verdict> = records.iter().map(|r| assess(&loss_curve(r))).collect();
    if args.json {
        return print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&to_json(&records, &differences, &verdicts))?
        ));
    }
    print(&text(&records, &differences, &verdicts))
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
                "experiment {experiment:?} has {} completed run(s); a comparison needs two",
                ranked.len()
            ),
            Some("`pipeline runs` lists the experiments and their runs"),
        ));
    }
    ranked
        .iter()
        .map(|id| {
            context
                .block_on(registry.run(id))
                .map_err(anyhow::Error::from)
        })
        .collect()
}

/// Flattens a TOML value into `path = value` pairs (`model.layers[0].units`).
fn flatten(prefix: &str, value: &toml::Value, out: &mut BTreeMap<String, String>) {
    match value {
        toml::Value::Table(table) => {
            for (key, v) in table {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, v, out);
            }
        }
        toml::Value::Array(items) if items.iter().any(|i| i.is_table() || i.is_array()) => {
            out.insert(format!("{prefix}.length"), items.len().to_string());
            for (index, item) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{index}]"), item, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// Keys whose values differ between the runs' resolved specs, with each run's value.
fn spec_differences(records: &[RunRecord]) -> Vec<(String, Vec<Option<String>>)> {
    let flat: Vec<BTreeMap<String, String>> = records
        .iter()
        .map(|r| {
            let mut out = BTreeMap::new();
            if let Ok(table) = r.spec_toml.parse::<toml::Table>() {
                flatten("", &toml::Value::Table(table), &mut out);
            }
            out
        })
        .collect();
    let keys: BTreeSet<&String> = flat.iter().flat_map(|f| f.keys()).collect();
    keys.into_iter()
        .filter_map(|key| {
            let values: Vec<Option<String>> = flat.iter().map(|f| f.get(key).cloned()).collect();
            let first = &values[0];
            values
                .iter()
                .any(|v| v != first)
                .then(|| (key.clone(), values))
        })
        .collect()
}

fn label(index: usize) -> String {
    char::from(b'A' + (index % 26) as u8).to_string()
}

fn gaps(r: &RunRecord) -> (Option<f64>, Option<f64>) {
    let loss = |split| final_metric(r, split, "loss");
    let train = loss("train");
    (
        loss("validation").zip(train).map(|(v, t)| v - t),
        loss("test").zip(train).map(|(v, t)| v - t),
    )
}

fn text(
    records: &[RunRecord],
    differences: &[(String, Vec<Option<String>>)],
    verdicts: &[Verdict],
) -> String {
    let mut out = String::new();
    for (index, r) in records.iter().enumerate() {
        out.push_str(&format!(
            "{}  {}  {}  {}  {} {}\n",
            label(index),
            r.id,
            r.experiment,
            r.status,
            r.selection_metric,
            r.selection_value.map_or("-".into(), number)
        ));
    }

    let labels: Vec<String> = (0..records.len()).map(label).collect();
    let mut header = vec!["spec key".to_string()];
    header.extend(labels.iter().cloned());
    let header: Vec<&str> = header.iter().map(String::as_str).collect();

    out.push_str("\nspec differences\n");
    if differences.is_empty() {
        out.push_str("  none: the resolved specs are identical\n");
    } else {
        let mut table = format::table(&header);
        for (key, values) in differences {
            let mut row = vec![format!("  {key}")];
            row.extend(
                values
                    .iter()
                    .map(|v| v.clone().unwrap_or_else(|| "(absent)".into())),
            );
            table.add_row(row);
        }
        out.push_str(&format::render(&table));
        out.push('\n');
    }

    out.push_str("\nmetrics at each run's best epoch\n");
    let mut metric_header = vec!["  metric".to_string(), "split".to_string()];
    metric_header.extend(labels.iter().cloned());
    let metric_header: Vec<&str> = metric_header.iter().map(String::as_str).collect();
    let mut table = format::table(&metric_header);
    for metric in METRICS {
        for split in SPLITS {
            let mut row = vec![format!("  {metric}"), split.to_string()];
            row.extend(
                records
                    .iter()
                    .map(|r| final_metric(r, split, metric).map_or("-".into(), number)),
            );
            table.add_row(row);
        }
    }
    format::align_numbers(&mut table, 2);
    out.push_str(&format::render(&table));
    out.push('\n');

    out.push_str("\ngeneralization\n");
    let mut gap_header = vec!["  ".to_string()];
    gap_header.extend(labels.iter().cloned());
    let gap_header: Vec<&str> = gap_header.iter().map(String::as_str).collect();
    let mut table = format::table(&gap_header);
    let mut row = |name: &str, cell: &dyn Fn(&RunRecord) -> String| {
        let mut cells = vec![format!("  {name}")];
        cells.extend(records.iter().map(cell));
        table.add_row(cells);
    };
    row("gap: validation − train loss", &|r| {
        gaps(r).0.map_or("-".into(), signed)
    });
    row("gap: test − train loss", &|r| {
        gaps(r).1.map_or("-".into(), signed)
    });
    row("best epoch / last epoch", &|r| {
        format!(
            "{} / {}",
            r.best_epoch.map_or("-".into(), |e| e.to_string()),
            r.epochs_run
        )
    });
    format::align_numbers(&mut table, 1);
    out.push_str(&format::render(&table));
    out.push('\n');
    for (index, verdict) in verdicts.iter().enumerate() {
        out.push_str(&format!("  {}: {}\n", label(index), verdict.sentence()));
    }

    out.push_str("\nlearning curves\n");
    for (index, r) in records.iter().enumerate() {
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

fn to_json(
    records: &[RunRecord],
    differences: &[(String, Vec<Option<String>>)],
    verdicts: &[Verdict],
) -> serde_json::Value {
    let runs: Vec<serde_json::Value> = records
        .iter()
        .zip(verdicts)
        .map(|(r, verdict)| {
            let metrics: BTreeMap<&str, BTreeMap<&str, Option<f64>>> = SPLITS
                .iter()
                .map(|split| (*split, METRICS.iter().map(|m| (*m, final_metric(r, split, m))).collect()))
                .collect();
            let (validation_gap, test_gap) = gaps(r);
            json!({
                "id": r.id.as_str(),
                "experiment": r.experiment,
                "status": r.status,
                "best_epoch": r.best_epoch,
                "epochs_run": r.epochs_run,
                "metrics": metrics,
                "gap": { "validation_minus_train_loss": validation_gap, "test_minus_train_loss": test_gap },
                "verdict": verdict,
                "verdict_text": verdict.sentence(),
                "curves": { "train_loss": curve(r, "train", "loss"), "validation_loss": curve(r, "validation", "loss") },
            })
        })
        .collect();
    let differences: Vec<serde_json::Value> = differences
        .iter()
        .map(|(key, values)| json!({ "key": key, "values": values }))
        .collect();
    json!({ "runs": runs, "spec_differences": differences })
}
