//! The dense path and candle's autograd train the same runs: every epoch's
//! metrics and the final weights agree, for regression and classification,
//! with dropout, weight decay and a schedule (issue 7: speed never changes
//! results).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use candle_core::Device;
use pipeline_data::prepare;
use pipeline_spec::Spec;
use pipeline_train::{Engine, NoObserver, Outcome, Training, initial_network, train_with};

fn experiments() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments")
}

fn train(spec: &Spec, engine: Engine) -> Outcome {
    let data = prepare(&spec.data, &experiments().join(&spec.data.path), spec.seed).unwrap();
    let network = initial_network(spec, &data, &Device::Cpu).unwrap();
    train_with(Training {
        spec,
        data: &data,
        network,
        device: &Device::Cpu,
        observer: &mut NoObserver,
        interrupt: &AtomicBool::new(false),
        start: None,
        engine,
    })
    .unwrap()
}

fn assert_same_training(text: &str) {
    let spec = Spec::parse(Path::new("engines.toml"), text, &[]).unwrap();
    let dense = train(&spec, Engine::Auto);
    let autograd = train(&spec, Engine::Autograd);
    assert_eq!(dense.history.len(), autograd.history.len());
    for (a, b) in dense.history.iter().zip(&autograd.history) {
        for ((name, x), (_, y)) in a.validation.iter().zip(b.validation.iter()) {
            let tolerance = 1e-4 * y.abs().max(1.0);
            assert!(
                (x - y).abs() <= tolerance,
                "epoch {}: validation {name} {x} (dense) vs {y} (autograd)",
                a.epoch
            );
        }
    }
    let weights = |o: &Outcome| -> Vec<f32> {
        o.model
            .network
            .snapshot()
            .unwrap()
            .iter()
            .flat_map(|t| t.flatten_all().unwrap().to_vec1::<f32>().unwrap())
            .collect()
    };
    for (x, y) in weights(&dense).iter().zip(&weights(&autograd)) {
        assert!(
            (x - y).abs() < 1e-4,
            "final weight {x} (dense) vs {y} (autograd)"
        );
    }
}

#[test]
fn simple_nn_regression_trains_alike_on_both_paths() {
    assert_same_training(
        r#"
name = "engines"
seed = 3
[data]
path = "data/diabetes.csv"
target = "target"
[model]
layers = [{ type = "linear", units = 64 }, { type = "relu" }, { type = "linear", units = 1 }]
[optimizer]
type = "adam"
learning_rate = 1e-2
[train]
epochs = 8
batch_size = 32
"#,
    );
}

#[test]
fn a_regularized_classifier_trains_alike_on_both_paths() {
    assert_same_training(
        r#"
name = "engines"
seed = 5
[data]
path = "data/iris.csv"
target = "label"
task = "multiclass"
[model]
layers = [
  { type = "linear", units = 16 }, { type = "silu" }, { type = "dropout", rate = 0.3 },
  { type = "linear", units = 16 }, { type = "leaky_relu" },
  { type = "linear", units = 3 },
]
[loss]
type = "cross_entropy"
label_smoothing = 0.05
[optimizer]
type = "adamw"
learning_rate = 1e-2
weight_decay = 0.01
clip_grad_norm = 1.0
[optimizer.schedule]
type = "cosine"
t_max = 10
[train]
epochs = 10
batch_size = 16
"#,
    );
}
