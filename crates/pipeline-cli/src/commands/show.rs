//! `pipeline show RUN`: one run's status, reproducibility receipt, labels,
//! metrics, overfitting summary and artifacts (each artifact's checksum
//! verified; `--verify` turns a bad one into a failure).

use pipeline_registry::{Epochs, RunRecord};
use serde_json::json;

use crate::cli::ShowArgs;
use crate::commands::curves::{final_metric, loss_curve, metric_names};
use crate::commands::shared::{Context, print};
use crate::exit::UserError;
use crate::output::classes::ClassTable;
use crate::output::format::{self, number};

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
    let checks: Vec<(String, String)> = record
        .artifacts
        .iter()
        .map(|a| {
            let state = match registry.verify_artifact(a) {
                Ok(_) => "ok".to_string(),
                Err(e) => format!("FAILED: {e}"),
            };
            (a.path.clone(), state)
        })
        .collect();
    let failed: Vec<&(String, String)> = checks.iter().filter(|(_, s)| s != "ok").collect();
    let verified = || -> anyhow::Result<()> {
        if args.verify && !failed.is_empty() {
            return Err(UserError::error(
                format!(
                    "run {}: {} artifact(s) failed verification: {}",
                    record.id,
                    failed.len(),
                    failed
                        .iter()
                        .map(|(p, s)| format!("{p} ({s})"))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                Some("the files were changed or removed after the run; rerun it to rebuild them"),
            ));
        }
        Ok(())
    };
    if args.json {
        let mut value = serde_json::to_value(&record)?;
        value["epoch_gaps"] = json!(
            loss_curve(&record)
                .iter()
                .map(|p| json!({"epoch": p.epoch, "gap": p.validation - p.train}))
                .collect::<Vec<_>>()
        );
        value["artifact_checks"] = json!(
            checks
                .iter()
                .map(|(p, s)| json!({"path": p, "state": s}))
                .collect::<Vec<_>>()
        );
        value["verdict"] =
            serde_json::to_value(pipeline_train::generalization::assess(&loss_curve(&record)))?;
        print(&format!("{}\n", serde_json::to_string_pretty(&value)?))?;
        return verified();
    }
    let mut out = text(&record);
    if args.epochs {
        out.push_str(&epochs(&record));
    }
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
    print(&out)?;
    verified()
}

/// Every epoch's train and validation loss and their gap.
fn epochs(r: &RunRecord) -> String {
    let mut table = format::table(&["  epoch", "train loss", "val loss", "gap"]);
    for p in loss_curve(r) {
        let mark = if Some(p.epoch) == r.best_epoch {
            "*"
        } else {
            " "
        };
        table.add_row(vec![
            format!("{mark} {}", p.epoch),
            number(p.train),
            number(p.validation),
            number(p.validation - p.train),
        ]);
    }
    format::align_numbers(&mut table, 0);
    format!("epochs (* best)\n{}\n", format::render(&table))
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
    field(
        "spec",
        format!(
            "{} (resolved spec sha256 {}: defaults filled and overrides applied, not the file's bytes)",
            r.spec_path, r.spec_hash
        ),
    );
    field(
        "data",
        format!("{} (sha256 {})", r.data_path, r.data_sha256),
    );
    field(
        "columns",
        match &r.columns_hash {
            Some(hash) => format!("hash {hash} (the input columns' names and types)"),
            None => "not recorded (a run from before the columns were hashed)".into(),
        },
    );
    field("seed", r.seed.to_string());
    field("device", r.device.clone());
    field(
        "version",
        format!(
            "pipeline {} (commit {})",
            r.program_version,
            r.git_commit.as_deref().unwrap_or("not recorded")
        ),
    );
    field(
        "deterministic",
        match r.deterministic {
            Some(true) => "yes (same spec, data and seed give identical weights here)".into(),
            Some(false) => "no (GPU kernels may reorder sums)".into(),
            None => "not recorded".into(),
        },
    );
    field(
        "weights",
        match &r.weights_digest {
            Some(digest) => {
                format!("digest {digest} (the tensors' values: equal digests, identical weights)")
            }
            None => "no digest recorded".into(),
        },
    );
    if let Some(queued) = &r.queued_at {
        field("queued", queued.clone());
    }
    if !r.tags.is_empty() {
        field("tags", r.tags.join(", "));
    }
    if !r.aliases.is_empty() {
        field("aliases", r.aliases.join(", "));
    }
    if let Some(note) = &r.note {
        field("note", note.clone());
    }
    if !r.final_metrics.is_empty() {
        out.push_str("metrics at the best epoch\n");
        let names = metric_names(&[r]);
        let mut header = vec!["  split"];
        header.extend(&names);
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
        let classes = ClassTable::classes_in(&r.final_metrics, "test");
        if let Some(table) = ClassTable::from_metrics(&r.final_metrics, "test", &classes)
            && !classes.is_empty()
        {
            out.push_str(&table.render("test split"));
        }
    }
    let o = &r.overfitting;
    let curve = loss_curve(r);
    let last = curve.last();
    out.push_str("generalization\n");
    let mut line = |name: &str, value: String| out.push_str(&format!("  {name:<24}{value}\n"));
    line(
        "gap at best epoch",
        o.gap_at_best.map_or("-".into(), number) + "  (validation - train loss)",
    );
    if let Some(last) = last {
        line(
            "gap at last epoch",
            format!(
                "{}  (epoch {})",
                number(last.validation - last.train),
                last.epoch
            ),
        );
    }
    line(
        "test - train loss",
        o.test_train_gap.map_or("-".into(), number),
    );
    line(
        "overfitting onset",
        match (o.onset, r.ended_at.is_some()) {
            (Some(epoch), _) => format!("epoch {epoch}"),
            (None, true) => "none".into(),
            (None, false) => "-".into(),
        },
    );
    let verdict = pipeline_train::generalization::assess(&curve);
    out.push_str(&format!("verdict: {}\n", verdict.sentence()));
    out
}
