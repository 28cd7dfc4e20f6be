//! `pipeline check SPEC… [--set KEY=VALUE] [--json]`: everything `run`
//! does before the first epoch (validate the spec, read and split the data,
//! pick the device, build the network), then a report: the columns and
//! their types, rows per split, the layers with their shapes and
//! parameters, and the pitfalls worth a warning. Nothing is trained or
//! written; a mistake exits 2 exactly as `run` would. A sweep spec adds its
//! space (each parameter's domain, the grid's size or the trial budget,
//! jobs, pruner) and the pitfalls of each parameter's extremes.

use std::time::Instant;

use pipeline_run::{Becomes, CheckReport, CheckedColumn, CheckedSweep, Planned};
use pipeline_spec::{Missing, SweepMethod};
use serde::Serialize;
use serde_json::Value;

use crate::cli::CheckArgs;
use crate::commands::shared::{Context, print};
use crate::output::format::{self, duration};

pub fn check(_context: &Context, args: CheckArgs) -> anyhow::Result<()> {
    let mut reports = Vec::with_capacity(args.specs.len());
    for path in &args.specs {
        let start = Instant::now();
        let loaded = pipeline_spec::Spec::load(path, &args.set)?;
        let plan = Planned::of(loaded)?;
        reports.push(CheckReport::new(&plan, start)?);
    }
    if args.json {
        let json = match reports.as_slice() {
            [report] => serde_json::to_string_pretty(report)?,
            reports => serde_json::to_string_pretty(reports)?,
        };
        return print(&format!("{json}\n"));
    }
    let text: Vec<String> = reports.iter().map(render).collect();
    print(&text.join("\n"))
}

/// A value as its JSON text, a string without its quotes (`zscore`, `0.5`).
fn word(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(text)) => text,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// A row shape as `[16, 8, 8]`.
fn shape(dims: &[usize]) -> String {
    let dims: Vec<String> = dims.iter().map(usize::to_string).collect();
    format!("[{}]", dims.join(", "))
}

fn render(report: &CheckReport) -> String {
    let mut out = format!("{} ({})\n", report.experiment, report.spec);
    let data = &report.data;
    let sha: String = data.sha256.chars().take(12).collect();
    out.push_str(&format!(
        "data     {}: {} {}, sha256 {sha}…\n",
        data.path, data.rows, data.unit
    ));
    let splits = &report.splits;
    out.push_str(&format!(
        "splits   train {}, validation {}, test {}\n",
        splits.train, splits.validation, splits.test
    ));
    out.push('\n');
    out.push_str(&columns_table(&report.columns));
    if !report.ignored_columns.is_empty() {
        out.push_str(&format!(
            "not used: {}\n",
            report.ignored_columns.join(", ")
        ));
    }
    out.push_str(&model_text(report));
    if report.warnings.is_empty() {
        out.push_str("\nno warnings\n");
    } else {
        out.push('\n');
        for warning in &report.warnings {
            out.push_str(&format!(
                "warning: {}\n  hint: {}\n",
                warning.message, warning.hint
            ));
        }
    }
    if let Some(sweep) = &report.sweep {
        out.push_str(&sweep_text(sweep));
    }
    out.push_str(&format!("checked in {}\n", duration(report.seconds)));
    out
}

/// The sweep's space and its corners' warnings.
fn sweep_text(sweep: &CheckedSweep) -> String {
    let size = match sweep.size {
        Some(points) if sweep.method == SweepMethod::Grid => format!("{points} points, each once"),
        Some(points) => format!("{points} points, {} trials", sweep.budget),
        None => format!("continuous, {} trials", sweep.budget),
    };
    let mut out = format!(
        "\nsweep    {}: {size}, {} at a time, seed {}\n",
        sweep.method, sweep.jobs, sweep.seed
    );
    out.push_str(&format!(
        "metric   {} ({})\npruner   {}\n",
        sweep.metric,
        word(&sweep.direction),
        sweep.pruner
    ));
    let mut table = format::table(&["parameter", "domain"]);
    for parameter in &sweep.parameters {
        table.add_row(vec![parameter.key.clone(), parameter.domain.to_string()]);
    }
    out.push_str(&format::render(&table));
    out.push('\n');
    if sweep.corners.is_empty() {
        out.push_str("no warnings at the corners of the space\n");
    }
    for corner in &sweep.corners {
        out.push_str(&format!(
            "warning at {} = {}: {}\n",
            corner.parameter, corner.value, corner.message
        ));
        if let Some(hint) = &corner.hint {
            out.push_str(&format!("  hint: {hint}\n"));
        }
    }
    out
}

/// Each column, its role, the model inputs it becomes and its empty cells.
/// Fills, categories and scalers are fitted on the training split.
fn columns_table(columns: &[CheckedColumn]) -> String {
    let mut table = format::table(&["column", "type", "role", "model inputs", "missing"]);
    for column in columns {
        let missing = match &column.empty_cells {
            None => String::new(),
            Some(cells) => match (&cells.missing, &cells.fill) {
                // The constant is the fill.
                (Missing::Constant(constant), _) => format!("constant {}", word(constant)),
                (missing, None) => word(missing),
                (missing, Some(fill)) => format!("{} ({})", word(missing), word(fill)),
            },
        };
        table.add_row(vec![
            column.name.clone(),
            column.file_type.clone(),
            column.role.to_owned(),
            column.becomes.as_ref().map(inputs).unwrap_or_default(),
            missing,
        ]);
    }
    let mut out = format::render(&table);
    out.push('\n');
    out
}

/// What a column becomes, in words.
fn inputs(becomes: &Becomes) -> String {
    match becomes {
        Becomes::Float { normalize, .. } => word(normalize),
        Becomes::Categorical {
            encode,
            unknown,
            categories,
            inputs,
            ..
        } => format!(
            "{inputs} {} of {categories} categories, unknown: {}",
            word(encode),
            word(unknown)
        ),
        Becomes::Classes {
            task,
            classes,
            train_counts,
        } => {
            let counts = train_counts.iter().map(Some).chain(std::iter::repeat(None));
            let classes: Vec<String> = classes
                .iter()
                .zip(counts)
                .map(|(class, count)| match count {
                    Some(count) => format!("{class} ({count})"),
                    None => class.clone(),
                })
                .collect();
            format!(
                "{} classes: {} (training rows)",
                word(task),
                classes.join(", ")
            )
        }
    }
}

/// The model line and its layers.
fn model_text(report: &CheckReport) -> String {
    let model = &report.model;
    // A declared `model.input` is shown as the shape rows are reshaped to.
    let reshaped = if model.input_shape.len() > 1 {
        format!(" as {}", shape(&model.input_shape))
    } else {
        String::new()
    };
    let mut out = format!(
        "\nmodel    {} inputs{reshaped}, {} parameters, device {}\n",
        model.inputs, model.parameters, report.device
    );
    let mut layers = format::table(&["layer", "kind", "output", "parameters"]);
    for layer in &model.layers {
        layers.add_row(vec![
            layer.name.clone(),
            layer.kind.clone(),
            shape(&layer.output_shape),
            layer.parameters.to_string(),
        ]);
    }
    format::align_numbers(&mut layers, 2);
    out.push_str(&format::render(&layers));
    out.push('\n');
    out
}
