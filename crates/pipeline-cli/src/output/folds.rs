//! The text of `pipeline run --folds K`: the rows of each fold
//! (`--dry-run`), then each fold's run and the metrics per fold with their
//! mean and standard deviation. The JSON prints the same reports.

use pipeline_registry::ShortIds;
use pipeline_run::{FoldPlanReport, FoldReport, REPORTED};

use crate::output::format::{self, number};

/// `--dry-run`: the rows of each fold, nothing trained.
pub fn plan_text(plan: &FoldPlanReport) -> String {
    let mut out = format!(
        "cross-validation plan  {}  {} folds, seed {} (nothing trained)\n",
        plan.experiment, plan.folds, plan.seed
    );
    let mut table = format::table(&["fold", "train", "validation", "test"]);
    for fold in &plan.plan {
        table.add_row(vec![
            fold.fold.to_string(),
            fold.rows.train.to_string(),
            fold.rows.validation.to_string(),
            fold.rows.test.to_string(),
        ]);
    }
    format::align_numbers(&mut table, 1);
    out.push_str(&format::render(&table));
    out.push('\n');
    out
}

/// The end of a cross-validation: a table of the folds' runs, then one of
/// their metrics.
pub fn report_text(report: &FoldReport, short_ids: &ShortIds) -> String {
    let folds = report.runs.len();
    let state = match report.incomplete() {
        0 => "every fold completed".to_string(),
        n => format!("{n} of {folds} folds did not complete"),
    };
    let mut out = format!(
        "cross-validation {}  {}  {folds} folds, seed {}: {state}\n",
        report.group, report.experiment, report.seed
    );
    out.push_str(&runs_table(report, short_ids));
    out.push_str("\n\n");
    out.push_str(&metrics_table(report));
    out.push('\n');
    out
}

fn runs_table(report: &FoldReport, short_ids: &ShortIds) -> String {
    let mut runs = format::table(&[
        "fold",
        "run",
        "status",
        "train",
        "validation",
        "test",
        "best epoch",
    ]);
    for run in &report.runs {
        let best = run
            .best_epoch
            .flatten()
            .map_or("-".into(), |e| e.to_string());
        runs.add_row(vec![
            run.fold.to_string(),
            short_ids.get(&run.id),
            run.status.to_string(),
            run.rows.train.to_string(),
            run.rows.validation.to_string(),
            run.rows.test.to_string(),
            best,
        ]);
    }
    format::align_numbers(&mut runs, 3);
    format::render(&runs)
}

fn metrics_table(report: &FoldReport) -> String {
    let fold_headers: Vec<String> = (1..=report.runs.len())
        .map(|i| format!("fold {i}"))
        .collect();
    let mut header = vec!["metric"];
    header.extend(fold_headers.iter().map(String::as_str));
    header.extend(["mean", "std"]);
    let mut metrics = format::table(&header);
    let statistic = |of: &Option<pipeline_run::FoldMetrics>, split, name| {
        of.as_ref()
            .and_then(|m| m.get(split))
            .and_then(|m| m.get(name))
    };
    for split in REPORTED {
        for name in report.names() {
            let mut row = vec![format!("{}_{name}", split.prefix())];
            row.extend(
                report
                    .values(split, name)
                    .into_iter()
                    .map(|v| v.map_or("-".into(), number)),
            );
            match (
                statistic(&report.mean, split, name),
                statistic(&report.std, split, name),
            ) {
                (Some(mean), Some(std)) => row.extend([number(mean), number(std)]),
                _ => row.extend(["-".to_string(), "-".to_string()]),
            }
            metrics.add_row(row);
        }
    }
    format::align_numbers(&mut metrics, 1);
    format::render(&metrics)
}
