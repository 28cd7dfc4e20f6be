//! The run registry of `pipeline`: a SQLite database (chosen by the caller,
//! `registry/registry.db` by default) plus an `artifacts/` folder beside it
//! holding each run's files under `artifacts/<run-id>/`; or a PostgreSQL
//! database holding the artifacts too, through the same SQL.
//!
//! The training loop never touches it; the CLI records runs here (create,
//! one row set per epoch, complete or end) and reads them back (list,
//! resolve "latest"/"best"/id prefixes, load a run, read verified
//! artifacts). Workers claim submitted work from its queue (`work.rs`), and
//! only a run's owner writes it (`touch.rs`).

mod archive;
mod artifacts;
pub mod atomic;
mod blobs;
mod bucket;
mod error;
mod files;
mod filter;
mod import;
mod labels;
mod location;
mod names;
mod open;
mod params;
mod postgres;
mod push;
mod query;
mod reconcile;
mod remove;
mod runs;
mod scope;
mod short_ids;
mod sql;
mod statement;
mod sweep_types;
mod sweeps;
mod touch;
mod types;
mod util;
mod work;

#[cfg(test)]
mod tests;

pub use atomic::{AtomicFile, WriteError, stage_folder, sync_dir, write_atomically};
pub use bucket::ArtifactStore;
pub use error::RegistryError;
pub use files::RegistryFiles;
pub use filter::{Condition, Field, FilterError, SortKey};
pub use import::ImportedRun;
pub use labels::FOLD_TAG_PREFIX;
pub use location::{Backend, Location, PgUrl, is_postgres_url, redact};
pub use names::check_run_name;
pub use open::{Access, HEARTBEAT_INTERVAL, HEARTBEAT_STALE_AFTER, Registry};
pub use postgres::Migrated;
pub use push::Pushed;
pub use query::Epochs;
pub use reconcile::{Unowned, UnownedReason};
pub use remove::{Removal, RunToRemove};
pub use scope::Resolved;
pub use short_ids::{SHORT_ID_MIN, SHORT_ID_TYPED_MIN, ShortIds, random_part};
pub use sweep_types::{
    Confirmation, NewConfirmation, NewSweep, PrunedRun, SweepFilter, SweepId, SweepRecord,
    SweepState, SweepSummary, TrialCounts, TrialLink, TrialRecord, TrialState,
};
pub use types::{
    AliasRecord, ArchivedRuns, ArtifactKind, ArtifactRecord, Completion, EmptySelector, EndStatus,
    EpochMetric, MetricValue, NewRun, Overfitting, RunFilter, RunId, RunRecord, RunSelector,
    RunStatus, RunSummary, StoredDiagnosis,
};
pub use work::{Claimed, NewWorker, QueueCounts, Reaped, WorkEnd, WorkKind, WorkerRecord};
