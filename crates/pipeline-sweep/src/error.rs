//! What can stop a sweep (a trial's own failure does not: it is recorded
//! with the trial and the sweep goes on).

use pipeline_registry::RegistryError;
use pipeline_run::RunError;
use pipeline_spec::SpecError;

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Spec(Box<SpecError>),
    #[error(transparent)]
    Run(Box<RunError>),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The sweep's space or pruner settings (checked when the spec loads,
    /// so only a stored sweep of an older build can fail here).
    #[error(transparent)]
    Search(#[from] pipeline_search::SearchError),
    /// A mistake of the user's (exit code 2), with a hint.
    #[error("{message}")]
    User {
        message: String,
        hint: Option<String>,
    },
}

impl From<SpecError> for SweepError {
    fn from(error: SpecError) -> Self {
        SweepError::Spec(Box::new(error))
    }
}

impl From<RunError> for SweepError {
    fn from(error: RunError) -> Self {
        SweepError::Run(Box::new(error))
    }
}

impl SweepError {
    pub fn user(message: impl Into<String>, hint: Option<&str>) -> SweepError {
        SweepError::User {
            message: message.into(),
            hint: hint.map(Into::into),
        }
    }

    /// The hint of a user mistake.
    pub fn hint(&self) -> Option<&str> {
        match self {
            SweepError::User { hint, .. } => hint.as_deref(),
            _ => None,
        }
    }
}
