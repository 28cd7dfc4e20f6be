//! A run's graded diagnosis and its loss note as text, for `show`, `runs`
//! and (wired by the lead) `compare`: the verdict with the numbers it rests
//! on and a hint, the short cell of a table, and the sentence that says why
//! `loss` and the metric columns disagree.

use std::path::Path;

use pipeline_registry::{RunRecord, StoredDiagnosis};
use pipeline_spec::{Loss, Normalize, Spec};
use pipeline_train::diagnosis::{Diagnosis, Evidence, Finding, Grade, Verdict, diagnose};
use pipeline_train::generalization::LossPoint;

/// The run's diagnosis: the stored one, or for a run recorded before it was
/// kept, computed now from `curve`, its stored losses (skill: the validation
/// R² of a regression; unknown for classification).
pub fn diagnosis_of(record: &RunRecord, curve: &[LossPoint]) -> Diagnosis {
    if let Some(stored) = from_stored(&record.overfitting.diagnosis) {
        return stored;
    }
    let r2 = record
        .final_metrics
        .iter()
        .find(|m| m.split == "validation" && m.metric == "r2")
        .map(|m| m.value);
    diagnose(Evidence {
        curve,
        best_epoch: record.best_epoch,
        skill: r2,
    })
}

/// The diagnosis the registry stored; `None` for a run recorded before.
pub fn from_stored(stored: &StoredDiagnosis) -> Option<Diagnosis> {
    let verdict = Verdict::parse(stored.verdict.as_deref()?)?;
    let grade = stored.verdict_grade.as_deref().and_then(Grade::parse);
    let mut findings: Vec<Finding> = stored
        .verdict_findings
        .iter()
        .filter_map(|f| Finding::parse(f))
        .collect();
    if findings.is_empty() {
        findings.push(Finding { verdict, grade });
    }
    Some(Diagnosis {
        verdict,
        grade,
        findings,
        val_above_min: stored.val_above_min,
        train_drop: stored.train_drop,
        val_recent_drop: stored.val_recent_drop,
        skill: stored.skill,
    })
}

/// A table cell: `overfitting (strong)`, `good fit`; `-` when not recorded.
pub fn cell(stored: &StoredDiagnosis) -> String {
    from_stored(stored).map_or("-".into(), |d| {
        Finding {
            verdict: d.verdict,
            grade: d.grade,
        }
        .label()
    })
}

/// The numbers behind the verdict, in words: `validation loss 7.5% above its
/// minimum, training loss down 86%, R² 0.41 on validation`.
pub fn evidence(d: &Diagnosis) -> String {
    let mut parts = Vec::new();
    if let Some(v) = d.val_above_min {
        parts.push(format!("validation loss {} above its minimum", percent(v)));
    }
    if let Some(v) = d.val_recent_drop {
        parts.push(format!(
            "{} over the last quarter",
            if v >= 0.0 {
                format!("down {}", percent(v))
            } else {
                format!("up {}", percent(-v))
            }
        ));
    }
    if let Some(v) = d.train_drop {
        parts.push(if v >= 0.0 {
            format!("training loss down {} since epoch 1", percent(v))
        } else {
            format!("training loss up {} since epoch 1", percent(-v))
        });
    }
    if let Some(s) = d.skill {
        parts.push(format!("skill {s:.2} over a constant prediction (0: none)"));
    }
    parts.join(", ")
}

fn percent(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

/// `show`'s lines: the verdict, its evidence, each other finding and the
/// hints.
pub fn render(d: &Diagnosis) -> String {
    let primary = Finding {
        verdict: d.verdict,
        grade: d.grade,
    };
    let mut out = format!("verdict: {}\n", primary.label());
    let evidence = evidence(d);
    if !evidence.is_empty() {
        out.push_str(&format!("  evidence: {evidence}\n"));
    }
    let others: Vec<String> = d
        .findings
        .iter()
        .filter(|f| f.verdict != d.verdict)
        .map(Finding::label)
        .collect();
    if !others.is_empty() {
        out.push_str(&format!("  also: {}\n", others.join(", ")));
    }
    let mut hints: Vec<&str> = d.findings.iter().filter_map(|f| f.verdict.hint()).collect();
    hints.dedup();
    for hint in hints {
        out.push_str(&format!("  hint: {hint}\n"));
    }
    out
}

/// Why `loss` differs from the metric columns, from the stored spec: the
/// loss is on a normalized target, or includes label smoothing or class
/// weights. `None` when they agree (or the spec cannot be read).
pub fn loss_note(spec_toml: &str) -> Option<String> {
    let spec = Spec::parse(Path::new("stored.toml"), spec_toml, &[]).ok()?;
    match &spec.loss {
        Loss::CrossEntropy {
            class_weights,
            label_smoothing,
        } => {
            let mut what = Vec::new();
            if *label_smoothing > 0.0 {
                what.push(format!("label smoothing {label_smoothing}"));
            }
            if class_weights.is_some() {
                what.push("class weights".to_string());
            }
            (!what.is_empty()).then(|| {
                format!(
                    "loss includes {}; log_loss and the other metrics do not",
                    what.join(" and ")
                )
            })
        }
        Loss::BinaryCrossEntropy { pos_weight } => pos_weight
            .map(|_| "loss includes pos_weight; log_loss and the other metrics do not".to_string()),
        Loss::Mse | Loss::Mae | Loss::Huber { .. } => {
            let scaled = match spec.data.normalize_target {
                Normalize::Zscore => "z-scored",
                Normalize::Minmax => "min-max scaled",
                Normalize::Robust => "robust-scaled",
                Normalize::None => return None,
            };
            Some(format!(
                "loss is on the {scaled} target; mse, rmse, mae in the target's units"
            ))
        }
    }
}
