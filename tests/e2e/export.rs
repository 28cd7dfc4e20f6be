//! `pipeline export RUN --out DIR` (issue: export a run as a self-contained
//! folder): every file is there and parses, the weights are the registry's
//! bytes, a non-empty DIR needs --force, a corrupt artifact leaves no DIR,
//! and the folder rebuilds the network outside pipeline
//! (`tests/interop/check_export.py`, when `python3` exists).

use std::path::{Path, PathBuf};
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
    let report = check_export(Path::new("python3"), &out, &input, &predictions);
    assert!(report.contains("pure-python: 442 rows match"), "{report}");
    // PyTorch agrees too, where a Python has it.
    if let Some(python) = torch_python() {
        let report = check_export(&python, &out, &input, &predictions);
        assert!(report.contains("pure-python: 442 rows match"), "{report}");
        assert!(torch_rows_match(&report, 442), "{report}");
    }
}

/// Runs `tests/interop/check_export.py` with `python`; its stdout, after
/// asserting that it succeeded.
fn check_export(python: &Path, folder: &Path, input: &Path, predictions: &Path) -> String {
    let check = Command::new(python)
        .arg(repo_root().join("tests/interop/check_export.py"))
        .arg(folder)
        .arg(input)
        .arg(predictions)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&check.stdout).into_owned();
    assert!(
        check.status.success(),
        "check_export.py failed:\n{report}\n{}",
        stderr(&check)
    );
    report
}

/// "torch 2.x: N rows match pipeline infer" in a report.
fn torch_rows_match(report: &str, rows: usize) -> bool {
    report.lines().any(|line| {
        line.starts_with("torch ") && line.contains(&format!(": {rows} rows match pipeline infer"))
    })
}

/// A Python with torch and safetensors: `PIPELINE_INTEROP_PYTHON`, else
/// `/tmp/peers-venv/bin/python` (the benchmarks' peers), else `python3`;
/// `None` (the PyTorch checks are skipped, and say so) when none has them.
fn torch_python() -> Option<PathBuf> {
    let candidates = std::env::var_os("PIPELINE_INTEROP_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            PathBuf::from("/tmp/peers-venv/bin/python"),
            PathBuf::from("python3"),
        ]);
    for python in candidates {
        let has_torch = Command::new(&python)
            .args(["-c", "import torch, safetensors"])
            .output()
            .is_ok_and(|out| out.status.success());
        if has_torch {
            return Some(python);
        }
    }
    eprintln!("no Python with torch and safetensors: the PyTorch interop checks are skipped");
    None
}

/// A spec for `data` (relative to the repository) with `model` (the
/// `[model]` table's lines) trained for `epochs`.
fn small_spec(ws: &Workspace, name: &str, data: &str, task: &str, model: &str) -> PathBuf {
    let text = format!(
        "name = \"{name}\"\nseed = 3\n\n[data]\npath = {:?}\ntarget = \"{target}\"\n\
         task = \"{task}\"\nnormalize = \"{normalize}\"\n\n[model]\n{model}\n\n\
         [optimizer]\ntype = \"adam\"\nlearning_rate = 1e-3\n\n[train]\nepochs = 2\n",
        repo_root().join(data).display().to_string(),
        target = if task == "regression" {
            "target"
        } else {
            "label"
        },
        // Digits' pixels stay the codes 0..16 for an embedding.
        normalize = if task == "regression" {
            "zscore"
        } else {
            "none"
        },
    );
    ws.write(&format!("{name}.toml"), &text)
}

/// Trains `spec` (with `overrides`), exports it, predicts the first `rows`
/// rows of `data` with `pipeline infer`, and checks the export against those
/// predictions in PyTorch; returns the report.
fn torch_agrees(
    ws: &Workspace,
    python: &Path,
    spec: &Path,
    overrides: &[&str],
    data: &str,
    rows: usize,
) -> String {
    let mut args = vec!["run", spec.to_str().unwrap(), "--json", "--quiet"];
    for o in overrides {
        args.extend(["--set", o]);
    }
    let run: Value = serde_json::from_str(&ws.ok(&args)).unwrap();
    let id = run["id"].as_str().unwrap();
    let out = ws.path().join(format!("export-{id}"));
    ws.ok(&["export", id, "--out", out.to_str().unwrap()]);
    let text = std::fs::read_to_string(repo_root().join(data)).unwrap();
    let input = ws.write(
        &format!("input-{id}.csv"),
        &(text.lines().take(rows + 1).collect::<Vec<_>>().join("\n") + "\n"),
    );
    let predictions = ws.path().join(format!("predictions-{id}.csv"));
    ws.ok(&[
        "infer",
        "--run",
        id,
        "--input",
        input.to_str().unwrap(),
        "--output",
        predictions.to_str().unwrap(),
        "--only-predictions",
    ]);
    let report = check_export(python, &out, &input, &predictions);
    eprintln!("{}:\n{report}", spec.display());
    assert!(
        torch_rows_match(&report, rows),
        "{}: {report}",
        spec.display()
    );
    report
}

/// Every layer type beyond the MLP's, rebuilt in PyTorch from an export:
/// the shipped digits CNN (conv2d, batch norm 2d, max pooling, flatten,
/// dropout) and one with average pooling; a 1-d CNN with batch norm 1d;
/// linear on steps, positional encoding, a transformer block, layer norm,
/// LSTM, GRU and RNN and the mean over steps; an embedding of the digits'
/// pixel codes into a GRU and its last step. Predictions equal `pipeline
/// infer`'s to 1e-5, a windowed transformer's forecasts from the series
/// file too.
#[test]
fn exports_beyond_mlps_rebuild_in_pytorch() {
    let Some(python) = torch_python() else {
        return;
    };
    let ws = Workspace::new();
    let digits = "experiments/data/digits.csv";
    let diabetes = "experiments/data/diabetes.csv";
    let cnn = repo_root().join("experiments/digits_cnn.toml");
    let report = torch_agrees(&ws, &python, &cnn, &["train.epochs=1"], digits, 300);
    assert!(
        report.contains("pure-python: skipped: batch_norm, conv2d"),
        "{report}"
    );
    torch_agrees(
        &ws,
        &python,
        &cnn,
        &["train.epochs=1", "model.layers.7.type=avg_pool2d"],
        digits,
        300,
    );
    let conv1d = small_spec(
        &ws,
        "conv1d",
        diabetes,
        "regression",
        r#"input = [1, 10]
layers = [
  { type = "conv1d", filters = 4, kernel = 3, padding = 1 }, { type = "batch_norm" },
  { type = "relu" }, { type = "max_pool1d", kernel = 2 },
  { type = "conv1d", filters = 4, kernel = 2, stride = 1 }, { type = "avg_pool1d", kernel = 2 },
  { type = "flatten" }, { type = "leaky_relu" }, { type = "linear", units = 1 },
]"#,
    );
    torch_agrees(&ws, &python, &conv1d, &[], diabetes, 442);
    let sequence = small_spec(
        &ws,
        "sequence",
        diabetes,
        "regression",
        r#"input = [10, 1]
layers = [
  { type = "linear", units = 8 }, { type = "positional_encoding" },
  { type = "transformer", heads = 2, feedforward = 16, dropout = 0.1 },
  { type = "layer_norm" }, { type = "lstm", units = 8, return_sequences = true },
  { type = "gru", units = 6, return_sequences = true },
  { type = "rnn", units = 6, return_sequences = true }, { type = "mean_pool" },
  { type = "silu" }, { type = "linear", units = 1 },
]"#,
    );
    torch_agrees(&ws, &python, &sequence, &[], diabetes, 442);
    let embedding = small_spec(
        &ws,
        "embedding",
        digits,
        "multiclass",
        r#"input = [64]
layers = [
  { type = "embedding", vocabulary = 17, dimensions = 4 },
  { type = "gru", units = 8, return_sequences = true }, { type = "last_step" },
  { type = "dropout", rate = 0.1 }, { type = "linear", units = 10 },
]"#,
    );
    torch_agrees(&ws, &python, &embedding, &[], digits, 300);

    // A windowed run: the series file in, infer's forecasts compared row
    // by row (the script rebuilds the windows).
    let sunspots = repo_root().join("experiments/sunspots_transformer.toml");
    let report = windowed_agrees(
        &ws,
        &python,
        &sunspots,
        "experiments/data/sunspots_yearly.csv",
    );
    assert!(report.contains("pure-python: skipped"), "{report}");
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("torch ") && l.contains("rows match pipeline infer")),
        "{report}"
    );
}

/// Trains a windowed `spec` for 2 epochs, exports it, predicts the series
/// `data` with `pipeline infer` and runs the interop script on them;
/// returns its report.
fn windowed_agrees(ws: &Workspace, python: &Path, spec: &Path, data: &str) -> String {
    let run: Value = serde_json::from_str(&ws.ok(&[
        "run",
        spec.to_str().unwrap(),
        "--set",
        "train.epochs=2",
        "--json",
        "--quiet",
    ]))
    .unwrap();
    let id = run["id"].as_str().unwrap();
    let out = ws.path().join(format!("export-{id}"));
    ws.ok(&["export", id, "--out", out.to_str().unwrap()]);
    let input = repo_root().join(data);
    let predictions = ws.path().join(format!("predictions-{id}.csv"));
    ws.ok(&[
        "infer",
        "--run",
        id,
        "--input",
        input.to_str().unwrap(),
        "--output",
        predictions.to_str().unwrap(),
    ]);
    check_export(python, &out, &input, &predictions)
}

/// Issue 21: a windowed run's export predicts what `pipeline infer` does
/// from the series file, checked in pure Python (no torch) for a network
/// of linear layers after `flatten`, with the target differenced and
/// normalized.
#[test]
fn windowed_export_predicts_the_series_in_pure_python() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("python3 not found: the interop check is skipped");
        return;
    }
    let ws = Workspace::new();
    let spec = ws.write(
        "windowed.toml",
        &format!(
            r#"name = "windowed-mlp"
[data]
path = {:?}
target = "target"
normalize_target = "zscore"
split = {{ train = 0.7, validation = 0.15, test = 0.15 }}
[data.window]
steps = 6
order_by = "date"
difference = true
missing = "interpolate"
[model]
input = [6, 1]
layers = [{{ type = "flatten" }}, {{ type = "linear", units = 8 }}, {{ type = "tanh" }}, {{ type = "linear", units = 1 }}]
[optimizer]
type = "adam"
learning_rate = 1e-3
[train]
epochs = 2
"#,
            repo_root()
                .join("experiments/data/co2_weekly.csv")
                .display()
                .to_string()
        ),
    );
    let report = windowed_agrees(
        &ws,
        Path::new("python3"),
        &spec,
        "experiments/data/co2_weekly.csv",
    );
    let rows = std::fs::read_to_string(repo_root().join("experiments/data/co2_weekly.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    // Every row from the 7th (6 steps after the first difference) ends a window.
    let windows = rows - 6;
    assert!(
        report.contains(&format!(
            "pure-python (windows): {windows} rows match pipeline infer"
        )),
        "{report}"
    );
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

    // --force replaces an earlier export, not a folder holding other files
    // (issue 18: never lose a user's data).
    let refused = ws.run(&["export", &id, "--out", out.to_str().unwrap(), "--force"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("it holds mine.txt"),
        "{}",
        stderr(&refused)
    );
    assert!(out.join("mine.txt").exists(), "a refused --force keeps it");
    std::fs::remove_file(out.join("mine.txt")).unwrap();
    ws.ok(&["export", &id, "--out", out.to_str().unwrap(), "--force"]);
    for name in FILES {
        assert!(out.join(name).is_file(), "{name}");
    }
    assert!(debris(ws.path()).is_empty(), "{:?}", debris(ws.path()));
}

#[test]
fn export_of_a_corrupted_weights_file_fails_and_leaves_no_folder() {
    let ws = Workspace::new();
    let id = trained(&ws);
    ws.corrupt_artifact(&format!("artifacts/{id}/model.safetensors"));

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
