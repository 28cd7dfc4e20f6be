//! What stops a worker (an item's own failure does not: it is recorded
//! with the item and the worker goes on).

use pipeline_registry::RegistryError;

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The registry could not be read or written (the queue itself).
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A thread of the worker could not be started.
    #[error("cannot start a worker thread: {0}")]
    Thread(#[source] std::io::Error),
    /// A job thread panicked.
    #[error("a worker job panicked")]
    Panicked,
}
