//! What a worker's caller sees: leases reaped, items claimed and ended.
//! Trials tell their epochs through [`SweepEvents`] as a sweep's do.

use pipeline_registry::{Claimed, Reaped, RunId, WorkEnd};
use pipeline_sweep::SweepEvents;

/// How one claimed item ended for this worker.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemEnded {
    /// Ended as `end` says (and so recorded in the queue); `run`: the run
    /// that trained it, when one did.
    Ended { end: WorkEnd, run: Option<RunId> },
    /// Its lease was lost (reaped while this worker stalled, or taken over):
    /// nothing more was written.
    LeaseLost,
}

/// The events of a worker; each has a default that does nothing.
pub trait WorkerEvents: SweepEvents {
    /// Another worker's expired lease was reaped by this one.
    fn reaped(&self, _reaped: &Reaped) {}
    /// This worker claimed an item.
    fn claimed(&self, _claimed: &Claimed) {}
    /// An item this worker claimed ended.
    fn ended(&self, _claimed: &Claimed, _ended: &ItemEnded) {}
    /// Nothing is queued: the worker waits (or, asked to, exits).
    fn idle(&self) {}
}

/// Events nobody watches.
pub struct NoWorkerEvents;

impl SweepEvents for NoWorkerEvents {}
impl WorkerEvents for NoWorkerEvents {}
