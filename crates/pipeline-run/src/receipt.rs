//! What a new run's row records before it trains: its spec and data, the
//! program that trains it, and the labels (tags, note) it is given.

use candle_core::Device;
use pipeline_registry::NewRun;
use pipeline_train::device_name;

use crate::folds::fold_tag;
use crate::plan::Planned;

/// The commit this library was built from (see build.rs).
pub const GIT_COMMIT: &str = env!("PIPELINE_GIT_COMMIT");

/// Tags and note for every run a call starts.
#[derive(Debug, Clone, Default)]
pub struct Labels {
    pub tags: Vec<String>,
    pub note: Option<String>,
}

/// The registry row of `plan` about to be queued or started: paths made
/// absolute, a fold tagged with its fold.
pub fn new_run(plan: &Planned, labels: &Labels) -> NewRun {
    let spec = &plan.loaded.spec;
    let data_path =
        std::fs::canonicalize(&plan.data_path).unwrap_or_else(|_| plan.data_path.clone());
    let spec_path =
        std::fs::canonicalize(&plan.loaded.path).unwrap_or_else(|_| plan.loaded.path.clone());
    let mut tags = labels.tags.clone();
    if let Some(cross_validation) = spec.data.cross_validation {
        let tag = fold_tag(cross_validation);
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    NewRun {
        experiment: spec.name.to_string(),
        spec_toml: spec.to_toml(),
        spec_hash: spec.hash(),
        source_spec: plan.loaded.source.clone(),
        spec_path: spec_path.display().to_string(),
        data_path: data_path.display().to_string(),
        data_sha256: plan.data.data_sha256.clone(),
        columns_hash: Some(plan.data.preprocessing.columns_hash()),
        seed: spec.seed,
        device: device_name(&plan.device),
        program_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: GIT_COMMIT.to_string(),
        // Seeded initialisation, shuffling and dropout with sequential CPU
        // kernels repeat bit for bit; GPU reductions may not.
        deterministic: matches!(plan.device, Device::Cpu),
        tags,
        note: labels.note.clone(),
        selection_metric: spec.selection.metric.to_string(),
        selection_higher_is_better: spec.selection.direction.higher_is_better(),
    }
}
