//! `pipeline export RUN --out DIR`: a run as a self-contained folder that
//! another program can load without the registry
//! ([`pipeline_predict::export`] decides its files and writes it). The
//! artifacts are checked against their sha256 first; the folder is built
//! beside DIR and renamed into place, so a failure leaves no DIR. DIR may
//! not be the registry's folder, be in it or hold it.

use pipeline_predict::export::{Export, folder};

use crate::cli::ExportArgs;
use crate::commands::shared::{Context, print};
use crate::commands::stored_run;

pub fn export(context: &Context, args: ExportArgs) -> anyhow::Result<()> {
    let registry_files = context.registry_files();
    folder::check_destination(&args.out, args.force, &registry_files)?;
    let registry = context.registry_to_read()?;
    let stored = stored_run::load(
        context,
        &registry,
        &args.run,
        args.experiment.as_deref(),
        "to export",
    )?;
    let export = Export::new(stored)?;
    let written = folder::write_folder(&args.out, args.force, &registry_files, &export.files)?;
    if let Some(warning) = &written.warning {
        eprintln!("warning: {warning}");
    }
    print(&format!("{}\n", written.path.display()))?;
    if !context.global.quiet {
        let short_id = context.short_ids(&registry)?.get(&export.record.id);
        eprintln!("{}", summary(&export, &short_id));
    }
    Ok(())
}

/// `exported run ID (EXPERIMENT, best epoch N, METRIC VALUE): 6 files, BYTES bytes`.
fn summary(export: &Export, short_id: &str) -> String {
    let record = &export.record;
    let selection = record
        .selection_value
        .map_or_else(|| "?".to_owned(), |v| format!("{v:.6}"));
    let best = record
        .best_epoch
        .map_or_else(|| "?".to_owned(), |e| e.to_string());
    format!(
        "exported run {} ({}, best epoch {best}, {} {selection}{}): {} files, {} bytes",
        short_id,
        record.experiment,
        record.selection_metric,
        if export.checkpoint {
            ", killed: checkpoint"
        } else {
            ""
        },
        export.files.len(),
        export.bytes(),
    )
}
