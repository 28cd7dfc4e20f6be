//! Refreshes the heartbeat of this process's queued and running runs every
//! [`HEARTBEAT_INTERVAL`] from a thread of its own, so a long epoch never
//! looks like a dead process to another host.

use std::sync::{Arc, Mutex, mpsc};

use pipeline_registry::{HEARTBEAT_INTERVAL, Registry, RunId};

/// The heartbeat thread of some runs. Stops when dropped.
pub struct Heartbeat {
    active: Arc<Mutex<Vec<RunId>>>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Heartbeat {
    pub fn start(registry: &Registry, ids: &[RunId]) -> Heartbeat {
        let active = Arc::new(Mutex::new(ids.to_vec()));
        let (stop, stopped) = mpsc::channel::<()>();
        let registry = registry.clone();
        let shared = Arc::clone(&active);
        let thread = std::thread::Builder::new()
            .name("heartbeat".into())
            .spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                while let Err(mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(HEARTBEAT_INTERVAL)
                {
                    let ids = shared.lock().map(|ids| ids.clone()).unwrap_or_default();
                    for id in ids {
                        if let Err(error) = runtime.block_on(registry.heartbeat(&id)) {
                            tracing::debug!("heartbeat of run {id}: {error}");
                        }
                    }
                }
            })
            .ok();
        Heartbeat {
            active,
            stop: Some(stop),
            thread,
        }
    }

    /// Stops refreshing a run that has ended.
    pub fn forget(&self, id: &RunId) {
        if let Ok(mut ids) = self.active.lock() {
            ids.retain(|other| other != id);
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
