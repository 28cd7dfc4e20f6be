//! The one error type of prediction: the libraries' errors it passes on
//! unchanged (same text), the mistakes of the user's it finds itself (a
//! message and a hint), and what went wrong reading a stored run.

use std::path::PathBuf;

use pipeline_data::DataError;
use pipeline_model::ModelError;
use pipeline_registry::{ArtifactKind, RegistryError, RunId};
use pipeline_spec::SpecError;
use pipeline_train::TrainError;

#[derive(Debug, thiserror::Error)]
pub enum PredictError {
    /// A mistake of the user's (a refused run, a file without rows, a
    /// column the predictions would overwrite), with what to try instead.
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Polars(#[from] polars::prelude::PolarsError),
    #[error("run {run} has no {kind:?} artifact recorded")]
    NoArtifact { run: RunId, kind: ArtifactKind },
    #[error("the preprocessing of run {run} is unreadable")]
    PreprocessingUnreadable {
        run: RunId,
        #[source]
        source: serde_json::Error,
    },
    #[error("the preprocessing of run {run} lists no feature columns")]
    NoFeatures { run: RunId },
    #[error("the weights of run {run} do not match its spec")]
    WeightsMismatch {
        run: RunId,
        #[source]
        source: ModelError,
    },
    #[error("cannot add the prediction columns")]
    AddColumns {
        #[source]
        source: polars::prelude::PolarsError,
    },
    /// A labelled file's batch without the run's targets (boxed: a data
    /// error is large).
    #[error("{} needs the run's target column(s) `{columns}`", input.display())]
    MissingTargets {
        input: PathBuf,
        columns: String,
        #[source]
        source: Box<DataError>,
    },
    /// A file or folder operation, described (`cannot write PATH`).
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot encode JSON")]
    Json(#[source] serde_json::Error),
}

impl PredictError {
    /// [`PredictError::Usage`] from a message and an optional hint.
    pub fn usage(message: impl Into<String>, hint: Option<&str>) -> PredictError {
        PredictError::Usage {
            message: message.into(),
            hint: hint.map(Into::into),
        }
    }

    /// The data error this is, when it is one (a row the run cannot
    /// predict: a missing column, a bad cell, an output out of range).
    pub fn data_error(&self) -> Option<&DataError> {
        match self {
            PredictError::Data(e) => Some(e),
            _ => None,
        }
    }

    /// `what` failed with `source` (`cannot read PATH`).
    pub(crate) fn io(what: String) -> impl FnOnce(std::io::Error) -> PredictError {
        move |source| PredictError::Io { what, source }
    }
}
