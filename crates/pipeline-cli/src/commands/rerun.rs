//! `pipeline rerun RUN`: train again from the run's stored resolved spec on
//! the data file it read, refusing when that file's content changed. The new
//! run is tagged `rerun` and its note names the original, so
//! `pipeline compare RUN latest` says whether the two match exactly.

use std::process::ExitCode;

use pipeline_registry::{Epochs, check_run_name};
use pipeline_run::{GROUP_TAG_PREFIX, Labels, Verdict, short, stored_plan};

use crate::cli::RerunArgs;
use crate::commands::shared::{Context, train_plans};
use crate::exit;
use crate::output::training::RunOutput;

pub fn rerun(context: &Context, args: RerunArgs) -> anyhow::Result<ExitCode> {
    if let Some(name) = &args.name {
        check_run_name(name)?;
    }
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
        name: args.name.clone(),
        trial: None,
    };
    let trained = train_plans(context, vec![plan], &labels, RunOutput::of(args.json))?;
    if !context.global.quiet && trained.verdict == Verdict::Completed {
        eprintln!("compare the pair: pipeline compare {} latest", original.id);
    }
    Ok(exit::of_verdict(trained.verdict))
}
