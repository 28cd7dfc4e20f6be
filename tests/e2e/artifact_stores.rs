//! `--artifacts URL` (issue 23): a run's artifacts written to an object store
//! every machine reads (here `file://`, the same code path as `s3://`),
//! recorded with the store's URL, and read back verified from a folder that
//! names no store; a worker writes there too. On both backends.

use std::process::Command;

use crate::common::{Workspace, mlp_spec};

#[test]
fn artifacts_in_an_object_store_are_read_from_anywhere() {
    let ws = Workspace::new();
    let bucket = tempfile::tempdir().unwrap();
    let url = format!("file://{}", bucket.path().display());
    let spec = mlp_spec();
    let trained: serde_json::Value = serde_json::from_str(&ws.ok(&[
        "run",
        spec.to_str().unwrap(),
        "--set",
        "train.epochs=3",
        "--artifacts",
        &url,
        "--json",
    ]))
    .unwrap();
    let id = trained["id"].as_str().unwrap().to_owned();
    let stores = ws.query::<String>("SELECT DISTINCT store FROM artifacts");
    assert_eq!(stores, std::slice::from_ref(&url));
    let objects = std::fs::read_dir(bucket.path().join("artifacts").join(&id))
        .unwrap()
        .count();
    assert!(objects >= 2, "the model and its preprocessing: {objects}");

    // Read back from another folder, with no --artifacts.
    let csv = crate::common::diabetes_csv();
    let infer = |dir: &std::path::Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_pipeline"))
            .current_dir(dir)
            .env("PIPELINE_REGISTRY", ws.registry_url())
            .env_remove("PIPELINE_ARTIFACTS")
            .args(["infer", "--run", &id, "--input", csv.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let elsewhere = tempfile::tempdir().unwrap();
    let predicted = infer(elsewhere.path());
    assert!(!predicted.is_empty());
    ws.ok(&["show", &id, "--verify"]);

    // A changed object is refused, naming the store.
    let model = std::fs::read_dir(bucket.path().join("artifacts").join(&id))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|e| e == "safetensors"))
        .unwrap();
    let mut bytes = std::fs::read(&model).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&model, bytes).unwrap();
    let out = ws.run(&["infer", "--run", &id, "--input", csv.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("corrupt"), "{stderr}");
}

#[test]
fn a_worker_writes_its_runs_artifacts_to_the_store() {
    let ws = Workspace::new();
    let bucket = tempfile::tempdir().unwrap();
    let url = format!("file://{}", bucket.path().display());
    let spec = mlp_spec();
    ws.ok(&[
        "run",
        spec.to_str().unwrap(),
        "--submit",
        "--set",
        "train.epochs=3",
    ]);
    ws.ok(&["worker", "--exit-when-done", "--artifacts", &url]);
    assert_eq!(ws.query::<String>("SELECT status FROM runs"), ["completed"]);
    assert_eq!(
        ws.query::<String>("SELECT DISTINCT store FROM artifacts"),
        [url]
    );
    ws.ok(&["show", "latest", "--verify"]);
}

#[test]
fn an_artifact_store_of_an_unknown_kind_is_refused() {
    let ws = Workspace::new();
    let spec = mlp_spec();
    let out = ws.run(&[
        "run",
        spec.to_str().unwrap(),
        "--set",
        "train.epochs=1",
        "--artifacts",
        "ftp://example.org/x",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("s3://BUCKET/PREFIX"), "{stderr}");
}
