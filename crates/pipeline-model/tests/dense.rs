//! The dense training path (`pipeline_model::dense`) against the autograd
//! path it replaces on the CPU, and against PyTorch: the same networks,
//! losses and optimizers, step for step, to 1e-5.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::num::NonZeroU32;

use candle_core::{Device, Tensor};
use pipeline_model::dense::DenseTrainer;
use pipeline_model::{Criterion, Mode, Network, Optimizer};
use pipeline_spec::{
    Algorithm, ClassWeights, Layer, Loss, ModelSpec, Optimizer as OptimizerSpec, Schedule,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn linear(units: u32) -> Layer {
    Layer::Linear {
        units: NonZeroU32::new(units).unwrap(),
        bias: true,
    }
}

fn optimizer(algorithm: Algorithm, learning_rate: f64, weight_decay: f64) -> OptimizerSpec {
    OptimizerSpec {
        algorithm,
        learning_rate,
        weight_decay,
        clip_grad_norm: None,
        clip_grad_value: None,
        schedule: Schedule::Constant,
    }
}

const ADAM: Algorithm = Algorithm::Adam {
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-8,
};

/// Deterministic inputs in about [-2, 2].
fn inputs(rows: usize, width: usize) -> Vec<f32> {
    (0..rows * width)
        .map(|i| (i as f32 * 0.618).sin() * 2.0)
        .collect()
}

/// Trains `steps` batches of `batch` rows both ways from the same weights
/// and returns the largest difference between the weights, and between
/// the losses.
#[allow(clippy::too_many_arguments)]
fn both_paths(
    layers: Vec<Layer>,
    features: usize,
    outputs: usize,
    loss: Loss,
    class_weights: Option<Vec<f32>>,
    optimizer_spec: OptimizerSpec,
    y: Vec<f32>,
    target_width: usize,
) -> (f32, f32) {
    let device = Device::Cpu;
    let spec = ModelSpec {
        input: None,
        layers,
    };
    let rows = y.len() / target_width;
    let x = inputs(rows, features);
    let criterion = Criterion::new(&loss, class_weights);

    // Autograd.
    let network = Network::new(&spec, features, outputs, 7, &device).unwrap();
    let mut reference = Optimizer::new(&optimizer_spec, network.vars());
    let xt = Tensor::from_slice(&x, (rows, features), &device).unwrap();
    let yt = Tensor::from_slice(&y, (rows, target_width), &device).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let batches: Vec<Vec<u32>> = vec![
        (0..rows as u32).step_by(2).collect(),
        (0..rows as u32).rev().collect(),
        (1..rows as u32).step_by(3).collect(),
        (0..rows as u32).collect(),
    ];
    let mut autograd_losses = Vec::new();
    for batch in &batches {
        let index = Tensor::from_slice(batch, batch.len(), &device).unwrap();
        let xb = xt.index_select(&index, 0).unwrap();
        let yb = yt.index_select(&index, 0).unwrap();
        let prediction = network.forward(&xb, Mode::Train(&mut rng)).unwrap();
        let value = criterion.loss(&prediction, &yb).unwrap();
        autograd_losses.push(value.to_scalar::<f32>().unwrap());
        reference.step(&value.backward().unwrap()).unwrap();
    }
    let expected = network.snapshot().unwrap();

    // Dense, from the same initial weights and dropout stream.
    let network = Network::new(&spec, features, outputs, 7, &device).unwrap();
    let fresh = Optimizer::new(&optimizer_spec, network.vars()).state();
    let mut dense = DenseTrainer::new(&network, &optimizer_spec, fresh, criterion, &device)
        .unwrap()
        .expect("the dense path takes this network");
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut loss_gap = 0.0f32;
    for (batch, expected_loss) in batches.iter().zip(&autograd_losses) {
        let value = dense
            .train_batch(&x, &y, target_width, batch, &mut rng)
            .unwrap();
        loss_gap = loss_gap.max((value - expected_loss).abs() / expected_loss.abs().max(1.0));
    }
    dense.write_back().unwrap();
    let mut weight_gap = 0.0f32;
    for (a, b) in network.snapshot().unwrap().iter().zip(&expected) {
        let a = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let b = b.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        for (a, b) in a.iter().zip(&b) {
            weight_gap = weight_gap.max((a - b).abs());
        }
    }
    (weight_gap, loss_gap)
}

fn regression_targets(rows: usize, width: usize) -> Vec<f32> {
    (0..rows * width).map(|i| (i as f32 * 0.37).cos()).collect()
}

#[test]
fn mlps_with_every_activation_and_dropout_train_as_autograd_does() {
    let layers = vec![
        linear(16),
        Layer::Relu,
        Layer::Dropout { rate: 0.25 },
        linear(12),
        Layer::Tanh,
        linear(8),
        Layer::Sigmoid,
        linear(8),
        Layer::LeakyRelu {
            negative_slope: 0.05,
        },
        linear(6),
        Layer::Silu,
        linear(2),
    ];
    let (weights, loss) = both_paths(
        layers,
        5,
        2,
        Loss::Mse,
        None,
        optimizer(ADAM, 0.01, 0.0),
        regression_targets(24, 2),
        2,
    );
    assert!(weights < 1e-5, "weights differ by {weights}");
    assert!(loss < 1e-5, "losses differ by {loss}");
}

#[test]
fn steps_before_the_first_linear_layer_train_as_autograd_does() {
    // Dropout and an activation on the rows as they come, then a linear
    // layer that reads them row by row, and three outputs turned into rows
    // for the loss.
    let layers = vec![
        Layer::Dropout { rate: 0.3 },
        Layer::Tanh,
        linear(6),
        Layer::Relu,
        Layer::Dropout { rate: 0.2 },
        linear(3),
    ];
    let (weights, loss) = both_paths(
        layers,
        4,
        3,
        Loss::Mse,
        None,
        optimizer(ADAM, 0.01, 0.0),
        regression_targets(20, 3),
        3,
    );
    assert!(weights < 1e-5, "weights differ by {weights}");
    assert!(loss < 1e-5, "losses differ by {loss}");
}

#[test]
fn every_optimizer_with_decay_and_clipping_trains_as_autograd_does() {
    let sgd = |momentum, dampening, nesterov| Algorithm::Sgd {
        momentum,
        dampening,
        nesterov,
    };
    let mut cases = vec![
        optimizer(sgd(0.0, 0.0, false), 0.05, 0.0),
        optimizer(sgd(0.9, 0.3, false), 0.05, 0.01),
        optimizer(sgd(0.9, 0.0, true), 0.05, 0.01),
        optimizer(ADAM, 0.01, 0.1),
        optimizer(
            Algorithm::AdamW {
                beta1: 0.8,
                beta2: 0.99,
                epsilon: 1e-6,
            },
            0.01,
            0.1,
        ),
        optimizer(
            Algorithm::RmsProp {
                alpha: 0.9,
                epsilon: 1e-6,
                momentum: 0.5,
                centered: true,
            },
            0.01,
            0.1,
        ),
        optimizer(
            Algorithm::RmsProp {
                alpha: 0.99,
                epsilon: 1e-8,
                momentum: 0.0,
                centered: false,
            },
            0.01,
            0.0,
        ),
    ];
    let mut clipped = optimizer(sgd(0.9, 0.0, false), 0.05, 0.0);
    clipped.clip_grad_norm = Some(0.5);
    cases.push(clipped);
    let mut both = optimizer(ADAM, 0.01, 0.0);
    both.clip_grad_value = Some(0.05);
    both.clip_grad_norm = Some(0.2);
    cases.push(both);
    for spec in cases {
        let (weights, _) = both_paths(
            vec![linear(10), Layer::Relu, linear(1)],
            4,
            1,
            Loss::Mse,
            None,
            spec,
            regression_targets(20, 1),
            1,
        );
        assert!(weights < 1e-5, "{spec:?}: weights differ by {weights}");
    }
}

/// A loss, its class weights, the network's outputs and the targets.
type LossCase = (Loss, Option<Vec<f32>>, usize, Vec<f32>);

#[test]
fn every_loss_trains_as_autograd_does() {
    let classes: Vec<f32> = (0..18).map(|i| (i % 3) as f32).collect();
    let labels: Vec<f32> = (0..18).map(|i| (i % 4 == 0) as u8 as f32).collect();
    let net = |outputs| vec![linear(8), Layer::Tanh, linear(outputs)];
    let cases: Vec<LossCase> = vec![
        (Loss::Mae, None, 1, regression_targets(18, 1)),
        (
            Loss::Huber { delta: 0.3 },
            None,
            1,
            regression_targets(18, 1),
        ),
        (
            Loss::BinaryCrossEntropy {
                pos_weight: Some(2.5),
            },
            None,
            1,
            labels,
        ),
        (
            Loss::CrossEntropy {
                class_weights: None,
                label_smoothing: 0.0,
            },
            None,
            3,
            classes.clone(),
        ),
        (
            Loss::CrossEntropy {
                class_weights: Some(ClassWeights::Given(vec![1.0, 2.0, 0.5])),
                label_smoothing: 0.1,
            },
            Some(vec![1.0, 2.0, 0.5]),
            3,
            classes,
        ),
    ];
    for (loss, weights, outputs, y) in cases {
        let (gap, loss_gap) = both_paths(
            net(outputs as u32),
            3,
            outputs,
            loss.clone(),
            weights,
            optimizer(ADAM, 0.01, 0.0),
            y,
            1,
        );
        assert!(gap < 1e-5, "{loss:?}: weights differ by {gap}");
        assert!(loss_gap < 1e-5, "{loss:?}: losses differ by {loss_gap}");
    }
}

#[test]
fn networks_the_dense_path_does_not_run_fall_back() {
    let device = Device::Cpu;
    for layers in [
        vec![linear(4), Layer::Gelu, linear(1)],
        vec![linear(4), Layer::BatchNorm, linear(1)],
    ] {
        let spec = ModelSpec {
            input: None,
            layers,
        };
        let network = Network::new(&spec, 3, 1, 1, &device).unwrap();
        let optimizer_spec = optimizer(ADAM, 0.01, 0.0);
        let state = Optimizer::new(&optimizer_spec, network.vars()).state();
        let dense = DenseTrainer::new(
            &network,
            &optimizer_spec,
            state,
            Criterion::new(&Loss::Mse, None),
            &device,
        )
        .unwrap();
        assert!(dense.is_none());
    }
}

// PyTorch: the three-step fixture of `tests/pytorch.rs` (one linear layer,
// MSE), numbers from `tests/pytorch_reference.py`.
const WEIGHT: [[f32; 3]; 2] = [[0.2, -0.4, 0.1], [0.5, 0.3, -0.2]];
const BIAS: [f32; 2] = [0.05, -0.1];
const INPUT: [[f32; 3]; 4] = [
    [1.0, 2.0, -1.0],
    [0.5, -1.5, 2.0],
    [-2.0, 0.0, 1.0],
    [1.5, 1.0, 0.5],
];
const OUTPUT: [[f32; 2]; 4] = [[1.0, -1.0], [0.0, 2.0], [-1.0, 0.5], [2.0, 1.0]];
const ADAM_THREE_STEPS: [f64; 8] = [
    0.4941919147968292,
    -0.10671661049127579,
    -0.19019824266433716,
    0.20732459425926208,
    0.003187023103237152,
    0.09693185985088348,
    0.34488481283187866,
    0.19657447934150696,
];
const RMSPROP_CENTERED_MOMENTUM_WEIGHT_DECAY: [f64; 8] = [
    0.31545278429985046,
    -0.28467750549316406,
    -0.014285546727478504,
    0.3848263621330261,
    0.18335410952568054,
    -0.08330249786376953,
    0.16548876464366913,
    0.01635388843715191,
];
const SGD_CLIP_GRAD_NORM: [f64; 8] = [
    0.39269235730171204,
    -0.17218177020549774,
    -0.009135523810982704,
    0.3594193160533905,
    0.02077939361333847,
    0.12257722020149231,
    0.11781547963619232,
    -0.014291676692664623,
];

#[test]
fn three_dense_steps_match_pytorch() {
    let device = Device::Cpu;
    let spec = ModelSpec {
        input: None,
        layers: vec![linear(2)],
    };
    let x: Vec<f32> = INPUT.iter().flatten().copied().collect();
    let y: Vec<f32> = OUTPUT.iter().flatten().copied().collect();
    let mut clipped = optimizer(
        Algorithm::Sgd {
            momentum: 0.9,
            dampening: 0.0,
            nesterov: false,
        },
        0.1,
        0.0,
    );
    clipped.clip_grad_norm = Some(1.0);
    let cases = [
        (optimizer(ADAM, 0.1, 0.0), ADAM_THREE_STEPS),
        (
            optimizer(
                Algorithm::RmsProp {
                    alpha: 0.9,
                    epsilon: 1e-6,
                    momentum: 0.5,
                    centered: true,
                },
                0.01,
                0.1,
            ),
            RMSPROP_CENTERED_MOMENTUM_WEIGHT_DECAY,
        ),
        (clipped, SGD_CLIP_GRAD_NORM),
    ];
    for (optimizer_spec, expected) in cases {
        let network = Network::new(&spec, 3, 2, 1, &device).unwrap();
        network
            .restore(&[
                Tensor::new(&WEIGHT, &device).unwrap(),
                Tensor::new(&BIAS, &device).unwrap(),
            ])
            .unwrap();
        let state = Optimizer::new(&optimizer_spec, network.vars()).state();
        let mut dense = DenseTrainer::new(
            &network,
            &optimizer_spec,
            state,
            Criterion::new(&Loss::Mse, None),
            &device,
        )
        .unwrap()
        .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        for _ in 0..3 {
            dense
                .train_batch(&x, &y, 2, &[0, 1, 2, 3], &mut rng)
                .unwrap();
        }
        dense.write_back().unwrap();
        let got: Vec<f64> = network
            .snapshot()
            .unwrap()
            .iter()
            .flat_map(|t| t.flatten_all().unwrap().to_vec1::<f32>().unwrap())
            .map(f64::from)
            .collect();
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            assert!(
                (g - e).abs() < 1e-5,
                "{optimizer_spec:?}[{i}]: {g} vs PyTorch {e}"
            );
        }
    }
}

#[test]
fn predictions_equal_the_networks_forward_pass() {
    let device = Device::Cpu;
    let deep = vec![
        linear(32),
        Layer::Relu,
        Layer::Dropout { rate: 0.5 },
        linear(16),
        Layer::Silu,
        linear(8),
        Layer::Tanh,
        linear(3),
    ];
    // An activation before the first linear layer reads the rows as they
    // are; one linear output is laid out the same either way.
    let shallow = vec![Layer::Tanh, linear(5), Layer::Sigmoid, linear(1)];
    // More rows than one pass of the dense path takes, and a narrowed view.
    let rows = pipeline_model::dense::PREDICT_ROWS * 2 + 50;
    let x = Tensor::from_vec(inputs(rows, 7), (rows, 7), &device).unwrap();
    // A transposed (non-contiguous) input is left to candle.
    let transposed = Tensor::from_vec(inputs(7, 50), (7, 50), &device)
        .unwrap()
        .t()
        .unwrap();
    for (layers, outputs) in [(shallow, 1), (deep, 3)] {
        let spec = ModelSpec {
            input: None,
            layers,
        };
        let network = Network::new(&spec, 7, outputs, 11, &device).unwrap();
        for slice in [x.clone(), x.narrow(0, 13, 20).unwrap()] {
            let expected: Vec<f32> = network
                .forward(&slice, Mode::Eval)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let got = pipeline_model::dense::predict(&network, &slice)
                .unwrap()
                .unwrap();
            assert_eq!(got.len(), expected.len());
            for (a, b) in got.iter().zip(&expected) {
                assert!((a - b).abs() < 1e-5, "{a} vs {b}");
            }
        }
        assert!(
            pipeline_model::dense::predict(&network, &transposed)
                .unwrap()
                .is_none()
        );
    }
}
