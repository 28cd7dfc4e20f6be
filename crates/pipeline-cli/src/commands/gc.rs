//! `pipeline gc [--force] [--json]`: the files under the registry's
//! `artifacts/` that no run owns (see `pipeline_registry::Unowned`), listed
//! on stdout; `--force` removes them. Listing is the default, as `git clean`
//! refuses to delete without `-f`: a removal cannot be undone, and gc is run
//! to see first what a crash left behind. Queued and running runs' folders
//! are never touched.

use pipeline_registry::Unowned;
use serde_json::json;

use crate::cli::GcArgs;
use crate::commands::shared::{Context, print};
use crate::output::format;

pub fn gc(context: &Context, args: GcArgs) -> anyhow::Result<()> {
    let registry = context.existing_registry()?;
    let unowned = context.block_on(registry.unowned_artifacts())?;
    let listed = if args.force {
        context.block_on(registry.remove_unowned(&unowned))?
    } else {
        unowned
    };
    let bytes: u64 = listed.iter().map(|u| u.bytes).sum();
    if args.json {
        let value = json!({
            "removed": args.force,
            "bytes": bytes,
            "entries": listed,
        });
        print(&format!("{value}\n"))?;
    } else if !listed.is_empty() {
        print(&text(&listed))?;
    }
    if !context.global.quiet {
        let what = format!(
            "{} {} ({})",
            listed.len(),
            if listed.len() == 1 {
                "entry"
            } else {
                "entries"
            },
            human_bytes(bytes)
        );
        match (listed.is_empty(), args.force) {
            (true, _) => eprintln!("nothing under artifacts/ is unowned"),
            (false, true) => eprintln!("removed {what} that no run owned"),
            (false, false) => eprintln!(
                "{what} that no run owns; nothing removed\nhint: `pipeline gc --force` removes them"
            ),
        }
    }
    Ok(())
}

/// One row per entry: path, size, why nothing owns it.
fn text(listed: &[Unowned]) -> String {
    let mut table = format::table(&["path", "size", "reason"]);
    for entry in listed {
        table.add_row(vec![
            entry.path.clone(),
            human_bytes(entry.bytes),
            entry.reason.describe().to_string(),
        ]);
    }
    format!("{}\n", format::render(&table))
}

/// `512 B`, `12.3 KiB`, `4.0 MiB`.
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn sizes_read_as_binary_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 << 20), "5.0 MiB");
    }
}
