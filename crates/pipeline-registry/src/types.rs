//! Plain data types exchanged with the registry: what callers write (new runs,
//! metrics, completions) and what they read back (summaries, full records).
//! They live apart from the SQL so the CLI can depend on their shape alone.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Identifier of one run: the hyphenated, lowercase text of a UUID v7, so ids
/// sort by creation time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RunId(String);

impl RunId {
    /// A fresh, time-ordered id.
    pub(crate) fn new_v7() -> Self {
        Self(uuid::Uuid::now_v7().hyphenated().to_string())
    }

    /// Wraps an id read back from the database.
    pub(crate) fn from_db(id: String) -> Self {
        Self(id)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Everything known about a run when it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    /// Experiment name from the spec.
    pub experiment: String,
    /// The resolved spec (defaults filled in), as TOML.
    pub spec_toml: String,
    /// Hash of `spec_toml`.
    pub spec_hash: String,
    /// The spec file text as the user wrote it.
    pub source_spec: String,
    /// Path of the spec file, as given on the command line.
    pub spec_path: String,
    /// Path of the training data.
    pub data_path: String,
    /// SHA-256 (hex) of the training data file.
    pub data_sha256: String,
    /// Short hash of the resolved input columns (names and types); `None`
    /// where the caller does not know them (an import).
    pub columns_hash: Option<String>,
    /// Seed. Stored as a signed 64-bit INTEGER: seeds above `i64::MAX` are
    /// rejected by [`crate::Registry::create_run`].
    pub seed: u64,
    /// Device the run trains on, e.g. "cpu" or "cuda:0".
    pub device: String,
    /// Version of the program that ran the training.
    pub program_version: String,
    /// Git commit the program was built from (`-dirty` appended when the
    /// checkout had changes), or "unknown".
    pub git_commit: String,
    /// Whether the same spec, data and seed give bit-identical weights on
    /// this device (CPU: yes; GPU kernels may reorder sums).
    pub deterministic: bool,
    /// Labels for finding the run later.
    pub tags: Vec<String>,
    /// Free text attached to the run.
    pub note: Option<String>,
    /// The run's name, unique in the registry and selectable like its id
    /// (checked by [`crate::check_run_name`]).
    pub name: Option<String>,
    /// Metric used to pick the best epoch / best run, e.g. "val_loss".
    pub selection_metric: String,
    /// Whether larger values of `selection_metric` are better.
    pub selection_higher_is_better: bool,
    /// The sweep trial this run trains, if any: creating the run links it
    /// to the trial in the same transaction.
    pub trial: Option<crate::sweep_types::TrialLink>,
}

/// One metric value for one split.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricValue {
    /// "train", "validation" or "test".
    pub split: String,
    /// "loss", "mse", "rmse", "mae", "r2", ...
    pub metric: String,
    /// The value. NaN is stored as NULL and read back as NaN.
    pub value: f64,
}

impl MetricValue {
    /// This value as recorded at the end of `epoch`.
    pub fn at_epoch(self, epoch: u32) -> EpochMetric {
        EpochMetric {
            epoch,
            split: self.split,
            metric: self.metric,
            value: self.value,
        }
    }
}

/// One metric value recorded at the end of one epoch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochMetric {
    /// Epoch number as passed to [`crate::Registry::record_epoch`].
    pub epoch: u32,
    /// "train", "validation" or "test".
    pub split: String,
    /// Metric name.
    pub metric: String,
    /// The value. NaN is stored as NULL and read back as NaN.
    pub value: f64,
}

/// What an artifact file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactKind {
    /// Model weights.
    Weights,
    /// Fitted preprocessing state (scalers, encoders).
    Preprocessing,
    /// The training state after the last saved epoch (weights, optimizer,
    /// schedule, random streams, best epoch), for `pipeline resume`.
    CheckpointLast,
    /// The best epoch's weights so far, as a weights file.
    CheckpointBest,
}

impl ArtifactKind {
    /// The word stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Weights => "weights",
            Self::Preprocessing => "preprocessing",
            Self::CheckpointLast => "checkpoint_last",
            Self::CheckpointBest => "checkpoint_best",
        }
    }

    /// A checkpoint, kept while a run may still be resumed.
    pub fn is_checkpoint(self) -> bool {
        matches!(self, Self::CheckpointLast | Self::CheckpointBest)
    }

    /// The file name of this kind's artifact of `epoch`, as checkpoints are
    /// named (`checkpoint-last-epoch-000012.safetensors`): a crashed run's
    /// folder is read back by [`ArtifactKind::epoch_of_file`].
    pub fn epoch_file_name(self, epoch: u32) -> String {
        format!("{}{epoch:06}.safetensors", self.epoch_file_prefix())
    }

    /// The epoch in a file name that [`ArtifactKind::epoch_file_name`] made.
    pub(crate) fn epoch_of_file(self, name: &str) -> Option<u32> {
        name.strip_prefix(&self.epoch_file_prefix())?
            .strip_suffix(".safetensors")?
            .parse()
            .ok()
    }

    fn epoch_file_prefix(self) -> String {
        format!("{}-epoch-", self.as_str().replace('_', "-"))
    }

    pub(crate) fn from_db(s: &str) -> Option<Self> {
        match s {
            "weights" => Some(Self::Weights),
            "preprocessing" => Some(Self::Preprocessing),
            "checkpoint_last" => Some(Self::CheckpointLast),
            "checkpoint_best" => Some(Self::CheckpointBest),
            _ => None,
        }
    }
}

impl fmt::Display for ArtifactKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An artifact file written under the registry root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArtifactRecord {
    /// What the file holds.
    pub kind: ArtifactKind,
    /// Path relative to the registry root, '/'-separated,
    /// e.g. `artifacts/<run-id>/model.safetensors`.
    pub path: String,
    /// SHA-256 of the file content, lowercase hex.
    pub sha256: String,
    /// File size in bytes.
    pub bytes: u64,
    /// The object store holding it (`file:///…`, `s3://…`), its `path`
    /// under the store's prefix; `None`: the registry's own (files beside
    /// a SQLite registry, chunks in a PostgreSQL one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
}

/// What a successful run reports when it finishes.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// Epoch whose weights were kept.
    pub best_epoch: u32,
    /// Number of epochs trained.
    pub epochs_run: u32,
    /// Value of the selection metric at `best_epoch`.
    pub selection_value: f64,
    /// Metrics of the kept model on each split.
    pub final_metrics: Vec<MetricValue>,
    /// Artifacts returned by [`crate::Registry::write_artifact`].
    pub artifacts: Vec<ArtifactRecord>,
    /// Overfitting against generalization, from the learning curves.
    pub overfitting: Overfitting,
    /// Digest of the weights' tensors, metadata excluded (see
    /// `pipeline_model::weights_digest`).
    pub weights_digest: Option<String>,
}

/// A run's overfitting summary, stored in columns that `runs --where` and
/// `--sort` use (`gap`, `test_gap`, `onset`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Overfitting {
    /// Validation minus train loss at the best epoch.
    pub gap_at_best: Option<f64>,
    /// Test minus train loss of the kept model.
    pub test_train_gap: Option<f64>,
    /// First epoch after which validation loss rose while train loss fell,
    /// for `patience` epochs; `None` when that never happened.
    pub onset: Option<u32>,
    /// The graded diagnosis (migration 0009); empty for runs recorded before.
    #[serde(flatten)]
    pub diagnosis: StoredDiagnosis,
}

/// A run's graded diagnosis as stored: the words `pipeline_train::diagnosis`
/// writes (the registry knows nothing of training), and the numbers they
/// rest on. All `None` for runs recorded before it was kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StoredDiagnosis {
    /// The primary verdict: `overfitting`, `underfitting`, `still_improving`,
    /// `diverged`, `learning_rate_too_high`, `learning_rate_too_low`,
    /// `good_fit` or `too_short`.
    pub verdict: Option<String>,
    /// `slight`, `mild` or `strong`; `None` for an ungraded verdict.
    pub verdict_grade: Option<String>,
    /// Every finding, `verdict[:grade]`, the primary first.
    pub verdict_findings: Vec<String>,
    /// Validation loss at the end relative to its minimum, minus 1.
    pub val_above_min: Option<f64>,
    /// Relative fall of training loss from the first epoch to the last.
    pub train_drop: Option<f64>,
    /// Relative fall of validation loss over the last quarter of the run.
    pub val_recent_drop: Option<f64>,
    /// Validation skill over a trivial baseline (regression: R²;
    /// classification: accuracy above the majority class, scaled to 1).
    pub skill: Option<f64>,
}

/// How an unsuccessful run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndStatus {
    /// Stopped by an error.
    Failed,
    /// Stopped by its environment (a full disk, an I/O or registry error),
    /// not by its spec or data: recorded `failed`, and resumable from its
    /// checkpoint ([`RunRecord::failed_on_environment`]).
    FailedOnEnvironment,
    /// Stopped by a signal (Ctrl-C, SIGTERM).
    Killed,
}

impl EndStatus {
    pub(crate) fn status(self) -> RunStatus {
        match self {
            Self::Failed | Self::FailedOnEnvironment => RunStatus::Failed,
            Self::Killed => RunStatus::Killed,
        }
    }
}

/// A run's status as every read takes it: the stored word, except that a
/// `killed` run with a `pruned_epoch` (stopped by a sweep's pruner) reads
/// `pruned` (migration 0010 keeps the status CHECK as it was).
pub(crate) const STATUS_SQL: &str = "(CASE WHEN runs.status = 'killed' \
     AND runs.pruned_epoch IS NOT NULL THEN 'pruned' ELSE runs.status END)";

/// Lifecycle state of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Registered, waiting for its turn (`pipeline run A.toml B.toml`).
    Queued,
    /// Training in progress (or the process died and nobody noticed yet).
    Running,
    /// Finished; artifacts and final metrics are recorded.
    Completed,
    /// Stopped by an error.
    Failed,
    /// Stopped by a signal.
    Killed,
    /// The process vanished without cleanup; detected at open.
    Crashed,
    /// Stopped early by a sweep's pruner (stored as `killed` with a
    /// `pruned_epoch`, migration 0010).
    Pruned,
}

impl RunStatus {
    /// The lowercase word stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Killed => "killed",
            Self::Crashed => "crashed",
            Self::Pruned => "pruned",
        }
    }

    /// Every status, in lifecycle order: what `--status` accepts.
    pub const ALL: [RunStatus; 7] = [
        Self::Queued,
        Self::Running,
        Self::Completed,
        Self::Failed,
        Self::Killed,
        Self::Crashed,
        Self::Pruned,
    ];

    /// The status named by its word (`completed`), as typed on a command
    /// line; `None` for any other word.
    pub fn parse(word: &str) -> Option<Self> {
        Self::from_db(word)
    }

    /// Queued or running: a process may be writing the run's rows and
    /// files, so it is neither deleted nor archived.
    pub fn is_in_progress(self) -> bool {
        matches!(self, Self::Queued | Self::Running)
    }

    pub(crate) fn from_db(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(Self::Queued),
            "running" => Some(Self::Running),
            "completed" => Some(Self::Completed),
            "failed" => Some(Self::Failed),
            "killed" => Some(Self::Killed),
            "crashed" => Some(Self::Crashed),
            // Never stored: read through [`STATUS_SQL`].
            "pruned" => Some(Self::Pruned),
            _ => None,
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which runs [`crate::Registry::list_runs`] returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFilter {
    /// Only runs of this experiment.
    pub experiment: Option<String>,
    /// Only runs in this state.
    pub status: Option<RunStatus>,
    /// Only runs carrying every one of these tags.
    pub tags: Vec<String>,
    /// Only runs for which this `--where` expression holds.
    pub condition: Option<crate::filter::Condition>,
    /// Order (newest first when `None`).
    pub sort: Option<crate::filter::SortKey>,
    /// At most this many, after sorting.
    pub limit: Option<u32>,
    /// Archived runs (`pipeline archive`): hidden unless asked for.
    pub archived: ArchivedRuns,
}

/// Which runs a listing takes by their archived state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ArchivedRuns {
    /// Only runs that are not archived (what `pipeline runs` lists).
    #[default]
    Hidden,
    /// Only archived runs (`runs --archived`).
    Only,
    /// Both (`runs --all`).
    Included,
}

/// One line of `pipeline runs`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub id: RunId,
    /// The shortest unique prefix (7+ hex digits) of the id's random part:
    /// what tables print and any command accepts ([`crate::ShortIds`]).
    pub short_id: String,
    /// The run's name, if it has one.
    pub name: Option<String>,
    pub experiment: String,
    pub status: RunStatus,
    /// RFC 3339 UTC with milliseconds.
    pub started_at: String,
    pub ended_at: Option<String>,
    pub epochs_run: u32,
    pub best_epoch: Option<u32>,
    pub selection_metric: String,
    pub selection_value: Option<f64>,
    #[serde(flatten)]
    pub overfitting: Overfitting,
    /// Sorted.
    pub tags: Vec<String>,
    /// Ordered by split, then metric.
    pub final_metrics: Vec<MetricValue>,
    /// When the run was archived (`pipeline archive`); `None`: it is not.
    pub archived_at: Option<String>,
    /// The resolved spec, flattened (`optimizer.learning_rate = 0.01`);
    /// `runs --json` keeps the keys it shows.
    pub params: std::collections::BTreeMap<String, pipeline_spec::FlatValue>,
    /// Free text attached to the run.
    pub note: Option<String>,
}

/// Everything recorded about one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    pub id: RunId,
    /// The run's name, if it has one.
    pub name: Option<String>,
    pub experiment: String,
    pub status: RunStatus,
    /// Why the run failed, was killed or crashed.
    pub error: Option<String>,
    /// A failed run that stopped on its environment (a full disk, an I/O or
    /// registry error), not its spec or data: it can be resumed.
    pub failed_on_environment: bool,
    pub spec_toml: String,
    pub spec_hash: String,
    pub source_spec: String,
    pub spec_path: String,
    pub data_path: String,
    pub data_sha256: String,
    /// Short hash of the resolved input columns; `None` for runs recorded
    /// before it was kept.
    pub columns_hash: Option<String>,
    pub seed: u64,
    pub device: String,
    pub program_version: String,
    pub git_commit: Option<String>,
    /// `None` for runs recorded before the receipt was kept.
    pub deterministic: Option<bool>,
    pub queued_at: Option<String>,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub best_epoch: Option<u32>,
    pub epochs_run: u32,
    pub selection_metric: String,
    pub selection_higher_is_better: bool,
    pub selection_value: Option<f64>,
    #[serde(flatten)]
    pub overfitting: Overfitting,
    pub weights_digest: Option<String>,
    pub note: Option<String>,
    /// Sorted.
    pub tags: Vec<String>,
    /// Aliases that currently point at this run, sorted.
    pub aliases: Vec<String>,
    pub pid: Option<u32>,
    pub host: Option<String>,
    pub heartbeat_at: Option<String>,
    /// When the run was archived (`pipeline archive`); `None`: it is not.
    /// An archived run is hidden from listings and from `best` and
    /// `latest`, still named by its id or an alias.
    pub archived_at: Option<String>,
    /// Ordered by epoch, split, metric.
    pub epochs: Vec<EpochMetric>,
    /// Ordered by split, metric.
    pub final_metrics: Vec<MetricValue>,
    /// Ordered by kind.
    pub artifacts: Vec<ArtifactRecord>,
}

impl RunRecord {
    /// The artifact of the given kind, if the run recorded one.
    pub fn artifact(&self, kind: ArtifactKind) -> Option<&ArtifactRecord> {
        self.artifacts.iter().find(|a| a.kind == kind)
    }
}

/// One assignment of an alias: `run_id` held `name` from `set_at` until
/// `unset_at` (`None`: it still does).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AliasRecord {
    pub name: String,
    pub run_id: RunId,
    pub set_at: String,
    pub unset_at: Option<String>,
}

/// How the user names a run on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunSelector {
    /// The most recently started run, whatever its status.
    Latest,
    /// The completed run with the best selection value.
    Best,
    /// The completed run with the best final value of one metric
    /// (`best:val_r2`), in that metric's direction.
    BestBy {
        /// "train", "validation" or "test".
        split: String,
        /// "loss", "r2", ...
        metric: String,
        higher_is_better: bool,
    },
    /// A full run id, an alias, a run's name, or a unique prefix of an id
    /// or of its short id (in that order).
    Id(String),
}

/// Error returned when parsing an empty [`RunSelector`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "empty run selector: expected \"latest\", \"best\", an alias or a run id (or a prefix of one)"
)]
pub struct EmptySelector;

impl FromStr for RunSelector {
    type Err = EmptySelector;

    /// `latest`, `best`, or an id / alias / prefix. `best:<metric>` needs the
    /// metric's direction, which the caller knows: build
    /// [`RunSelector::BestBy`] directly.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        match s {
            "" => Err(EmptySelector),
            "latest" => Ok(Self::Latest),
            "best" => Ok(Self::Best),
            other => Ok(Self::Id(other.to_owned())),
        }
    }
}

impl fmt::Display for RunSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Latest => f.write_str("latest"),
            Self::Best => f.write_str("best"),
            Self::BestBy { split, metric, .. } => {
                let prefix = if split == "validation" { "val" } else { split };
                write!(f, "best:{prefix}_{metric}")
            }
            Self::Id(id) => f.write_str(id),
        }
    }
}
