//! Artifact files under `<root>/artifacts/<run-id>/`: written atomically
//! ([`crate::atomic`]: temporary file, fsync, rename, folder fsync) so a
//! crash never leaves a half-written file under its final name, and read
//! back only after their size and SHA-256 match what the registry recorded.

use std::fs;
use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::atomic::{TEMP_PREFIX, sync_dir, write_atomically};
use crate::bucket::ArtifactStore;
use crate::error::RegistryError;
use crate::location::Backend;
use crate::open::Registry;
use crate::types::{ArtifactKind, ArtifactRecord, RunId};

/// Folder under the root that holds one folder per run.
pub(crate) const ARTIFACTS_DIR: &str = "artifacts";

/// Bytes read (and hashed) at a time when verifying an artifact.
const READ_BLOCK: usize = 64 * 1024;

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
        let context = || format!("writing an artifact of run {run}");
        self.within(context, self.require_running(run)).await?;
        let mut record = ArtifactRecord {
            kind,
            path: format!("{ARTIFACTS_DIR}/{run}/{file_name}"),
            sha256: hex::encode(Sha256::digest(bytes)),
            bytes: bytes.len() as u64,
            store: None,
        };
        if let Some(store) = &self.artifact_store {
            store.put(&record.path, bytes).await?;
            record.store = Some(store.url().to_owned());
            return Ok(record);
        }
        if self.backend == Backend::Postgres {
            self.write_blob(run, &record.path, bytes, &record.sha256)
                .await?;
            return Ok(record);
        }
        let artifacts_dir = self.root.join(ARTIFACTS_DIR);
        let dir = artifacts_dir.join(run.as_str());
        fs::create_dir_all(&dir).map_err(|source| RegistryError::Io {
            path: dir.clone(),
            source,
        })?;
        write_atomically(&dir.join(file_name), bytes)?;
        // The run's folder may be new: make its entry durable too.
        sync_dir(&artifacts_dir)?;
        Ok(record)
    }

    /// Reads an artifact file and returns its bytes after checking its size
    /// and SHA-256 against the record: `ArtifactMissing` when the file is
    /// gone, `ArtifactCorrupt` when it does not match (see
    /// [`Registry::verify_artifact`] for what is checked before reading).
    pub async fn read_verified(&self, artifact: &ArtifactRecord) -> Result<Vec<u8>, RegistryError> {
        let mut bytes = Vec::new();
        self.read_checked(artifact, &mut |chunk| {
            if bytes.is_empty() {
                // The file is known to be of the recorded size by now.
                let size = usize::try_from(artifact.bytes).unwrap_or(usize::MAX);
                bytes.try_reserve_exact(size)?;
            }
            bytes.try_reserve(chunk.len())?;
            bytes.extend_from_slice(chunk);
            Ok(())
        })
        .await?;
        Ok(bytes)
    }

    /// Checks an artifact file against its record without keeping its
    /// bytes: it must be a regular file (a link may lead to one) of the
    /// recorded size, checked before anything is read, so that a link to
    /// a device (`/dev/zero`), a named pipe or a file of another size is
    /// refused at once instead of read without end, waited on or held in
    /// memory; then its SHA-256 is computed as it is read, in blocks.
    ///
    /// In a PostgreSQL registry the artifact is streamed from the database
    /// one chunk at a time, with the same checks.
    pub async fn verify_artifact(&self, artifact: &ArtifactRecord) -> Result<(), RegistryError> {
        self.read_checked(artifact, &mut |_| Ok(())).await
    }

    /// [`Registry::verify_artifact`], handing each block read to `keep`.
    async fn read_checked(
        &self,
        artifact: &ArtifactRecord,
        keep: &mut (dyn FnMut(&[u8]) -> Result<(), std::collections::TryReserveError> + Send),
    ) -> Result<(), RegistryError> {
        let (read, actual) = match (&artifact.store, self.backend) {
            (Some(url), _) => {
                let store = match &self.artifact_store {
                    Some(store) if store.url() == url => store.clone(),
                    _ => ArtifactStore::open(url)?,
                };
                store.read(artifact, keep).await?
            }
            (None, Backend::Postgres) => self.read_blob(artifact, keep).await?,
            (None, Backend::Sqlite) => {
                let run = run_of(&artifact.path);
                let full = self.artifact_path(artifact, &run)?;
                let checked = Checked {
                    artifact,
                    run,
                    full,
                };
                let file = checked.open()?;
                checked.read(file, keep)?
            }
        };
        if read != artifact.bytes {
            return Err(corrupt(
                artifact,
                format!("{} bytes", artifact.bytes),
                format!("{read} bytes"),
            ));
        }
        if !actual.eq_ignore_ascii_case(&artifact.sha256) {
            return Err(corrupt(
                artifact,
                format!("sha256 {}", artifact.sha256),
                format!("sha256 {actual}"),
            ));
        }
        Ok(())
    }

    /// Deletes an artifact file whose row is gone, at `path` relative to the
    /// root. Best effort: a file left behind is unused, and the error is
    /// not worth failing the change that made it unused.
    pub(crate) async fn remove_artifact_file(&self, path: &str) {
        // Written to this process's object store, maybe: deleted there too.
        if let Some(store) = &self.artifact_store {
            store.delete(path).await;
        }
        if self.backend == Backend::Postgres {
            if let Err(error) = sqlx::query("DELETE FROM artifact_blobs WHERE path = $1")
                .bind(path)
                .execute(&self.pool)
                .await
            {
                log::warn!("cannot delete stored artifact {path}: {error}");
            }
            return;
        }
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
        self.within_artifacts(&artifact.path)
            .ok_or_else(|| RegistryError::Corrupt {
                path: self.db_path.clone(),
                detail: format!(
                    "artifact path '{}' of run {run} is not under artifacts/",
                    artifact.path
                ),
            })
    }

    /// The absolute path of `relative` (`artifacts/…`, as recorded), if it
    /// is plain (no empty, `.` or `..` part) and stays in the artifacts
    /// folder; `None` otherwise.
    pub(crate) fn within_artifacts(&self, relative: &str) -> Option<PathBuf> {
        let parts: Vec<&str> = relative.split('/').collect();
        let plain = parts
            .iter()
            .all(|p| !p.is_empty() && *p != "." && *p != "..");
        if !plain || parts.len() < 2 || parts[0] != ARTIFACTS_DIR {
            return None;
        }
        let mut full = self.root.clone();
        full.extend(parts);
        Some(full)
    }
}

/// What a file that is not a regular one is, as a message states it.
fn file_kind(file_type: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if file_type.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// `ArtifactCorrupt`: the stored artifact is not what was recorded.
pub(crate) fn corrupt(
    artifact: &ArtifactRecord,
    expected: String,
    actual: String,
) -> RegistryError {
    RegistryError::ArtifactCorrupt {
        run: run_of(&artifact.path),
        path: artifact.path.clone(),
        expected,
        actual,
    }
}

/// The run id inside `artifacts/<run>/<file>`, for error messages.
pub(crate) fn run_of(path: &str) -> String {
    path.split('/').nth(1).unwrap_or("?").to_owned()
}

/// An artifact being verified ([`Registry::verify_artifact`]): its record,
/// its run and its file's full path, which its errors name.
struct Checked<'a> {
    artifact: &'a ArtifactRecord,
    run: String,
    full: PathBuf,
}

impl Checked<'_> {
    /// `ArtifactCorrupt`: the file is not what was recorded.
    fn corrupt(&self, expected: String, actual: String) -> RegistryError {
        corrupt(self.artifact, expected, actual)
    }

    /// An I/O error on the file.
    fn io(&self, source: std::io::Error) -> RegistryError {
        RegistryError::Io {
            path: self.full.clone(),
            source,
        }
    }

    /// The file opened, only when it is a regular file of the recorded size
    /// (opening a named pipe waits for a writer, and a device never ends),
    /// checked again once open: what was opened is what counts, should the
    /// name have changed.
    fn open(&self) -> Result<fs::File, RegistryError> {
        let metadata = match fs::metadata(&self.full) {
            Ok(metadata) => metadata,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(RegistryError::ArtifactMissing {
                    run: self.run.clone(),
                    path: self.artifact.path.clone(),
                });
            }
            Err(source) => return Err(self.io(source)),
        };
        let linked = fs::symlink_metadata(&self.full).is_ok_and(|m| m.file_type().is_symlink());
        self.check(&metadata, linked)?;
        let file = fs::File::open(&self.full).map_err(|e| self.io(e))?;
        self.check(&file.metadata().map_err(|e| self.io(e))?, linked)?;
        Ok(file)
    }

    /// Refuses anything but a regular file of the recorded size (`linked`:
    /// the name is a symbolic link, which the error says).
    fn check(&self, metadata: &fs::Metadata, linked: bool) -> Result<(), RegistryError> {
        let bytes = self.artifact.bytes;
        if !metadata.is_file() {
            let through = if linked {
                ", through a symbolic link"
            } else {
                ""
            };
            return Err(self.corrupt(
                format!("a regular file of {bytes} bytes"),
                format!("{}{through}", file_kind(&metadata.file_type())),
            ));
        }
        if metadata.len() != bytes {
            return Err(self.corrupt(
                format!("{bytes} bytes"),
                format!("{} bytes", metadata.len()),
            ));
        }
        Ok(())
    }

    /// Reads `file` up to its recorded size in blocks, handing each to
    /// `keep`: the bytes read and their SHA-256, in hex.
    fn read(
        &self,
        file: fs::File,
        keep: &mut (dyn FnMut(&[u8]) -> Result<(), std::collections::TryReserveError> + Send),
    ) -> Result<(u64, String), RegistryError> {
        let mut reader = file.take(self.artifact.bytes);
        let mut hasher = Sha256::new();
        let mut block = vec![0u8; READ_BLOCK];
        let mut read = 0u64;
        loop {
            let n = match reader.read(&mut block) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => return Err(self.io(source)),
            };
            hasher.update(&block[..n]);
            keep(&block[..n])
                .map_err(|_| self.io(std::io::Error::from(std::io::ErrorKind::OutOfMemory)))?;
            read += n as u64;
        }
        Ok((read, hex::encode(hasher.finalize())))
    }
}

fn check_file_name(run: &RunId, file_name: &str) -> Result<(), RegistryError> {
    let bad = file_name.is_empty()
        || file_name == "."
        || file_name == ".."
        || file_name.starts_with(TEMP_PREFIX)
        || file_name.contains(['/', '\\', '\0']);
    if bad {
        return Err(RegistryError::InvalidInput {
            what: format!("artifact of run {run}"),
            reason: format!("'{file_name}' is not a plain file name"),
        });
    }
    Ok(())
}
