//! Recording a finished run in one transaction: for runs trained elsewhere
//! (an import from another tracker) and for generating large registries in
//! benchmarks. The run is stored exactly as `create_run`, `record_epoch` and
//! `complete_run` would have stored it, without artifacts.

use sqlx::AnyConnection;

use crate::error::RegistryError;
use crate::labels::{check_tags, insert_tags};
use crate::open::Registry;
use crate::runs::{
    check_unique_epochs, checked_seed, insert_run_row, upsert_epoch_metrics, upsert_final_metrics,
};
use crate::types::{Completion, EpochMetric, NewRun, RunId, RunStatus};
use crate::util::real;

/// A completed run with its whole history.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedRun {
    pub run: NewRun,
    /// RFC 3339 UTC, as the registry stores times.
    pub started_at: String,
    pub ended_at: String,
    pub epochs: Vec<EpochMetric>,
    /// Its `artifacts` must be empty: imported runs carry no files.
    pub completion: Completion,
}

impl Registry {
    /// Records a completed run and its epochs in one transaction.
    pub async fn import_run(&self, imported: &ImportedRun) -> Result<RunId, RegistryError> {
        if !imported.completion.artifacts.is_empty() {
            return Err(RegistryError::InvalidInput {
                what: format!("imported run of {}", imported.run.experiment),
                reason: "imported runs carry no artifacts".to_owned(),
            });
        }
        let new = &imported.run;
        let seed = checked_seed(new)?;
        check_tags(&new.tags)?;
        check_unique_epochs(
            || format!("imported run of {}", new.experiment),
            &imported.epochs,
        )?;
        let id = RunId::new_v7();
        self.within(|| format!("importing a run of {}", new.experiment), async {
            let mut tx = self.begin_write().await?;
            insert_completed_run(&mut tx, &id, seed, imported).await?;
            upsert_epoch_metrics(&mut tx, &id, &imported.epochs).await?;
            upsert_final_metrics(&mut tx, &id, &imported.completion.final_metrics).await?;
            insert_tags(&mut tx, &id, &new.tags).await?;
            if let Some(trial) = &new.trial {
                crate::sweeps::link_trial(&mut tx, trial, &id).await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await?;
        Ok(id)
    }
}

/// Inserts the row of the completed run `imported` as `id`, with its
/// checked `seed`.
async fn insert_completed_run(
    conn: &mut AnyConnection,
    id: &RunId,
    seed: i64,
    imported: &ImportedRun,
) -> Result<(), sqlx::Error> {
    let new = &imported.run;
    let done = &imported.completion;
    let epochs_run = {
        let mut seen: Vec<u32> = imported.epochs.iter().map(|e| e.epoch).collect();
        seen.sort_unstable();
        seen.dedup();
        i64::try_from(seen.len()).unwrap_or(i64::MAX)
    };
    let columns = "started_at, ended_at, heartbeat_at, best_epoch, epochs_run, \
         selection_value, gap_at_best, test_train_gap, overfit_onset, weights_digest";
    insert_run_row(conn, id, RunStatus::Completed, new, seed, columns, |row| {
        row.push_bind(&imported.started_at)
            .push_bind(&imported.ended_at)
            .push_bind(&imported.ended_at)
            .push_bind(i64::from(done.best_epoch))
            .push_bind(epochs_run)
            .push_bind(real(done.selection_value))
            .push_bind(done.overfitting.gap_at_best.and_then(real))
            .push_bind(done.overfitting.test_train_gap.and_then(real))
            .push_bind(done.overfitting.onset.map(i64::from))
            .push_bind(done.weights_digest.as_deref());
    })
    .await
}
