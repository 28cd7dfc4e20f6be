//! The registry runs are recorded in, with the runtime that drives its
//! async methods from this synchronous code (the caller's: a registry's
//! connections belong to the runtime that opened it).

use std::future::Future;

use pipeline_registry::Registry;
use tokio::runtime::Runtime;

/// A registry handle and the runtime to call it on.
#[derive(Clone, Copy)]
pub struct Store<'a> {
    pub registry: &'a Registry,
    pub runtime: &'a Runtime,
}

impl<'a> Store<'a> {
    pub fn new(registry: &'a Registry, runtime: &'a Runtime) -> Store<'a> {
        Store { registry, runtime }
    }

    /// Runs one of the registry's futures to its end.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}
