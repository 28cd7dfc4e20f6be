//! Workers: a process that claims work submitted with `pipeline run
//! --submit` (queued runs, and the trials of submitted sweeps) from the
//! registry's queue, trains it, and ends or hands it back.
//!
//! - Each of `jobs` threads reaps expired leases, claims one item
//!   ([`pipeline_registry::Registry::claim_work`]) and trains it with a
//!   registry handle that writes as the lease ([`Registry::owned_by`]).
//! - One keeper thread renews the leases and the worker's heartbeat on the
//!   database's clock; a lease it finds lost stops that item's training,
//!   and the registry refuses every write of the lost run.
//! - The stop flag (SIGTERM, Ctrl-C) ends each item once its epoch in
//!   progress is done, with a checkpoint, gives its lease back, and claims
//!   nothing more: another worker continues it from that checkpoint.
//!
//! The library prints nothing: it tells a [`WorkerEvents`].
//!
//! [`Registry::owned_by`]: pipeline_registry::Registry::owned_by

mod error;
mod events;
mod item;
mod lease;
mod worker;

pub use error::WorkerError;
pub use events::{ItemEnded, NoWorkerEvents, WorkerEvents};
pub use worker::{DEFAULT_LEASE, DEFAULT_MAX_ATTEMPTS, Options, Worked, new_worker_id, work};
