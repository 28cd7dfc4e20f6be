//! `train.precision`: every layer runs with bf16 and f16 activations
//! ([`Network::forward_in`]), gives the f32 network's outputs to the type's
//! precision, and hands f32 gradients to the f32 parameters (the optimizer
//! never sees a half-precision tensor); in f32 `forward_in` is `forward`
//! bit for bit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use pipeline_model::{Mode, Network};
use pipeline_spec::{ModelSpec, Spec};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const ROWS: usize = 6;

/// Models that together hold every layer type (`softmax` inside the
/// transformer's attention), with their input width and whether inputs are
/// embedding codes.
const MODELS: [(&str, usize, bool); 5] = [
    (
        r#"layers = [
  { type = "linear", units = 16 }, { type = "batch_norm" }, { type = "relu" },
  { type = "dropout", rate = 0.2 }, { type = "linear", units = 16 }, { type = "layer_norm" },
  { type = "gelu" }, { type = "linear", units = 8 }, { type = "tanh" },
  { type = "linear", units = 8 }, { type = "sigmoid" }, { type = "linear", units = 8 },
  { type = "silu" }, { type = "linear", units = 8 }, { type = "leaky_relu" },
  { type = "linear", units = 1 },
]"#,
        10,
        false,
    ),
    (
        r#"input = [1, 8, 8]
layers = [
  { type = "conv2d", filters = 4, kernel = 3, padding = 1 }, { type = "batch_norm" },
  { type = "relu" }, { type = "max_pool2d", kernel = 2 },
  { type = "conv2d", filters = 4, kernel = 3 }, { type = "avg_pool2d", kernel = 2 },
  { type = "flatten" }, { type = "linear", units = 1 },
]"#,
        64,
        false,
    ),
    (
        r#"input = [2, 12]
layers = [
  { type = "conv1d", filters = 4, kernel = 3, padding = 1 }, { type = "max_pool1d", kernel = 2 },
  { type = "conv1d", filters = 4, kernel = 3 }, { type = "avg_pool1d", kernel = 2 },
  { type = "flatten" }, { type = "linear", units = 1 },
]"#,
        24,
        false,
    ),
    (
        r#"input = [6, 3]
layers = [
  { type = "lstm", units = 8, return_sequences = true },
  { type = "gru", units = 8, return_sequences = true },
  { type = "rnn", units = 8, return_sequences = true },
  { type = "positional_encoding" },
  { type = "transformer", heads = 2, feedforward = 16, dropout = 0.1 },
  { type = "mean_pool" }, { type = "linear", units = 1 },
]"#,
        18,
        false,
    ),
    (
        r#"input = [5]
layers = [
  { type = "embedding", vocabulary = 300, dimensions = 4 },
  { type = "gru", units = 6 }, { type = "linear", units = 1 },
]"#,
        5,
        true,
    ),
];

fn model(layers: &str) -> ModelSpec {
    let text = format!(
        "name = \"p\"\n[data]\npath = \"p.csv\"\ntarget = \"y\"\n[model]\n{layers}\n\
         [optimizer]\ntype = \"adam\"\nlearning_rate = 1e-3\n"
    );
    Spec::parse(Path::new("p.toml"), &text, &[]).unwrap().model
}

/// Rows of `width` values: normal noise, or codes up to 299 (past bf16's
/// exact integers, 256: the codes must be read before any cast).
fn inputs(width: usize, codes: bool) -> Tensor {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let values: Vec<f32> = (0..ROWS * width)
        .map(|_| {
            if codes {
                rng.random_range(0..300u32) as f32
            } else {
                rng.random::<f32>() * 4.0 - 2.0
            }
        })
        .collect();
    Tensor::from_vec(values, (ROWS, width), &Device::Cpu).unwrap()
}

fn flat(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

/// The cosine of the angle between two vectors.
fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (norm(a) * norm(b)).max(f64::MIN_POSITIVE)
}

/// The training-mode loss `mean(output²)` in `dtype`, its f32 gradients by
/// parameter, and the snapshot (running statistics) after the pass.
fn train_pass(network: &Network, x: &Tensor, dtype: DType) -> (Tensor, Vec<Vec<f32>>, Vec<Tensor>) {
    let snapshot = network.snapshot().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let output = network.forward_in(x, Mode::Train(&mut rng), dtype).unwrap();
    assert_eq!(output.dtype(), DType::F32);
    let loss = output.sqr().unwrap().mean_all().unwrap();
    let grads = loss.backward().unwrap();
    let gradients = network
        .vars()
        .iter()
        .zip(network.parameter_names())
        .map(|(var, name)| {
            let grad = grads
                .get(var.as_tensor())
                .unwrap_or_else(|| panic!("{dtype:?}: no gradient for {name}"));
            assert_eq!(grad.dtype(), DType::F32, "{name}");
            flat(grad)
        })
        .collect();
    let after = network.snapshot().unwrap();
    network.restore(&snapshot).unwrap();
    (loss, gradients, after)
}

#[test]
fn f32_forward_in_is_forward_bit_for_bit() {
    for (layers, width, codes) in MODELS {
        let network = Network::new(&model(layers), width, 1, 5, &Device::Cpu).unwrap();
        let x = inputs(width, codes);
        let a = flat(&network.forward(&x, Mode::Eval).unwrap());
        let b = flat(&network.forward_in(&x, Mode::Eval, DType::F32).unwrap());
        assert_eq!(a, b, "{layers}");
    }
}

#[test]
fn half_precision_follows_f32_through_every_layer() {
    for (layers, width, codes) in MODELS {
        let network = Network::new(&model(layers), width, 1, 5, &Device::Cpu).unwrap();
        let x = inputs(width, codes);
        let reference = flat(&network.forward(&x, Mode::Eval).unwrap());
        let (loss32, grads32, after32) = train_pass(&network, &x, DType::F32);
        let loss32 = loss32.to_scalar::<f32>().unwrap();
        // bf16 keeps 8 bits of mantissa (relative error 2⁻⁸ per rounding),
        // f16 11 bits; a few roundings per layer add up.
        for (dtype, tolerance) in [(DType::BF16, 0.08f32), (DType::F16, 0.01)] {
            let output = network.forward_in(&x, Mode::Eval, dtype).unwrap();
            assert_eq!(output.dtype(), DType::F32);
            let scale = reference.iter().fold(1f32, |m, v| m.max(v.abs()));
            for (a, b) in flat(&output).iter().zip(&reference) {
                assert!(
                    (a - b).abs() <= tolerance * scale,
                    "{dtype:?} {a} vs f32 {b}:\n{layers}"
                );
            }
            let (loss, grads, after) = train_pass(&network, &x, dtype);
            let loss = loss.to_scalar::<f32>().unwrap();
            assert!(
                (loss - loss32).abs() <= 2.0 * tolerance * loss32.abs().max(1e-3),
                "{dtype:?} loss {loss} vs {loss32}:\n{layers}"
            );
            let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
            let largest = grads32.iter().map(|g| norm(g)).fold(0.0, f64::max);
            for ((g, g32), name) in grads.iter().zip(&grads32).zip(network.parameter_names()) {
                assert!(g.iter().all(|v| v.is_finite()), "{dtype:?} {name}");
                // A gradient that is zero but for rounding (a bias before
                // batch norm) has no direction to follow.
                if norm(g32) > 1e-3 * largest {
                    let c = cosine(g, g32);
                    assert!(c > 0.97, "{dtype:?} {name}: cosine {c}:\n{layers}");
                }
            }
            // Buffers (batch norm's running statistics) stay f32 and move
            // as in f32.
            for (t, t32) in after.iter().zip(&after32) {
                assert_eq!(t.dtype(), t32.dtype());
                if t.dtype() == DType::F32 {
                    for (a, b) in flat(t).iter().zip(flat(t32)) {
                        assert!((a - b).abs() <= 0.05 * b.abs().max(1.0), "{a} vs {b}");
                    }
                }
            }
        }
    }
}
