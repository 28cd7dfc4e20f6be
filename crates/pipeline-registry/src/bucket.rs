//! Artifacts in an object store named by URL (`--artifacts`, through the
//! `object_store` crate): `file:///mnt/shared/pipeline` (a folder every
//! machine mounts) or `s3://bucket/prefix` (credentials and region from the
//! environment, as the AWS tools read them). An artifact written there
//! keeps its registry path (`artifacts/<run>/<file>`) under the store's
//! prefix, and its row records the store's URL, so any machine reads it back
//! with nothing but the registry and the store's credentials; it is
//! streamed, and its size and SHA-256 are checked as the registry's own files
//! are.

use std::sync::Arc;

use futures_util::StreamExt as _;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};
use sha2::{Digest, Sha256};

use crate::artifacts::run_of;
use crate::error::RegistryError;
use crate::types::ArtifactRecord;

/// What a block of an artifact being read is handed to.
pub(crate) type Keep<'a> =
    dyn FnMut(&[u8]) -> Result<(), std::collections::TryReserveError> + Send + 'a;

/// An object store holding artifacts, and the prefix they go under.
#[derive(Clone)]
pub struct ArtifactStore {
    url: String,
    store: Arc<dyn ObjectStore>,
    prefix: String,
}

impl std::fmt::Debug for ArtifactStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArtifactStore")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl ArtifactStore {
    /// The store named by `url`: `file:///ABSOLUTE/FOLDER` (created when
    /// missing) or `s3://BUCKET[/PREFIX]`.
    pub fn open(url: &str) -> Result<ArtifactStore, RegistryError> {
        let invalid = |reason: String| RegistryError::InvalidInput {
            what: format!("artifact store {url}"),
            reason,
        };
        let parsed = url::Url::parse(url).map_err(|error| {
            invalid(format!(
                "{error}; give file:///ABSOLUTE/FOLDER or s3://BUCKET/PREFIX"
            ))
        })?;
        let trimmed = url.trim_end_matches('/').to_owned();
        match parsed.scheme() {
            "file" => {
                let folder = parsed
                    .to_file_path()
                    .map_err(|()| invalid("not an absolute local path".to_owned()))?;
                std::fs::create_dir_all(&folder).map_err(|source| RegistryError::Io {
                    path: folder.clone(),
                    source,
                })?;
                let store = object_store::local::LocalFileSystem::new_with_prefix(&folder)
                    .map_err(|error| store_error(&trimmed, &error))?;
                Ok(ArtifactStore {
                    url: trimmed,
                    store: Arc::new(store),
                    prefix: String::new(),
                })
            }
            "s3" => {
                let store = object_store::aws::AmazonS3Builder::from_env()
                    .with_url(url)
                    .build()
                    .map_err(|error| store_error(&trimmed, &error))?;
                Ok(ArtifactStore {
                    url: trimmed,
                    store: Arc::new(store),
                    prefix: parsed.path().trim_matches('/').to_owned(),
                })
            }
            other => Err(invalid(format!(
                "unknown scheme `{other}`; give file:///ABSOLUTE/FOLDER or s3://BUCKET/PREFIX"
            ))),
        }
    }

    /// The store's URL, as artifact rows record it.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn location(&self, path: &str) -> StorePath {
        if self.prefix.is_empty() {
            StorePath::from(path)
        } else {
            StorePath::from(format!("{}/{path}", self.prefix))
        }
    }

    /// Stores `bytes` at `path` (`artifacts/<run>/<file>`): whole or not at
    /// all (a local file is written aside and renamed; S3 takes one PUT).
    pub(crate) async fn put(&self, path: &str, bytes: &[u8]) -> Result<(), RegistryError> {
        self.store
            .put(&self.location(path), PutPayload::from(bytes.to_vec()))
            .await
            .map_err(|error| store_error(&self.url, &error))?;
        Ok(())
    }

    /// Streams `artifact` to `keep` block by block: the bytes read and their
    /// SHA-256 (the caller compares them with the record).
    pub(crate) async fn read(
        &self,
        artifact: &ArtifactRecord,
        keep: &mut Keep<'_>,
    ) -> Result<(u64, String), RegistryError> {
        let found = self
            .store
            .get(&self.location(&artifact.path))
            .await
            .map_err(|error| match error {
                object_store::Error::NotFound { .. } => RegistryError::ArtifactMissing {
                    run: run_of(&artifact.path),
                    path: format!("{}/{}", self.url, artifact.path),
                },
                other => store_error(&self.url, &other),
            })?;
        let mut stream = found.into_stream();
        let mut hasher = Sha256::new();
        let mut read = 0u64;
        while let Some(block) = stream.next().await {
            let block = block.map_err(|error| store_error(&self.url, &error))?;
            if read + block.len() as u64 > artifact.bytes {
                // Longer than recorded: stop reading what could be endless.
                return Ok((read + block.len() as u64, String::new()));
            }
            hasher.update(&block);
            read += block.len() as u64;
            keep(&block).map_err(|_| RegistryError::InvalidInput {
                what: format!("artifact {}", artifact.path),
                reason: format!("{} bytes do not fit in memory", artifact.bytes),
            })?;
        }
        Ok((read, hex::encode(hasher.finalize())))
    }

    /// Deletes the object at `path`; best effort (an object left behind is
    /// unused), logged.
    pub(crate) async fn delete(&self, path: &str) {
        if let Err(error) = self.store.delete(&self.location(path)).await
            && !matches!(error, object_store::Error::NotFound { .. })
        {
            log::warn!("cannot delete artifact {path} from {}: {error}", self.url);
        }
    }
}

fn store_error(url: &str, error: &object_store::Error) -> RegistryError {
    RegistryError::ArtifactStore {
        url: url.to_owned(),
        detail: error.to_string(),
    }
}
