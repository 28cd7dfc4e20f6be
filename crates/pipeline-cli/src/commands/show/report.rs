//! What `pipeline show RUN` reports, built once: the run's record, each
//! epoch's generalization gap, each artifact's check and the overfitting
//! diagnosis and the loss note. `--json` prints it (the record's fields, then the rest); the
//! text renders it.

use crate::commands::shared::Context;
use pipeline_registry::{ArtifactRecord, Registry, RunRecord};
use pipeline_train::diagnosis::Diagnosis;
use pipeline_train::generalization::LossPoint;
use serde::Serialize;

use crate::commands::curves::loss_curve;
use crate::output::diagnosis::diagnosis_of;

#[derive(Debug, Serialize)]
pub struct ShowReport {
    /// The shortest unique prefix of the id's random part, as tables print
    /// it and commands accept it.
    pub short_id: String,
    #[serde(flatten)]
    pub record: RunRecord,
    /// Every epoch with both losses recorded, in order.
    pub epoch_gaps: Vec<EpochGap>,
    /// One per artifact, in the record's order.
    pub artifact_checks: Vec<ArtifactCheck>,
    /// The graded diagnosis: the stored one, or computed from the stored
    /// epochs for a run recorded before it was kept.
    pub diagnosis: Diagnosis,
    /// Why `loss` differs from the metric columns, if it does.
    pub loss_note: Option<String>,
}

/// One epoch's losses; JSON shows only the gap.
#[derive(Debug, Serialize)]
pub struct EpochGap {
    pub epoch: u32,
    /// Validation − train loss.
    pub gap: f64,
    #[serde(skip)]
    pub train: f64,
    #[serde(skip)]
    pub validation: f64,
}

/// Whether an artifact's file is there with its recorded checksum.
#[derive(Debug, Serialize)]
pub struct ArtifactCheck {
    pub path: String,
    /// `ok`, or `FAILED: ` and why.
    pub state: String,
}

impl ShowReport {
    /// Checks every artifact of `record` and assesses its curves.
    pub fn new(
        ctx: &Context,
        registry: &Registry,
        record: RunRecord,
        short_id: String,
    ) -> ShowReport {
        let curve = loss_curve(&record);
        ShowReport {
            short_id,
            epoch_gaps: curve.iter().map(EpochGap::of).collect(),
            artifact_checks: record
                .artifacts
                .iter()
                .map(|artifact| ArtifactCheck::of(ctx, registry, artifact))
                .collect(),
            diagnosis: diagnosis_of(&record, &curve),
            loss_note: crate::output::diagnosis::loss_note(&record.spec_toml),
            record,
        }
    }
}

impl EpochGap {
    fn of(point: &LossPoint) -> EpochGap {
        EpochGap {
            epoch: point.epoch,
            gap: point.validation - point.train,
            train: point.train,
            validation: point.validation,
        }
    }
}

impl ArtifactCheck {
    fn of(ctx: &Context, registry: &Registry, artifact: &ArtifactRecord) -> ArtifactCheck {
        let state = match ctx.block_on(registry.verify_artifact(artifact)) {
            Ok(_) => "ok".to_string(),
            Err(e) => format!("FAILED: {e}"),
        };
        ArtifactCheck {
            path: artifact.path.clone(),
            state,
        }
    }

    pub fn ok(&self) -> bool {
        self.state == "ok"
    }
}
