//! A run trained and recorded here, through `pipeline_train` and the
//! registry's API, loaded and predicted with through this library alone
//! (no `pipeline` binary), and refused once its weights file changed
//! after the run recorded it (issue 19: prediction as a library).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// A unit-test module (one test binary fewer to link than a `tests/` file),
// written against the public API as a caller would use it.
use crate as pipeline_predict;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use candle_core::Device;
use pipeline_data::{prepare, read_table};
use pipeline_predict::{
    PredictError, Predictions, Predictor, Rows, Scored, StoredModel, artifact, evaluate,
    with_predictions,
};
use pipeline_registry::{
    ArtifactKind, Completion, NewRun, Overfitting, Registry, RegistryError, RunId,
};
use pipeline_spec::{Device as DeviceSpec, Spec};
use pipeline_train::{NoObserver, initial_network, train};

fn diabetes() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments/data/diabetes.csv")
}

fn spec() -> Spec {
    let text = format!(
        r#"
name = "predict-library"
seed = 7
[data]
path = "{}"
target = "target"
normalize = "zscore"
[model]
layers = [{{ type = "linear", units = 8 }}, {{ type = "relu" }}, {{ type = "linear", units = 1 }}]
[loss]
type = "mse"
[optimizer]
type = "adam"
learning_rate = 1e-3
[train]
epochs = 2
batch_size = 64
"#,
        diabetes().display()
    );
    Spec::parse(Path::new("predict.toml"), &text, &[]).unwrap()
}

/// Trains `spec()` and records it as a completed run in a registry in `dir`.
async fn recorded_run(dir: &Path) -> (Registry, RunId) {
    let spec = spec();
    let data = prepare(&spec.data, &diabetes(), spec.seed).unwrap();
    let network = initial_network(&spec, &data, &Device::Cpu).unwrap();
    let interrupt = AtomicBool::new(false);
    let outcome = train(
        &spec,
        &data,
        network,
        &Device::Cpu,
        &mut NoObserver,
        &interrupt,
        None,
    )
    .unwrap();
    let registry = Registry::open(&dir.join("registry.db")).await.unwrap();
    let id = registry
        .create_run(&new_run(&spec, &data.data_sha256))
        .await
        .unwrap();
    let weights = outcome
        .model
        .network
        .to_safetensors(HashMap::new())
        .unwrap();
    let preprocessing = data.preprocessing.to_json();
    let artifacts = vec![
        registry
            .write_artifact(&id, ArtifactKind::Weights, "model.safetensors", &weights)
            .await
            .unwrap(),
        registry
            .write_artifact(
                &id,
                ArtifactKind::Preprocessing,
                "preprocessing.json",
                preprocessing.as_bytes(),
            )
            .await
            .unwrap(),
    ];
    let completion = Completion {
        best_epoch: outcome.best_epoch.unwrap_or(1),
        epochs_run: outcome.history.len() as u32,
        selection_value: 0.0,
        final_metrics: Vec::new(),
        artifacts,
        overfitting: Overfitting::default(),
        weights_digest: Some(pipeline_model::weights_digest(&weights).unwrap()),
    };
    registry.complete_run(&id, &completion).await.unwrap();
    (registry, id)
}

fn new_run(spec: &Spec, data_sha256: &str) -> NewRun {
    NewRun {
        experiment: spec.name.to_string(),
        spec_toml: spec.to_toml(),
        spec_hash: spec.hash(),
        source_spec: spec.to_toml(),
        spec_path: "predict.toml".into(),
        data_path: diabetes().display().to_string(),
        data_sha256: data_sha256.into(),
        columns_hash: None,
        seed: spec.seed,
        device: "cpu".into(),
        program_version: "test".into(),
        git_commit: "unknown".into(),
        deterministic: true,
        tags: Vec::new(),
        note: None,
        name: None,
        selection_metric: "val_loss".into(),
        selection_higher_is_better: false,
        trial: None,
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_recorded_run_predicts_rows_and_a_changed_weights_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (registry, id) = recorded_run(dir.path()).await;

    let stored = StoredModel::load(&registry, &id, "to predict with")
        .await
        .unwrap();
    let predictor = Predictor::new(stored, DeviceSpec::Cpu).unwrap();
    let table = read_table(&diabetes()).unwrap();
    let rows = table.frame.height();
    match predictor.predict(&table).unwrap() {
        Predictions::Values {
            names,
            values,
            sparse,
        } => {
            assert_eq!(names, ["prediction"]);
            assert_eq!(values.len(), rows);
            assert!(values.iter().all(|v| v.is_finite()));
            assert!(!sparse);
        }
        Predictions::Classes { .. } => panic!("a regression run predicted classes"),
    }

    // The same rows streamed in batches, joined with their predictions.
    let features = predictor.preprocessing.float_columns();
    let mut predicted = 0;
    for batch in Rows::from_file(&diabetes(), &features, 100).unwrap() {
        let batch = batch.unwrap();
        let width = batch.table.frame.width();
        let predictions = predictor.predict_batch(&batch).unwrap();
        let frame = with_predictions(batch, &predictions, false).unwrap();
        assert_eq!(frame.width(), width + 1);
        predicted += frame.height();
    }
    assert_eq!(predicted, rows);

    let evaluation = evaluate(&predictor, &diabetes()).unwrap();
    assert_eq!(evaluation.scored, Scored::Rows(rows));
    assert!(
        evaluation
            .metrics
            .iter()
            .any(|(name, _)| name.as_str() == "r2")
    );

    // One byte of the weights changed after the run recorded them.
    let record = registry.run(&id).await.unwrap();
    let weights = artifact(&record, ArtifactKind::Weights).unwrap();
    let path = registry.root().join(&weights.path);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    let error = match StoredModel::load(&registry, &id, "to predict with").await {
        Ok(_) => panic!("a changed weights file was loaded"),
        Err(error) => error,
    };
    assert!(
        matches!(
            error,
            PredictError::Registry(RegistryError::ArtifactCorrupt { .. })
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("is corrupt: expected"),
        "{error}"
    );
}
