//! Exit codes and the final error report: 2 for a user's mistake (bad spec,
//! missing file, unknown run), 1 for a failure during the work, 130 when
//! interrupted.

use std::process::ExitCode;

use pipeline_data::DataError;
use pipeline_predict::PredictError;
use pipeline_registry::RegistryError;
use pipeline_run::{RunError, Verdict};
use pipeline_serve::ServeError;
use pipeline_spec::SpecError;
use pipeline_train::TrainError;

pub const FAILURE: u8 = 1;
pub const USAGE: u8 = 2;
pub const INTERRUPTED: u8 = 130;

/// A mistake of the user's that is not one of the libraries' errors.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UserError {
    pub message: String,
    pub hint: Option<String>,
}

impl UserError {
    /// The error, ready to return from a command.
    pub fn error(message: impl Into<String>, hint: Option<&str>) -> anyhow::Error {
        anyhow::Error::new(UserError {
            message: message.into(),
            hint: hint.map(Into::into),
        })
    }
}

/// The work stopped on Ctrl-C or SIGTERM.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

fn code_of(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if cause.downcast_ref::<Interrupted>().is_some() {
            return INTERRUPTED;
        }
        if cause.downcast_ref::<SpecError>().is_some()
            || cause.downcast_ref::<UserError>().is_some()
        {
            return USAGE;
        }
        if let Some(e) = cause.downcast_ref::<DataError>() {
            return data_code(e);
        }
        if let Some(e) = cause.downcast_ref::<RegistryError>() {
            return registry_code(e);
        }
        if let Some(code) = cause.downcast_ref::<TrainError>().and_then(train_code) {
            return code;
        }
        if let Some(code) = cause.downcast_ref::<PredictError>().and_then(predict_code) {
            return code;
        }
        if let Some(e) = cause.downcast_ref::<ServeError>() {
            return if e.is_user_error() { USAGE } else { FAILURE };
        }
        if let Some(code) = run_error(cause).and_then(run_code) {
            return code;
        }
    }
    FAILURE
}

fn data_code(error: &DataError) -> u8 {
    if error.is_user_error() {
        USAGE
    } else {
        FAILURE
    }
}

fn registry_code(error: &RegistryError) -> u8 {
    if error.is_user_error() {
        USAGE
    } else {
        FAILURE
    }
}

/// The code a training error decides, or `None` to look further down the chain.
fn train_code(error: &TrainError) -> Option<u8> {
    match error {
        TrainError::Data(e) => Some(data_code(e)),
        TrainError::Device { .. }
        | TrainError::ClassMismatch { .. }
        | TrainError::ClassWeights { .. } => Some(USAGE),
        TrainError::Model(e) if e.is_user_error() => Some(USAGE),
        _ => None,
    }
}

/// The code a prediction error decides: that of the error it passes on
/// unchanged, as if it stood in the chain itself; `None` to look further.
fn predict_code(error: &PredictError) -> Option<u8> {
    match error {
        PredictError::Usage { .. } | PredictError::Spec(_) => Some(USAGE),
        PredictError::Data(e) => Some(data_code(e)),
        PredictError::MissingTargets { source, .. } => Some(data_code(source)),
        PredictError::Registry(e) => Some(registry_code(e)),
        PredictError::Train(e) => train_code(e),
        _ => None,
    }
}

/// The run library's error in a chain: itself, or boxed as the cause of
/// another of its errors.
fn run_error<'a>(cause: &'a (dyn std::error::Error + 'static)) -> Option<&'a RunError> {
    cause
        .downcast_ref::<RunError>()
        .or_else(|| cause.downcast_ref::<Box<RunError>>().map(|boxed| &**boxed))
}

/// The code a run error decides: that of the error it passes on unchanged,
/// as if it stood in the chain itself; `None` to look further.
fn run_code(error: &RunError) -> Option<u8> {
    match error {
        RunError::User { .. } | RunError::Spec(_) => Some(USAGE),
        RunError::Interrupted => Some(INTERRUPTED),
        RunError::Data(e) => Some(data_code(e)),
        RunError::Registry(e) => Some(registry_code(e)),
        RunError::Train(e) => train_code(e),
        _ => None,
    }
}

fn hint_of(error: &anyhow::Error) -> Option<String> {
    error.chain().find_map(|cause| {
        if let Some(e) = cause.downcast_ref::<UserError>() {
            return e.hint.clone();
        }
        if let Some(e) = cause.downcast_ref::<TrainError>() {
            return e.hint().map(Into::into);
        }
        if let Some(e) = cause.downcast_ref::<RegistryError>() {
            return registry_hint(e);
        }
        if let Some(e) = cause.downcast_ref::<PredictError>() {
            return predict_hint(e);
        }
        if let Some(e) = cause.downcast_ref::<ServeError>() {
            return e.hint().map(Into::into);
        }
        if let Some(e) = run_error(cause) {
            return run_hint(e);
        }
        None
    })
}

/// The hint of a prediction error, or of the error it passes on unchanged.
fn predict_hint(error: &PredictError) -> Option<String> {
    match error {
        PredictError::Usage { hint, .. } => hint.clone(),
        PredictError::Train(e) => e.hint().map(Into::into),
        PredictError::Registry(e) => registry_hint(e),
        _ => None,
    }
}

/// The hint of a run error, or of the error it passes on unchanged.
fn run_hint(error: &RunError) -> Option<String> {
    match error {
        RunError::User { hint, .. } => hint.clone(),
        RunError::Train(e) => e.hint().map(Into::into),
        RunError::Registry(e) => registry_hint(e),
        _ => None,
    }
}

fn registry_hint(error: &RegistryError) -> Option<String> {
    match error {
        RegistryError::AmbiguousExperiment { .. } => Some("name one with --experiment NAME".into()),
        RegistryError::SpecKey { hint, .. } => hint.clone(),
        RegistryError::UnknownRun { .. } | RegistryError::AmbiguousRun { .. } => {
            Some("`pipeline runs` lists the runs; `latest` and `best` also work".into())
        }
        RegistryError::UnknownSweep { .. } | RegistryError::AmbiguousSweep { .. } => Some(
            "`pipeline sweeps` lists the sweeps; `latest` names the newest".into(),
        ),
        RegistryError::ArtifactMissing { run, .. } | RegistryError::ArtifactCorrupt { run, .. } => {
            Some(format!(
                "the file changed or went away after the run recorded it; `pipeline show {run} \
                 --verify` checks every artifact, `pipeline rerun {run}` trains the run again \
                 from its stored spec"
            ))
        }
        RegistryError::NotARegistry { path, .. }
            if pipeline_registry::is_postgres_url(&path.to_string_lossy()) =>
        {
            Some(
                "`pipeline registry migrate` makes an empty PostgreSQL database a registry; \
                 point --registry (or PIPELINE_REGISTRY) at another database otherwise"
                    .into(),
            )
        }
        RegistryError::NotARegistry { .. } => Some(
            "point --registry (or PIPELINE_REGISTRY) at a pipeline registry, or at a new path"
                .into(),
        ),
        RegistryError::RefusedFile { .. } => Some(
            "name a file outside the registry's database and artifacts, e.g. --output predictions.csv"
                .into(),
        ),
        RegistryError::RefusedFolder { .. } => {
            Some("name a new folder outside the registry, e.g. --out export/".into())
        }
        RegistryError::RunInProgress { .. } => Some(
            "let it end, or stop it (Ctrl-C where it trains), then try again; \
             `--status completed` keeps a selection to ended runs"
                .into(),
        ),
        RegistryError::AliasedRun { aliases, .. } => Some(format!(
            "`pipeline alias rm {}` first, or add --force to delete the run and its alias",
            aliases.first().map_or("NAME", String::as_str)
        )),
        RegistryError::ReadOnlyOutdated { .. } => Some(
            "open it once where it can be written (any command upgrades it), or read it with the pipeline that wrote it"
                .into(),
        ),
        _ => None,
    }
}

/// The exit code of runs that ended as `verdict` says.
pub fn of_verdict(verdict: Verdict) -> ExitCode {
    match verdict {
        Verdict::Completed => ExitCode::SUCCESS,
        Verdict::Failed => ExitCode::from(FAILURE),
        Verdict::Interrupted => ExitCode::from(INTERRUPTED),
    }
}

/// Prints `error` with its causes and hint to stderr; returns the exit code.
pub fn report(error: &anyhow::Error) -> ExitCode {
    let code = code_of(error);
    let mut text = format!("error: {error}");
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(&format!("\n  caused by: {cause}"));
        }
    }
    // A spec error renders its own hint.
    let has_hint = text.contains("\nhint: ");
    if let (false, Some(hint)) = (has_hint, hint_of(error)) {
        text.push_str(&format!("\nhint: {hint}"));
    }
    eprintln!("{}", crate::output::color::prefixes(&text));
    ExitCode::from(code)
}
