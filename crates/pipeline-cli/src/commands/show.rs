//! `pipeline show RUN`: one run's status, provenance, metrics and artifacts
//! (each artifact's checksum verified).

use pipeline_registry::RunRecord;
use serde_json::json;

use crate::cli::ShowArgs;
use crate::commands::shared::{Context, final_metric, loss_curve, print};
use crate::output::format::{self, number};

pub fn show(context: &Context, args: ShowArgs) -> anyhow::Result<()> {
    let registry = context.existing_registry()?;
    let record = context.run_record(&registry, &args.run, args.experiment.as_deref())?;
    let checks: Vec<(String, String)> = record
        .artifacts
        .iter()
        .map(|a| {
            let state = match registry.read_verified(a) {
                Ok(_) => "ok".to_string(),
                Err(e) => format!("FAILED: {e}"),
            };
            (a.path.clone(), state)
        })
        .collect();
    if args.json {
        let mut value = serde_json::to_value(&record)?;
        value["artifact_checks"] = json!(
            checks
                .iter()
                .map(|(p, s)| json!({"path": p, "state": s}))
                .collect::<Vec<_>>()
        );
        value["verdict"] =
            serde_json::to_value(pipeline_train::generalization::assess(&loss_curve(&record)))?;
        return print(&format!("{}\n", serde_json::to_string_pretty(&value)?));
    }
    let mut out = text(&record);
    out.push_str("artifacts\n");
    for (artifact, (_, state)) in record.artifacts.iter().zip(&checks) {
        out.push_str(&format!(
            "  {}  {} bytes  sha256 {}  {state}\n",
            artifact.path, artifact.bytes, artifact.sha256
        ));
    }
    if args.spec {
        out.push_str("\nresolved spec\n");
        out.push_str(&record.spec_toml);
    }
    print(&out)
}

fn text(r: &RunRecord) -> String {
    let mut out = format!("run {}\n", r.id);
    let mut field = |name: &str, value: String| out.push_str(&format!("  {name:<16}{value}\n"));
    field("experiment", r.experiment.clone());
    field("status", r.status.to_string());
    if let Some(error) = &r.error {
        field("error", error.replace('\n', "\n                  "));
    }
    field("started", r.started_at.clone());
    field("ended", r.ended_at.clone().unwrap_or_else(|| "-".into()));
    field(
        "epochs",
        format!(
            "{} (best {})",
            r.epochs_run,
            r.best_epoch.map_or("-".into(), |e| e.to_string())
        ),
    );
    field(
        "selection",
        format!(
            "{} = {} ({} is better)",
            r.selection_metric,
            r.selection_value.map_or("-".into(), number),
            if r.selection_higher_is_better {
                "higher"
            } else {
                "lower"
            }
        ),
    );
    field("spec", format!("{} (sha256 {})", r.spec_path, r.spec_hash));
    field(
        "data",
        format!("{} (sha256 {})", r.data_path, r.data_sha256),
    );
    field("seed", r.seed.to_string());
    field("device", r.device.clone());
    field("version", r.program_version.clone());
    if !r.final_metrics.is_empty() {
        out.push_str("metrics at the best epoch\n");
        let names = ["loss", "mse", "rmse", "mae", "r2"];
        let mut header = vec!["  split"];
        header.extend(names);
        let mut table = format::table(&header);
        for split in ["train", "validation", "test"] {
            let mut row = vec![format!("  {split}")];
            row.extend(
                names
                    .iter()
                    .map(|m| final_metric(r, split, m).map_or("-".into(), number)),
            );
            table.add_row(row);
        }
        format::align_numbers(&mut table, 1);
        out.push_str(&format::render(&table));
        out.push('\n');
    }
    let verdict = pipeline_train::generalization::assess(&loss_curve(r));
    out.push_str(&format!("verdict: {}\n", verdict.sentence()));
    out
}
