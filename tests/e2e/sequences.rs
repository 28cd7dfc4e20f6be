//! Time series (issues 3 and 4): a tiny GRU on windows of the first 80 years
//! of the shipped sunspot numbers trains for 2 epochs, `check --json`
//! reports the window's shape and each layer's, and `infer` refuses a
//! windowed run with a clear error instead of predicting rows one by one.

use std::path::PathBuf;

use crate::common::{Workspace, repo_root, stderr};

/// The first 80 rows of `sunspots_yearly.csv`, years in reverse so that
/// `order_by` has to sort them.
fn sunspots(ws: &Workspace) -> PathBuf {
    let text =
        std::fs::read_to_string(repo_root().join("experiments/data/sunspots_yearly.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let mut rows: Vec<&str> = lines.take(80).collect();
    rows.reverse();
    ws.write("sunspots.csv", &format!("{header}\n{}\n", rows.join("\n")))
}

fn spec(ws: &Workspace) -> PathBuf {
    let data = sunspots(ws);
    ws.write(
        "gru.toml",
        &format!(
            r#"name = "tiny-gru"
seed = 5
[data]
path = {:?}
target = "target"
normalize_target = "zscore"
split = {{ train = 0.6, validation = 0.2, test = 0.2 }}
[data.window]
steps = 6
order_by = "year"
[model]
input = [6, 1]
layers = [
  {{ type = "gru", units = 4, return_sequences = true }},
  {{ type = "gru", units = 3 }},
  {{ type = "linear", units = 1 }},
]
[optimizer]
type = "adam"
learning_rate = 0.01
[train]
epochs = 2
batch_size = 16
"#,
            data.display().to_string()
        ),
    )
}

#[test]
fn a_tiny_gru_trains_on_windows_and_check_reports_their_shapes() {
    let ws = Workspace::new();
    let spec = spec(&ws);
    let path = spec.to_str().unwrap();

    let report: serde_json::Value =
        serde_json::from_str(&ws.ok(&["check", path, "--json"])).unwrap();
    let model = &report["model"];
    assert_eq!(model["inputs"], 6, "{report}");
    assert_eq!(model["input_shape"], serde_json::json!([6, 1]));
    let layers: Vec<(String, serde_json::Value, u64)> = model["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().unwrap().to_owned(),
                l["output_shape"].clone(),
                l["parameters"].as_u64().unwrap(),
            )
        })
        .collect();
    let shape = |dims: &[u64]| serde_json::json!(dims);
    // torch: nn.GRU(1, 4) has 3·4·(1 + 4) + 2·3·4 = 84 parameters,
    // nn.GRU(4, 3) 3·3·(4 + 3) + 2·3·3 = 81.
    assert_eq!(
        layers,
        [
            ("gru".into(), shape(&[6, 4]), 84),
            ("gru".into(), shape(&[3]), 81),
            ("linear".into(), shape(&[1]), 4),
        ]
    );

    let run: serde_json::Value = serde_json::from_str(&ws.ok(&["run", path, "--json"])).unwrap();
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["epochs_run"], 2, "{run}");
    // 80 years, windows of 6 and the next year: 74 samples, the last 15 test.
    let mae = run["metrics"]["test"]["mae"].as_f64().unwrap();
    assert!(mae.is_finite() && mae > 0.0, "{run}");

    let out = ws.run(&["infer", "--input", sunspots(&ws).to_str().unwrap()]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("trained on windows of a series ([data.window])"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn shuffle_beside_a_window_is_a_spec_error() {
    let ws = Workspace::new();
    let spec = spec(&ws);
    let text = std::fs::read_to_string(&spec)
        .unwrap()
        .replace("[data.window]", "shuffle = true\n[data.window]");
    let shuffled = ws.write("shuffled.toml", &text);
    let out = ws.run(&["check", shuffled.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("`shuffle = true` would mix the past and the future"),
        "{}",
        stderr(&out)
    );
}
