//! The write side of the run lifecycle: create a run, record each epoch,
//! complete it or end it as failed/killed. Each call is one short transaction
//! whose first statement is a write, so concurrent processes queue on the
//! busy timeout instead of failing on a read-to-write lock upgrade.

use std::collections::HashSet;

use sqlx::SqliteConnection;

use crate::error::RegistryError;
use crate::open::{Registry, hostname, process_started};
use crate::types::{Completion, EndStatus, MetricValue, NewRun, RunId, RunStatus};
use crate::util::now;

impl Registry {
    /// Records a new run with status `running`, `started_at` and
    /// `heartbeat_at` now, and this process's pid and host.
    ///
    /// Seeds above `i64::MAX` are rejected (`InvalidInput`): the column is a
    /// signed 64-bit INTEGER and a silent wrap would misreport the seed.
    pub async fn create_run(&self, new: &NewRun) -> Result<RunId, RegistryError> {
        let seed = i64::try_from(new.seed).map_err(|_| RegistryError::InvalidInput {
            what: "run seed".to_owned(),
            reason: format!("{} is larger than {}", new.seed, i64::MAX),
        })?;
        let id = RunId::new_v7();
        let started = now();
        sqlx::query(
            "INSERT INTO runs (id, experiment, status, spec_toml, spec_hash, source_spec, \
             spec_path, data_path, data_sha256, seed, device, program_version, started_at, \
             epochs_run, selection_metric, selection_higher_is_better, pid, pid_started, host, \
             heartbeat_at) \
             VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.as_str())
        .bind(&new.experiment)
        .bind(&new.spec_toml)
        .bind(&new.spec_hash)
        .bind(&new.source_spec)
        .bind(&new.spec_path)
        .bind(&new.data_path)
        .bind(&new.data_sha256)
        .bind(seed)
        .bind(&new.device)
        .bind(&new.program_version)
        .bind(&started)
        .bind(&new.selection_metric)
        .bind(i64::from(new.selection_higher_is_better))
        .bind(i64::from(std::process::id()))
        .bind(process_started(std::process::id()).and_then(|t| i64::try_from(t).ok()))
        .bind(hostname())
        .bind(&started)
        .execute(&self.pool)
        .await
        .map_err(|e| self.query_error(format!("creating a run of {}", new.experiment), e))?;
        Ok(id)
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
        let context = || format!("recording epoch {epoch} of run {run}");
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
        for m in metrics {
            sqlx::query(
                "INSERT INTO epoch_metrics (run_id, epoch, split, metric, value) \
                 VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (run_id, epoch, split, metric) DO UPDATE SET value = excluded.value",
            )
            .bind(run.as_str())
            .bind(i64::from(epoch))
            .bind(&m.split)
            .bind(&m.metric)
            .bind(m.value)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.query_error(context(), e))?;
        }
        sqlx::query(
            "UPDATE runs SET epochs_run = \
             (SELECT COUNT(DISTINCT epoch) FROM epoch_metrics WHERE run_id = ?) WHERE id = ?",
        )
        .bind(run.as_str())
        .bind(run.as_str())
        .execute(&mut *tx)
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
    /// [`Registry::write_artifact`], at most one per kind.
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
             best_epoch = ?, epochs_run = ?, selection_value = ? \
             WHERE id = ? AND status = 'running'",
        )
        .bind(&ended)
        .bind(&ended)
        .bind(i64::from(done.best_epoch))
        .bind(i64::from(done.epochs_run))
        .bind(done.selection_value)
        .bind(run.as_str())
        .execute(&mut *tx)
        .await
        .map_err(|e| self.query_error(context(), e))?
        .rows_affected();
        if touched == 0 {
            return Err(self.not_running(&mut tx, run).await);
        }
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
        for a in &done.artifacts {
            let bytes = i64::try_from(a.bytes).map_err(|_| RegistryError::InvalidInput {
                what: format!("artifact {}", a.path),
                reason: format!("size {} does not fit a 64-bit INTEGER", a.bytes),
            })?;
            sqlx::query(
                "INSERT INTO artifacts (run_id, kind, path, sha256, bytes) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(run.as_str())
            .bind(a.kind.as_str())
            .bind(&a.path)
            .bind(&a.sha256)
            .bind(bytes)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.query_error(context(), e))?;
        }
        tx.commit()
            .await
            .map_err(|e| self.query_error(context(), e))
    }

    /// Ends a run as `failed` or `killed`, with an optional error message and
    /// `ended_at` now. Recorded epochs are kept. Only from `running`.
    pub async fn end_run(
        &self,
        run: &RunId,
        status: EndStatus,
        error: Option<&str>,
    ) -> Result<(), RegistryError> {
        let status = status.status();
        let context = || format!("ending run {run} as {status}");
        let ended = now();
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(|e| self.query_error(context(), e))?;
        let touched = sqlx::query(
            "UPDATE runs SET status = ?, error = ?, ended_at = ?, heartbeat_at = ? \
             WHERE id = ? AND status = 'running'",
        )
        .bind(status.as_str())
        .bind(error)
        .bind(&ended)
        .bind(&ended)
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
