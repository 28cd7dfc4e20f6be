//! A failed run: what stopped it (its work, or its environment, which
//! `pipeline resume` can continue after), the headline of its error, and
//! recording it as failed.

use pipeline_registry::{EndStatus, RunId};

use crate::error::RunError;
use crate::store::Store;

/// What stopped a run that failed.
#[derive(Debug, Clone, Copy)]
pub enum Failure {
    /// Its spec, data or training (a non-finite loss, …): resuming would
    /// meet it again.
    Work,
    /// Its environment: the registry or its disk (full, an I/O error) could
    /// not be written. Resumable once that is fixed, from the checkpoint of
    /// this epoch (0: none saved by this process).
    Environment(u32),
}

impl Failure {
    /// The error's first line: the run, `when` it failed, and for an
    /// environmental failure how to continue it.
    pub fn headline(self, id: &RunId, when: &str) -> String {
        let when = if when.is_empty() {
            String::new()
        } else {
            format!(" {when}")
        };
        match self {
            Failure::Work => format!("run {id} failed{when}"),
            Failure::Environment(0) => format!(
                "run {id} failed{when} on its environment, not its spec or data; once that is \
                 fixed, `pipeline resume {id}` continues it from its last checkpoint"
            ),
            Failure::Environment(epoch) => format!(
                "run {id} failed{when} on its environment, not its spec or data; once that is \
                 fixed, `pipeline resume {id}` continues it from epoch {}",
                epoch + 1
            ),
        }
    }

    /// `error` under this failure's headline.
    pub fn error(self, id: &RunId, when: &str, error: RunError) -> RunError {
        RunError::RunFailed {
            headline: self.headline(id, when),
            source: Box::new(error),
        }
    }
}

/// Marks the run failed; if even that fails, logs it and lets the original
/// error be the one reported (the next command marks the run crashed, which
/// is resumable too).
pub fn record_failure(store: Store<'_>, id: &RunId, message: &str, failure: Failure) {
    let status = match failure {
        Failure::Work => EndStatus::Failed,
        Failure::Environment(_) => EndStatus::FailedOnEnvironment,
    };
    if let Err(error) = store.block_on(store.registry.end_run(id, status, Some(message))) {
        tracing::error!("cannot record run {id} as failed: {error}");
    }
}
