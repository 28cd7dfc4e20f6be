//! Archiving runs (`pipeline archive`): a run kept but out of the way.
//! `runs.archived_at` holds when it was archived; listings
//! ([`crate::RunFilter::archived`]), `latest`, `best`, `best:<metric>` and
//! [`Registry::ranked_runs`] leave it out, while its id, a prefix of it or
//! an alias still name it. `--undo` clears the column. A run in progress
//! is not archived: the update says so in its `WHERE`, like a deletion.

use crate::error::RegistryError;
use crate::open::Registry;
use crate::statement::Fault;
use crate::touch::status_of;
use crate::types::{RunId, RunStatus};
use crate::util::now;

impl Registry {
    /// Archives the runs `ids` (`archived`), or brings them back; returns
    /// those whose state changed, in the order given (a run already in the
    /// state asked for is left as it is). All or nothing, in one
    /// transaction: an unknown run, or one in progress when archiving,
    /// fails the whole call.
    pub async fn set_archived(
        &self,
        ids: &[RunId],
        archived: bool,
    ) -> Result<Vec<RunId>, RegistryError> {
        let verb = if archived { "archiving" } else { "unarchiving" };
        self.within(|| format!("{verb} {} run(s)", ids.len()), async {
            let mut tx = self.begin_write().await?;
            let at = now();
            let mut changed: Vec<RunId> = Vec::with_capacity(ids.len());
            for id in ids {
                if changed.contains(id) {
                    continue;
                }
                let sql = if archived {
                    "UPDATE runs SET archived_at = $1 WHERE id = $2 AND archived_at IS NULL \
                     AND status NOT IN ('queued', 'running')"
                } else {
                    "UPDATE runs SET archived_at = NULL WHERE $1 IS NOT NULL AND id = $2 \
                     AND archived_at IS NOT NULL"
                };
                let touched = sqlx::query(sql)
                    .bind(&at)
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if touched > 0 {
                    changed.push(id.clone());
                    continue;
                }
                // Unchanged: already in that state, unless unknown or in progress.
                let status = status_of(&mut *tx, id.as_str()).await?;
                match status.as_deref().map(RunStatus::from_db) {
                    None => return Err(Fault::from(self.no_such_run(id))),
                    Some(Some(status)) if archived && status.is_in_progress() => {
                        return Err(Fault::from(RegistryError::RunInProgress {
                            run: id.to_string(),
                            status,
                            action: "archived",
                        }));
                    }
                    Some(_) => {}
                }
            }
            tx.commit().await?;
            Ok(changed)
        })
        .await
    }
}
