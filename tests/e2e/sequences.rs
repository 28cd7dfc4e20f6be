//! Time series (issues 3 and 4): a tiny GRU on windows of the first 80 years
//! of the shipped sunspot numbers trains for 2 epochs, `check --json`
//! reports the window's shape and each layer's, `infer` forecasts from the
//! series (the test windows' errors are the run's test MAE), `evaluate` on
//! the test rows alone gives the run's test metrics, and one row is no
//! window.

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

    // `infer` forecasts from the series: the row where a window ends gets
    // the next year; the first 5 years (no full window yet) get none. The
    // file lists the years newest first, so those are its last 5 rows.
    let data = sunspots(&ws);
    let csv = ws.ok(&["infer", "--input", data.to_str().unwrap()]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "year,target,prediction", "{csv}");
    let rows: Vec<(f64, f64, Option<f64>)> = lines[1..]
        .iter()
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (
                cells[0].parse().unwrap(),
                cells[1].parse().unwrap(),
                cells[2].parse().ok(),
            )
        })
        .collect();
    assert_eq!(rows.len(), 80);
    assert!(rows[..75].iter().all(|r| r.2.is_some()), "{csv}");
    assert!(rows[75..].iter().all(|r| r.2.is_none()), "{csv}");
    // The test split's 15 windows end in the years at time positions
    // 64..=78 (file rows 15..=1) and forecast the year after: their
    // absolute error is the run's test MAE.
    let by_time: Vec<&(f64, f64, Option<f64>)> = rows.iter().rev().collect();
    let errors: Vec<f64> = (64..=78)
        .map(|t| (by_time[t].2.unwrap() - by_time[t + 1].1).abs())
        .collect();
    let infer_mae = errors.iter().sum::<f64>() / errors.len() as f64;
    assert!(
        (infer_mae - mae).abs() < 1e-3 * mae.max(1.0),
        "infer's test windows: MAE {infer_mae}, the run's test MAE {mae}"
    );

    // `evaluate` on the test split's rows alone (59..=79 in time: 15
    // windows of 6 and their targets) gives the run's test metrics.
    let text = std::fs::read_to_string(&data).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let body: Vec<&str> = lines.take(21).collect();
    let tail = ws.write("tail.csv", &format!("{header}\n{}\n", body.join("\n")));
    let report: serde_json::Value = serde_json::from_str(&ws.ok(&[
        "evaluate",
        "--run",
        "latest",
        "--input",
        tail.to_str().unwrap(),
        "--json",
    ]))
    .unwrap();
    assert_eq!(report["windows"], 15, "{report}");
    for metric in ["mae", "mse", "r2"] {
        let (a, b) = (
            report["metrics"][metric].as_f64().unwrap(),
            run["metrics"]["test"][metric].as_f64().unwrap(),
        );
        assert!(
            (a - b).abs() < 1e-4 * b.abs().max(1.0),
            "{metric}: {a} vs {b}"
        );
    }

    // One row is no window.
    let out = ws.run(&["infer", "--row", "year=1700,target=5"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("1 row(s) are too few for one window: the run reads 6 consecutive rows"),
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

#[test]
fn serve_forecasts_a_posted_series_as_infer_does() {
    let ws = Workspace::new();
    let spec = spec(&ws);
    ws.ok(&["run", spec.to_str().unwrap()]);
    let data = sunspots(&ws);
    let text = std::fs::read_to_string(&data).unwrap();
    let rows: Vec<serde_json::Value> = text
        .lines()
        .skip(1)
        .map(|l| {
            let (year, target) = l.split_once(',').unwrap();
            serde_json::json!({
                "year": year.parse::<f64>().unwrap(),
                "target": target.parse::<f64>().unwrap(),
            })
        })
        .collect();
    let expected: Vec<Option<f64>> = ws
        .ok(&[
            "infer",
            "--input",
            data.to_str().unwrap(),
            "--only-predictions",
        ])
        .lines()
        .skip(1)
        .map(|l| l.parse().ok())
        .collect();

    let server = crate::serve::start(&ws);
    let agent = crate::serve::agent();
    let (status, model) = crate::serve::answer(agent.get(format!("{}/model", server.base)).call());
    assert_eq!(status, 200);
    assert_eq!(model["input"]["window"]["steps"], 6, "{model}");
    let body = serde_json::Value::Array(rows).to_string();
    let (status, answer) = crate::serve::post(&agent, &format!("{}/predict", server.base), &body);
    assert_eq!(status, 200, "{answer}");
    let got: Vec<Option<f64>> = answer["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(serde_json::Value::as_f64)
        .collect();
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        match (g, e) {
            (Some(g), Some(e)) => assert!((g - e).abs() <= 1e-4 * e.abs().max(1.0), "{g} vs {e}"),
            (None, None) => {}
            _ => panic!("serve {g:?}, infer {e:?}"),
        }
    }
    assert_eq!(got.iter().filter(|g| g.is_none()).count(), 5);
    // Too short a series is a 4xx with the reason, and the server goes on.
    let (status, error) = crate::serve::post(
        &agent,
        &format!("{}/predict", server.base),
        r#"[{"year": 1700, "target": 5}]"#,
    );
    assert!((400..500).contains(&status), "{status} {error}");
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("too few for one window"),
        "{error}"
    );
}
