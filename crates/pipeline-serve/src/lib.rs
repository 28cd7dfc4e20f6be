//! A registered run's predictions over HTTP, for `pipeline serve`.
//! `POST /predict` takes one JSON row, an array of rows or `{"rows": [...]}`
//! and answers `{"run": id, "predictions": [...]}`; `GET /model` describes
//! the run and its input schema; `GET /health` says it is up. The run is
//! loaded (and its artifacts verified) by the caller, once. Bad requests get
//! a 4xx status and a JSON `{"error": ...}` body and the server keeps
//! serving; bodies are limited to [`BODY_LIMIT`] (a larger one is read and
//! discarded up to [`DRAIN_LIMIT`] so that the client gets its 413 instead
//! of a reset connection).
//!
//! Its own crate so that a program that only predicts (a sweep, a worker)
//! does not build an HTTP server.

mod answers;
mod body;
mod error;
mod handlers;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use pipeline_predict::Predictor;
use pipeline_registry::RunId;

pub use answers::{ErrorAnswer, Feature, Health, ModelDescription, ModelInput, PredictAnswer};
pub use error::ServeError;

/// The largest request body accepted (1 MiB, about 11,000 rows of 10 features).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// How much of an over-limit body is read (and discarded) before the 413
/// answer; beyond it the connection is simply closed.
pub const DRAIN_LIMIT: usize = 16 * BODY_LIMIT;

/// What every request handler shares.
struct Served {
    predictor: Predictor,
    /// The `GET /model` answer, built once.
    model: ModelDescription,
}

/// A server bound to its address, not yet answering.
pub struct Server {
    listener: tokio::net::TcpListener,
    served: Arc<Served>,
}

impl Server {
    /// Binds `addr` for `predictor`'s run.
    pub async fn bind(addr: SocketAddr, predictor: Predictor) -> Result<Server, ServeError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError::Bind { addr, source })?;
        let model = ModelDescription::of(&predictor);
        Ok(Server {
            listener,
            served: Arc::new(Served { predictor, model }),
        })
    }

    /// The address bound (the port chosen, for port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, ServeError> {
        self.listener.local_addr().map_err(ServeError::LocalAddr)
    }

    /// The run served.
    pub fn run_id(&self) -> &RunId {
        &self.served.predictor.record.id
    }

    /// Answers requests until `shutdown` resolves, then finishes the ones
    /// under way.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        axum::serve(self.listener, handlers::router(self.served))
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(ServeError::Server)
    }
}
