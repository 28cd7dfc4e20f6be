//! Deleting runs (`pipeline rm`). The rows go first, all in one
//! transaction (epochs, final metrics, artifact rows, tags and alias
//! history follow their run: every child table cascades), then each run's
//! `artifacts/<run-id>/` folder. A process that dies between the two leaves
//! a folder named after no run: harmless, and `pipeline gc` lists it
//! ([`crate::UnownedReason::UnknownRun`]) and removes it.
//!
//! A run in progress (queued or running) is never deleted: its process may
//! be writing its rows and files. The `DELETE` itself says so in its
//! `WHERE`, so a run that starts (or is resumed) between the listing the
//! user confirmed and the deletion is refused, not deleted. A run an alias
//! currently names is refused too unless the caller forces it.

use std::fs;
use std::path::PathBuf;

use serde::Serialize;
use sqlx::AnyConnection;

use crate::artifacts::ARTIFACTS_DIR;
use crate::error::RegistryError;
use crate::location::Backend;
use crate::open::Registry;
use crate::reconcile::size;
use crate::statement::Fault;
use crate::types::{RunId, RunStatus, STATUS_SQL};

/// A run as a deletion sees it: what a confirmation lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunToRemove {
    pub id: RunId,
    pub experiment: String,
    pub status: RunStatus,
    /// The aliases that currently name it, sorted.
    pub aliases: Vec<String>,
    /// The bytes of its artifacts folder on disk: what deleting it frees.
    pub bytes: u64,
}

impl RunToRemove {
    /// Why this run may not be deleted, if it may not: it is in progress,
    /// or an alias names it and `aliased_too` is false.
    pub fn refusal(&self, aliased_too: bool) -> Option<RegistryError> {
        if self.status.is_in_progress() {
            return Some(RegistryError::RunInProgress {
                run: self.id.to_string(),
                status: self.status,
                action: "deleted",
            });
        }
        if !aliased_too && !self.aliases.is_empty() {
            return Some(RegistryError::AliasedRun {
                run: self.id.to_string(),
                aliases: self.aliases.clone(),
            });
        }
        None
    }
}

/// What [`Registry::remove_runs`] did.
#[derive(Debug)]
pub struct Removal {
    /// The runs whose rows were deleted, in the order given.
    pub removed: Vec<RunId>,
    /// Artifact folders of deleted runs that could not be removed, with
    /// why: only space, which `pipeline gc --force` frees.
    pub left_behind: Vec<(PathBuf, std::io::Error)>,
}

impl Registry {
    /// The runs `ids` as [`Registry::remove_runs`] would take them, in
    /// the order given, each once; `UnknownRun` for an id that names no run.
    pub async fn runs_to_remove(&self, ids: &[RunId]) -> Result<Vec<RunToRemove>, RegistryError> {
        let mut runs: Vec<RunToRemove> = Vec::with_capacity(ids.len());
        for id in ids {
            if runs.iter().any(|r| r.id == *id) {
                continue;
            }
            let (experiment, status) = self
                .within(|| format!("reading run {id}"), async {
                    let mut conn = self.pool.acquire().await?;
                    self.experiment_and_status(&mut conn, id).await
                })
                .await?;
            let aliases = self
                .within(|| format!("reading the aliases of run {id}"), async {
                    let mut conn = self.pool.acquire().await?;
                    Ok(current_aliases(&mut conn, id).await?)
                })
                .await?;
            let bytes = match self.backend {
                Backend::Sqlite => self.run_folder(id).map_or(0, |folder| size(&folder)),
                // Stored in the database: the blobs the run owns.
                Backend::Postgres => self
                    .within(|| format!("reading the artifacts of run {id}"), async {
                        Ok(sqlx::query_scalar::<_, i64>(
                            "SELECT COALESCE(SUM(bytes), 0)::BIGINT FROM artifact_blobs \
                             WHERE run_id = $1",
                        )
                        .bind(id.as_str())
                        .fetch_one(&self.pool)
                        .await?)
                    })
                    .await
                    .map(|bytes| u64::try_from(bytes).unwrap_or(0))?,
            };
            runs.push(RunToRemove {
                bytes,
                id: id.clone(),
                experiment,
                status,
                aliases,
            });
        }
        Ok(runs)
    }

    /// Deletes the runs `ids`: their rows in one transaction, then their
    /// artifact folders. Nothing is deleted when one of them is unknown, in
    /// progress, or named by an alias (unless `aliased_too`): each is
    /// checked by the statement that deletes it, so a run that started
    /// since it was listed is refused.
    pub async fn remove_runs(
        &self,
        ids: &[RunId],
        aliased_too: bool,
    ) -> Result<Removal, RegistryError> {
        let context = || format!("deleting {} run(s)", ids.len());
        let removed = self
            .within(context, async {
                let mut tx = self.begin_write().await?;
                let mut removed = Vec::with_capacity(ids.len());
                for id in ids {
                    if removed.contains(id) {
                        continue;
                    }
                    let mut sql = String::from(
                        "DELETE FROM runs WHERE id = $1 AND status NOT IN ('queued', 'running')",
                    );
                    if !aliased_too {
                        sql.push_str(
                            " AND NOT EXISTS (SELECT 1 FROM aliases a \
                             WHERE a.run_id = runs.id AND a.unset_at IS NULL)",
                        );
                    }
                    let deleted = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(id.as_str())
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if deleted == 0 {
                        // Dropping the transaction rolls every deletion back.
                        return Err(self.why_kept(&mut tx, id, aliased_too).await?.into());
                    }
                    removed.push(id.clone());
                }
                tx.commit().await?;
                Ok(removed)
            })
            .await?;
        let mut left_behind = Vec::new();
        for id in &removed {
            let Some(folder) = self.run_folder(id) else {
                continue;
            };
            match fs::remove_dir_all(&folder) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => left_behind.push((folder, error)),
            }
        }
        Ok(Removal {
            removed,
            left_behind,
        })
    }

    /// Why the guarded `DELETE` of `id` deleted nothing: the run is
    /// unknown, in progress, or named by an alias.
    async fn why_kept(
        &self,
        conn: &mut AnyConnection,
        id: &RunId,
        aliased_too: bool,
    ) -> Result<RegistryError, Fault> {
        let (experiment, status) = self.experiment_and_status(conn, id).await?;
        let run = RunToRemove {
            id: id.clone(),
            experiment,
            status,
            aliases: current_aliases(conn, id).await?,
            bytes: 0,
        };
        Ok(run.refusal(aliased_too).unwrap_or_else(|| {
            self.corrupt_status(id, "its row was not deleted for no reason it shows")
        }))
    }

    /// The experiment and status of run `id`; `UnknownRun` when there is
    /// no such run.
    async fn experiment_and_status(
        &self,
        conn: &mut AnyConnection,
        id: &RunId,
    ) -> Result<(String, RunStatus), Fault> {
        let sql = format!("SELECT experiment, {STATUS_SQL} FROM runs WHERE id = $1");
        let row: Option<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(&mut *conn)
            .await?;
        let Some((experiment, status)) = row else {
            return Err(self.no_such_run(id).into());
        };
        let status = RunStatus::from_db(&status)
            .ok_or_else(|| self.corrupt_status(id, &format!("unknown status '{status}'")))?;
        Ok((experiment, status))
    }

    fn corrupt_status(&self, id: &RunId, detail: &str) -> RegistryError {
        RegistryError::Corrupt {
            path: self.db_path.clone(),
            detail: format!("run {id}: {detail}"),
        }
    }

    /// The folder of run `id`'s artifacts (there or not); `None` for an
    /// id that is not a plain folder name (a hand-edited database), whose
    /// folder is never touched.
    fn run_folder(&self, id: &RunId) -> Option<PathBuf> {
        let name = id.as_str();
        let plain = !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\']);
        // A PostgreSQL registry's artifacts go with their run's row.
        (plain && self.backend == Backend::Sqlite).then(|| self.root.join(ARTIFACTS_DIR).join(name))
    }
}

/// The aliases that currently name run `id`, sorted.
async fn current_aliases(conn: &mut AnyConnection, id: &RunId) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT name FROM aliases WHERE run_id = $1 AND unset_at IS NULL ORDER BY name",
    )
    .bind(id.as_str())
    .fetch_all(&mut *conn)
    .await
}
