//! `pipeline show RUN`: one run's status, reproducibility receipt, labels,
//! metrics, overfitting summary and artifacts (each artifact's checksum
//! verified; `--verify` turns a bad one into a failure). The report is
//! built once (`report.rs`); `--json` prints it and `text.rs` renders it.

mod report;
mod text;

use pipeline_registry::Epochs;

use crate::cli::ShowArgs;
use crate::commands::shared::{Context, print};
use crate::exit::UserError;

use report::ShowReport;

pub fn show(context: &Context, args: ShowArgs) -> anyhow::Result<()> {
    let registry = context.registry_to_read()?;
    // The text shows the learning curve and its gaps: the losses suffice;
    // --json gives every recorded metric.
    let read = if args.json {
        Epochs::All
    } else {
        Epochs::Losses
    };
    let record = context.run_record(&registry, &args.run, args.experiment.as_deref(), read)?;
    let short_id = context.short_ids(&registry)?.get(&record.id);
    let report = ShowReport::new(context, &registry, record, short_id);
    if args.json {
        print(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
    } else {
        print(&text::render(&report, args.epochs, args.spec))?;
    }
    if args.verify {
        verified(&report)?;
    }
    Ok(())
}

/// Fails when an artifact is missing or fails its checksum.
fn verified(report: &ShowReport) -> anyhow::Result<()> {
    let failed: Vec<String> = report
        .artifact_checks
        .iter()
        .filter(|check| !check.ok())
        .map(|check| format!("{} ({})", check.path, check.state))
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    Err(UserError::error(
        format!(
            "run {}: {} artifact(s) failed verification: {}",
            report.record.id,
            failed.len(),
            failed.join("; ")
        ),
        Some("the files were changed or removed after the run; rerun it to rebuild them"),
    ))
}
