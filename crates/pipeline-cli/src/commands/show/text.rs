//! `pipeline show RUN` as text: the run's receipt and labels, its metrics
//! at the best epoch, its generalization, every epoch's losses on request,
//! and its artifacts with their checks.

use pipeline_registry::RunRecord;

use crate::commands::curves::{final_metric, metric_names};
use crate::output::classes::ClassTable;
use crate::output::format::{self, number};

use super::report::ShowReport;

/// The whole text: the summary, `--epochs`' table, the artifacts and
/// `--spec`'s resolved spec.
pub fn render(report: &ShowReport, epochs: bool, spec: bool) -> String {
    let r = &report.record;
    let mut out = summary(r, &report.short_id);
    if !r.final_metrics.is_empty() {
        out.push_str(&metrics(r));
        if let Some(note) = &report.loss_note {
            out.push_str(&format!("  note: {note}\n"));
        }
    }
    out.push_str(&generalization(report));
    if epochs {
        out.push_str(&epochs_table(report));
    }
    out.push_str("artifacts\n");
    for (artifact, check) in r.artifacts.iter().zip(&report.artifact_checks) {
        out.push_str(&format!(
            "  {}  {} bytes  sha256 {}  {}\n",
            artifact.path, artifact.bytes, artifact.sha256, check.state
        ));
    }
    if spec {
        out.push_str("\nresolved spec\n");
        out.push_str(&r.spec_toml);
    }
    out
}

/// Every epoch's train and validation loss and their gap.
fn epochs_table(report: &ShowReport) -> String {
    let mut table = format::table(&["  epoch", "train loss", "val loss", "gap"]);
    for p in &report.epoch_gaps {
        let mark = if Some(p.epoch) == report.record.best_epoch {
            "*"
        } else {
            " "
        };
        table.add_row(vec![
            format!("{mark} {}", p.epoch),
            number(p.train),
            number(p.validation),
            number(p.gap),
        ]);
    }
    format::align_numbers(&mut table, 0);
    crate::output::color::style_cells(&mut table, 0, |cell| {
        cell.starts_with('*')
            .then_some(crate::output::color::Paint::Best)
    });
    format!("epochs (* best)\n{}\n", format::render(&table))
}

/// Status, provenance and labels.
fn summary(r: &RunRecord, short_id: &str) -> String {
    let mut out = format!("run {}\n", r.id);
    field(&mut out, "short id", short_id.to_owned());
    if let Some(name) = &r.name {
        field(&mut out, "name", name.clone());
    }
    status(r, &mut |name, value| field(&mut out, name, value));
    receipt(r, &mut |name, value| field(&mut out, name, value));
    labels(r, &mut |name, value| field(&mut out, name, value));
    out
}

/// One `  name            value` line.
fn field(out: &mut String, name: &str, value: String) {
    out.push_str(&format!("  {name:<16}{value}\n"));
}

/// Where the run stands: status, times, epochs, selection.
fn status(r: &RunRecord, field: &mut dyn FnMut(&str, String)) {
    field("experiment", r.experiment.clone());
    field("status", crate::output::color::status(r.status));
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
}

/// What reproduces the run: spec, data, columns, seed, device, version,
/// determinism, weights.
fn receipt(r: &RunRecord, field: &mut dyn FnMut(&str, String)) {
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
}

/// When it was queued, its tags, aliases and note (each when present).
fn labels(r: &RunRecord, field: &mut dyn FnMut(&str, String)) {
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
    if let Some(at) = &r.archived_at {
        field(
            "archived",
            format!(
                "{at} (hidden from `runs`, `best` and `latest`; `pipeline archive --undo` brings it back)"
            ),
        );
    }
}

/// The final metrics per split, then the test split's per-class scores.
fn metrics(r: &RunRecord) -> String {
    let mut out = String::from("metrics at the best epoch\n");
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
    out
}

/// The gaps, the onset of overfitting and the verdict.
fn generalization(report: &ShowReport) -> String {
    let r = &report.record;
    let o = &r.overfitting;
    let last = report.epoch_gaps.last();
    let mut out = String::from("generalization\n");
    let mut line = |name: &str, value: String| out.push_str(&format!("  {name:<24}{value}\n"));
    line(
        "gap at best epoch",
        o.gap_at_best.map_or("-".into(), number) + "  (validation - train loss)",
    );
    if let Some(last) = last {
        line(
            "gap at last epoch",
            format!("{}  (epoch {})", number(last.gap), last.epoch),
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
    out.push_str(&crate::output::diagnosis::render(&report.diagnosis));
    out
}
