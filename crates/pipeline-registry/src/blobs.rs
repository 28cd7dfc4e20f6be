//! Artifacts kept in the database (a PostgreSQL registry), so that every
//! machine that can reach the database can read them: `artifact_blobs`
//! holds one row per file (its size and SHA-256), `artifact_chunks` its
//! bytes in chunks of [`CHUNK_BYTES`]. A file is written in one
//! transaction, so it is either whole or absent; it is read one chunk at a
//! time, its size and SHA-256 checked against the run's record as it
//! streams, and never held whole in memory unless the caller keeps it.

use sha2::{Digest, Sha256};

use crate::artifacts::{corrupt, run_of};
use crate::error::RegistryError;
use crate::open::Registry;
use crate::statement::Fault;
use crate::touch::Live;
use crate::types::{ArtifactRecord, RunId};
use crate::util::now;

/// Bytes per stored chunk: large enough that a 100 MB model is 100 rows,
/// small enough that one row is never a burden on the server.
pub(crate) const CHUNK_BYTES: usize = 1 << 20;

impl Registry {
    /// Stores `bytes` as the artifact at `path` (`artifacts/<run>/<file>`)
    /// of `run`, replacing a file of that path (a checkpoint rewritten
    /// each epoch): one transaction, so a reader sees the old file or the
    /// new one, never a mix.
    pub(crate) async fn write_blob(
        &self,
        run: &RunId,
        path: &str,
        bytes: &[u8],
        sha256: &str,
    ) -> Result<(), RegistryError> {
        self.within(|| format!("storing artifact {path} of run {run}"), async {
            let mut tx = self.begin_write().await?;
            // Only the run's owner stores its files: a process that lost the
            // run writes nothing, also between its check and this write.
            self.touch(&mut tx, run, Live::Running).await?;
            sqlx::query("DELETE FROM artifact_blobs WHERE path = $1")
                .bind(path)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO artifact_blobs (path, run_id, bytes, sha256, chunk_bytes, \
                     created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(path)
            .bind(run.as_str())
            .bind(i64::try_from(bytes.len()).unwrap_or(i64::MAX))
            .bind(sha256)
            .bind(CHUNK_BYTES as i64)
            .bind(now())
            .execute(&mut *tx)
            .await?;
            for (seq, chunk) in bytes.chunks(CHUNK_BYTES).enumerate() {
                sqlx::query("INSERT INTO artifact_chunks (path, seq, data) VALUES ($1, $2, $3)")
                    .bind(path)
                    .bind(seq as i64)
                    .bind(chunk)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok::<(), Fault>(())
        })
        .await
    }

    /// Streams the stored artifact of `artifact` chunk by chunk to `keep`:
    /// `ArtifactMissing` when it is not stored, `ArtifactCorrupt` when its
    /// stored size is not the recorded one (checked before anything is
    /// read). Returns the bytes read (never more than recorded, plus one
    /// chunk) and their SHA-256, in hex, which the caller checks as it
    /// does a file's.
    pub(crate) async fn read_blob(
        &self,
        artifact: &ArtifactRecord,
        keep: &mut (dyn FnMut(&[u8]) -> Result<(), std::collections::TryReserveError> + Send),
    ) -> Result<(u64, String), RegistryError> {
        let context = || {
            format!(
                "reading artifact {} of run {}",
                artifact.path,
                run_of(&artifact.path)
            )
        };
        let stored: Option<i64> = self
            .within(context, async {
                Ok(
                    sqlx::query_scalar("SELECT bytes FROM artifact_blobs WHERE path = $1")
                        .bind(&artifact.path)
                        .fetch_optional(&self.pool)
                        .await?,
                )
            })
            .await?;
        let Some(stored) = stored else {
            return Err(RegistryError::ArtifactMissing {
                run: run_of(&artifact.path),
                path: artifact.path.clone(),
            });
        };
        if u64::try_from(stored).ok() != Some(artifact.bytes) {
            return Err(corrupt(
                artifact,
                format!("{} bytes", artifact.bytes),
                format!("{stored} bytes"),
            ));
        }
        let mut hasher = Sha256::new();
        let mut read = 0u64;
        let mut seq = 0i64;
        loop {
            let chunk: Option<Vec<u8>> = self
                .within(context, async {
                    Ok(sqlx::query_scalar(
                        "SELECT data FROM artifact_chunks WHERE path = $1 AND seq = $2",
                    )
                    .bind(&artifact.path)
                    .bind(seq)
                    .fetch_optional(&self.pool)
                    .await?)
                })
                .await?;
            let Some(chunk) = chunk else { break };
            read += chunk.len() as u64;
            if read > artifact.bytes {
                break;
            }
            hasher.update(&chunk);
            keep(&chunk).map_err(|_| RegistryError::Io {
                path: self.db_path.clone(),
                source: std::io::Error::from(std::io::ErrorKind::OutOfMemory),
            })?;
            seq += 1;
        }
        Ok((read, hex::encode(hasher.finalize())))
    }
}
