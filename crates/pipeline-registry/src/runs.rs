//! The write side of the run lifecycle: create a run, record each epoch,
//! complete it or end it as failed/killed. Each call is one short transaction
//! whose first statement is a write, so concurrent processes queue on the
//! busy timeout instead of failing on a read-to-write lock upgrade.

use std::collections::HashSet;

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use crate::error::RegistryError;
use crate::open::{Registry, hostname, process_started};
use crate::types::{
    ArtifactRecord, Completion, EndStatus, EpochMetric, MetricValue, NewRun, Overfitting, RunId,
    RunStatus,
};
use crate::util::{ROWS_PER_INSERT, now};

impl Registry {
    /// Records a new run with status `running`, `started_at` and
    /// `heartbeat_at` now, and this process's pid and host.
    ///
    /// Seeds above `i64::MAX` are rejected (`InvalidInput`): the column is a
    /// signed 64-bit INTEGER and a silent wrap would misreport the seed.
    pub async fn create_run(&self, new: &NewRun) -> Result<RunId, RegistryError> {
        self.insert_run(new, RunStatus::Running).await
    }

    /// Records a new run with status `queued`: it will be started by
    /// [`Registry::start_run`] from this process. A queued run whose process
    /// dies is marked `crashed` like a running one.
    pub async fn queue_run(&self, new: &NewRun) -> Result<RunId, RegistryError> {
        self.insert_run(new, RunStatus::Queued).await
    }

    /// Moves a `queued` run to `running`, with `started_at` and the heartbeat
    /// now.
    pub async fn start_run(&self, run: &RunId) -> Result<(), RegistryError> {
        let context = || format!("starting run {run}");
        let started = now();
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(|e| self.query_error(context(), e))?;
        let touched = sqlx::query(
            "UPDATE runs SET status = 'running', started_at = ?, heartbeat_at = ? \
             WHERE id = ? AND status = 'queued'",
        )
        .bind(&started)
        .bind(&started)
        .bind(run.as_str())
        .execute(&mut *conn)
        .await
        .map_err(|e| self.query_error(context(), e))?
        .rows_affected();
        if touched == 0 {
            return Err(self.not_running(&mut conn, run).await);
        }
        Ok(())
    }

    /// Refreshes the heartbeat of a queued or running run: the sign of life
    /// other hosts read (see [`crate::HEARTBEAT_STALE_AFTER`]).
    pub async fn heartbeat(&self, run: &RunId) -> Result<(), RegistryError> {
        let context = || format!("refreshing the heartbeat of run {run}");
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(|e| self.query_error(context(), e))?;
        let touched = sqlx::query(
            "UPDATE runs SET heartbeat_at = ? WHERE id = ? AND status IN ('queued', 'running')",
        )
        .bind(now())
        .bind(run.as_str())
        .execute(&mut *conn)
        .await
        .map_err(|e| self.query_error(context(), e))?
        .rows_affected();
        if touched == 0 {
            return Err(self.not_running(&mut conn, run).await);
        }
        Ok(())
    }

    /// Moves a `killed` or `crashed` run, or a `failed` one that stopped on
    /// its environment ([`EndStatus::FailedOnEnvironment`]), back to
    /// `running` for `pipeline
    /// resume` from its checkpoint after epoch `after_epoch`: clears its
    /// error and end time, takes it over with this process's pid, host and a
    /// fresh heartbeat, and drops the epochs recorded after the checkpoint
    /// (they are trained again). Its other epochs and its artifacts stay.
    /// Any other status is `NotResumable`.
    pub async fn resume_run(&self, run: &RunId, after_epoch: u32) -> Result<(), RegistryError> {
        let context = || format!("resuming run {run}");
        let now = now();
        let pid = std::process::id();
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| self.query_error(context(), e))?;
        let touched = sqlx::query(
            "UPDATE runs SET status = 'running', error = NULL, ended_at = NULL, \
             failed_on_environment = 0, heartbeat_at = ?, pid = ?, pid_started = ?, host = ? \
             WHERE id = ? AND (status IN ('killed', 'crashed') \
             OR (status = 'failed' AND failed_on_environment = 1))",
        )
        .bind(&now)
        .bind(i64::from(pid))
        .bind(process_started(pid).and_then(|t| i64::try_from(t).ok()))
        .bind(hostname())
        .bind(run.as_str())
        .execute(&mut *tx)
        .await
        .map_err(|e| self.query_error(context(), e))?
        .rows_affected();
        if touched == 0 {
            return Err(match self.not_running(&mut tx, run).await {
                RegistryError::InvalidTransition { run, from } => {
                    RegistryError::NotResumable { run, from }
                }
                other => other,
            });
        }
        sqlx::query("DELETE FROM epoch_metrics WHERE run_id = ? AND epoch > ?")
            .bind(run.as_str())
            .bind(i64::from(after_epoch))
            .execute(&mut *tx)
            .await
            .map_err(|e| self.query_error(context(), e))?;
        count_epochs(&mut tx, run)
            .await
            .map_err(|e| self.query_error(context(), e))?;
        tx.commit()
            .await
            .map_err(|e| self.query_error(context(), e))
    }

    /// Records checkpoint files written by [`Registry::write_artifact`]
    /// (kinds `checkpoint_last` and `checkpoint_best`) in one transaction,
    /// while the run is `running`, replacing the run's earlier ones; then
    /// deletes the files those replaced. Write each checkpoint under a new
    /// name: the row that points at the old file stays valid until this
    /// commits, so a crash in between leaves a usable checkpoint.
    pub async fn record_checkpoint(
        &self,
        run: &RunId,
        artifacts: &[ArtifactRecord],
    ) -> Result<(), RegistryError> {
        let prefix = format!("artifacts/{run}/");
        for artifact in artifacts {
            if !artifact.kind.is_checkpoint() || !artifact.path.starts_with(&prefix) {
                return Err(RegistryError::InvalidInput {
                    what: format!("checkpoint {} of run {run}", artifact.path),
                    reason: format!(
                        "a checkpoint is a checkpoint_last or checkpoint_best file under {prefix}"
                    ),
                });
            }
        }
        let context = || format!("recording a checkpoint of run {run}");
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| self.query_error(context(), e))?;
        let touched =
            sqlx::query("UPDATE runs SET heartbeat_at = ? WHERE id = ? AND status = 'running'")
                .bind(now())
                .bind(run.as_str())
                .execute(&mut *tx)
                .await
                .map_err(|e| self.query_error(context(), e))?
                .rows_affected();
        if touched == 0 {
            return Err(self.not_running(&mut tx, run).await);
        }
        let mut replaced = Vec::new();
        for artifact in artifacts {
            let old: Option<String> =
                sqlx::query_scalar("SELECT path FROM artifacts WHERE run_id = ? AND kind = ?")
                    .bind(run.as_str())
                    .bind(artifact.kind.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(|e| self.query_error(context(), e))?;
            replaced.extend(old.filter(|old| *old != artifact.path));
        }
        insert_artifacts(&mut tx, run, artifacts)
            .await
            .map_err(|e| match e {
                ArtifactInsert::Sql(e) => self.query_error(context(), e),
                ArtifactInsert::Invalid(e) => e,
            })?;
        tx.commit()
            .await
            .map_err(|e| self.query_error(context(), e))?;
        for path in replaced {
            self.remove_artifact_file(&path);
        }
        Ok(())
    }

    async fn insert_run(&self, new: &NewRun, status: RunStatus) -> Result<RunId, RegistryError> {
        let seed = i64::try_from(new.seed).map_err(|_| RegistryError::InvalidInput {
            what: "run seed".to_owned(),
            reason: format!("{} is larger than {}", new.seed, i64::MAX),
        })?;
        for tag in &new.tags {
            crate::labels::check_tag(tag)?;
        }
        let id = RunId::new_v7();
        let started = now();
        let queued_at = (status == RunStatus::Queued).then_some(started.as_str());
        let context = || format!("creating a run of {}", new.experiment);
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| self.query_error(context(), e))?;
        sqlx::query(
            "INSERT INTO runs (id, experiment, status, spec_toml, spec_hash, source_spec, \
             spec_path, data_path, data_sha256, columns_hash, seed, device, program_version, \
             git_commit, deterministic, note, queued_at, started_at, epochs_run, \
             selection_metric, selection_higher_is_better, pid, pid_started, host, heartbeat_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.as_str())
        .bind(&new.experiment)
        .bind(status.as_str())
        .bind(&new.spec_toml)
        .bind(&new.spec_hash)
        .bind(&new.source_spec)
        .bind(&new.spec_path)
        .bind(&new.data_path)
        .bind(&new.data_sha256)
        .bind(new.columns_hash.as_deref())
        .bind(seed)
        .bind(&new.device)
        .bind(&new.program_version)
        .bind(&new.git_commit)
        .bind(i64::from(new.deterministic))
        .bind(new.note.as_deref())
        .bind(queued_at)
        .bind(&started)
        .bind(&new.selection_metric)
        .bind(i64::from(new.selection_higher_is_better))
        .bind(i64::from(std::process::id()))
        .bind(process_started(std::process::id()).and_then(|t| i64::try_from(t).ok()))
        .bind(hostname())
        .bind(&started)
        .execute(&mut *tx)
        .await
        .map_err(|e| self.query_error(context(), e))?;
        for tag in &new.tags {
            sqlx::query("INSERT OR IGNORE INTO run_tags (run_id, tag) VALUES (?, ?)")
                .bind(id.as_str())
                .bind(tag)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.query_error(context(), e))?;
        }
        tx.commit()
            .await
            .map_err(|e| self.query_error(context(), e))?;
        Ok(id)
    }

    /// Records the checkpoint of a run that is about to end without
    /// completing (Ctrl-C): its best epoch, the digest of its weights and
    /// their artifacts, written by [`Registry::write_artifact`]. Only while
    /// the run is queued or running; the run is then ended with
    /// [`Registry::end_run`].
    pub async fn keep_checkpoint(
        &self,
        run: &RunId,
        best_epoch: u32,
        weights_digest: &str,
        artifacts: &[ArtifactRecord],
    ) -> Result<(), RegistryError> {
        let context = || format!("keeping the checkpoint of run {run}");
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| self.query_error(context(), e))?;
        let touched = sqlx::query(
            "UPDATE runs SET best_epoch = ?, weights_digest = ? \
             WHERE id = ? AND status IN ('queued', 'running')",
        )
        .bind(i64::from(best_epoch))
        .bind(weights_digest)
        .bind(run.as_str())
        .execute(&mut *tx)
        .await
        .map_err(|e| self.query_error(context(), e))?
        .rows_affected();
        if touched == 0 {
            return Err(self.not_running(&mut tx, run).await);
        }
        insert_artifacts(&mut tx, run, artifacts)
            .await
            .map_err(|e| match e {
                ArtifactInsert::Sql(e) => self.query_error(context(), e),
                ArtifactInsert::Invalid(e) => e,
            })?;
        tx.commit()
            .await
            .map_err(|e| self.query_error(context(), e))
    }

    /// Stores a run's overfitting summary, whatever its status (a killed run
    /// keeps the summary of its finished epochs).
    pub async fn record_overfitting(
        &self,
        run: &RunId,
        overfitting: &Overfitting,
    ) -> Result<(), RegistryError> {
        let context = || format!("recording the overfitting summary of run {run}");
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(|e| self.query_error(context(), e))?;
        let touched = set_overfitting(&mut conn, run, overfitting)
            .await
            .map_err(|e| self.query_error(context(), e))?;
        if touched == 0 {
            return Err(self.not_running(&mut conn, run).await);
        }
        Ok(())
    }

    /// Records the metrics of one epoch (replacing values already recorded
    /// for the same epoch, split and metric), refreshes the heartbeat and sets
    /// `epochs_run` to the number of distinct epochs recorded. Only for runs
    /// that are `running`.
    pub async fn record_epoch(
        &self,
        run: &RunId,
        epoch: u32,
        metrics: &[MetricValue],
    ) -> Result<(), RegistryError> {
        let metrics: Vec<EpochMetric> = metrics.iter().map(|m| m.clone().at_epoch(epoch)).collect();
        self.record_epochs(run, &metrics).await
    }

    /// [`Registry::record_epoch`] for the metrics of several epochs, in one
    /// transaction: what a trainer finishing hundreds of small epochs a
    /// second commits at once instead of one transaction per epoch.
    pub async fn record_epochs(
        &self,
        run: &RunId,
        metrics: &[EpochMetric],
    ) -> Result<(), RegistryError> {
        let context = || match (metrics.first(), metrics.last()) {
            (Some(first), Some(last)) if first.epoch != last.epoch => {
                format!(
                    "recording epochs {} to {} of run {run}",
                    first.epoch, last.epoch
                )
            }
            (Some(first), _) => format!("recording epoch {} of run {run}", first.epoch),
            _ => format!("recording epochs of run {run}"),
        };
        check_unique_epochs(context, metrics)?;
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| self.query_error(context(), e))?;
        let touched =
            sqlx::query("UPDATE runs SET heartbeat_at = ? WHERE id = ? AND status = 'running'")
                .bind(now())
                .bind(run.as_str())
                .execute(&mut *tx)
                .await
                .map_err(|e| self.query_error(context(), e))?
                .rows_affected();
        if touched == 0 {
            return Err(self.not_running(&mut tx, run).await);
        }
        upsert_epoch_metrics(&mut tx, run, metrics)
            .await
            .map_err(|e| self.query_error(context(), e))?;
        count_epochs(&mut tx, run)
            .await
            .map_err(|e| self.query_error(context(), e))?;
        tx.commit()
            .await
            .map_err(|e| self.query_error(context(), e))
    }

    /// In one transaction: records the final metrics and the artifacts, and
    /// sets status `completed`, `ended_at`, `best_epoch`, `epochs_run` and
    /// `selection_value`. Only from `running` (else `InvalidTransition`).
    ///
    /// Each artifact must have been written for this run by
    /// [`Registry::write_artifact`], at most one per kind. The run's
    /// checkpoints are removed (rows and files): it cannot be resumed.
    pub async fn complete_run(&self, run: &RunId, done: &Completion) -> Result<(), RegistryError> {
        let prefix = format!("artifacts/{run}/");
        let mut kinds = HashSet::new();
        for artifact in &done.artifacts {
            if !artifact.path.starts_with(&prefix) {
                return Err(RegistryError::InvalidInput {
                    what: format!("artifact {} of run {run}", artifact.path),
                    reason: format!("it is not under {prefix}"),
                });
            }
            if !kinds.insert(artifact.kind) {
                return Err(RegistryError::InvalidInput {
                    what: format!("artifacts of run {run}"),
                    reason: format!("more than one {} artifact", artifact.kind),
                });
            }
        }
        let context = || format!("completing run {run}");
        let ended = now();
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| self.query_error(context(), e))?;
        let touched = sqlx::query(
            "UPDATE runs SET status = 'completed', error = NULL, ended_at = ?, heartbeat_at = ?, \
             best_epoch = ?, epochs_run = ?, selection_value = ?, weights_digest = ? \
             WHERE id = ? AND status = 'running'",
        )
        .bind(&ended)
        .bind(&ended)
        .bind(i64::from(done.best_epoch))
        .bind(i64::from(done.epochs_run))
        .bind(done.selection_value)
        .bind(done.weights_digest.as_deref())
        .bind(run.as_str())
        .execute(&mut *tx)
        .await
        .map_err(|e| self.query_error(context(), e))?
        .rows_affected();
        if touched == 0 {
            return Err(self.not_running(&mut tx, run).await);
        }
        set_overfitting(&mut tx, run, &done.overfitting)
            .await
            .map_err(|e| self.query_error(context(), e))?;
        for m in &done.final_metrics {
            sqlx::query(
                "INSERT INTO final_metrics (run_id, split, metric, value) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (run_id, split, metric) DO UPDATE SET value = excluded.value",
            )
            .bind(run.as_str())
            .bind(&m.split)
            .bind(&m.metric)
            .bind(m.value)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.query_error(context(), e))?;
        }
        insert_artifacts(&mut tx, run, &done.artifacts)
            .await
            .map_err(|e| match e {
                ArtifactInsert::Sql(e) => self.query_error(context(), e),
                ArtifactInsert::Invalid(e) => e,
            })?;
        // A completed run cannot be resumed: its checkpoints go (rows now,
        // files once the completion is committed).
        let checkpoints: Vec<String> = sqlx::query_scalar(
            "DELETE FROM artifacts WHERE run_id = ? \
             AND kind IN ('checkpoint_last', 'checkpoint_best') RETURNING path",
        )
        .bind(run.as_str())
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| self.query_error(context(), e))?;
        tx.commit()
            .await
            .map_err(|e| self.query_error(context(), e))?;
        for path in checkpoints {
            self.remove_artifact_file(&path);
        }
        // Files it wrote and never recorded (a checkpoint whose write failed
        // halfway through a save, a temp file) go too.
        self.tidy_run_folder(run).await;
        Ok(())
    }

    /// Ends a run as `failed` or `killed`, with an optional error message and
    /// `ended_at` now ([`EndStatus::FailedOnEnvironment`]: `failed`, and
    /// resumable). Recorded epochs are kept. Only from `queued` or `running`.
    pub async fn end_run(
        &self,
        run: &RunId,
        status: EndStatus,
        error: Option<&str>,
    ) -> Result<(), RegistryError> {
        let environment = status == EndStatus::FailedOnEnvironment;
        let status = status.status();
        let context = || format!("ending run {run} as {status}");
        let ended = now();
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(|e| self.query_error(context(), e))?;
        let touched = sqlx::query(
            "UPDATE runs SET status = ?, error = ?, ended_at = ?, heartbeat_at = ?, \
             failed_on_environment = ? WHERE id = ? AND status IN ('queued', 'running')",
        )
        .bind(status.as_str())
        .bind(error)
        .bind(&ended)
        .bind(&ended)
        .bind(environment)
        .bind(run.as_str())
        .execute(&mut *conn)
        .await
        .map_err(|e| self.query_error(context(), e))?
        .rows_affected();
        if touched == 0 {
            return Err(self.not_running(&mut conn, run).await);
        }
        Ok(())
    }

    /// Explains why a status change touched no row: the run is unknown or is
    /// no longer running.
    async fn not_running(&self, conn: &mut SqliteConnection, run: &RunId) -> RegistryError {
        let status: Result<Option<String>, _> =
            sqlx::query_scalar("SELECT status FROM runs WHERE id = ?")
                .bind(run.as_str())
                .fetch_optional(conn)
                .await;
        match status {
            Err(e) => self.query_error(format!("reading the status of run {run}"), e),
            Ok(None) => RegistryError::UnknownRun {
                selector: run.to_string(),
                reason: format!("no such run in {}", self.db_path.display()),
            },
            Ok(Some(s)) => match RunStatus::from_db(&s) {
                Some(from) => RegistryError::InvalidTransition {
                    run: run.to_string(),
                    from,
                },
                None => RegistryError::Corrupt {
                    path: self.db_path.clone(),
                    detail: format!("run {run} has unknown status '{s}'"),
                },
            },
        }
    }
}

/// Refuses epoch metrics that name one epoch, split and metric twice: one
/// statement may not upsert a row twice (PostgreSQL rejects it, SQLite
/// would keep either value).
pub(crate) fn check_unique_epochs(
    what: impl FnOnce() -> String,
    metrics: &[EpochMetric],
) -> Result<(), RegistryError> {
    let mut seen = HashSet::with_capacity(metrics.len());
    match metrics
        .iter()
        .find(|m| !seen.insert((m.epoch, m.split.as_str(), m.metric.as_str())))
    {
        None => Ok(()),
        Some(m) => Err(RegistryError::InvalidInput {
            what: what(),
            reason: format!(
                "epoch {} has two values of {} on the {} split",
                m.epoch, m.metric, m.split
            ),
        }),
    }
}

/// Writes epoch metrics of `run`, replacing values already recorded for the
/// same epoch, split and metric; [`ROWS_PER_INSERT`] rows per statement.
/// The metrics must be unique ([`check_unique_epochs`]).
pub(crate) async fn upsert_epoch_metrics(
    conn: &mut SqliteConnection,
    run: &RunId,
    metrics: &[EpochMetric],
) -> Result<(), sqlx::Error> {
    for chunk in metrics.chunks(ROWS_PER_INSERT) {
        let mut sql = QueryBuilder::<Sqlite>::new(
            "INSERT INTO epoch_metrics (run_id, epoch, split, metric, value) ",
        );
        sql.push_values(chunk, |mut row, m| {
            row.push_bind(run.as_str())
                .push_bind(i64::from(m.epoch))
                .push_bind(&m.split)
                .push_bind(&m.metric)
                .push_bind(m.value);
        });
        sql.push(
            " ON CONFLICT (run_id, epoch, split, metric) DO UPDATE SET value = excluded.value",
        );
        sql.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Sets `epochs_run` of `run` to the epochs it has rows for.
async fn count_epochs(conn: &mut SqliteConnection, run: &RunId) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE runs SET epochs_run = \
         (SELECT COUNT(DISTINCT epoch) FROM epoch_metrics WHERE run_id = ?) WHERE id = ?",
    )
    .bind(run.as_str())
    .bind(run.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes the overfitting columns of `run`; returns the rows touched.
async fn set_overfitting(
    conn: &mut SqliteConnection,
    run: &RunId,
    overfitting: &Overfitting,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE runs SET gap_at_best = ?, test_train_gap = ?, overfit_onset = ? WHERE id = ?",
    )
    .bind(overfitting.gap_at_best)
    .bind(overfitting.test_train_gap)
    .bind(overfitting.onset.map(i64::from))
    .bind(run.as_str())
    .execute(conn)
    .await?
    .rows_affected())
}

enum ArtifactInsert {
    Sql(sqlx::Error),
    Invalid(RegistryError),
}

/// Inserts artifact rows (replacing a kind already recorded for the run).
async fn insert_artifacts(
    conn: &mut SqliteConnection,
    run: &RunId,
    artifacts: &[ArtifactRecord],
) -> Result<(), ArtifactInsert> {
    for a in artifacts {
        let bytes = i64::try_from(a.bytes).map_err(|_| {
            ArtifactInsert::Invalid(RegistryError::InvalidInput {
                what: format!("artifact {}", a.path),
                reason: format!("size {} does not fit a 64-bit INTEGER", a.bytes),
            })
        })?;
        sqlx::query(
            "INSERT INTO artifacts (run_id, kind, path, sha256, bytes) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (run_id, kind) DO UPDATE SET path = excluded.path, \
             sha256 = excluded.sha256, bytes = excluded.bytes",
        )
        .bind(run.as_str())
        .bind(a.kind.as_str())
        .bind(&a.path)
        .bind(&a.sha256)
        .bind(bytes)
        .execute(&mut *conn)
        .await
        .map_err(ArtifactInsert::Sql)?;
    }
    Ok(())
}
