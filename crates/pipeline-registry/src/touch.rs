//! The status guard of a run's changes. A change that only a live run may
//! take (an epoch, a checkpoint, a heartbeat, its end, an artifact file) is
//! made only while the run's status allows it, and a refusal is explained
//! in one way: the run is unknown, its status does not allow the change, or
//! another process owns it now ([`Registry::owner`]).

use sqlx::{Any, AnyConnection};

use crate::error::RegistryError;
use crate::open::Registry;
use crate::statement::Fault;
use crate::types::{RunId, RunStatus, STATUS_SQL};
use crate::util::now;

/// The statuses a change of a run is allowed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Live {
    /// `running` only: epochs and checkpoints.
    Running,
    /// `queued` or `running`: a heartbeat.
    QueuedOrRunning,
}

impl Registry {
    /// Refreshes the heartbeat of `run` while its status is `live`; refused
    /// otherwise ([`Registry::refusal`]). In a transaction it is the first
    /// write: what follows sees the run still live.
    pub(crate) async fn touch(
        &self,
        conn: &mut AnyConnection,
        run: &RunId,
        live: Live,
    ) -> Result<(), Fault> {
        let sql = match live {
            Live::Running => {
                "UPDATE runs SET heartbeat_at = $1 WHERE id = $2 AND status = 'running' \
                 AND owner = $3"
            }
            Live::QueuedOrRunning => {
                "UPDATE runs SET heartbeat_at = $1 WHERE id = $2 \
                 AND status IN ('queued', 'running') AND owner = $3"
            }
        };
        let touched = sqlx::query(sql)
            .bind(now())
            .bind(run.as_str())
            .bind(self.owner())
            .execute(&mut *conn)
            .await?
            .rows_affected();
        self.expect_touched(conn, run, touched).await
    }

    /// Passes when a change guarded by the run's status (`WHERE id = ? AND
    /// status …`) touched its row; else the refusal.
    pub(crate) async fn expect_touched(
        &self,
        conn: &mut AnyConnection,
        run: &RunId,
        touched: u64,
    ) -> Result<(), Fault> {
        if touched > 0 {
            return Ok(());
        }
        Err(self.refusal(conn, run).await.into())
    }

    /// Fails unless `run` is `running`, reading its status: what a change
    /// that writes no row checks first (an artifact file).
    pub(crate) async fn require_running(&self, run: &RunId) -> Result<(), Fault> {
        match owned_status_of(&self.pool, run.as_str()).await? {
            Some((status, owner))
                if RunStatus::from_db(&status) == Some(RunStatus::Running)
                    && owner.as_deref() == Some(self.owner()) =>
            {
                Ok(())
            }
            status => Err(self.refused(run, status).into()),
        }
    }

    /// Why a status-guarded change of `run` touched no row: the run is
    /// unknown or is in a status that does not allow it.
    pub(crate) async fn refusal(&self, conn: &mut AnyConnection, run: &RunId) -> RegistryError {
        match owned_status_of(conn, run.as_str()).await {
            Ok(status) => self.refused(run, status),
            Err(e) => self.query_error(format!("reading the status of run {run}"), e),
        }
    }

    /// The refusal of a change to `run`, whose stored status and owner are
    /// `status` (`None`: no such run).
    fn refused(&self, run: &RunId, status: Option<(String, Option<String>)>) -> RegistryError {
        let Some((status, owner)) = status else {
            return self.no_such_run(run);
        };
        match RunStatus::from_db(&status) {
            Some(RunStatus::Queued | RunStatus::Running)
                if owner.as_deref() != Some(self.owner()) =>
            {
                RegistryError::LostRun {
                    run: run.to_string(),
                    owner: owner.unwrap_or_else(|| "none".to_owned()),
                }
            }
            Some(from) => RegistryError::InvalidTransition {
                run: run.to_string(),
                from,
            },
            None => RegistryError::Corrupt {
                path: self.db_path.clone(),
                detail: format!("run {run} has unknown status '{status}'"),
            },
        }
    }

    /// `UnknownRun` for an id that names no run of this registry.
    pub(crate) fn no_such_run(&self, run: &RunId) -> RegistryError {
        RegistryError::UnknownRun {
            selector: run.to_string(),
            reason: format!("no such run in {}", self.db_path.display()),
        }
    }
}

/// The status of run `id` as stored, or `None` when there is no such run:
/// the one read of a run's status.
pub(crate) async fn status_of<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
) -> Result<Option<String>, sqlx::Error> {
    Ok(owned_status_of(executor, id)
        .await?
        .map(|(status, _)| status))
}

/// The status and owner of run `id` as stored, or `None` when there is no
/// such run.
async fn owned_status_of<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
) -> Result<Option<(String, Option<String>)>, sqlx::Error> {
    let sql = format!("SELECT {STATUS_SQL}, owner FROM runs WHERE id = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(executor)
        .await
}
