//! The write side of the run lifecycle: create a run, record each epoch,
//! complete it or end it as failed/killed. Each call is one short transaction
//! whose first statement is a write, so concurrent processes queue on the
//! busy timeout instead of failing on a read-to-write lock upgrade.

use crate::sql::{Separated, Sql};
use std::collections::HashSet;

use sqlx::AnyConnection;

use crate::artifacts::ARTIFACTS_DIR;
use crate::error::RegistryError;
use crate::labels::{check_tags, insert_tags};
use crate::names::{check_run_name, is_name_taken};
use crate::open::{Registry, hostname, process_started};
use crate::statement::Fault;
use crate::touch::Live;
use crate::types::{
    ArtifactRecord, Completion, EndStatus, EpochMetric, MetricValue, NewRun, Overfitting, RunId,
    RunStatus,
};
use crate::util::{ROWS_PER_INSERT, now, real};

impl Registry {
    /// Records a new run with status `running`, `started_at` and
    /// `heartbeat_at` now, and this process's pid and host.
    ///
    /// Seeds above `i64::MAX` are rejected (`InvalidInput`): the column is a
    /// signed 64-bit INTEGER and a silent wrap would misreport the seed.
    pub async fn create_run(&self, new: &NewRun) -> Result<RunId, RegistryError> {
        self.insert_run(new, RunStatus::Running, None).await
    }

    /// Records a new run with status `queued`: it will be started by
    /// [`Registry::start_run`] from this process. A queued run whose process
    /// dies is marked `crashed` like a running one.
    pub async fn queue_run(&self, new: &NewRun) -> Result<RunId, RegistryError> {
        self.insert_run(new, RunStatus::Queued, None).await
    }

    /// Records a new run with status `queued` for a worker to train
    /// (`pipeline run --submit`), with its work item: no process owns it
    /// until a worker claims it ([`Registry::claim_work`]), so no crash
    /// check marks it. A lease lost `max_attempts` times fails it.
    pub async fn submit_run(
        &self,
        new: &NewRun,
        max_attempts: u32,
    ) -> Result<RunId, RegistryError> {
        self.insert_run(new, RunStatus::Queued, Some(max_attempts))
            .await
    }

    /// Moves a `queued` run to `running`, with `started_at` and the heartbeat
    /// now.
    pub async fn start_run(&self, run: &RunId) -> Result<(), RegistryError> {
        self.within(|| format!("starting run {run}"), async {
            let started = now();
            let pid = std::process::id();
            let mut conn = self.pool.acquire().await?;
            let touched = sqlx::query(
                "UPDATE runs SET status = 'running', started_at = $1, heartbeat_at = $2, \
                 owner = $3, pid = $4, pid_started = $5, host = $6 \
                 WHERE id = $7 AND status = 'queued' AND (owner = $8 OR owner IS NULL)",
            )
            .bind(&started)
            .bind(&started)
            .bind(self.owner())
            .bind(i64::from(pid))
            .bind(process_started(pid).and_then(|t| i64::try_from(t).ok()))
            .bind(hostname())
            .bind(run.as_str())
            .bind(self.owner())
            .execute(&mut *conn)
            .await?
            .rows_affected();
            self.expect_touched(&mut conn, run, touched).await
        })
        .await
    }

    /// Refreshes the heartbeat of a queued or running run: the sign of life
    /// other hosts read (see [`crate::HEARTBEAT_STALE_AFTER`]).
    pub async fn heartbeat(&self, run: &RunId) -> Result<(), RegistryError> {
        self.within(|| format!("refreshing the heartbeat of run {run}"), async {
            let mut conn = self.pool.acquire().await?;
            self.touch(&mut conn, run, Live::QueuedOrRunning).await
        })
        .await
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
        self.within(|| format!("resuming run {run}"), async {
            let pid = std::process::id();
            let mut tx = self.begin_write().await?;
            let touched = sqlx::query(
                "UPDATE runs SET status = 'running', error = NULL, ended_at = NULL, \
                 failed_on_environment = 0, heartbeat_at = $1, pid = $2, pid_started = $3, host = $4, \
                 owner = $6 WHERE id = $5 AND ((status IN ('killed', 'crashed') AND pruned_epoch IS NULL) \
                 OR (status = 'failed' AND failed_on_environment = 1))",
            )
            .bind(now())
            .bind(i64::from(pid))
            .bind(process_started(pid).and_then(|t| i64::try_from(t).ok()))
            .bind(hostname())
            .bind(run.as_str())
            .bind(self.owner())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if touched == 0 {
                return Err(match self.refusal(&mut tx, run).await {
                    RegistryError::InvalidTransition { run, from } => {
                        RegistryError::NotResumable { run, from }
                    }
                    other => other,
                }
                .into());
            }
            sqlx::query("DELETE FROM epoch_metrics WHERE run_id = $1 AND epoch > $2")
                .bind(run.as_str())
                .bind(i64::from(after_epoch))
                .execute(&mut *tx)
                .await?;
            count_epochs(&mut tx, run).await?;
            Ok(tx.commit().await?)
        })
        .await
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
        let prefix = run_folder(run);
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
        let replaced = self
            .within(context, async {
                let mut tx = self.begin_write().await?;
                self.touch(&mut tx, run, Live::Running).await?;
                let mut replaced = Vec::new();
                for artifact in artifacts {
                    let old: Option<String> = sqlx::query_scalar(
                        "SELECT path FROM artifacts WHERE run_id = $1 AND kind = $2",
                    )
                    .bind(run.as_str())
                    .bind(artifact.kind.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                    replaced.extend(old.filter(|old| *old != artifact.path));
                }
                insert_artifacts(&mut tx, run, artifacts).await?;
                tx.commit().await?;
                Ok(replaced)
            })
            .await?;
        for path in replaced {
            self.remove_artifact_file(&path).await;
        }
        Ok(())
    }

    /// Inserts a run started (or queued) by this process, or with
    /// `submitted` (its work item's attempts) one that waits for a worker.
    async fn insert_run(
        &self,
        new: &NewRun,
        status: RunStatus,
        submitted: Option<u32>,
    ) -> Result<RunId, RegistryError> {
        let seed = checked_seed(new)?;
        check_tags(&new.tags)?;
        if let Some(name) = &new.name {
            check_run_name(name)?;
        }
        let id = RunId::new_v7();
        let started = now();
        let queued_at = (status == RunStatus::Queued).then_some(started.as_str());
        let created = self
            .within(|| format!("creating a run of {}", new.experiment), async {
                let mut tx = self.begin_write().await?;
                let columns = "queued_at, started_at, epochs_run, pid, pid_started, host, \
                     heartbeat_at, owner";
                let pid = std::process::id();
                let (pid, pid_started, host, owner) = match submitted {
                    Some(_) => (None, None, None, None),
                    None => (
                        Some(i64::from(pid)),
                        process_started(pid).and_then(|t| i64::try_from(t).ok()),
                        Some(hostname()),
                        Some(self.owner()),
                    ),
                };
                insert_run_row(&mut tx, &id, status, new, seed, columns, |row| {
                    row.push_bind(queued_at)
                        .push_bind(&started)
                        .push_bind(0_i64)
                        .push_bind(pid)
                        .push_bind(pid_started)
                        .push_bind(host)
                        .push_bind(&started)
                        .push_bind(owner);
                })
                .await?;
                insert_tags(&mut tx, &id, &new.tags).await?;
                if let Some(attempts) = submitted {
                    crate::work::insert_run_item(&mut tx, &id, attempts, &started).await?;
                }
                if let Some(trial) = &new.trial {
                    crate::sweeps::link_trial(&mut tx, trial, &id).await?;
                }
                tx.commit().await?;
                Ok(id)
            })
            .await;
        match (created, &new.name) {
            (Err(RegistryError::Query { source, .. }), Some(name)) if is_name_taken(&source) => {
                Err(self.name_taken(name).await)
            }
            (created, _) => created,
        }
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
        self.within(|| format!("keeping the checkpoint of run {run}"), async {
            let mut tx = self.begin_write().await?;
            let touched = sqlx::query(
                "UPDATE runs SET best_epoch = $1, weights_digest = $2 \
                 WHERE id = $3 AND status IN ('queued', 'running') AND owner = $4",
            )
            .bind(i64::from(best_epoch))
            .bind(weights_digest)
            .bind(run.as_str())
            .bind(self.owner())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            self.expect_touched(&mut tx, run, touched).await?;
            insert_artifacts(&mut tx, run, artifacts).await?;
            Ok(tx.commit().await?)
        })
        .await
    }

    /// Stores the overfitting summary of a running run about to end
    /// without completing (a killed run keeps the summary of its finished
    /// epochs). Only while it is running and this handle owns it.
    pub async fn record_overfitting(
        &self,
        run: &RunId,
        overfitting: &Overfitting,
    ) -> Result<(), RegistryError> {
        let context = || format!("recording the overfitting summary of run {run}");
        self.within(context, async {
            let mut tx = self.begin_write().await?;
            self.touch(&mut tx, run, Live::Running).await?;
            let touched = set_overfitting(&mut tx, run, overfitting).await?;
            self.expect_touched(&mut tx, run, touched).await?;
            Ok(tx.commit().await?)
        })
        .await
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
        self.within(context, async {
            let mut tx = self.begin_write().await?;
            self.touch(&mut tx, run, Live::Running).await?;
            upsert_epoch_metrics(&mut tx, run, metrics).await?;
            count_epochs(&mut tx, run).await?;
            Ok(tx.commit().await?)
        })
        .await
    }

    /// In one transaction: records the final metrics and the artifacts, and
    /// sets status `completed`, `ended_at`, `best_epoch`, `epochs_run` and
    /// `selection_value`. Only from `running` (else `InvalidTransition`).
    ///
    /// Each artifact must have been written for this run by
    /// [`Registry::write_artifact`], at most one per kind. The run's
    /// checkpoints are removed (rows and files): it cannot be resumed.
    pub async fn complete_run(&self, run: &RunId, done: &Completion) -> Result<(), RegistryError> {
        check_completion_artifacts(run, &done.artifacts)?;
        let checkpoints = self
            .within(|| format!("completing run {run}"), async {
                let mut tx = self.begin_write().await?;
                self.mark_completed(&mut tx, run, done).await?;
                set_overfitting(&mut tx, run, &done.overfitting).await?;
                upsert_final_metrics(&mut tx, run, &done.final_metrics).await?;
                insert_artifacts(&mut tx, run, &done.artifacts).await?;
                // A completed run cannot be resumed: its checkpoints go (rows
                // now, files once the completion is committed).
                let checkpoints: Vec<String> = sqlx::query_scalar(
                    "DELETE FROM artifacts WHERE run_id = $1 \
                     AND kind IN ('checkpoint_last', 'checkpoint_best') RETURNING path",
                )
                .bind(run.as_str())
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(checkpoints)
            })
            .await?;
        for path in checkpoints {
            self.remove_artifact_file(&path).await;
        }
        // Files it wrote and never recorded (a checkpoint whose write failed
        // halfway through a save, a temp file) go too.
        self.tidy_run_folder(run).await;
        Ok(())
    }

    /// Sets a running run `completed` with the values of `done`; refused
    /// for any other status.
    async fn mark_completed(
        &self,
        conn: &mut AnyConnection,
        run: &RunId,
        done: &Completion,
    ) -> Result<(), Fault> {
        let ended = now();
        let touched = sqlx::query(
            "UPDATE runs SET status = 'completed', error = NULL, ended_at = $1, heartbeat_at = $2, \
             best_epoch = $3, epochs_run = $4, selection_value = $5, weights_digest = $6 \
             WHERE id = $7 AND status = 'running' AND owner = $8",
        )
        .bind(&ended)
        .bind(&ended)
        .bind(i64::from(done.best_epoch))
        .bind(i64::from(done.epochs_run))
        .bind(real(done.selection_value))
        .bind(done.weights_digest.as_deref())
        .bind(run.as_str())
        .bind(self.owner())
        .execute(&mut *conn)
        .await?
        .rows_affected();
        self.expect_touched(conn, run, touched).await
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
        self.within(|| format!("ending run {run} as {status}"), async {
            let ended = now();
            let mut conn = self.pool.acquire().await?;
            let touched = sqlx::query(
                "UPDATE runs SET status = $1, error = $2, ended_at = $3, heartbeat_at = $4, \
                 failed_on_environment = $5 WHERE id = $6 AND status IN ('queued', 'running') \
                 AND owner = $7",
            )
            .bind(status.as_str())
            .bind(error)
            .bind(&ended)
            .bind(&ended)
            .bind(i64::from(environment))
            .bind(run.as_str())
            .bind(self.owner())
            .execute(&mut *conn)
            .await?
            .rows_affected();
            self.expect_touched(&mut conn, run, touched).await
        })
        .await
    }
}

/// The seed of `new` as stored: a signed 64-bit INTEGER, so seeds above
/// `i64::MAX` are refused rather than wrapped.
pub(crate) fn checked_seed(new: &NewRun) -> Result<i64, RegistryError> {
    i64::try_from(new.seed).map_err(|_| RegistryError::InvalidInput {
        what: "run seed".to_owned(),
        reason: format!("{} is larger than {}", new.seed, i64::MAX),
    })
}

/// `artifacts/<run>/`: where every recorded file of `run` lives.
fn run_folder(run: &RunId) -> String {
    format!("{ARTIFACTS_DIR}/{run}/")
}

/// The columns of `runs` that every new row takes from its [`NewRun`], its
/// id and its status, in the order [`insert_run_row`] binds them.
const NEW_RUN_COLUMNS: &str = "id, experiment, status, spec_toml, spec_hash, source_spec, \
     spec_path, data_path, data_sha256, columns_hash, seed, device, program_version, \
     git_commit, deterministic, note, selection_metric, selection_higher_is_better, name";

/// Inserts the row of run `id` of `new` with `status` and its checked
/// `seed`: the columns every run fills, then `columns`, whose values
/// `values` binds in order.
pub(crate) async fn insert_run_row(
    conn: &mut AnyConnection,
    id: &RunId,
    status: RunStatus,
    new: &NewRun,
    seed: i64,
    columns: &str,
    values: impl FnOnce(&mut Separated<'_>),
) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new(format!(
        "INSERT INTO runs ({NEW_RUN_COLUMNS}, {columns}) VALUES ("
    ));
    let mut row = sql.separated(", ");
    row.push_bind(id.as_str())
        .push_bind(&new.experiment)
        .push_bind(status.as_str())
        .push_bind(&new.spec_toml)
        .push_bind(&new.spec_hash)
        .push_bind(&new.source_spec)
        .push_bind(&new.spec_path)
        .push_bind(&new.data_path)
        .push_bind(&new.data_sha256)
        .push_bind(new.columns_hash.as_deref())
        .push_bind(seed)
        .push_bind(&new.device)
        .push_bind(&new.program_version)
        .push_bind(&new.git_commit)
        .push_bind(i64::from(new.deterministic))
        .push_bind(new.note.as_deref())
        .push_bind(&new.selection_metric)
        .push_bind(i64::from(new.selection_higher_is_better))
        .push_bind(new.name.as_deref());
    values(&mut row);
    sql.push(")");
    sql.build().execute(&mut *conn).await?;
    crate::params::insert_params(conn, id, &new.spec_toml).await
}

/// Refuses a completion's artifacts that are not under the run's folder
/// or name a kind twice.
fn check_completion_artifacts(
    run: &RunId,
    artifacts: &[ArtifactRecord],
) -> Result<(), RegistryError> {
    let prefix = run_folder(run);
    let mut kinds = HashSet::new();
    for artifact in artifacts {
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
    Ok(())
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
    conn: &mut AnyConnection,
    run: &RunId,
    metrics: &[EpochMetric],
) -> Result<(), sqlx::Error> {
    for chunk in metrics.chunks(ROWS_PER_INSERT) {
        let mut sql = Sql::new("INSERT INTO epoch_metrics (run_id, epoch, split, metric, value) ");
        sql.push_values(chunk, |mut row, m| {
            row.push_bind(run.as_str())
                .push_bind(i64::from(m.epoch))
                .push_bind(&m.split)
                .push_bind(&m.metric)
                .push_bind(real(m.value));
        });
        sql.push(
            " ON CONFLICT (run_id, epoch, split, metric) DO UPDATE SET value = excluded.value",
        );
        sql.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Writes final metrics of `run`, replacing values already recorded for the
/// same split and metric (SQLite applies the rows in order: of two values
/// of one split and metric, the later is kept); [`ROWS_PER_INSERT`] rows per
/// statement.
pub(crate) async fn upsert_final_metrics(
    conn: &mut AnyConnection,
    run: &RunId,
    metrics: &[MetricValue],
) -> Result<(), sqlx::Error> {
    for chunk in metrics.chunks(ROWS_PER_INSERT) {
        let mut sql = Sql::new("INSERT INTO final_metrics (run_id, split, metric, value) ");
        sql.push_values(chunk, |mut row, m| {
            row.push_bind(run.as_str())
                .push_bind(&m.split)
                .push_bind(&m.metric)
                .push_bind(real(m.value));
        });
        sql.push(" ON CONFLICT (run_id, split, metric) DO UPDATE SET value = excluded.value");
        sql.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Sets `epochs_run` of `run` to the epochs it has rows for.
async fn count_epochs(conn: &mut AnyConnection, run: &RunId) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE runs SET epochs_run = \
         (SELECT COUNT(DISTINCT epoch) FROM epoch_metrics WHERE run_id = $1) WHERE id = $2",
    )
    .bind(run.as_str())
    .bind(run.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes the overfitting columns of `run`; returns the rows touched.
async fn set_overfitting(
    conn: &mut AnyConnection,
    run: &RunId,
    overfitting: &Overfitting,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE runs SET gap_at_best = $1, test_train_gap = $2, overfit_onset = $3, \
         verdict = $4, verdict_grade = $5, verdict_findings = $6, val_above_min = $7, \
         train_drop = $8, val_recent_drop = $9, skill = $10 WHERE id = $11",
    )
    .bind(overfitting.gap_at_best.and_then(real))
    .bind(overfitting.test_train_gap.and_then(real))
    .bind(overfitting.onset.map(i64::from))
    .bind(overfitting.diagnosis.verdict.clone())
    .bind(overfitting.diagnosis.verdict_grade.clone())
    .bind(Some(overfitting.diagnosis.verdict_findings.join(",")).filter(|f| !f.is_empty()))
    .bind(overfitting.diagnosis.val_above_min)
    .bind(overfitting.diagnosis.train_drop)
    .bind(overfitting.diagnosis.val_recent_drop)
    .bind(overfitting.diagnosis.skill)
    .bind(run.as_str())
    .execute(conn)
    .await?
    .rows_affected())
}

/// Inserts artifact rows (replacing a kind already recorded for the run).
pub(crate) async fn insert_artifacts(
    conn: &mut AnyConnection,
    run: &RunId,
    artifacts: &[ArtifactRecord],
) -> Result<(), Fault> {
    for a in artifacts {
        let bytes = i64::try_from(a.bytes).map_err(|_| RegistryError::InvalidInput {
            what: format!("artifact {}", a.path),
            reason: format!("size {} does not fit a 64-bit INTEGER", a.bytes),
        })?;
        sqlx::query(
            "INSERT INTO artifacts (run_id, kind, path, sha256, bytes, store) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (run_id, kind) DO UPDATE SET path = excluded.path, \
             sha256 = excluded.sha256, bytes = excluded.bytes, store = excluded.store",
        )
        .bind(run.as_str())
        .bind(a.kind.as_str())
        .bind(&a.path)
        .bind(&a.sha256)
        .bind(bytes)
        .bind(a.store.as_deref())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
