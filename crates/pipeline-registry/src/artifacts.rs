//! Artifact files under `<root>/artifacts/<run-id>/`: written atomically
//! (temporary file, fsync, rename, directory fsync) so a crash never leaves a
//! half-written file under its final name, and read back only after their
//! size and SHA-256 match what the registry recorded.

use std::fs;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::RegistryError;
use crate::open::Registry;
use crate::types::{ArtifactKind, ArtifactRecord, RunId, RunStatus};

/// Folder under the root that holds one folder per run.
const ARTIFACTS_DIR: &str = "artifacts";

impl Registry {
    /// Writes `bytes` to `root/artifacts/<run>/<file_name>` atomically and
    /// returns its record (path relative to the root, SHA-256, size). Inserts
    /// no row: pass the records to [`Registry::complete_run`].
    ///
    /// The run must exist and be `running`. `file_name` must be a plain file
    /// name (no separators, not `.` or `..`). The file I/O is blocking; the
    /// CLI runs on a current-thread runtime where that is harmless.
    pub async fn write_artifact(
        &self,
        run: &RunId,
        kind: ArtifactKind,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<ArtifactRecord, RegistryError> {
        check_file_name(run, file_name)?;
        let status: Option<String> = sqlx::query_scalar("SELECT status FROM runs WHERE id = ?")
            .bind(run.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.query_error(format!("writing an artifact of run {run}"), e))?;
        match status.as_deref().map(RunStatus::from_db) {
            None => {
                return Err(RegistryError::UnknownRun {
                    selector: run.to_string(),
                    reason: format!("no such run in {}", self.db_path.display()),
                });
            }
            Some(Some(RunStatus::Running)) => {}
            Some(Some(from)) => {
                return Err(RegistryError::InvalidTransition {
                    run: run.to_string(),
                    from,
                });
            }
            Some(None) => {
                return Err(RegistryError::Corrupt {
                    path: self.db_path.clone(),
                    detail: format!("run {run} has an unknown status"),
                });
            }
        }

        let artifacts_dir = self.root.join(ARTIFACTS_DIR);
        let dir = artifacts_dir.join(run.as_str());
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| RegistryError::Io { path, source }
        };
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        let final_path = dir.join(file_name);
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&dir)
            .map_err(io(&dir))?;
        tmp.write_all(bytes).map_err(io(tmp.path()))?;
        tmp.as_file().sync_all().map_err(io(tmp.path()))?;
        tmp.persist(&final_path).map_err(|e| RegistryError::Io {
            path: final_path.clone(),
            source: e.error,
        })?;
        sync_dir(&dir)?;
        sync_dir(&artifacts_dir)?;

        Ok(ArtifactRecord {
            kind,
            path: format!("{ARTIFACTS_DIR}/{run}/{file_name}"),
            sha256: hex::encode(Sha256::digest(bytes)),
            bytes: bytes.len() as u64,
        })
    }

    /// Reads an artifact file and returns its bytes after checking its size
    /// and SHA-256 against the record: `ArtifactMissing` when the file is
    /// gone, `ArtifactCorrupt` when it does not match.
    pub fn read_verified(&self, artifact: &ArtifactRecord) -> Result<Vec<u8>, RegistryError> {
        let run = run_of(&artifact.path);
        let full = self.artifact_path(artifact, &run)?;
        let bytes = match fs::read(&full) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(RegistryError::ArtifactMissing {
                    run,
                    path: artifact.path.clone(),
                });
            }
            Err(source) => return Err(RegistryError::Io { path: full, source }),
        };
        let size = bytes.len() as u64;
        if size != artifact.bytes {
            return Err(RegistryError::ArtifactCorrupt {
                run,
                path: artifact.path.clone(),
                expected: format!("{} bytes", artifact.bytes),
                actual: format!("{size} bytes"),
            });
        }
        let actual = hex::encode(Sha256::digest(&bytes));
        if !actual.eq_ignore_ascii_case(&artifact.sha256) {
            return Err(RegistryError::ArtifactCorrupt {
                run,
                path: artifact.path.clone(),
                expected: format!("sha256 {}", artifact.sha256),
                actual: format!("sha256 {actual}"),
            });
        }
        Ok(bytes)
    }

    /// Deletes an artifact file whose row is gone, at `path` relative to the
    /// root. Best effort: a file left behind is unused, and the error is
    /// not worth failing the change that made it unused.
    pub(crate) fn remove_artifact_file(&self, path: &str) {
        let relative = Path::new(path);
        let plain = relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
        if plain && path.starts_with("artifacts/") {
            let mut full = self.root.clone();
            full.extend(path.split('/'));
            let _ = fs::remove_file(full);
        }
    }

    /// The absolute location of a recorded artifact; refuses paths that would
    /// leave the artifacts folder (a hand-edited database).
    fn artifact_path(
        &self,
        artifact: &ArtifactRecord,
        run: &str,
    ) -> Result<PathBuf, RegistryError> {
        let relative = Path::new(&artifact.path);
        let plain = relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
        if !plain || !artifact.path.starts_with("artifacts/") {
            return Err(RegistryError::Corrupt {
                path: self.db_path.clone(),
                detail: format!(
                    "artifact path '{}' of run {run} is not under artifacts/",
                    artifact.path
                ),
            });
        }
        let mut full = self.root.clone();
        full.extend(artifact.path.split('/'));
        Ok(full)
    }
}

/// The run id inside `artifacts/<run>/<file>`, for error messages.
fn run_of(path: &str) -> String {
    path.split('/').nth(1).unwrap_or("?").to_owned()
}

fn check_file_name(run: &RunId, file_name: &str) -> Result<(), RegistryError> {
    let bad = file_name.is_empty()
        || file_name == "."
        || file_name == ".."
        || file_name.starts_with(".tmp-")
        || file_name.contains(['/', '\\', '\0']);
    if bad {
        return Err(RegistryError::InvalidInput {
            what: format!("artifact of run {run}"),
            reason: format!("'{file_name}' is not a plain file name"),
        });
    }
    Ok(())
}

/// Makes a rename or file creation in `dir` durable.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), RegistryError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| RegistryError::Io {
            path: dir.to_path_buf(),
            source,
        })
}

/// Directories cannot be opened for fsync on this platform.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<(), RegistryError> {
    Ok(())
}
