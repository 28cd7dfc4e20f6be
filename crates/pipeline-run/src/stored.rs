//! A stored run planned again: its resolved spec from the registry, on the
//! data file it read, which must still hold the same bytes (`pipeline
//! rerun` and `pipeline resume` start from here).

use std::path::{Path, PathBuf};

use pipeline_registry::RunRecord;
use pipeline_spec::{LoadedSpec, Spec};

use crate::error::RunError;
use crate::plan::Planned;

/// The run's stored resolved spec, planned on the data file it read: the
/// file must still exist and hold the same bytes (`changed_hint` says what
/// to do when it does not).
pub fn stored_plan(original: &RunRecord, changed_hint: &str) -> Result<Planned, RunError> {
    let origin = format!("run {} (stored resolved spec)", original.id);
    let spec = Spec::parse(Path::new(&origin), &original.spec_toml, &[])?;
    let loaded = LoadedSpec {
        spec,
        source: original.source_spec.clone(),
        path: PathBuf::from(&original.spec_path),
        overrides: Vec::new(),
    };
    let data_path = PathBuf::from(&original.data_path);
    if !data_path.exists() {
        return Err(RunError::user(
            format!(
                "the data of run {} is gone: {} does not exist",
                original.id, original.data_path
            ),
            Some("restore the file (its sha256 must be the recorded one) and try again"),
        ));
    }
    let plan = Planned::new(loaded, data_path)?;
    if plan.data.data_sha256 != original.data_sha256 {
        return Err(RunError::user(
            format!(
                "the data of run {} changed since it trained: {} has sha256 {}, the run read {}",
                original.id, original.data_path, plan.data.data_sha256, original.data_sha256
            ),
            Some(changed_hint),
        ));
    }
    Ok(plan)
}

/// The first characters of a sha256, as messages show it.
pub fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}
