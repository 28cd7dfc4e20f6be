//! A registered run read back for use: its record, its resolved spec, and
//! its weights and preprocessing read with their checksums verified.
//! Predicting, evaluating, serving and exporting all start here.

use std::path::Path;

use candle_core::Device;
use pipeline_data::Preprocessing;
use pipeline_model::Network;
use pipeline_registry::{
    ArtifactKind, ArtifactRecord, Epochs, Registry, RunId, RunRecord, RunStatus,
};
use pipeline_spec::Spec;

use crate::error::PredictError;

/// What a registered run stores for using its model, read with the
/// artifacts' checksums verified.
pub struct StoredModel {
    pub record: RunRecord,
    pub spec: Spec,
    pub preprocessing: Preprocessing,
    /// The weights file, as stored.
    pub weights: Vec<u8>,
    /// The preprocessing file, as stored.
    pub preprocessing_json: Vec<u8>,
}

impl StoredModel {
    /// Loads the run `id`: completed runs, and killed runs that kept their
    /// best checkpoint. `purpose` ends the refusal message ("to predict
    /// with", "to export"). A weights or preprocessing file that changed
    /// since the run recorded it is refused (`RegistryError::ArtifactCorrupt`).
    pub async fn load(
        registry: &Registry,
        id: &RunId,
        purpose: &str,
    ) -> Result<StoredModel, PredictError> {
        // Without its per-epoch metrics: a model needs none of them.
        let record = registry.run_with(id, Epochs::None).await?;
        if record.status != RunStatus::Completed && !is_checkpoint(&record) {
            return Err(PredictError::usage(
                format!(
                    "run {} is {}; only completed runs (and killed runs that kept their best \
                     checkpoint) have weights {purpose}",
                    record.id, record.status
                ),
                Some("`pipeline runs --status completed` lists the usable runs"),
            ));
        }
        let weights = registry
            .read_verified(artifact(&record, ArtifactKind::Weights)?)
            .await?;
        let preprocessing_json = registry
            .read_verified(artifact(&record, ArtifactKind::Preprocessing)?)
            .await?;
        let preprocessing = Preprocessing::from_json(&String::from_utf8_lossy(&preprocessing_json))
            .map_err(|source| PredictError::PreprocessingUnreadable {
                run: record.id.clone(),
                source,
            })?;
        let spec = Spec::parse(
            Path::new(&format!("spec of run {}", record.id)),
            &record.spec_toml,
            &[],
        )?;
        if preprocessing.features.is_empty() {
            return Err(PredictError::NoFeatures { run: record.id });
        }
        Ok(StoredModel {
            record,
            spec,
            preprocessing,
            weights,
            preprocessing_json,
        })
    }

    /// The network rebuilt from the spec with the stored weights.
    pub fn network(&self, device: &Device) -> Result<Network, PredictError> {
        let features = self.preprocessing.input_width();
        let outputs = self.preprocessing.targets.outputs();
        Network::from_safetensors(&self.spec.model, features, outputs, &self.weights, device)
            .map_err(|source| PredictError::WeightsMismatch {
                run: self.record.id.clone(),
                source,
            })
    }
}

/// A killed or pruned run that kept its best checkpoint.
pub fn is_checkpoint(record: &RunRecord) -> bool {
    matches!(record.status, RunStatus::Killed | RunStatus::Pruned)
        && record.weights_digest.is_some()
}

/// The artifact of `kind` the run recorded.
pub fn artifact(record: &RunRecord, kind: ArtifactKind) -> Result<&ArtifactRecord, PredictError> {
    record
        .artifact(kind)
        .ok_or_else(|| PredictError::NoArtifact {
            run: record.id.clone(),
            kind,
        })
}
