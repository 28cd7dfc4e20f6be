//! Refreshes the heartbeat of this process's queued and running runs every
//! [`HEARTBEAT_INTERVAL`] from a thread of its own, so a long epoch never
//! looks like a dead process to another host. The thread calls the
//! registry on the caller's runtime (a PostgreSQL connection belongs to the
//! runtime it was opened on), and lives only as long as the caller's body.

use std::sync::{Condvar, Mutex};

use pipeline_registry::{HEARTBEAT_INTERVAL, RunId};

use crate::store::Store;

/// The runs whose heartbeat is refreshed (see [`with_heartbeat`]).
pub struct Heartbeat {
    active: Mutex<Vec<RunId>>,
    stopped: Mutex<bool>,
    wake: Condvar,
}

/// Runs `body` while a thread refreshes the heartbeat of `ids` (until
/// [`Heartbeat::forget`] drops one); the thread stops when `body` returns
/// or panics.
pub fn with_heartbeat<T>(store: Store<'_>, ids: &[RunId], body: impl FnOnce(&Heartbeat) -> T) -> T {
    let heartbeat = Heartbeat {
        active: Mutex::new(ids.to_vec()),
        stopped: Mutex::new(false),
        wake: Condvar::new(),
    };
    std::thread::scope(|scope| {
        let beating = std::thread::Builder::new()
            .name("heartbeat".into())
            .spawn_scoped(scope, || heartbeat.beat(store));
        if let Err(error) = beating {
            tracing::warn!("cannot start the heartbeat thread: {error}");
        }
        let _stop = StopOnDrop(&heartbeat);
        body(&heartbeat)
    })
}

impl Heartbeat {
    /// Stops refreshing a run that has ended.
    pub fn forget(&self, id: &RunId) {
        if let Ok(mut ids) = self.active.lock() {
            ids.retain(|other| other != id);
        }
    }

    fn beat(&self, store: Store<'_>) {
        let Ok(mut stopped) = self.stopped.lock() else {
            return;
        };
        loop {
            match self.wake.wait_timeout(stopped, HEARTBEAT_INTERVAL) {
                Ok((guard, _)) => stopped = guard,
                Err(_) => return,
            }
            if *stopped {
                return;
            }
            let ids = self
                .active
                .lock()
                .map(|ids| ids.clone())
                .unwrap_or_default();
            for id in ids {
                if let Err(error) = store.block_on(store.registry.heartbeat(&id)) {
                    tracing::debug!("heartbeat of run {id}: {error}");
                }
            }
        }
    }
}

/// Ends the heartbeat thread when the caller's body ends, however it ends.
struct StopOnDrop<'a>(&'a Heartbeat);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        if let Ok(mut stopped) = self.0.stopped.lock() {
            *stopped = true;
        }
        self.0.wake.notify_all();
    }
}
