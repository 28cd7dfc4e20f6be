//! Layers beyond the multilayer perceptron (issue 4): a tiny convolutional
//! regression on 4×4 "images" trains, `check` reports each layer's output
//! shape, the stored run predicts, and a layer that cannot take its input
//! shape is a spec error before anything is written.

use std::path::PathBuf;

use crate::common::{Workspace, stderr};

/// 60 rows of 16 pixel columns (`p0` … `p15`, a 4×4 image row by row) and a
/// target: the brightness of the top-left quarter.
fn images(ws: &Workspace) -> PathBuf {
    let header: Vec<String> = (0..16).map(|i| format!("p{i}")).collect();
    let mut text = format!("{},target\n", header.join(","));
    for row in 0..60 {
        let pixels: Vec<f64> = (0..16)
            .map(|i| ((row * 7 + i * 3) % 11) as f64 / 10.0)
            .collect();
        let target = pixels[0] + pixels[1] + pixels[4] + pixels[5];
        let cells: Vec<String> = pixels.iter().map(|p| p.to_string()).collect();
        text.push_str(&format!("{},{target}\n", cells.join(",")));
    }
    ws.write("images.csv", &text)
}

fn spec(ws: &Workspace, input: &str) -> PathBuf {
    let data = images(ws);
    ws.write(
        "conv.toml",
        &format!(
            r#"name = "tiny-conv"
seed = 3
[data]
path = {:?}
target = "target"
[model]
{input}
layers = [
  {{ type = "conv2d", filters = 2, kernel = 3, padding = 1 }},
  {{ type = "batch_norm" }},
  {{ type = "relu" }},
  {{ type = "max_pool2d", kernel = 2 }},
  {{ type = "flatten" }},
  {{ type = "linear", units = 1 }},
]
[loss]
type = "mse"
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
fn a_tiny_conv2d_regression_trains_and_check_reports_its_shapes() {
    let ws = Workspace::new();
    let spec = spec(&ws, "input = [1, 4, 4]");
    let path = spec.to_str().unwrap();

    let report: serde_json::Value =
        serde_json::from_str(&ws.ok(&["check", path, "--json"])).unwrap();
    let model = &report["model"];
    assert_eq!(model["inputs"], 16);
    assert_eq!(model["input_shape"], serde_json::json!([1, 4, 4]));
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
    assert_eq!(
        layers,
        [
            ("conv2d".into(), shape(&[2, 4, 4]), 2 * 9 + 2),
            ("batch_norm".into(), shape(&[2, 4, 4]), 4),
            ("relu".into(), shape(&[2, 4, 4]), 0),
            ("max_pool2d".into(), shape(&[2, 2, 2]), 0),
            ("flatten".into(), shape(&[8]), 0),
            ("linear".into(), shape(&[1]), 9),
        ]
    );
    let text = ws.ok(&["check", path]);
    assert!(
        text.contains("16 inputs as [1, 4, 4], 33 parameters"),
        "{text}"
    );
    assert!(text.contains("conv2d      [2, 4, 4]"), "{text}");

    let run: serde_json::Value = serde_json::from_str(&ws.ok(&["run", path, "--json"])).unwrap();
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["epochs_run"], 2, "{run}");
    assert!(run["metrics"]["test"]["loss"].as_f64().unwrap().is_finite());

    // The stored weights (running statistics included) rebuild the network.
    let predicted = ws.ok(&["infer", "--input", images(&ws).to_str().unwrap()]);
    assert_eq!(predicted.lines().count(), 61, "{predicted}");
}

#[test]
fn a_layer_that_cannot_take_its_input_is_an_error_naming_it() {
    let ws = Workspace::new();
    // No `model.input`: conv2d gets flat rows of 16.
    let flat = spec(&ws, "");
    let out = ws.run(&["check", flat.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "layer 0 (conv2d) cannot take rows of shape [16]: conv2d needs rows of [channels, \
             height, width]; declare `model.input = [C, H, W]`"
        ),
        "{}",
        stderr(&out)
    );

    let wrong = spec(&ws, "input = [1, 4, 5]");
    let out = ws.run(&["run", wrong.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "`model.input` is [1, 4, 5] (20 values a row) but the data gives 16 model inputs"
        ),
        "{}",
        stderr(&out)
    );
    assert!(ws.nothing_recorded(), "nothing is written");
}
