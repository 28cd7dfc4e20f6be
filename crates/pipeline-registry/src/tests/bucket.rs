//! Artifacts in an object store (`bucket.rs`), on the `file://` backend of
//! `object_store` (the same code path as S3's): written there and recorded
//! with the store's URL, read back verified by a handle that has no store
//! of its own, a changed or missing object refused.

use super::{new_run, open_temp};
use crate::{ArtifactKind, ArtifactStore, RegistryError};

#[tokio::test(flavor = "current_thread")]
async fn an_artifact_in_a_store_is_read_back_verified_by_any_handle() {
    let (_dir, plain) = open_temp().await;
    let bucket = tempfile::tempdir().unwrap();
    let url = format!("file://{}", bucket.path().display());
    let reg = plain
        .clone()
        .with_artifact_store(ArtifactStore::open(&url).unwrap());
    let id = reg.create_run(&new_run("exp", false)).await.unwrap();
    let record = reg
        .write_artifact(&id, ArtifactKind::Weights, "model.safetensors", b"weights")
        .await
        .unwrap();
    assert_eq!(record.store.as_deref(), Some(url.as_str()));
    let object = bucket.path().join(&record.path);
    assert_eq!(std::fs::read(&object).unwrap(), b"weights");
    // Nothing under the registry's own artifacts folder.
    assert!(!plain.root().join(&record.path).exists());
    // A handle without --artifacts reads it through the recorded URL.
    assert_eq!(plain.read_verified(&record).await.unwrap(), b"weights");

    std::fs::write(&object, b"WEIGHTS").unwrap();
    let changed = plain.read_verified(&record).await.unwrap_err();
    assert!(
        matches!(changed, RegistryError::ArtifactCorrupt { .. }),
        "{changed:?}"
    );
    std::fs::write(&object, b"weights and more").unwrap();
    let longer = plain.verify_artifact(&record).await.unwrap_err();
    assert!(
        matches!(longer, RegistryError::ArtifactCorrupt { .. }),
        "{longer:?}"
    );
    std::fs::remove_file(&object).unwrap();
    let missing = plain.read_verified(&record).await.unwrap_err();
    assert!(
        matches!(missing, RegistryError::ArtifactMissing { .. }),
        "{missing:?}"
    );
}

#[test]
fn a_store_url_of_another_kind_is_refused_with_the_forms() {
    for url in ["ftp://host/x", "not a url", "file://relative"] {
        let error = ArtifactStore::open(url).unwrap_err();
        assert!(error.is_user_error(), "{url}: {error:?}");
    }
}
