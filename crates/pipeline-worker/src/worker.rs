//! The worker's loop: register, then `jobs` threads that each reap, claim
//! one item and train it until the stop flag, `max_items`, or (asked to) an
//! empty queue ends them; a keeper thread holds their leases.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use pipeline_registry::{Claimed, NewWorker, Registry, SweepId, WorkEnd};
use pipeline_run::Store;
use pipeline_spec::Device;

use crate::error::WorkerError;
use crate::events::{ItemEnded, WorkerEvents};
use crate::item::train_item;
use crate::lease::Leases;

/// How long a lease lasts unless renewed (`pipeline worker --lease`).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

/// Leases an item may lose (its workers died or stalled) before it fails.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// What a worker is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// Its name in `pipeline workers` ([`new_worker_id`]).
    pub id: String,
    /// Replaces every spec's device (new trials and submitted runs).
    pub device: Option<Device>,
    /// Items trained at a time.
    pub jobs: u32,
    /// Only the trials of this sweep.
    pub sweep: Option<SweepId>,
    /// Claim at most this many items, then exit.
    pub max_items: Option<u32>,
    /// How long a lease lasts unless renewed (a third of it apart).
    pub lease: Duration,
    /// How long to wait before looking again when nothing is queued.
    pub poll: Duration,
    /// Exit once nothing is queued or leased (in `sweep`'s scope).
    pub exit_when_done: bool,
}

/// What a worker did before it exited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Worked {
    /// Items it ended (done or failed).
    pub ended: u32,
    /// Items it gave back or will be retried.
    pub handed_back: u32,
    /// Leases it lost.
    pub lost: u32,
    /// The stop flag ended it.
    pub interrupted: bool,
}

/// A new worker's name: `w-` and 8 random hex digits.
pub fn new_worker_id() -> String {
    let random = uuid::Uuid::now_v7().simple().to_string();
    format!("w-{}", &random[24..])
}

/// Works until `stop` is raised (SIGTERM), `options.max_items` were
/// claimed, or with `options.exit_when_done` the queue is empty. `stop`
/// ends every item in training once its epoch in progress is done, with a
/// checkpoint, and gives it back.
pub fn work(
    registry: &Registry,
    runtime: &tokio::runtime::Runtime,
    options: &Options,
    stop: &AtomicBool,
    events: &dyn WorkerEvents,
) -> Result<Worked, WorkerError> {
    let store = Store::new(registry, runtime);
    let worker = NewWorker {
        id: options.id.clone(),
        device: options
            .device
            .map_or_else(|| "spec".to_owned(), |d| d.to_string()),
        jobs: options.jobs,
        sweep: options.sweep.clone(),
    };
    store.block_on(registry.register_worker(&worker))?;
    let leases = Leases::new();
    let shared = Shared {
        store,
        options,
        stop,
        events,
        leases: &leases,
        claimed: AtomicU32::new(0),
        ended: AtomicU32::new(0),
        handed_back: AtomicU32::new(0),
        lost: AtomicU32::new(0),
    };
    let results: Vec<Result<(), WorkerError>> = std::thread::scope(|scope| {
        let keeper = std::thread::Builder::new()
            .name("leases".into())
            .spawn_scoped(scope, || {
                leases.keep(store, &options.id, options.lease, stop)
            })
            .map_err(WorkerError::Thread);
        let mut jobs = Vec::new();
        for job in 0..options.jobs.max(1) {
            let spawned = std::thread::Builder::new()
                .name(format!("job-{job}"))
                .spawn_scoped(scope, || shared.job());
            match spawned {
                Ok(handle) => jobs.push(handle),
                Err(error) => {
                    stop.store(true, Ordering::Relaxed);
                    jobs.clear();
                    leases.finish();
                    return vec![Err(WorkerError::Thread(error))];
                }
            }
        }
        let mut results: Vec<_> = jobs
            .into_iter()
            .map(|handle| handle.join().unwrap_or(Err(WorkerError::Panicked)))
            .collect();
        leases.finish();
        if let Err(error) = keeper {
            results.push(Err(error));
        }
        results
    });
    if let Err(error) = store.block_on(registry.worker_alive(&options.id, true)) {
        tracing::warn!("cannot record that worker {} stopped: {error}", options.id);
    }
    for result in results {
        result?;
    }
    Ok(Worked {
        ended: shared.ended.load(Ordering::Relaxed),
        handed_back: shared.handed_back.load(Ordering::Relaxed),
        lost: shared.lost.load(Ordering::Relaxed),
        interrupted: stop.load(Ordering::Relaxed),
    })
}

/// What the job threads of one worker share.
struct Shared<'a> {
    store: Store<'a>,
    options: &'a Options,
    stop: &'a AtomicBool,
    events: &'a dyn WorkerEvents,
    leases: &'a Leases,
    claimed: AtomicU32,
    ended: AtomicU32,
    handed_back: AtomicU32,
    lost: AtomicU32,
}

impl Shared<'_> {
    /// One job: reap, claim, train, end; until told to stop.
    fn job(&self) -> Result<(), WorkerError> {
        let registry = self.store.registry;
        let options = self.options;
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            if let Some(max) = options.max_items {
                // Take a place among the claims before claiming.
                let taken = self.claimed.fetch_add(1, Ordering::Relaxed);
                if taken >= max {
                    return Ok(());
                }
            }
            for reaped in self.store.block_on(registry.reap_expired())? {
                self.events.reaped(&reaped);
            }
            let claim = registry.claim_work(&options.id, options.lease, options.sweep.as_ref());
            let Some(claimed) = self.store.block_on(claim)? else {
                if options.max_items.is_some() {
                    self.claimed.fetch_sub(1, Ordering::Relaxed);
                }
                if options.exit_when_done {
                    let counts = self
                        .store
                        .block_on(registry.queue_counts(options.sweep.as_ref()))?;
                    if counts.queued == 0 && counts.leased == 0 {
                        return Ok(());
                    }
                }
                self.events.idle();
                self.wait(options.poll);
                continue;
            };
            self.events.claimed(&claimed);
            self.train(&claimed)?;
        }
    }

    /// Trains one claimed item under its lease and records how it ended.
    fn train(&self, claimed: &Claimed) -> Result<(), WorkerError> {
        let held = self.leases.hold(claimed.item, &claimed.token);
        if self.stop.load(Ordering::Relaxed) {
            held.drain.store(true, Ordering::Relaxed);
        }
        let owned = self.store.registry.owned_by(&claimed.token);
        let store = Store::new(&owned, self.store.runtime);
        let mut ended = train_item(store, claimed, &held, self.options.device, self.events);
        self.leases.release(claimed.item);
        if let ItemEnded::Ended { end, .. } = &ended {
            let recorded = self.store.block_on(self.store.registry.end_work(
                claimed.item,
                &claimed.token,
                &self.options.id,
                end,
            ))?;
            if !recorded {
                ended = ItemEnded::LeaseLost;
            }
        }
        let counter = match &ended {
            ItemEnded::LeaseLost => &self.lost,
            ItemEnded::Ended {
                end: WorkEnd::Done | WorkEnd::Failed(_),
                ..
            } => &self.ended,
            ItemEnded::Ended { .. } => &self.handed_back,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.events.ended(claimed, &ended);
        Ok(())
    }

    /// Sleeps `poll`, waking early when the stop flag is raised.
    fn wait(&self, poll: Duration) {
        let step = Duration::from_millis(50);
        let mut waited = Duration::ZERO;
        while waited < poll && !self.stop.load(Ordering::Relaxed) {
            std::thread::sleep(step);
            waited += step;
        }
    }
}
