//! Learning-rate schedules, rmsprop and gradient clipping through the real
//! binary (issue 4): the run completes and each epoch's learning rate is
//! recorded as the train split's metric `lr`.

use crate::common::{Workspace, stderr};

fn recorded_rates(ws: &Workspace, run: &serde_json::Value) -> Vec<f64> {
    let id = run["id"].as_str().unwrap();
    ws.query(&format!(
        "SELECT value FROM epoch_metrics WHERE run_id = '{id}' AND split = 'train' AND metric = 'lr' ORDER BY epoch"
    ))
}

fn assert_rates(got: &[f64], expected: &[f64]) {
    assert_eq!(got.len(), expected.len(), "{got:?} vs {expected:?}");
    for (g, e) in got.iter().zip(expected) {
        assert!((g - e).abs() <= 1e-12 * e.abs(), "{got:?} vs {expected:?}");
    }
}

#[test]
fn step_schedule_with_centered_rmsprop_and_norm_clipping() {
    let ws = Workspace::new();
    let run = ws.train(&[
        "train.epochs=6",
        "optimizer.type=rmsprop",
        "optimizer.learning_rate=0.01",
        "optimizer.centered=true",
        "optimizer.momentum=0.5",
        "optimizer.clip_grad_norm=1.0",
        "optimizer.schedule.type=step",
        "optimizer.schedule.step_size=2",
        "optimizer.schedule.gamma=0.5",
    ]);
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["epochs_run"], 6, "{run}");
    assert!(run["metrics"]["test"]["loss"].as_f64().unwrap().is_finite());
    assert_rates(
        &recorded_rates(&ws, &run),
        &[0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025],
    );
    // The resolved spec stored with the run has the filled-in defaults.
    let spec: Vec<String> = ws.query("SELECT spec_toml FROM runs");
    for line in [
        "type = \"rmsprop\"",
        "alpha = 0.99",
        "centered = true",
        "clip_grad_norm = 1.0",
        "[optimizer.schedule]",
        "type = \"step\"",
        "step_size = 2",
    ] {
        assert!(spec[0].contains(line), "no {line:?} in\n{}", spec[0]);
    }
}

#[test]
fn cosine_with_warmup_and_nesterov_sgd_with_value_clipping() {
    let ws = Workspace::new();
    let run = ws.train(&[
        "train.epochs=6",
        "optimizer.type=sgd",
        "optimizer.learning_rate=0.01",
        "optimizer.momentum=0.9",
        "optimizer.nesterov=true",
        "optimizer.clip_grad_value=0.5",
        "optimizer.schedule.type=cosine",
        "optimizer.schedule.warmup_epochs=2",
        "optimizer.schedule.warmup_start_factor=0.5",
    ]);
    assert_eq!(run["epochs_run"], 6, "{run}");
    // Linear warmup 0.5 → 1 over 2 epochs, then a cosine over t_max = 6 - 2 epochs.
    let cosine = |t: f64| 0.01 * (1.0 + (std::f64::consts::PI * t / 4.0).cos()) / 2.0;
    assert_rates(
        &recorded_rates(&ws, &run),
        &[
            0.005,
            0.0075,
            cosine(0.0),
            cosine(1.0),
            cosine(2.0),
            cosine(3.0),
        ],
    );
}

#[test]
fn one_cycle_starts_low_peaks_and_ends_low() {
    let ws = Workspace::new();
    let run = ws.train(&[
        "train.epochs=5",
        "optimizer.type=adamw",
        "optimizer.learning_rate=0.01",
        "optimizer.schedule.type=one_cycle",
    ]);
    assert_eq!(run["epochs_run"], 5, "{run}");
    let rates = recorded_rates(&ws, &run);
    // The first batch runs at max_lr / div_factor.
    assert!((rates[0] - 0.01 / 25.0).abs() < 1e-15, "{rates:?}");
    assert!(rates[1] > rates[0] && rates[2] > rates[4], "{rates:?}");
    assert!(rates.iter().all(|r| *r <= 0.01), "{rates:?}");
}

#[test]
fn plateau_never_raises_the_rate() {
    let ws = Workspace::new();
    let run = ws.train(&[
        "train.epochs=12",
        "optimizer.learning_rate=0.05",
        "optimizer.schedule.type=plateau",
        "optimizer.schedule.patience=0",
        "optimizer.schedule.factor=0.5",
    ]);
    let rates = recorded_rates(&ws, &run);
    assert_eq!(rates.len(), 12);
    assert_eq!(rates[0], 0.05);
    assert!(rates.windows(2).all(|w| w[1] <= w[0]), "{rates:?}");
}

#[test]
fn a_schedule_without_its_required_key_is_a_spec_error() {
    let ws = Workspace::new();
    let spec = crate::common::mlp_spec();
    let out = ws.run(&[
        "run",
        spec.to_str().unwrap(),
        "--set",
        "optimizer.schedule.type=step",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    assert!(
        message.contains("the `step` schedule needs `step_size`"),
        "{message}"
    );
    let out = ws.run(&[
        "run",
        spec.to_str().unwrap(),
        "--set",
        "optimizer.schedule.type=step",
        "--set",
        "optimizer.schedule.step_size=2",
        "--set",
        "optimizer.schedule.t_max=3",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    assert!(
        message.contains("`t_max` does not apply to the `step` schedule"),
        "{message}"
    );
}
