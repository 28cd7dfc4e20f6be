//! `pipeline run SPEC…`: validate everything that can be checked before
//! training (specs, data, device, model shapes), then train each spec with
//! the run library (progress on stderr, the registry recording it), which
//! writes the artifacts atomically and commits the run as completed.
//! Several specs are all checked first, queued in the registry, then
//! trained in order. With `--folds K`, k-fold cross-validation: at the end
//! stdout gets each validation and test metric per fold with the mean and
//! the standard deviation across folds (or JSON with `--json`).

use std::process::ExitCode;

use pipeline_registry::check_run_name;
use pipeline_run::{
    FoldPlanReport, Labels, Planned, check_request, cross_validate, new_group, new_run, plan_folds,
};
use pipeline_spec::{LoadedSpec, Spec};

use crate::cli::RunArgs;
use crate::commands::shared::sweep_error;
use crate::commands::shared::{Context, install_signal_handlers, print, train_plans};
use crate::commands::sweep_drive::drive;
use crate::exit::{self, UserError};
use crate::output::folds::{plan_text, report_text};
use crate::output::training::{Console, RunOutput, report_failures, warn_pitfalls};

pub fn run(context: &Context, args: RunArgs) -> anyhow::Result<ExitCode> {
    if let Some(name) = &args.name {
        check_name(name, args.specs.len())?;
    }
    if let Some(folds) = args.folds {
        return folds_run(context, &args, folds);
    }
    let mut loaded = Vec::with_capacity(args.specs.len());
    for path in &args.specs {
        loaded.push(Spec::load(path, &args.set)?);
    }
    if args.submit {
        return submit(context, &args, loaded);
    }
    if loaded.iter().any(|l| l.spec.sweep.is_some()) && !args.dry_run {
        return sweep_run(context, &args, loaded);
    }
    if args.dry_run {
        for (i, spec) in loaded.iter().enumerate() {
            if loaded.len() > 1 {
                print(&format!(
                    "{}# {}\n",
                    if i > 0 { "\n" } else { "" },
                    spec.path.display()
                ))?;
            }
            print(&spec.spec.to_toml())?;
            let implicit = spec.spec.implicit_defaults();
            if !implicit.is_empty() {
                print(&format!(
                    "\n# At their defaults, left out of the stored spec and its hash:\n# {}\n",
                    implicit.join("\n# ")
                ))?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let labels = Labels {
        tags: args.tags.clone(),
        note: args.note.clone(),
        name: args.name.clone(),
        trial: None,
    };
    let plans = loaded
        .into_iter()
        .map(Planned::of)
        .collect::<Result<Vec<_>, _>>()?;
    if !context.global.quiet {
        for plan in &plans {
            let from = if plans.len() > 1 {
                format!(" ({})", plan.loaded.path.display())
            } else {
                String::new()
            };
            warn_pitfalls(plan, &from);
        }
    }
    let trained = train_plans(context, plans, &labels, RunOutput::of(args.json))?;
    Ok(exit::of_verdict(trained.verdict))
}

/// `--folds K`: every fold planned, then trained as one queue and reported.
fn folds_run(context: &Context, args: &RunArgs, folds: u32) -> anyhow::Result<ExitCode> {
    check_request(folds, args.specs.len())?;
    let Some(path) = args.specs.first() else {
        return Ok(ExitCode::SUCCESS);
    };
    let loaded = Spec::load(path, &args.set)?;
    let plans = plan_folds(&loaded, folds)?;
    let spec = &loaded.spec;
    if args.dry_run {
        let plan = FoldPlanReport::new(spec, &plans);
        print(&if args.json {
            pretty(&plan)?
        } else {
            plan_text(&plan)
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    if !context.global.quiet
        && let Some(first) = plans.first()
    {
        warn_pitfalls(first, "");
    }
    let group = new_group();
    let labels = Labels {
        tags: args.tags.clone(),
        note: args.note.clone(),
        name: args.name.clone(),
        trial: None,
    };
    if !context.global.quiet {
        eprintln!(
            "cross-validation {group}: {folds} folds of {} (seed {}); the {} test rows are held \
             out of every fold",
            spec.name,
            spec.seed,
            plans.first().map_or(0, |plan| plan.data.sizes.test)
        );
    }
    // Opened only now: a spec or data mistake leaves no registry behind.
    let registry = context.registry()?;
    let stop = install_signal_handlers()?;
    let mut console = Console::new(&context.global, RunOutput::Collected);
    let store = context.store(&registry);
    let validated = cross_validate(store, plans, &group, &labels, &stop, &mut console)?;
    report_failures(&validated.trained);
    let report = &validated.report;
    print(&if args.json {
        pretty(report)?
    } else {
        report_text(report, &context.short_ids(&registry)?)
    })?;
    if !context.global.quiet {
        match report.incomplete() {
            0 => eprintln!("the folds: pipeline runs --tag {group}"),
            n => eprintln!(
                "{n} of {folds} folds did not complete: no mean or std; the folds: pipeline \
                 runs --tag {group}"
            ),
        }
    }
    Ok(exit::of_verdict(validated.trained.verdict))
}

/// A spec with `[sweep]`: the sweep recorded, then its trials trained
/// (`jobs` at a time), each a run linked to the sweep.
fn sweep_run(
    context: &Context,
    args: &RunArgs,
    loaded: Vec<LoadedSpec>,
) -> anyhow::Result<ExitCode> {
    let loaded = alone(loaded, "run the sweep spec by itself: pipeline run SPEC")?;
    if args.folds.is_some() {
        return Err(UserError::error(
            "--folds cross-validates one spec; a spec with [sweep] runs many trials",
            Some(
                "run the sweep, then cross-validate its best trials: pipeline sweep confirm \
                 SWEEP --top 3 --folds 5",
            ),
        ));
    }
    check_base(context, &loaded)?;
    let registry = context.registry()?;
    let store = context.store(&registry);
    let id = pipeline_sweep::start(store, &loaded, args.name.as_deref(), &args.tags)
        .map_err(sweep_error)?;
    if !context.global.quiet
        && let Some(sweep) = &loaded.spec.sweep
    {
        let record = context.block_on(registry.sweep(&id))?;
        let jobs = args.jobs.unwrap_or(sweep.jobs);
        eprintln!(
            "sweep {}: {} over {} parameter(s), {} trials, {jobs} at a time, pruner {}; {} ({})",
            record.short_id,
            sweep.method,
            sweep.parameters.len(),
            sweep.budget(),
            sweep.pruner,
            record.metric,
            if record.higher_is_better {
                "higher is better"
            } else {
                "lower is better"
            }
        );
    }
    let options = pipeline_sweep::Options {
        jobs: args.jobs,
        fail_fast: args.fail_fast,
        retry: None,
    };
    drive(context, &registry, &id, &options, args.json)
}

/// `--submit`: every spec planned (a mistake stops here, before anything is
/// queued), then each run, or the sweep's trials, queued for `pipeline
/// worker`; the ids go to stdout.
fn submit(context: &Context, args: &RunArgs, loaded: Vec<LoadedSpec>) -> anyhow::Result<ExitCode> {
    if loaded.iter().any(|l| l.spec.sweep.is_some()) {
        return submit_sweep(context, args, loaded);
    }
    let labels = Labels {
        tags: args.tags.clone(),
        note: args.note.clone(),
        name: args.name.clone(),
        trial: None,
    };
    let plans = loaded
        .into_iter()
        .map(Planned::of)
        .collect::<Result<Vec<_>, _>>()?;
    if !context.global.quiet {
        for plan in &plans {
            warn_pitfalls(plan, &format!(" ({})", plan.loaded.path.display()));
        }
    }
    let registry = context.registry()?;
    let mut ids = Vec::with_capacity(plans.len());
    for plan in &plans {
        let new = new_run(plan, &labels);
        ids.push(context.block_on(registry.submit_run(&new, args.max_attempts))?);
    }
    if args.json {
        let runs: Vec<&str> = ids.iter().map(|id| id.as_str()).collect();
        print(&format!("{}\n", serde_json::json!({ "runs": runs })))?;
    } else {
        print(&ids.iter().map(|id| format!("{id}\n")).collect::<String>())?;
    }
    if !context.global.quiet {
        eprintln!(
            "{} run(s) queued for workers; train them with `pipeline worker` (`pipeline workers` \
             lists the workers, `pipeline runs --status queued` what waits)",
            ids.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `--submit` of a spec with `[sweep]`: the sweep recorded and each of its
/// trial numbers queued; workers sample, claim and train them.
fn submit_sweep(
    context: &Context,
    args: &RunArgs,
    loaded: Vec<LoadedSpec>,
) -> anyhow::Result<ExitCode> {
    let loaded = alone(
        loaded,
        "submit the sweep spec by itself: pipeline run SPEC --submit",
    )?;
    check_base(context, &loaded)?;
    let registry = context.registry()?;
    let store = context.store(&registry);
    let id = pipeline_sweep::start(store, &loaded, args.name.as_deref(), &args.tags)
        .map_err(sweep_error)?;
    let budget = loaded.spec.sweep.as_ref().map_or(0, |sweep| sweep.budget());
    context.block_on(registry.submit_trials(&id, budget, args.max_attempts))?;
    if args.json {
        print(&format!(
            "{}\n",
            serde_json::json!({ "sweep": id.as_str(), "trials": budget })
        ))?;
    } else {
        print(&format!("{id}\n"))?;
    }
    if !context.global.quiet {
        let record = context.block_on(registry.sweep(&id))?;
        eprintln!(
            "sweep {}: {budget} trials queued for workers; train them with `pipeline worker \
             --sweep {}` (`pipeline sweep show {}` follows it)",
            record.short_id, record.short_id, record.short_id
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The one spec with `[sweep]`: a sweep runs alone (`hint` says how).
fn alone(loaded: Vec<LoadedSpec>, hint: &str) -> anyhow::Result<LoadedSpec> {
    let [loaded] = <[LoadedSpec; 1]>::try_from(loaded).map_err(|specs| {
        UserError::error(
            format!("a spec with [sweep] runs alone; got {} specs", specs.len()),
            Some(hint),
        )
    })?;
    Ok(loaded)
}

/// Plans a sweep's base spec, warning of its pitfalls: a data or model
/// mistake stops here, before a sweep is recorded (each trial's spec is
/// planned later).
fn check_base(context: &Context, loaded: &LoadedSpec) -> anyhow::Result<()> {
    let base = Planned::of(loaded.trial(&[])?)?;
    if !context.global.quiet {
        warn_pitfalls(&base, "");
    }
    Ok(())
}

/// Refuses an invalid `--name` before anything is read, and one name for
/// several specs: a name selects one run.
fn check_name(name: &str, specs: usize) -> anyhow::Result<()> {
    check_run_name(name)?;
    if specs > 1 {
        return Err(UserError::error(
            format!("--name {name:?} names one run, and {specs} specs make {specs} runs"),
            Some(
                "run the specs one at a time with --name, or name them afterwards with `pipeline name RUN NAME`",
            ),
        ));
    }
    Ok(())
}

fn pretty(value: &impl serde::Serialize) -> anyhow::Result<String> {
    Ok(format!("{}\n", serde_json::to_string_pretty(value)?))
}
