//! What a new run's row records before it trains: its spec and data, the
//! program that trains it, and the labels (tags, note) it is given.

use candle_core::Device;
use pipeline_registry::{NewRun, TrialLink};
use pipeline_spec::CrossValidation;
use pipeline_train::device_name;

use crate::folds::fold_tag;
use crate::plan::Planned;

/// The commit this library was built from (see build.rs).
pub const GIT_COMMIT: &str = env!("PIPELINE_GIT_COMMIT");

/// Tags, note and name for every run a call starts.
#[derive(Debug, Clone, Default)]
pub struct Labels {
    pub tags: Vec<String>,
    pub note: Option<String>,
    /// The run's name; a fold of a cross-validation is named
    /// `NAME/fold-I-of-K` ([`fold_name`]).
    pub name: Option<String>,
    /// The sweep trial the run is an attempt of.
    pub trial: Option<TrialLink>,
}

/// The name of one fold's run of a cross-validation named `name`, e.g.
/// `tuned/fold-2-of-5`: names are unique, and the `/` groups the folds
/// under their cross-validation's name as a path would.
pub fn fold_name(name: &str, cross_validation: CrossValidation) -> String {
    format!(
        "{name}/fold-{}-of-{}",
        cross_validation.fold(),
        cross_validation.folds()
    )
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
        name: labels
            .name
            .as_deref()
            .map(|name| match spec.data.cross_validation {
                Some(cross_validation) => fold_name(name, cross_validation),
                None => name.to_owned(),
            }),
        selection_metric: spec.selection.metric.to_string(),
        selection_higher_is_better: spec.selection.direction.higher_is_better(),
        trial: labels.trial.clone(),
    }
}
