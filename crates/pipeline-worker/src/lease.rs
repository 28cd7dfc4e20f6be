//! The keeper of a worker's leases: one thread renews every lease its jobs
//! hold (and the worker's heartbeat) on the database's clock, a third of a
//! lease apart; a lease it finds lost raises that item's stop flag and its
//! `lost` flag. It also passes the worker's stop flag (SIGTERM) on to every
//! item as `drain`, so that each ends once its epoch in progress is done.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use pipeline_run::Store;

/// How often the keeper looks at the stop flag between renewals.
const TICK: Duration = Duration::from_millis(100);

/// One lease a job holds while it trains the item.
pub struct Held {
    pub item: i64,
    pub token: String,
    /// Stops the item's training at once: the lease lost.
    pub stop: AtomicBool,
    /// Stops it after the epoch in progress: the worker's stop flag
    /// (SIGTERM).
    pub drain: AtomicBool,
    /// The lease was lost: the item's run is not this worker's any more.
    pub lost: AtomicBool,
}

/// The leases of one worker, and the keeper's wake-up.
pub struct Leases {
    held: Mutex<Vec<Arc<Held>>>,
    finished: Mutex<bool>,
    wake: Condvar,
}

impl Leases {
    pub fn new() -> Leases {
        Leases {
            held: Mutex::new(Vec::new()),
            finished: Mutex::new(false),
            wake: Condvar::new(),
        }
    }

    /// Starts keeping the lease `token` of `item`.
    pub fn hold(&self, item: i64, token: &str) -> Arc<Held> {
        let held = Arc::new(Held {
            item,
            token: token.to_owned(),
            stop: AtomicBool::new(false),
            drain: AtomicBool::new(false),
            lost: AtomicBool::new(false),
        });
        if let Ok(mut all) = self.held.lock() {
            all.push(Arc::clone(&held));
        }
        held
    }

    /// Stops keeping the lease of `item` (it ended, or was given back).
    pub fn release(&self, item: i64) {
        if let Ok(mut all) = self.held.lock() {
            all.retain(|held| held.item != item);
        }
    }

    /// Ends [`Leases::keep`].
    pub fn finish(&self) {
        if let Ok(mut finished) = self.finished.lock() {
            *finished = true;
        }
        self.wake.notify_all();
    }

    /// The keeper's loop, until [`Leases::finish`]: renews each held lease
    /// and the worker's heartbeat every `lease / 3`, and passes `stop` on.
    pub fn keep(&self, store: Store<'_>, worker: &str, lease: Duration, stop: &AtomicBool) {
        let every = lease / 3;
        let mut renewed = Instant::now();
        let Ok(mut finished) = self.finished.lock() else {
            return;
        };
        loop {
            match self.wake.wait_timeout(finished, TICK) {
                Ok((guard, _)) => finished = guard,
                Err(_) => return,
            }
            if *finished {
                return;
            }
            let held: Vec<Arc<Held>> = self.held.lock().map(|all| all.clone()).unwrap_or_default();
            if stop.load(Ordering::Relaxed) {
                for one in &held {
                    one.drain.store(true, Ordering::Relaxed);
                }
            }
            if renewed.elapsed() < every {
                continue;
            }
            renewed = Instant::now();
            if let Err(error) = store.block_on(store.registry.worker_alive(worker, false)) {
                tracing::debug!("heartbeat of worker {worker}: {error}");
            }
            for one in held {
                match store.block_on(store.registry.renew_lease(one.item, &one.token, lease)) {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(
                            "worker {worker}: the lease of work item {} was lost; its run is \
                             stopped and nothing more of it is written",
                            one.item
                        );
                        one.lost.store(true, Ordering::Relaxed);
                        one.stop.store(true, Ordering::Relaxed);
                    }
                    // The database is unreachable: the lease runs on; if it
                    // expires first, it is reaped and the writes are refused.
                    Err(error) => {
                        tracing::warn!("worker {worker}: cannot renew lease {}: {error}", one.item)
                    }
                }
            }
        }
    }
}
