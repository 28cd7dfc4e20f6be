//! `pipeline export RUN --out DIR` (issue: export a run as a self-contained
//! folder): every file is there and parses, the weights are the registry's
//! bytes, a non-empty DIR needs --force, a corrupt artifact leaves no DIR,
//! and the folder rebuilds the network outside pipeline
//! (`tests/interop/check_export.py`, when `python3` exists).

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::common::{Workspace, diabetes_csv, repo_root, stderr};

const FILES: [&str; 6] = [
    "model.safetensors",
    "spec.toml",
    "preprocessing.json",
    "schema.json",
    "metrics.json",
    "receipt.json",
];

fn sha256(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Names in `folder` that start with `.export-` (temporary folders left behind).
fn debris(folder: &Path) -> Vec<String> {
    std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".export-"))
        .collect()
}

fn trained(ws: &Workspace) -> String {
    ws.train(&["train.epochs=3"])["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn export_writes_a_self_contained_folder_that_python_can_load() {
    let ws = Workspace::new();
    let id = trained(&ws);
    let out = ws.path().join("exports/diabetes");
    let printed = ws.ok(&["export", "latest", "--out", out.to_str().unwrap()]);
    assert_eq!(
        Path::new(printed.trim()),
        out.canonicalize().unwrap(),
        "stdout names the folder"
    );

    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = FILES.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(names, expected);
    assert!(debris(&ws.path().join("exports")).is_empty());

    // The bytes are the registry's, as its checksums say.
    let weights_sha = ws.query::<String>("SELECT sha256 FROM artifacts WHERE kind = 'weights'");
    assert_eq!(sha256(&out.join("model.safetensors")), weights_sha[0]);
    let preprocessing_sha =
        ws.query::<String>("SELECT sha256 FROM artifacts WHERE kind = 'preprocessing'");
    assert_eq!(
        sha256(&out.join("preprocessing.json")),
        preprocessing_sha[0]
    );

    // The resolved spec, as recorded, and valid TOML.
    let spec = std::fs::read_to_string(out.join("spec.toml")).unwrap();
    assert_eq!(spec, ws.query::<String>("SELECT spec_toml FROM runs")[0]);
    let table: toml::Table = toml::from_str(&spec).unwrap();
    assert_eq!(table["name"].as_str(), Some("diabetes-mlp"));

    let preprocessing = json(&out.join("preprocessing.json"));
    let features = preprocessing["features"].as_array().unwrap();
    assert_eq!(features.len(), 10);

    let schema = json(&out.join("schema.json"));
    let inputs = schema["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 10);
    for (input, (feature, transform)) in inputs.iter().zip(
        features
            .iter()
            .zip(preprocessing["transforms"].as_array().unwrap()),
    ) {
        assert_eq!(&input["name"], feature);
        assert_eq!(input["type"], "float");
        assert_eq!(input["normalization"]["kind"], "zscore");
        assert_eq!(input["normalization"]["shift"], transform["shift"]);
        assert_eq!(input["normalization"]["scale"], transform["scale"]);
    }
    assert_eq!(schema["output"]["name"], "prediction");
    assert_eq!(schema["output"]["target"], "target");
    assert_eq!(
        schema["model"]["layers"],
        serde_json::json!([
            {"type": "linear", "in": 10, "out": 64, "weight": "0.weight", "bias": "0.bias"},
            {"type": "relu"},
            {"type": "linear", "in": 64, "out": 1, "weight": "2.weight", "bias": "2.bias"},
        ])
    );

    let metrics = json(&out.join("metrics.json"));
    assert_eq!(metrics["run"], id.as_str());
    for split in ["train", "validation", "test"] {
        for metric in ["loss", "mse", "rmse", "mae", "r2"] {
            assert!(metrics["final"][split][metric].is_number(), "{metrics}");
        }
    }
    assert_eq!(metrics["selection"]["metric"], "val_loss");
    assert!(metrics["best_epoch"].as_u64().is_some_and(|e| e <= 3));
    assert!(metrics["overfitting"].is_object());
    assert_eq!(
        metrics["weights_digest"],
        ws.query::<String>("SELECT weights_digest FROM runs")[0].as_str()
    );

    let receipt = json(&out.join("receipt.json"));
    assert_eq!(receipt["run"], id.as_str());
    assert_eq!(receipt["experiment"], "diabetes-mlp");
    assert_eq!(receipt["seed"], 42);
    assert_eq!(receipt["device"], "cpu");
    assert_eq!(receipt["deterministic"], true);
    assert_eq!(
        receipt["data_sha256"],
        ws.query::<String>("SELECT data_sha256 FROM runs")[0].as_str()
    );
    assert_eq!(
        receipt["columns_hash"],
        ws.query::<String>("SELECT columns_hash FROM runs")[0].as_str()
    );
    assert_eq!(
        receipt["spec_hash"],
        ws.query::<String>("SELECT spec_hash FROM runs")[0].as_str()
    );
    assert_eq!(
        receipt["artifacts"]["model.safetensors"]["sha256"],
        weights_sha[0].as_str()
    );

    // Outside pipeline: the folder rebuilds the network and predicts what
    // `pipeline infer` predicts.
    let predictions = ws.path().join("predictions.csv");
    let input = diabetes_csv();
    ws.ok(&[
        "infer",
        "--run",
        &id,
        "--input",
        input.to_str().unwrap(),
        "--output",
        predictions.to_str().unwrap(),
    ]);
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("python3 not found: the interop check is skipped");
        return;
    }
    let check = Command::new("python3")
        .arg(repo_root().join("tests/interop/check_export.py"))
        .arg(&out)
        .arg(&input)
        .arg(&predictions)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "check_export.py failed:\n{report}\n{}",
        stderr(&check)
    );
    assert!(report.contains("pure-python: 442 rows match"), "{report}");
}

#[test]
fn export_refuses_a_non_empty_folder_unless_forced() {
    let ws = Workspace::new();
    let id = trained(&ws);
    let out = ws.path().join("export");

    // An existing empty folder is fine.
    std::fs::create_dir(&out).unwrap();
    ws.ok(&["export", &id, "--out", out.to_str().unwrap()]);

    std::fs::write(out.join("mine.txt"), "keep me").unwrap();
    let refused = ws.run(&["export", &id, "--out", out.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("not empty"),
        "{}",
        stderr(&refused)
    );
    assert!(stderr(&refused).contains("--force"), "{}", stderr(&refused));
    assert!(
        out.join("mine.txt").exists(),
        "a refused export touches nothing"
    );

    // A file is not a folder, even with --force.
    let file = ws.write("file.txt", "x");
    let refused = ws.run(&["export", &id, "--out", file.to_str().unwrap(), "--force"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));

    ws.ok(&["export", &id, "--out", out.to_str().unwrap(), "--force"]);
    assert!(
        !out.join("mine.txt").exists(),
        "--force replaces the folder"
    );
    for name in FILES {
        assert!(out.join(name).is_file(), "{name}");
    }
    assert!(debris(ws.path()).is_empty(), "{:?}", debris(ws.path()));
}

#[test]
fn export_of_a_corrupted_weights_file_fails_and_leaves_no_folder() {
    let ws = Workspace::new();
    let id = trained(&ws);
    let weights = ws
        .path()
        .join(format!("registry/artifacts/{id}/model.safetensors"));
    let mut bytes = std::fs::read(&weights).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&weights, bytes).unwrap();

    let out = ws.path().join("export");
    let failed = ws.run(&["export", &id, "--out", out.to_str().unwrap()]);
    assert!(!failed.status.success());
    let message = stderr(&failed);
    assert!(
        message.contains("corrupt") && message.contains("model.safetensors"),
        "{message}"
    );
    assert!(!out.exists(), "a failed export leaves no folder");
    assert!(debris(ws.path()).is_empty(), "{:?}", debris(ws.path()));
}
