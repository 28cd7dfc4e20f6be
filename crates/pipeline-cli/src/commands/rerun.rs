//! `pipeline rerun RUN`: train again from the run's stored resolved spec on
//! the data file it read, refusing when that file's content changed. The new
//! run is tagged `rerun` and its note names the original, so
//! `pipeline compare RUN latest` says whether the two match exactly.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use pipeline_registry::{Epochs, RunRecord};
use pipeline_spec::{LoadedSpec, Spec};

use crate::cli::RerunArgs;
use crate::commands::folds::GROUP_TAG_PREFIX;
use crate::commands::run::{Labels, Planned, RunOutput, train_all};
use crate::commands::shared::Context;
use crate::exit::UserError;

pub fn rerun(context: &Context, args: RerunArgs) -> anyhow::Result<ExitCode> {
    let registry = context.existing_registry()?;
    let original = context.run_record(
        &registry,
        &args.run,
        args.experiment.as_deref(),
        Epochs::None,
    )?;
    let plan = stored_plan(
        &original,
        "a rerun must read the same bytes; restore the original file, or train the \
         spec again with `pipeline run` to record a new run",
    )?;
    if !context.global.quiet {
        eprintln!(
            "rerunning {} ({}) with its stored spec; data unchanged (sha256 {})",
            original.id,
            original.experiment,
            short(&original.data_sha256)
        );
    }
    // A rerun of a fold is not one of the folds trained together.
    let mut tags: Vec<String> = original
        .tags
        .iter()
        .filter(|t| !t.starts_with(GROUP_TAG_PREFIX))
        .cloned()
        .collect();
    if !tags.iter().any(|t| t == "rerun") {
        tags.push("rerun".to_owned());
    }
    let labels = Labels {
        tags,
        note: Some(format!("rerun of {}", original.id)),
    };
    let output = if args.json {
        RunOutput::Json
    } else {
        RunOutput::Text
    };
    let code = train_all(context, vec![plan], &labels, output)?.code;
    if !context.global.quiet && code == ExitCode::SUCCESS {
        eprintln!("compare the pair: pipeline compare {} latest", original.id);
    }
    Ok(code)
}

/// The run's stored resolved spec, planned on the data file it read: the
/// file must still exist and hold the same bytes (`changed_hint` says what
/// to do when it does not).
pub fn stored_plan(original: &RunRecord, changed_hint: &str) -> anyhow::Result<Planned> {
    let origin = format!("run {} (stored resolved spec)", original.id);
    let spec = Spec::parse(Path::new(&origin), &original.spec_toml, &[])?;
    let loaded = LoadedSpec {
        spec,
        source: original.source_spec.clone(),
        path: PathBuf::from(&original.spec_path),
    };
    let data_path = PathBuf::from(&original.data_path);
    if !data_path.exists() {
        return Err(UserError::error(
            format!(
                "the data of run {} is gone: {} does not exist",
                original.id, original.data_path
            ),
            Some("restore the file (its sha256 must be the recorded one) and try again"),
        ));
    }
    let plan = Planned::new(loaded, data_path)?;
    if plan.data.data_sha256 != original.data_sha256 {
        return Err(UserError::error(
            format!(
                "the data of run {} changed since it trained: {} has sha256 {}, the run read {}",
                original.id, original.data_path, plan.data.data_sha256, original.data_sha256
            ),
            Some(changed_hint),
        ));
    }
    Ok(plan)
}

pub fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}
