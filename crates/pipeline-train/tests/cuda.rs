//! The same specs train on a GPU as on the CPU (issue 4): the shipped
//! experiments, shortened to a few epochs, train on `cuda:0` and on the CPU
//! from the same initial weights, dropout masks and batch order, and every
//! epoch's validation metrics, the final weights and the predictions agree.
//! bf16 and f16 train on the GPU to scores close to f32's.
//!
//! Built only with the `cuda` feature and run on a machine with a GPU
//! (`just gpu-check`, which carries the test binary there): a build with the
//! feature cannot start without the CUDA libraries, and CI has no GPU.

#![cfg(feature = "cuda")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use candle_core::{Device, Tensor};
use pipeline_data::{PreparedData, prepare};
use pipeline_spec::{MetricName, Override, Spec};
use pipeline_train::{Engine, NoObserver, Outcome, Training, initial_network, predict, train_with};

/// The shipped experiments: `PIPELINE_EXPERIMENTS` where the test binary
/// was carried to another machine, else this checkout's.
fn experiments() -> PathBuf {
    std::env::var_os("PIPELINE_EXPERIMENTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments"))
}

fn gpu() -> Device {
    Device::new_cuda(0).expect("these tests need a CUDA GPU (cuda:0)")
}

fn spec(name: &str, overrides: &[&str]) -> Spec {
    let path = experiments().join(format!("{name}.toml"));
    let text = std::fs::read_to_string(&path).unwrap();
    let overrides: Vec<Override> = overrides.iter().map(|o| o.parse().unwrap()).collect();
    Spec::parse(&path, &text, &overrides).unwrap()
}

fn data(spec: &Spec) -> PreparedData {
    prepare(&spec.data, &experiments().join(&spec.data.path), spec.seed).unwrap()
}

fn train(spec: &Spec, data: &PreparedData, device: &Device) -> Outcome {
    let network = initial_network(spec, data, device).unwrap();
    // Autograd on both devices: the CPU's dense path is a different
    // implementation, compared with autograd in `engines.rs`.
    train_with(Training {
        spec,
        data,
        network,
        device,
        observer: &mut NoObserver,
        interrupt: &AtomicBool::new(false),
        start: None,
        engine: Engine::Autograd,
    })
    .unwrap()
}

/// Every tensor of the trained network (parameters, then buffers), by name,
/// on the CPU.
fn weights(outcome: &Outcome) -> Vec<(String, Vec<f32>)> {
    let network = &outcome.model.network;
    let names = network.snapshot_names();
    let tensors = network.snapshot().unwrap();
    names
        .iter()
        .zip(tensors)
        .map(|(name, t)| {
            let values = t.to_device(&Device::Cpu).unwrap().flatten_all().unwrap();
            (name.to_string(), values.to_vec1::<f32>().unwrap())
        })
        .collect()
}

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
        .fold(0.0, f32::max)
}

/// How far apart (relative, for values above 1) the two devices' metrics
/// and weights may be after training.
const TOLERANCE: f64 = 1e-3;

/// Trains `name` on the CPU and the GPU and returns what differs beyond
/// [`TOLERANCE`], after printing the largest differences so that a failure
/// shows how far apart the devices are.
///
/// `free` names the tensors the loss does not pin down: a bias just before
/// a batch norm, or the key bias of attention (a constant added to every
/// score of a query, which the softmax removes), has a gradient of zero up
/// to rounding, which Adam scales up to whole steps in a different direction
/// on each device; a batch norm's running mean takes in the bias before it.
/// They are left out of the weights compared. The running mean lags the
/// bias it absorbs by a few batches, so such networks predict a little
/// apart: `outputs` is how far the two trained networks' predictions may be.
fn compare(name: &str, overrides: &[&str], free: &[&str], outputs: f64) -> Vec<String> {
    let tolerance = TOLERANCE;
    let spec = spec(name, overrides);
    let data = data(&spec);
    let cpu = train(&spec, &data, &Device::Cpu);
    let cuda = train(&spec, &data, &gpu());
    assert!(
        cuda.model.device.is_cuda(),
        "{name} did not train on the GPU"
    );
    let mut problems = Vec::new();
    assert_eq!(cpu.history.len(), cuda.history.len(), "{name}: epochs");
    let mut worst_metric = 0.0f64;
    for (a, b) in cpu.history.iter().zip(&cuda.history) {
        // The continuous metrics: a count such as accuracy moves by a whole
        // row when one prediction near the boundary flips.
        let continuous = |(metric, _): &(MetricName, f64)| {
            matches!(
                metric,
                MetricName::Loss
                    | MetricName::Mse
                    | MetricName::Rmse
                    | MetricName::Mae
                    | MetricName::R2
                    | MetricName::LogLoss
            )
        };
        let pairs = a.validation.iter().filter(continuous);
        for ((metric, x), (_, y)) in pairs.zip(b.validation.iter().filter(continuous)) {
            let difference = (x - y).abs() / y.abs().max(1.0);
            worst_metric = worst_metric.max(difference);
            if difference > tolerance {
                problems.push(format!(
                    "{name} epoch {}: validation {metric:?} {x} (cpu) vs {y} (cuda)",
                    a.epoch
                ));
            }
        }
    }
    let (mut worst_weight, mut worst_tensor) = (0.0f32, String::new());
    for ((tensor, on_cuda), (_, on_cpu)) in weights(&cuda).iter().zip(&weights(&cpu)) {
        let difference = max_difference(on_cuda, on_cpu);
        if !free.contains(&tensor.as_str()) && difference > worst_weight {
            (worst_weight, worst_tensor) = (difference, tensor.clone());
        }
    }
    if f64::from(worst_weight) > tolerance {
        problems.push(format!(
            "{name}: final weights differ by up to {worst_weight} (in {worst_tensor})"
        ));
    }
    // The test split through both trained networks, each on its device;
    // then the GPU-trained weights on the GPU and on the CPU.
    let test = &data.test;
    let x = Tensor::from_slice(&test.x, (test.rows, test.features), &Device::Cpu).unwrap();
    let on_gpu = predict(&cuda.model.network, &x.to_device(&gpu()).unwrap()).unwrap();
    let cpu_trained = predict(&cpu.model.network, &x).unwrap();
    let worst_trained = max_difference(&on_gpu, &cpu_trained);
    if f64::from(worst_trained) > outputs {
        problems.push(format!(
            "{name}: the networks trained on the GPU and the CPU predict up to {worst_trained} apart"
        ));
    }
    let moved = initial_network(&spec, &data, &Device::Cpu).unwrap();
    let trained: Vec<Tensor> = (cuda.model.network.snapshot().unwrap().iter())
        .map(|t| t.to_device(&Device::Cpu).unwrap())
        .collect();
    moved.restore(&trained).unwrap();
    let on_cpu = predict(&moved, &x).unwrap();
    let worst_prediction = max_difference(&on_gpu, &on_cpu);
    if f64::from(worst_prediction) > 1e-4 {
        problems.push(format!(
            "{name}: predictions on the GPU and the CPU differ by up to {worst_prediction}"
        ));
    }
    println!(
        "{name}: {} epochs, largest relative difference cpu/cuda: metrics {worst_metric:.2e}, \
         weights {worst_weight:.2e} ({worst_tensor}), predictions of the two trained networks \
         {worst_trained:.2e}, of the same weights {worst_prediction:.2e}",
        cpu.history.len()
    );
    problems
}

fn assert_none(problems: Vec<String>) {
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn simple_nn_trains_alike_on_the_gpu() {
    assert_none(compare("mlp", &["train.epochs=20"], &[], TOLERANCE));
}

#[test]
fn a_classifier_with_dropout_trains_alike_on_the_gpu() {
    assert_none(compare(
        "breast_cancer",
        &["train.epochs=10"],
        &[],
        TOLERANCE,
    ));
}

#[test]
fn a_cnn_with_batch_norm_trains_alike_on_the_gpu() {
    assert_none(compare(
        "digits_cnn",
        &["train.epochs=3"],
        // The biases of the two convolutions, each followed by batch norm,
        // and those batch norms' running means.
        &["0.bias", "1.running_mean", "4.bias", "5.running_mean"],
        1e-2,
    ));
}

#[test]
fn an_lstm_trains_alike_on_the_gpu() {
    assert_none(compare("co2_lstm", &["train.epochs=2"], &[], TOLERANCE));
}

#[test]
fn a_gru_trains_alike_on_the_gpu() {
    assert_none(compare("sunspots_gru", &["train.epochs=5"], &[], TOLERANCE));
}

#[test]
fn a_transformer_trains_alike_on_the_gpu() {
    assert_none(compare(
        "sunspots_transformer",
        &["train.epochs=5"],
        // The query, key and value biases in one tensor, as PyTorch's.
        &["2.self_attn.in_proj_bias"],
        TOLERANCE,
    ));
}

/// bf16 and f16 passes on the GPU reach the f32 run's accuracy within a few
/// points after the same epochs, with finite losses throughout.
#[test]
fn mixed_precision_trains_on_the_gpu() {
    let f32_spec = spec("digits_cnn", &["train.epochs=5"]);
    // The precision changes the passes, not the data.
    let data = data(&f32_spec);
    let f32_run = train(&f32_spec, &data, &gpu());
    let accuracy = |o: &Outcome| {
        o.history
            .last()
            .unwrap()
            .validation
            .get(MetricName::Accuracy)
            .unwrap()
    };
    for precision in ["bf16", "f16"] {
        let run = train(
            &spec(
                "digits_cnn",
                &["train.epochs=5", &format!("train.precision={precision}")],
            ),
            &data,
            &gpu(),
        );
        for epoch in &run.history {
            let loss = epoch.train.loss();
            assert!(
                loss.is_finite(),
                "{precision} epoch {}: loss {loss}",
                epoch.epoch
            );
        }
        println!(
            "digits_cnn 5 epochs on cuda: val accuracy f32 {:.4}, {precision} {:.4}",
            accuracy(&f32_run),
            accuracy(&run)
        );
        assert!(
            (accuracy(&run) - accuracy(&f32_run)).abs() < 0.05,
            "{precision}: val accuracy {} against f32's {}",
            accuracy(&run),
            accuracy(&f32_run)
        );
    }
}

/// What the GPU holds after training is what the CPU gets back: a tensor
/// round trip keeps every bit.
#[test]
fn tensors_round_trip_through_the_gpu() {
    let values: Vec<f32> = (0..1000).map(|i| (i as f32).sin()).collect();
    let t = Tensor::from_slice(&values, (10, 100), &gpu()).unwrap();
    let back = t.to_device(&Device::Cpu).unwrap().flatten_all().unwrap();
    assert_eq!(back.to_vec1::<f32>().unwrap(), values);
}
