//! The artifact folders held against the artifact table: a run's folder
//! should hold only the files its rows name. A process that dies between
//! writing a file and recording it leaves the file behind (a `.tmp-*` file,
//! a checkpoint not recorded yet, the weights of a run that died while
//! completing), and one that dies between recording a replacement and
//! deleting the old file leaves the old file. Completing a run and marking
//! it crashed tidy its folder (a crashed run first takes back a checkpoint
//! it wrote but had not recorded); [`Registry::unowned_artifacts`] finds
//! what is left anywhere, for `pipeline gc`. A queued or running run's
//! folder is never touched: its process may be writing there.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::artifacts::ARTIFACTS_DIR;
use crate::atomic::TEMP_PREFIX;
use crate::error::RegistryError;
use crate::location::Backend;
use crate::open::Registry;
use crate::runs::insert_artifacts;
use crate::statement::Fault;
use crate::touch::status_of;
use crate::types::{ArtifactKind, ArtifactRecord, RunId, RunStatus};

/// Something under `artifacts/` that no run owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unowned {
    /// Relative to the registry's folder, `/`-separated:
    /// `artifacts/<run>/<file>`, or `artifacts/<folder>` for a whole folder.
    pub path: String,
    /// Its size (a folder: the files in it).
    pub bytes: u64,
    pub reason: UnownedReason,
}

/// Why nothing owns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnownedReason {
    /// A folder (or file) named after no run of this registry: a run
    /// deleted from the database, or not a run at all.
    UnknownRun,
    /// A file in a finished run's folder that none of its artifact rows
    /// names: a replaced checkpoint, the checkpoints of a completed run,
    /// files written by a run that died before recording them.
    NotRecorded,
    /// A write that never finished (`.tmp-*`).
    Unfinished,
}

impl UnownedReason {
    /// A few words for a listing.
    pub fn describe(self) -> &'static str {
        match self {
            UnownedReason::UnknownRun => "no such run",
            UnownedReason::NotRecorded => "not recorded by its run",
            UnownedReason::Unfinished => "unfinished write",
        }
    }
}

impl Registry {
    /// What under `artifacts/` no run owns, sorted by path: folders named
    /// after no run, and the files of ended runs (completed, failed,
    /// killed, crashed) that none of their rows names. Queued and running
    /// runs' folders are left out.
    pub async fn unowned_artifacts(&self) -> Result<Vec<Unowned>, RegistryError> {
        if self.backend == Backend::Postgres {
            // Stored artifacts go with their run (a foreign key) and a
            // replaced or unrecorded one is deleted at once: there are no
            // files to reconcile.
            return Ok(Vec::new());
        }
        let dir = self.root.join(ARTIFACTS_DIR);
        // The folders are listed before the runs are read: a folder is made
        // after its run's row, so every folder seen has its row in the read.
        let entries = match list(&dir) {
            Ok(entries) => entries,
            Err(source) if source.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(RegistryError::Io { path: dir, source }),
        };
        let (statuses, recorded) = self
            .within(|| "listing the runs and their artifacts", async {
                let statuses: HashMap<String, String> =
                    sqlx::query_as("SELECT id, status FROM runs")
                        .fetch_all(&self.pool)
                        .await?
                        .into_iter()
                        .collect();
                let recorded: HashSet<String> = sqlx::query_scalar("SELECT path FROM artifacts")
                    .fetch_all(&self.pool)
                    .await?
                    .into_iter()
                    .collect();
                Ok((statuses, recorded))
            })
            .await?;
        let mut unowned = Vec::new();
        for (name, path) in entries {
            let relative = format!("{ARTIFACTS_DIR}/{name}");
            match statuses.get(&name).map(|s| RunStatus::from_db(s)) {
                None => unowned.push(Unowned {
                    bytes: size(&path),
                    path: relative,
                    reason: UnownedReason::UnknownRun,
                }),
                Some(Some(RunStatus::Queued | RunStatus::Running)) | Some(None) => {}
                Some(Some(_)) => {
                    if path.is_dir() {
                        unowned.extend(stray_files(&path, &relative, &recorded));
                    }
                }
            }
        }
        unowned.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(unowned)
    }

    /// Deletes `unowned` (from [`Registry::unowned_artifacts`]), checking
    /// again first that its run has not started (or been created) since it
    /// was listed. Returns what it deleted.
    pub async fn remove_unowned(&self, unowned: &[Unowned]) -> Result<Vec<Unowned>, RegistryError> {
        let mut removed = Vec::with_capacity(unowned.len());
        for entry in unowned {
            let Some(name) = entry.path.split('/').nth(1) else {
                continue;
            };
            let status = self
                .within(|| format!("reading the status of run {name}"), async {
                    Ok(status_of(&self.pool, name).await?)
                })
                .await?;
            let still = match entry.reason {
                UnownedReason::UnknownRun => status.is_none(),
                _ => status
                    .as_deref()
                    .and_then(RunStatus::from_db)
                    .is_some_and(|s| !matches!(s, RunStatus::Queued | RunStatus::Running)),
            };
            let Some(path) = self.within_artifacts(&entry.path).filter(|_| still) else {
                continue;
            };
            let result = if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            match result {
                Ok(()) => removed.push(entry.clone()),
                Err(source) if source.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(RegistryError::Io { path, source }),
            }
        }
        Ok(removed)
    }

    /// Deletes the files in `run`'s folder that none of its artifact rows
    /// names, unless it is queued or running. Best effort: a file left
    /// behind is only space, which `pipeline gc` finds.
    pub(crate) async fn tidy_run_folder(&self, run: &RunId) {
        if self.backend == Backend::Postgres {
            // Stored files the run wrote and never recorded.
            if let Err(error) = sqlx::query(
                "DELETE FROM artifact_blobs WHERE run_id = $1 AND path NOT IN \
                 (SELECT path FROM artifacts WHERE run_id = $1) AND EXISTS \
                 (SELECT 1 FROM runs WHERE id = $1 AND status NOT IN ('queued', 'running'))",
            )
            .bind(run.as_str())
            .execute(&self.pool)
            .await
            {
                log::warn!("cannot delete the unrecorded artifacts of run {run}: {error}");
            }
            return;
        }
        let status = status_of(&self.pool, run.as_str()).await;
        let ended = matches!(
            status
                .as_ref()
                .map(|s| s.as_deref().and_then(RunStatus::from_db)),
            Ok(Some(
                RunStatus::Completed
                    | RunStatus::Failed
                    | RunStatus::Killed
                    | RunStatus::Crashed
                    | RunStatus::Pruned
            ))
        );
        if !ended {
            return;
        }
        let recorded: HashSet<String> =
            match sqlx::query_scalar("SELECT path FROM artifacts WHERE run_id = $1")
                .bind(run.as_str())
                .fetch_all(&self.pool)
                .await
            {
                Ok(paths) => paths.into_iter().collect(),
                Err(error) => {
                    log::warn!("cannot read the artifacts of run {run}: {error}");
                    return;
                }
            };
        let relative = format!("{ARTIFACTS_DIR}/{run}");
        let folder = self.root.join(ARTIFACTS_DIR).join(run.as_str());
        for stray in stray_files(&folder, &relative, &recorded) {
            if let Some(path) = self.within_artifacts(&stray.path)
                && path.is_file()
                && let Err(error) = fs::remove_file(&path)
            {
                log::warn!("cannot delete {}: {error}", path.display());
            }
        }
    }

    /// For a run just marked crashed: records as its `checkpoint_last` (and
    /// `checkpoint_best`) a checkpoint file it wrote but died before
    /// recording, when that file is newer than the recorded one and its
    /// epochs are recorded (they are committed before a checkpoint is
    /// written); then tidies its folder. The file was renamed into place
    /// once complete, so it is whole; `pipeline resume` checks it fits.
    pub(crate) async fn adopt_checkpoints(&self, run: &RunId) -> Result<(), RegistryError> {
        let context = || format!("taking back the checkpoints of crashed run {run}");
        if self
            .within(context, self.adopt_newer_checkpoints(run))
            .await?
        {
            self.tidy_run_folder(run).await;
        }
        Ok(())
    }

    /// The body of [`Registry::adopt_checkpoints`]: records the newest
    /// checkpoint file of each kind that is newer than the recorded one.
    /// False when the run is not crashed or has no folder: nothing to tidy.
    async fn adopt_newer_checkpoints(&self, run: &RunId) -> Result<bool, Fault> {
        if self.backend == Backend::Postgres {
            return Ok(false);
        }
        let epochs_run: Option<i64> =
            sqlx::query_scalar("SELECT epochs_run FROM runs WHERE id = $1 AND status = 'crashed'")
                .bind(run.as_str())
                .fetch_optional(&self.pool)
                .await?;
        let Some(epochs_run) = epochs_run.and_then(|e| u32::try_from(e).ok()) else {
            return Ok(false);
        };
        let folder = self.root.join(ARTIFACTS_DIR).join(run.as_str());
        let Ok(entries) = list(&folder) else {
            return Ok(false);
        };
        let mut last_epoch = 0;
        for kind in [ArtifactKind::CheckpointLast, ArtifactKind::CheckpointBest] {
            let recorded: Option<String> =
                sqlx::query_scalar("SELECT path FROM artifacts WHERE run_id = $1 AND kind = $2")
                    .bind(run.as_str())
                    .bind(kind.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
            let recorded_epoch = recorded
                .as_deref()
                .and_then(|p| p.rsplit('/').next())
                .and_then(|name| kind.epoch_of_file(name))
                .unwrap_or(0);
            // A best epoch is one of the finished epochs of the state kept.
            let limit = match kind {
                ArtifactKind::CheckpointLast => epochs_run,
                _ => last_epoch.max(recorded_epoch),
            };
            let newest = entries
                .iter()
                .filter_map(|(name, path)| Some((kind.epoch_of_file(name)?, name, path)))
                .filter(|(epoch, ..)| *epoch > recorded_epoch && *epoch <= limit)
                .max_by_key(|(epoch, ..)| *epoch);
            let Some((epoch, name, path)) = newest else {
                if kind == ArtifactKind::CheckpointLast {
                    last_epoch = recorded_epoch;
                }
                continue;
            };
            let bytes = fs::read(path).map_err(|source| RegistryError::Io {
                path: path.clone(),
                source,
            })?;
            let record = ArtifactRecord {
                kind,
                path: format!("{ARTIFACTS_DIR}/{run}/{name}"),
                sha256: hex::encode(Sha256::digest(&bytes)),
                bytes: bytes.len() as u64,
                store: None,
            };
            let mut conn = self.pool.acquire().await?;
            insert_artifacts(&mut conn, run, &[record]).await?;
            if kind == ArtifactKind::CheckpointLast {
                last_epoch = epoch;
            }
        }
        Ok(true)
    }
}

/// The entries of `dir` with UTF-8 names, as (name, path).
fn list(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if let Ok(name) = entry.file_name().into_string() {
            entries.push((name, entry.path()));
        }
    }
    entries.sort();
    Ok(entries)
}

/// The entries of a run's `folder` (at `relative`) that `recorded` does not
/// name.
fn stray_files(folder: &Path, relative: &str, recorded: &HashSet<String>) -> Vec<Unowned> {
    let Ok(entries) = list(folder) else {
        return Vec::new();
    };
    entries
        .into_iter()
        .filter_map(|(name, path)| {
            let relative = format!("{relative}/{name}");
            (!recorded.contains(&relative)).then(|| Unowned {
                bytes: size(&path),
                reason: if name.starts_with(TEMP_PREFIX) {
                    UnownedReason::Unfinished
                } else {
                    UnownedReason::NotRecorded
                },
                path: relative,
            })
        })
        .collect()
}

/// The bytes of a file, or of the files in a folder.
pub(crate) fn size(path: &Path) -> u64 {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => list(path)
            .map(|entries| entries.iter().map(|(_, p)| size(p)).sum())
            .unwrap_or(0),
        Ok(meta) => meta.len(),
        Err(_) => 0,
    }
}
