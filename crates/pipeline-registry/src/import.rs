//! Recording a finished run in one transaction: for runs trained elsewhere
//! (an import from another tracker) and for generating large registries in
//! benchmarks. The run is stored exactly as `create_run`, `record_epoch` and
//! `complete_run` would have stored it, without artifacts.

use sqlx::{QueryBuilder, Sqlite};

use crate::error::RegistryError;
use crate::open::Registry;
use crate::runs::{check_unique_epochs, upsert_epoch_metrics};
use crate::types::{Completion, EpochMetric, NewRun, RunId};
use crate::util::ROWS_PER_INSERT;

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
        let done = &imported.completion;
        let seed = i64::try_from(new.seed).map_err(|_| RegistryError::InvalidInput {
            what: "run seed".to_owned(),
            reason: format!("{} is larger than {}", new.seed, i64::MAX),
        })?;
        for tag in &new.tags {
            crate::labels::check_tag(tag)?;
        }
        check_unique_epochs(
            || format!("imported run of {}", new.experiment),
            &imported.epochs,
        )?;
        let id = RunId::new_v7();
        let context = || format!("importing a run of {}", new.experiment);
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| self.query_error(context(), e))?;
        let epochs_run = {
            let mut seen: Vec<u32> = imported.epochs.iter().map(|e| e.epoch).collect();
            seen.sort_unstable();
            seen.dedup();
            i64::try_from(seen.len()).unwrap_or(i64::MAX)
        };
        sqlx::query(
            "INSERT INTO runs (id, experiment, status, spec_toml, spec_hash, source_spec, \
             spec_path, data_path, data_sha256, columns_hash, seed, device, program_version, \
             git_commit, deterministic, note, started_at, ended_at, heartbeat_at, best_epoch, \
             epochs_run, selection_metric, selection_higher_is_better, selection_value, \
             gap_at_best, test_train_gap, overfit_onset, weights_digest) \
             VALUES (?, ?, 'completed', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, \
             ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.as_str())
        .bind(&new.experiment)
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
        .bind(&imported.started_at)
        .bind(&imported.ended_at)
        .bind(&imported.ended_at)
        .bind(i64::from(done.best_epoch))
        .bind(epochs_run)
        .bind(&new.selection_metric)
        .bind(i64::from(new.selection_higher_is_better))
        .bind(done.selection_value)
        .bind(done.overfitting.gap_at_best)
        .bind(done.overfitting.test_train_gap)
        .bind(done.overfitting.onset.map(i64::from))
        .bind(done.weights_digest.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(|e| self.query_error(context(), e))?;
        upsert_epoch_metrics(&mut tx, &id, &imported.epochs)
            .await
            .map_err(|e| self.query_error(context(), e))?;
        for chunk in done.final_metrics.chunks(ROWS_PER_INSERT) {
            let mut sql = QueryBuilder::<Sqlite>::new(
                "INSERT INTO final_metrics (run_id, split, metric, value) ",
            );
            sql.push_values(chunk, |mut row, m| {
                row.push_bind(id.as_str())
                    .push_bind(&m.split)
                    .push_bind(&m.metric)
                    .push_bind(m.value);
            });
            sql.build()
                .execute(&mut *tx)
                .await
                .map_err(|e| self.query_error(context(), e))?;
        }
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
}
