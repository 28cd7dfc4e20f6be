//! Sweeps: a spec's `[sweep]` searched by trials that run in parallel
//! threads, each trial a normal run of the registry made through
//! `pipeline-run` and linked to its sweep's trial row. The samplers and
//! pruners are `pipeline-search`'s; this crate drives them: hands out trial
//! numbers (each once), prunes through the trial's watcher, reads a sweep
//! back from the registry to resume or retry it, and confirms the winners
//! with cross-validation. The library prints nothing.

mod confirm;
mod coordinator;
mod driver;
mod error;
mod events;
mod space;
mod trial;

pub use confirm::{Confirmed, confirm};
pub use driver::{Options, Swept, WorkedTrial, run, start, stored_spec, sweep_tag, work_trial};
pub use error::SweepError;
pub use events::{NoEvents, SweepEvents, TrialEnded, TrialOutcome, TrialStarted};
pub use space::{SearchSpace, toml_to_json};
