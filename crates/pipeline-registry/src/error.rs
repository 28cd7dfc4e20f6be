//! The one error type of the registry. Each variant names the database file or
//! the run it concerns, so the CLI can print it without extra context, and
//! [`RegistryError::is_user_error`] tells the CLI which ones are the user's to
//! fix (exit code 2) rather than a fault of the machine or the program.

use std::path::PathBuf;

use crate::atomic::WriteError;
use crate::types::RunStatus;

/// Everything that can go wrong in the registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The file exists but is not a registry (not SQLite, or someone else's
    /// SQLite database). It was not modified.
    #[error("{} is not a pipeline registry: {reason}", path.display())]
    NotARegistry { path: PathBuf, reason: String },

    /// The database was migrated by a newer build. It was not modified.
    #[error(
        "{} has schema version {version}, newer than this build knows ({known}); use a newer pipeline",
        path.display()
    )]
    NewerSchema {
        path: PathBuf,
        version: i64,
        known: i64,
    },

    /// The registry is read-only and older than this build: it cannot be
    /// migrated. It was not modified.
    #[error(
        "{} has schema version {version}, older than this build's ({known}), and cannot be upgraded: it is read-only",
        path.display()
    )]
    ReadOnlyOutdated {
        path: PathBuf,
        version: i64,
        known: i64,
    },

    /// The shared (PostgreSQL) registry is older than this build: only
    /// `pipeline registry migrate` upgrades it. It was not modified.
    #[error(
        "{} has schema version {version}, older than this build's ({known}); upgrade it with `pipeline registry migrate` (every machine using it then needs this version)",
        path.display()
    )]
    Outdated {
        path: PathBuf,
        version: i64,
        known: i64,
    },

    /// The database could not be opened or created.
    #[error("cannot open registry database {}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: sqlx::Error,
    },

    /// Applying the embedded migrations failed.
    #[error("cannot migrate registry database {}", path.display())]
    Migrate {
        path: PathBuf,
        #[source]
        source: sqlx::migrate::MigrateError,
    },

    /// A statement failed.
    #[error("registry query failed ({context}) in {}", path.display())]
    Query {
        path: PathBuf,
        context: String,
        #[source]
        source: sqlx::Error,
    },

    /// A file-system operation failed.
    #[error("registry I/O failed on {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A stored value does not fit the expected shape (hand-edited database?).
    #[error("registry {} holds an invalid value: {detail}", path.display())]
    Corrupt { path: PathBuf, detail: String },

    /// A value cannot be stored (e.g. a seed above `i64::MAX`).
    #[error("cannot record {what}: {reason}")]
    InvalidInput { what: String, reason: String },

    /// No run matches the selector.
    #[error("no run matches '{selector}': {reason}")]
    UnknownRun { selector: String, reason: String },

    /// Several runs' ids or short ids start with what was typed; `matches`
    /// names each as `SHORT-ID (ID)`.
    #[error("run '{prefix}' is ambiguous: it starts the id or short id of {}", matches.join(", "))]
    AmbiguousRun {
        prefix: String,
        matches: Vec<String>,
    },

    /// `best` (or `best:<metric>`, `selector` as typed) was asked without
    /// an experiment while several have completed runs.
    #[error(
        "\"{selector}\" is ambiguous: completed runs exist for several experiments ({})",
        experiments.join(", ")
    )]
    AmbiguousExperiment {
        selector: String,
        experiments: Vec<String>,
    },

    /// A recorded artifact file is gone.
    #[error("artifact {path} of run {run} is missing")]
    ArtifactMissing { run: String, path: String },

    /// A recorded artifact file does not match its size or checksum.
    #[error("artifact {path} of run {run} is corrupt: expected {expected}, found {actual}")]
    ArtifactCorrupt {
        run: String,
        path: String,
        expected: String,
        actual: String,
    },

    /// Only killed and crashed runs can be resumed.
    #[error("run {run} is {from}; only killed or crashed runs can be resumed")]
    NotResumable { run: String, from: RunStatus },

    /// A file the user named for an output is one of the registry's own
    /// ([`crate::RegistryFiles`]): its database, journal or artifacts.
    #[error("refusing to write {}: {reason}", path.display())]
    RefusedFile { path: PathBuf, reason: String },

    /// A folder the user named for an output is, holds or lies in the
    /// registry's folder ([`crate::RegistryFiles`]).
    #[error("refusing to write the folder {}: {reason}", path.display())]
    RefusedFolder { path: PathBuf, reason: String },

    /// The run is queued or running: a process may be writing its rows and
    /// files, so it is not deleted or archived (`action`: what was asked).
    #[error("run {run} is {status}: a run in progress cannot be {action}")]
    RunInProgress {
        run: String,
        status: RunStatus,
        action: &'static str,
    },

    /// An alias currently names the run, and deleting it was not forced.
    #[error(
        "run {run} is named by alias {}: deleting it would remove the alias",
        aliases.join(", ")
    )]
    AliasedRun { run: String, aliases: Vec<String> },

    /// A spec key in `--where`, `--sort` or `--columns` that no run
    /// records, or compared with the wrong kind of value.
    #[error("spec key `{key}`: {reason}")]
    SpecKey {
        key: String,
        reason: String,
        hint: Option<String>,
    },

    /// No sweep matches what was typed.
    #[error("no sweep matches '{selector}': {reason}")]
    UnknownSweep { selector: String, reason: String },

    /// Several sweeps' ids or short ids start with what was typed.
    #[error("sweep '{prefix}' is ambiguous: it starts the id or short id of {}", matches.join(", "))]
    AmbiguousSweep {
        prefix: String,
        matches: Vec<String>,
    },

    /// The object store holding artifacts (`--artifacts`) failed.
    #[error("artifact store {url}: {detail}")]
    ArtifactStore { url: String, detail: String },

    /// The run is live but another process (or worker lease) owns it now:
    /// this one lost it and must write nothing more.
    #[error(
        "run {run} was taken over by another process (owner {owner}); this one lost it and \
         writes nothing more to it"
    )]
    LostRun { run: String, owner: String },

    /// The run is not in a state that allows this change.
    #[error("run {run} is {from}; that change is only allowed while it is queued or running")]
    InvalidTransition { run: String, from: RunStatus },
}

/// An atomic write of the registry's (an artifact) fails as I/O on the
/// path of the step that failed.
impl From<WriteError> for RegistryError {
    fn from(error: WriteError) -> Self {
        RegistryError::Io {
            path: error.path,
            source: error.source,
        }
    }
}

impl RegistryError {
    /// True when the user can fix the problem by changing the command line,
    /// the spec or the chosen database (the CLI exits with code 2 for these).
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            Self::NotARegistry { .. }
                | Self::NewerSchema { .. }
                | Self::ReadOnlyOutdated { .. }
                | Self::Outdated { .. }
                | Self::UnknownRun { .. }
                | Self::AmbiguousRun { .. }
                | Self::AmbiguousExperiment { .. }
                | Self::InvalidInput { .. }
                | Self::NotResumable { .. }
                | Self::ArtifactMissing { .. }
                | Self::ArtifactCorrupt { .. }
                | Self::RefusedFile { .. }
                | Self::RefusedFolder { .. }
                | Self::RunInProgress { .. }
                | Self::AliasedRun { .. }
                | Self::SpecKey { .. }
                | Self::UnknownSweep { .. }
                | Self::AmbiguousSweep { .. }
        )
    }
}
