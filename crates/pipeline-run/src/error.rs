//! The one error type of the run library: the libraries' errors it meets,
//! a user's mistake with its hint, an interrupt, and what was being done
//! when one of them happened (the same words the CLI printed before).

use std::error::Error;
use std::path::PathBuf;

use pipeline_data::DataError;
use pipeline_model::ModelError;
use pipeline_registry::{RegistryError, RunId};
use pipeline_spec::SpecError;
use pipeline_train::TrainError;

/// An error of a caller's watcher.
pub type WatcherError = Box<dyn Error + Send + Sync>;

/// A variant that adds words of its own names its cause as a boxed
/// `RunError` (whose display and causes are the library error's own).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A mistake of the user's that no library reports (exit code 2).
    #[error("{message}")]
    User {
        message: String,
        hint: Option<String>,
    },
    /// The caller's watcher could not show a result (stdout closed, …).
    #[error(transparent)]
    Watcher(WatcherError),
    /// The work stopped on Ctrl-C or SIGTERM.
    #[error("interrupted")]
    Interrupted,
    #[error("cannot prepare the data of {}", spec.display())]
    PrepareData {
        spec: PathBuf,
        #[source]
        source: Box<RunError>,
    },
    #[error("cannot select the training device")]
    SelectDevice(#[source] Box<RunError>),
    #[error("the model of {} does not fit its data", spec.display())]
    ModelDoesNotFit {
        spec: PathBuf,
        #[source]
        source: Box<RunError>,
    },
    #[error("cannot plan fold {fold} of {folds}")]
    PlanFold {
        fold: u32,
        folds: u32,
        #[source]
        source: Box<RunError>,
    },
    /// A run failed: `headline` names it and says when, and for a failure
    /// of its environment how to continue it.
    #[error("{headline}")]
    RunFailed {
        headline: String,
        #[source]
        source: Box<RunError>,
    },
    #[error("the checkpoint of run {run} does not fit its spec and data")]
    CheckpointMismatch {
        run: RunId,
        #[source]
        source: Box<RunError>,
    },
    #[error("the checkpoint of run {run} is unreadable")]
    CheckpointUnreadable {
        run: RunId,
        #[source]
        source: Box<RunError>,
    },
}

impl RunError {
    /// `error` as the boxed source of another (the variants that add words
    /// of their own box their cause, keeping this type small).
    pub fn boxed(error: impl Into<RunError>) -> Box<RunError> {
        Box::new(error.into())
    }

    /// A user's mistake with its hint.
    pub fn user(message: impl Into<String>, hint: Option<&str>) -> RunError {
        RunError::User {
            message: message.into(),
            hint: hint.map(Into::into),
        }
    }
}

/// `error` and its causes on one line, joined by `: ` (as anyhow's `{:#}`
/// writes them): the text recorded as a failed run's error.
pub fn chain_text(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
