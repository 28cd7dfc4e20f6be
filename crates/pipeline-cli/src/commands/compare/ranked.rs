//! The ranked table `compare` prints first: one row per run, best first by
//! the selection metric, with the values of the spec keys that differ as
//! short columns (as many as fit in [`WIDTH`] columns), the selection
//! metric, the validation and test losses, the gap and the verdict. It
//! stays readable at 10 runs and at 50.

use pipeline_train::diagnosis::Finding;

use crate::output::document::{Section, Table};
use crate::output::format::{number, signed};

use super::label;
use super::legend::{abbreviate, short_names, shown};
use super::report::{CompareReport, RunReport};

/// The widest the table may be, in characters.
pub const WIDTH: usize = 120;
/// A key's values are cut to this many characters.
const VALUE_WIDTH: usize = 10;

/// One column: its header and each run's cell.
struct Column {
    header: String,
    cells: Vec<String>,
    numeric: bool,
}

impl Column {
    /// Its printed width, with the table's padding (a space each side).
    fn width(&self) -> usize {
        self.cells
            .iter()
            .chain(std::iter::once(&self.header))
            .map(|c| c.chars().count())
            .max()
            .unwrap_or(0)
            + 2
    }
}

/// The metric a run is ranked by, when all runs share it (`val_loss`).
fn selection_header(comparison: &CompareReport) -> Option<&str> {
    let first = comparison.runs.first()?.selection_metric.as_str();
    comparison
        .runs
        .iter()
        .all(|r| r.selection_metric == first)
        .then_some(first)
}

/// The graded verdict: `underfitting (strong)`, `good fit`.
fn verdict_cell(r: &RunReport) -> String {
    Finding {
        verdict: r.diagnosis.verdict,
        grade: r.diagnosis.grade,
    }
    .label()
}

/// The runs, best first; keys beyond the width are named in a note.
pub fn ranked(comparison: &CompareReport) -> Section {
    let order = comparison.ranked();
    let runs: Vec<&RunReport> = order.iter().map(|&i| &comparison.runs[i]).collect();
    let column = |header: &str, numeric: bool, cell: &dyn Fn(usize, &RunReport) -> String| Column {
        header: header.to_string(),
        cells: order
            .iter()
            .map(|&i| cell(i, &comparison.runs[i]))
            .collect(),
        numeric,
    };
    let value = |v: Option<f64>| v.map_or("-".to_string(), number);

    let lead = vec![
        column("#", true, &|_, r| r.rank.to_string()),
        column("run", false, &|i, _| label(i)),
        column("id", false, &|_, r| r.short_id.clone()),
    ];
    let selection = selection_header(comparison);
    let mut tail = vec![match selection {
        Some(name) => column(name, true, &|_, r| value(r.selection_value)),
        None => column("selection", false, &|_, r| {
            format!("{} {}", r.selection_metric, value(r.selection_value))
        }),
    }];
    let base = selection
        .and_then(|s| s.split_once('_'))
        .map_or("loss", |(_, metric)| metric);
    if selection != Some("val_loss") {
        tail.push(column("val_loss", true, &|_, r| {
            value(r.metric("validation", "loss"))
        }));
    }
    let metrics = comparison.metric_names();
    let headline = ["r2", "accuracy"].into_iter().find(|m| metrics.contains(m));
    let mut tests = vec![base, "loss"];
    tests.extend(headline);
    tests.dedup();
    for metric in tests {
        if metrics.contains(&metric) || metric == "loss" {
            tail.push(column(&format!("test_{metric}"), true, &|_, r| {
                value(r.metric("test", metric))
            }));
        }
    }
    tail.push(column("gap", true, &|_, r| {
        r.gap.validation_minus_train_loss.map_or("-".into(), signed)
    }));
    tail.push(column("best/last", true, &|_, r| {
        format!(
            "{}/{}",
            r.best_epoch.map_or("-".into(), |e| e.to_string()),
            r.epochs_run
        )
    }));
    tail.push(column("verdict", false, &|_, r| verdict_cell(r)));

    // The differing keys, as many as fit.
    let differences = shown(&comparison.spec_differences);
    let keys: Vec<&str> = differences.iter().map(|d| d.key.as_str()).collect();
    let names = short_names(&keys);
    let mut width: usize = 2 + lead.iter().chain(&tail).map(Column::width).sum::<usize>();
    let mut columns_of_keys = Vec::new();
    let mut left_out = Vec::new();
    for (difference, name) in differences.iter().zip(&names) {
        let cells: Vec<String> = order
            .iter()
            .map(|&i| {
                let value = difference.values.get(i).cloned().flatten();
                abbreviate(value.as_deref().unwrap_or("-"), VALUE_WIDTH)
            })
            .collect();
        let numeric = cells.iter().all(|c| c == "-" || c.parse::<f64>().is_ok());
        let column = Column {
            header: abbreviate(name, VALUE_WIDTH + 2),
            cells,
            numeric,
        };
        if left_out.is_empty() && width + column.width() <= WIDTH {
            width += column.width();
            columns_of_keys.push(column);
        } else {
            left_out.push(difference.key.as_str());
        }
    }

    let mut notes = Vec::new();
    if !columns_of_keys.is_empty() {
        let named: Vec<String> = names
            .iter()
            .zip(&keys)
            .take(columns_of_keys.len())
            .filter(|(name, key)| name != key)
            .map(|(name, key)| format!("{name} = {key}"))
            .collect();
        if !named.is_empty() {
            notes.push(named.join(", "));
        }
    }
    notes.extend(comparison.loss_notes.iter().cloned());
    if !left_out.is_empty() {
        notes.push(format!(
            "{} more key(s) differ: {} (--details lists every value)",
            left_out.len(),
            left_out.join(", ")
        ));
    }
    if runs.len() > 1
        && comparison.spec_differences.is_empty()
        && comparison.layer_changes.is_empty()
    {
        notes.push("the resolved specs are identical".into());
    }

    // Text columns first (rank, label, id), then keys and numbers; the
    // table right-aligns from the first numeric column on, so a text key
    // column goes before the numeric ones.
    let (text_keys, number_keys): (Vec<Column>, Vec<Column>) =
        columns_of_keys.into_iter().partition(|c| !c.numeric);
    let mut all = lead;
    all.extend(text_keys);
    let text_columns = all.len();
    all.extend(number_keys);
    // The verdict is words: it goes last, right-aligned like the numbers.
    all.extend(tail);
    let header = all.iter().map(|c| c.header.clone()).collect();
    let rows = (0..order.len())
        .map(|row| all.iter().map(|c| c.cells[row].clone()).collect())
        .collect();
    Section {
        title: "runs, best first".into(),
        table: Some(Table {
            header,
            rows,
            text_columns,
        }),
        notes,
    }
}
