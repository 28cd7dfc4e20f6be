//! Layers against PyTorch (issue 4): forward outputs, the gradient of the
//! first parameter, and batch norm's running statistics after one training
//! step, for each layer type beyond the multilayer perceptron's.
//!
//! Every expected number at the bottom of this file is printed by
//! `crates/pipeline-model/tests/pytorch_layers.py` (PyTorch 2.15.0), which
//! builds the same networks as `nn.Sequential` with the same parameters and
//! rows; they agree to 1e-5.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::num::NonZeroU32;

use candle_core::{DType, Device, Tensor};
use pipeline_model::{Mode, Network, weights_digest};
use pipeline_spec::{Convolution, Layer, ModelSpec, Pooling};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const TOLERANCE: f64 = 1e-5;

fn n(value: u32) -> NonZeroU32 {
    NonZeroU32::new(value).unwrap()
}

fn linear(units: u32) -> Layer {
    Layer::Linear {
        units: n(units),
        bias: true,
    }
}

fn conv(filters: u32, kernel: u32, stride: u32, padding: u32, bias: bool) -> Convolution {
    Convolution {
        filters: n(filters),
        kernel: n(kernel),
        stride: n(stride),
        padding,
        bias,
    }
}

fn pool(kernel: u32, stride: u32) -> Pooling {
    Pooling {
        kernel: n(kernel),
        stride: n(stride),
    }
}

/// The script's parameter values: 0.5 · sin(0.37 k + p + 1).
fn values(count: usize, p: usize) -> Vec<f32> {
    (0..count)
        .map(|k| (0.5 * (0.37 * k as f64 + p as f64 + 1.0).sin()) as f32)
        .collect()
}

/// `spec` for rows of `width` values, its parameters set as the script sets them.
fn network(input: Option<&[u32]>, layers: Vec<Layer>, width: usize, outputs: usize) -> Network {
    let spec = ModelSpec {
        input: input.map(|shape| shape.iter().map(|&d| n(d)).collect()),
        layers,
    };
    let net = Network::new(&spec, width, outputs, 0, &Device::Cpu).unwrap();
    for (p, var) in net.vars().iter().enumerate() {
        let filled = Tensor::from_vec(values(var.elem_count(), p), var.shape(), &Device::Cpu);
        var.set(&filled.unwrap()).unwrap();
    }
    net
}

/// The script's rows: 2 · sin(0.61 k + 0.3).
fn rows(count: usize, width: usize) -> Tensor {
    let data: Vec<f32> = (0..count * width)
        .map(|k| (2.0 * (0.61 * k as f64 + 0.3).sin()) as f32)
        .collect();
    Tensor::from_vec(data, (count, width), &Device::Cpu).unwrap()
}

/// The output and the gradient of the first parameter for the loss
/// Σ output · cos(0.29 k).
fn run(net: &Network, x: &Tensor, train: bool) -> (Vec<f32>, Vec<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mode = if train {
        Mode::Train(&mut rng)
    } else {
        Mode::Eval
    };
    let out = net.forward(x, mode).unwrap();
    let weights: Vec<f32> = (0..out.elem_count())
        .map(|k| (0.29 * k as f64).cos() as f32)
        .collect();
    let weights = Tensor::from_vec(weights, out.shape(), &Device::Cpu).unwrap();
    let grads = (&out * weights)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let gradient = grads.get(net.vars()[0].as_tensor()).expect("a gradient");
    (flat(&out), flat(gradient))
}

fn flat(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

fn assert_close(what: &str, got: &[f32], expected: &[f64]) {
    assert_eq!(got.len(), expected.len(), "{what}: {got:?}");
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert!(
            (f64::from(*g) - e).abs() < TOLERANCE,
            "{what}[{i}]: {g} vs PyTorch {e}\n{got:?}"
        );
    }
}

/// The saved tensors by name.
fn saved(net: &Network) -> HashMap<String, Tensor> {
    let bytes = net.to_safetensors(HashMap::new()).unwrap();
    candle_core::safetensors::load_buffer(&bytes, &Device::Cpu).unwrap()
}

fn assert_names(net: &Network, expected: &[&str]) {
    let mut names: Vec<String> = saved(net).into_keys().collect();
    names.sort();
    let mut expected: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    assert_eq!(names, expected, "PyTorch's state_dict names");
}

struct Expected<'a> {
    names: &'a [&'a str],
    output: &'a [f64],
    gradient: &'a [f64],
}

fn check(name: &str, net: &Network, x: &Tensor, expected: Expected<'_>) {
    assert_names(net, expected.names);
    let (output, gradient) = run(net, x, false);
    assert_close(&format!("{name} output"), &output, expected.output);
    assert_close(&format!("{name} gradient"), &gradient, expected.gradient);
}

#[test]
fn leaky_relu_silu_and_softmax_match_pytorch() {
    let net = network(
        None,
        vec![
            linear(4),
            Layer::LeakyRelu {
                negative_slope: 0.2,
            },
            linear(4),
            Layer::Silu,
            Layer::LeakyRelu {
                negative_slope: 0.01,
            },
            linear(3),
            Layer::Softmax,
        ],
        5,
        3,
    );
    let expected = Expected {
        names: &ACTIVATIONS_NAMES,
        output: &ACTIVATIONS_OUTPUT,
        gradient: &ACTIVATIONS_GRADIENT,
    };
    check("activations", &net, &rows(3, 5), expected);
}

#[test]
fn conv2d_and_overlapping_max_pooling_match_pytorch() {
    let net = network(
        Some(&[2, 7, 7]),
        vec![
            Layer::Conv2d(conv(3, 3, 2, 1, true)),
            Layer::Relu,
            Layer::MaxPool2d(pool(3, 1)),
            Layer::Flatten,
            linear(2),
        ],
        98,
        2,
    );
    let expected = Expected {
        names: &CONV2D_MAX_POOL_NAMES,
        output: &CONV2D_MAX_POOL_OUTPUT,
        gradient: &CONV2D_MAX_POOL_GRADIENT,
    };
    check("conv2d + max_pool2d", &net, &rows(2, 98), expected);
}

#[test]
fn conv2d_without_bias_and_average_pooling_match_pytorch() {
    // 7×7 → 6×6 → avg 4 stride 2 → 2×2 → max 2 → 1×1: windows that leave
    // elements out, where upsampling the gradient would misplace it.
    let net = network(
        Some(&[1, 7, 7]),
        vec![
            Layer::Conv2d(conv(2, 2, 1, 0, false)),
            Layer::AvgPool2d(pool(4, 2)),
            Layer::MaxPool2d(pool(2, 2)),
            Layer::Flatten,
            linear(1),
        ],
        49,
        1,
    );
    let expected = Expected {
        names: &CONV2D_AVG_POOL_NAMES,
        output: &CONV2D_AVG_POOL_OUTPUT,
        gradient: &CONV2D_AVG_POOL_GRADIENT,
    };
    check("conv2d + avg_pool2d", &net, &rows(2, 49), expected);
}

#[test]
fn conv2d_on_rectangles_with_windows_left_over_matches_pytorch() {
    // 5×6, kernel 2, stride 2: one row is left over, no column; the second
    // convolution's input gradient feeds the first's weight gradient.
    let net = network(
        Some(&[1, 5, 6]),
        vec![
            Layer::Conv2d(conv(2, 2, 2, 0, true)),
            Layer::Relu,
            Layer::Conv2d(conv(2, 2, 1, 1, true)),
            Layer::Flatten,
            linear(1),
        ],
        30,
        1,
    );
    let expected = Expected {
        names: &CONV2D_RECTANGULAR_NAMES,
        output: &CONV2D_RECTANGULAR_OUTPUT,
        gradient: &CONV2D_RECTANGULAR_GRADIENT,
    };
    check("conv2d on 5×6", &net, &rows(3, 30), expected);
}

#[test]
fn conv1d_and_1d_pooling_match_pytorch() {
    let net = network(
        Some(&[2, 9]),
        vec![
            Layer::Conv1d(conv(3, 3, 2, 1, true)),
            Layer::Tanh,
            Layer::Conv1d(conv(3, 2, 1, 0, true)),
            Layer::MaxPool1d(pool(2, 2)),
            Layer::AvgPool1d(pool(2, 1)),
            Layer::Flatten,
            linear(2),
        ],
        18,
        2,
    );
    let expected = Expected {
        names: &CONV1D_NAMES,
        output: &CONV1D_OUTPUT,
        gradient: &CONV1D_GRADIENT,
    };
    check("conv1d", &net, &rows(3, 18), expected);
}

#[test]
fn layer_norm_matches_pytorch() {
    let net = network(
        Some(&[3, 4]),
        vec![Layer::LayerNorm, Layer::Flatten, linear(2)],
        12,
        2,
    );
    let expected = Expected {
        names: &LAYER_NORM_NAMES,
        output: &LAYER_NORM_OUTPUT,
        gradient: &LAYER_NORM_GRADIENT,
    };
    check("layer_norm", &net, &rows(2, 12), expected);
}

fn embedding_network() -> Network {
    network(
        None,
        vec![
            Layer::Embedding {
                vocabulary: n(6),
                dimensions: n(3),
            },
            Layer::Flatten,
            linear(1),
        ],
        4,
        1,
    )
}

#[test]
fn embedding_matches_pytorch_and_refuses_values_that_are_not_codes() {
    let net = embedding_network();
    let codes: [[f32; 4]; 3] = [
        [0.0, 1.0, 2.0, 5.0],
        [5.0, 4.0, 3.0, 0.0],
        [2.0, 2.0, 1.0, 1.0],
    ];
    let x = Tensor::new(&codes, &Device::Cpu).unwrap();
    let expected = Expected {
        names: &EMBEDDING_NAMES,
        output: &EMBEDDING_OUTPUT,
        gradient: &EMBEDDING_GRADIENT,
    };
    check("embedding", &net, &x, expected);

    for bad in [6.0, -1.0, 1.5, f32::NAN] {
        let x = Tensor::new(&[[0.0f32, 1.0, bad, 2.0]], &Device::Cpu).unwrap();
        let error = net.forward(&x, Mode::Eval).unwrap_err().to_string();
        assert!(
            error.contains(&format!(
                "embedding layer 0 got the input value {bad}, which is not a code of its \
                 vocabulary (whole numbers 0 to 5)"
            )),
            "{error}"
        );
    }
}

/// One training step, then the running statistics and the evaluation output.
fn check_batch_norm(name: &str, net: &Network, x: &Tensor, expected: [&[f64]; 5]) {
    let [output, gradient, running_mean, running_var, eval_output] = expected;
    let before = net.snapshot().unwrap();
    let untrained = weights_digest(&net.to_safetensors(HashMap::new()).unwrap()).unwrap();

    let (got, got_gradient) = run(net, x, true);
    assert_close(&format!("{name} training output"), &got, output);
    assert_close(&format!("{name} gradient"), &got_gradient, gradient);
    let tensors = saved(net);
    let buffer = |suffix: &str| {
        tensors
            .iter()
            .find(|(k, _)| k.ends_with(suffix))
            .map(|(_, t)| t.clone())
            .unwrap()
    };
    assert_close(
        &format!("{name} running_mean"),
        &flat(&buffer("running_mean")),
        running_mean,
    );
    assert_close(
        &format!("{name} running_var"),
        &flat(&buffer("running_var")),
        running_var,
    );
    let batches = buffer("num_batches_tracked");
    assert_eq!(batches.dtype(), DType::I64);
    assert_eq!(batches.dims(), &[] as &[usize]);
    assert_eq!(batches.to_scalar::<i64>().unwrap(), 1);
    assert_close(
        &format!("{name} evaluation output"),
        &flat(&net.forward(x, Mode::Eval).unwrap()),
        eval_output,
    );

    // The running statistics are part of the weights: the digest sees them,
    // and restoring a snapshot puts them back.
    let trained = weights_digest(&net.to_safetensors(HashMap::new()).unwrap()).unwrap();
    assert_ne!(untrained, trained);
    net.restore(&before).unwrap();
    let restored = weights_digest(&net.to_safetensors(HashMap::new()).unwrap()).unwrap();
    assert_eq!(
        untrained, restored,
        "restore puts the running statistics back"
    );
}

#[test]
fn batch_norm_1d_matches_pytorch_in_training_and_evaluation() {
    let net = network(None, vec![linear(3), Layer::BatchNorm, linear(2)], 4, 2);
    assert_names(&net, &BATCH_NORM1D_NAMES);
    check_batch_norm(
        "batch_norm 1d",
        &net,
        &rows(5, 4),
        [
            &BATCH_NORM1D_OUTPUT,
            &BATCH_NORM1D_GRADIENT,
            &BATCH_NORM1D_RUNNING_MEAN,
            &BATCH_NORM1D_RUNNING_VAR,
            &BATCH_NORM1D_EVAL_OUTPUT,
        ],
    );
}

#[test]
fn batch_norm_2d_matches_pytorch_in_training_and_evaluation() {
    let net = network(
        Some(&[2, 3, 3]),
        vec![
            Layer::Conv2d(conv(2, 2, 1, 0, true)),
            Layer::BatchNorm,
            Layer::Flatten,
            linear(1),
        ],
        18,
        1,
    );
    assert_names(&net, &BATCH_NORM2D_NAMES);
    check_batch_norm(
        "batch_norm 2d",
        &net,
        &rows(3, 18),
        [
            &BATCH_NORM2D_OUTPUT,
            &BATCH_NORM2D_GRADIENT,
            &BATCH_NORM2D_RUNNING_MEAN,
            &BATCH_NORM2D_RUNNING_VAR,
            &BATCH_NORM2D_EVAL_OUTPUT,
        ],
    );
}

#[test]
fn every_layer_loads_back_from_safetensors() {
    let spec = ModelSpec {
        input: Some(vec![n(2), n(6), n(6)]),
        layers: vec![
            Layer::Conv2d(conv(3, 3, 1, 1, true)),
            Layer::BatchNorm,
            Layer::MaxPool2d(pool(2, 2)),
            Layer::AvgPool2d(pool(2, 1)),
            Layer::Flatten,
            Layer::LayerNorm,
            linear(2),
            Layer::Softmax,
        ],
    };
    let net = Network::new(&spec, 72, 2, 5, &Device::Cpu).unwrap();
    let x = rows(4, 72);
    run(&net, &x, true); // moves the running statistics off their start
    let bytes = net.to_safetensors(HashMap::new()).unwrap();
    let loaded = Network::from_safetensors(&spec, 72, 2, &bytes, &Device::Cpu).unwrap();
    assert_eq!(
        flat(&net.forward(&x, Mode::Eval).unwrap()),
        flat(&loaded.forward(&x, Mode::Eval).unwrap())
    );
    assert_eq!(
        weights_digest(&bytes).unwrap(),
        weights_digest(&loaded.to_safetensors(HashMap::new()).unwrap()).unwrap()
    );
    let summary: Vec<(String, Vec<usize>, usize)> = net
        .summary()
        .iter()
        .map(|l| (l.kind.clone(), l.output_shape.clone(), l.parameters))
        .collect();
    assert_eq!(
        summary,
        [
            ("conv2d".into(), vec![3, 6, 6], 2 * 3 * 9 + 3),
            ("batch_norm".into(), vec![3, 6, 6], 6),
            ("max_pool2d".into(), vec![3, 3, 3], 0),
            ("avg_pool2d".into(), vec![3, 2, 2], 0),
            ("flatten".into(), vec![12], 0),
            ("layer_norm".into(), vec![12], 24),
            ("linear".into(), vec![2], 26),
            ("softmax".into(), vec![2], 0),
        ]
    );
    // torch: sum(p.numel() for p in model.parameters()), buffers left out.
    assert_eq!(net.parameter_count(), 57 + 6 + 24 + 26);
}

// ------------------------------------------------- printed by pytorch_layers.py

// torch 2.15.0+cu132
// ACTIVATIONS: Sequential(
//   (0): Linear(in_features=5, out_features=4, bias=True)
//   (1): LeakyReLU(negative_slope=0.2)
//   (2): Linear(in_features=4, out_features=4, bias=True)
//   (3): SiLU()
//   (4): LeakyReLU(negative_slope=0.01)
//   (5): Linear(in_features=4, out_features=3, bias=True)
//   (6): Softmax(dim=-1)
// )
const ACTIVATIONS_NAMES: [&str; 6] = [
    "0.weight", "0.bias", "2.weight", "2.bias", "5.weight", "5.bias",
];
#[rustfmt::skip]
const ACTIVATIONS_OUTPUT: [f64; 9] = [0.1649402678012848, 0.48138752579689026, 0.35367217659950256, 0.21209631860256195, 0.41086331009864807, 0.3770403563976288, 0.1663176417350769, 0.47914937138557434, 0.3545328974723816];
#[rustfmt::skip]
const ACTIVATIONS_GRADIENT: [f64; 20] = [4.77364519611001e-05, -0.002298187930136919, -0.003815146628767252, -0.003955966327339411, -0.002669854089617729, 0.0018749821465462446, 0.006075879093259573, 0.008085181936621666, 0.007178127765655518, 0.0036818948574364185, 0.0017851268639788032, 0.005785200744867325, 0.0076985289342701435, 0.006834967993199825, 0.0035060071386396885, 2.9232469387352467e-05, -0.0019856560975313187, -0.003284310456365347, -0.0033983010798692703, -0.00228651100769639];

// CONV2D_MAX_POOL: Sequential(
//   (0): Conv2d(2, 3, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))
//   (1): ReLU()
//   (2): MaxPool2d(kernel_size=3, stride=1, padding=0, dilation=1, ceil_mode=False)
//   (3): Flatten(start_dim=1, end_dim=-1)
//   (4): Linear(in_features=12, out_features=2, bias=True)
// )
const CONV2D_MAX_POOL_NAMES: [&str; 4] = ["0.weight", "0.bias", "4.weight", "4.bias"];
#[rustfmt::skip]
const CONV2D_MAX_POOL_OUTPUT: [f64; 4] = [-9.888588905334473, -1.7329522371292114, -7.3707594871521, -1.1541728973388672];
#[rustfmt::skip]
const CONV2D_MAX_POOL_GRADIENT: [f64; 54] = [1.9674489498138428, 3.0527234077453613, 2.112612009048462, -1.7781150341033936, -1.095686435699463, 0.8044654726982117, -0.4450279474258423, -2.1145975589752197, -2.8013947010040283, -0.9462490677833557, 0.37037351727485657, 1.9837663173675537, -1.413144588470459, -2.9051499366760254, -2.6799111366271973, 2.1561825275421143, 2.117014169692993, 0.31077176332473755, -1.273110270500183, -5.3099236488342285, -4.727402687072754, 5.096166610717773, 5.410196781158447, 2.127906084060669, -3.090224266052246, 0.6777164340019226, 2.9054908752441406, 4.973778247833252, 3.2295174598693848, -0.0969662070274353, -0.775740385055542, 3.5520706176757812, 4.314183712005615, -4.309589862823486, -6.2707977294921875, -3.596835136413574, -0.5988501906394958, -3.3800735473632812, -3.527477979660034, 3.0830724239349365, 3.5061392784118652, 1.543742299079895, -2.040874481201172, 0.37811926007270813, 2.2057266235351562, 3.0978052616119385, 2.124570846557617, -0.1210489273071289, -0.6587232351303101, 2.234438180923462, 3.238013744354248, -2.5338070392608643, -4.037695407867432, -2.651336431503296];

// CONV2D_AVG_POOL: Sequential(
//   (0): Conv2d(1, 2, kernel_size=(2, 2), stride=(1, 1), bias=False)
//   (1): AvgPool2d(kernel_size=4, stride=2, padding=0)
//   (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
//   (3): Flatten(start_dim=1, end_dim=-1)
//   (4): Linear(in_features=2, out_features=1, bias=True)
// )
const CONV2D_AVG_POOL_NAMES: [&str; 3] = ["0.weight", "4.weight", "4.bias"];
#[rustfmt::skip]
const CONV2D_AVG_POOL_OUTPUT: [f64; 2] = [0.2705020010471344, 0.27854079008102417];
#[rustfmt::skip]
const CONV2D_AVG_POOL_GRADIENT: [f64; 8] = [0.22692376375198364, 0.06567130982875824, 0.09267570823431015, 0.24495571851730347, 0.22397083044052124, 0.23536911606788635, -0.17758646607398987, -0.051776640117168427];

// CONV1D: Sequential(
//   (0): Conv1d(2, 3, kernel_size=(3,), stride=(2,), padding=(1,))
//   (1): Tanh()
//   (2): Conv1d(3, 3, kernel_size=(2,), stride=(1,))
//   (3): MaxPool1d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
//   (4): AvgPool1d(kernel_size=(2,), stride=(1,), padding=(0,))
//   (5): Flatten(start_dim=1, end_dim=-1)
//   (6): Linear(in_features=3, out_features=2, bias=True)
// )
const CONV1D_NAMES: [&str; 6] = [
    "0.weight", "0.bias", "2.weight", "2.bias", "6.weight", "6.bias",
];
#[rustfmt::skip]
const CONV1D_OUTPUT: [f64; 6] = [0.21572455763816833, 0.003656633198261261, 0.19509956240653992, -0.03960622847080231, 0.20168361067771912, -0.029589161276817322];
#[rustfmt::skip]
const CONV1D_GRADIENT: [f64; 18] = [-0.02811753749847412, -0.07112476974725723, -0.049735795706510544, 0.03455127030611038, -0.03192279860377312, -0.05543208867311478, 0.02847689762711525, 0.08565223217010498, 0.14920379221439362, 0.007822195999324322, -0.06201736256480217, 0.039890021085739136, 0.5707194805145264, 0.8158895969390869, 0.681743860244751, 0.11066637933254242, 0.38844841718673706, 0.5803958773612976];

// CONV2D_RECTANGULAR: Sequential(
//   (0): Conv2d(1, 2, kernel_size=(2, 2), stride=(2, 2))
//   (1): ReLU()
//   (2): Conv2d(2, 2, kernel_size=(2, 2), stride=(1, 1), padding=(1, 1))
//   (3): Flatten(start_dim=1, end_dim=-1)
//   (4): Linear(in_features=24, out_features=1, bias=True)
// )
const CONV2D_RECTANGULAR_NAMES: [&str; 6] = [
    "0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias",
];
#[rustfmt::skip]
const CONV2D_RECTANGULAR_OUTPUT: [f64; 3] = [-5.008038520812988, -6.0178704261779785, -6.032693862915039];
#[rustfmt::skip]
const CONV2D_RECTANGULAR_GRADIENT: [f64; 8] = [-3.23091721534729, -0.5226114988327026, 0.9678806066513062, -1.9701074361801147, -15.084587097167969, -13.155411720275879, 13.787095069885254, 7.706123352050781];

// BATCH_NORM1D: Sequential(
//   (0): Linear(in_features=4, out_features=3, bias=True)
//   (1): BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
//   (2): Linear(in_features=3, out_features=2, bias=True)
// )
const BATCH_NORM1D_NAMES: [&str; 9] = [
    "0.weight",
    "0.bias",
    "1.weight",
    "1.bias",
    "1.running_mean",
    "1.running_var",
    "1.num_batches_tracked",
    "2.weight",
    "2.bias",
];
#[rustfmt::skip]
const BATCH_NORM1D_OUTPUT: [f64; 10] = [0.21647211909294128, -0.013785704970359802, 0.47675687074661255, -0.16673168540000916, 0.3091925084590912, -0.09862120449542999, 0.3048841953277588, -0.049722880125045776, 0.4790300726890564, -0.19253194332122803];
#[rustfmt::skip]
const BATCH_NORM1D_GRADIENT: [f64; 12] = [0.004282425157725811, 0.001642465591430664, -0.0015899315476417542, -0.004248839803040028, 0.032762881368398666, 0.08032387495040894, 0.09891172498464584, 0.0818217322230339, 0.0008569668862037361, 0.0003730355529114604, -0.00024545053020119667, -0.0007754020043648779];
#[rustfmt::skip]
const BATCH_NORM1D_RUNNING_MEAN: [f64; 3] = [0.047520868480205536, 0.038672517985105515, 0.018178923055529594];
#[rustfmt::skip]
const BATCH_NORM1D_RUNNING_VAR: [f64; 3] = [1.4845972061157227, 0.9545135498046875, 1.466685175895691];
#[rustfmt::skip]
const BATCH_NORM1D_EVAL_OUTPUT: [f64; 10] = [0.1284681260585785, 0.03703146427869797, 0.5354747772216797, -0.21889451146125793, 0.36168015003204346, -0.12909775972366333, 0.22016742825508118, -0.010348044335842133, 0.6101412177085876, -0.2815505266189575];

// BATCH_NORM2D: Sequential(
//   (0): Conv2d(2, 2, kernel_size=(2, 2), stride=(1, 1))
//   (1): BatchNorm2d(2, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
//   (2): Flatten(start_dim=1, end_dim=-1)
//   (3): Linear(in_features=8, out_features=1, bias=True)
// )
const BATCH_NORM2D_NAMES: [&str; 9] = [
    "0.weight",
    "0.bias",
    "1.weight",
    "1.bias",
    "1.running_mean",
    "1.running_var",
    "1.num_batches_tracked",
    "3.weight",
    "3.bias",
];
#[rustfmt::skip]
const BATCH_NORM2D_OUTPUT: [f64; 3] = [-0.3107464909553528, -0.14932578802108765, -0.24867995083332062];
#[rustfmt::skip]
const BATCH_NORM2D_GRADIENT: [f64; 16] = [0.017807763069868088, 0.0009394083172082901, -0.02760714292526245, -0.028988484293222427, 0.029481153935194016, 0.021852415055036545, -0.011456944048404694, -0.025122743099927902, -0.0364806167781353, -0.005025109276175499, 0.05132370442152023, 0.05589177832007408, -0.05653756484389305, -0.04378044977784157, 0.0188114196062088, 0.04606904834508896];
#[rustfmt::skip]
const BATCH_NORM2D_RUNNING_MEAN: [f64; 2] = [0.06387432664632797, 0.012197587639093399];
#[rustfmt::skip]
const BATCH_NORM2D_RUNNING_VAR: [f64; 2] = [1.0682779550552368, 1.1169536113739014];
#[rustfmt::skip]
const BATCH_NORM2D_EVAL_OUTPUT: [f64; 3] = [-0.3777947425842285, -0.17374053597450256, -0.31824547052383423];

// LAYER_NORM: Sequential(
//   (0): LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)
//   (1): Flatten(start_dim=1, end_dim=-1)
//   (2): Linear(in_features=12, out_features=2, bias=True)
// )
const LAYER_NORM_NAMES: [&str; 4] = ["0.weight", "0.bias", "2.weight", "2.bias"];
#[rustfmt::skip]
const LAYER_NORM_OUTPUT: [f64; 4] = [-0.9801987409591675, 0.019502222537994385, -0.23586714267730713, -0.29248011112213135];
#[rustfmt::skip]
const LAYER_NORM_GRADIENT: [f64; 4] = [0.16106706857681274, 0.7694624066352844, 0.7393590211868286, 0.3337394893169403];

// EMBEDDING: Sequential(
//   (0): Embedding(6, 3)
//   (1): Flatten(start_dim=1, end_dim=-1)
//   (2): Linear(in_features=12, out_features=1, bias=True)
// )
const EMBEDDING_NAMES: [&str; 3] = ["0.weight", "2.weight", "2.bias"];
#[rustfmt::skip]
const EMBEDDING_OUTPUT: [f64; 3] = [0.5594858527183533, 0.6864150762557983, -0.6259016990661621];
#[rustfmt::skip]
const EMBEDDING_GRADIENT: [f64; 18] = [0.0640377402305603, 0.08479335904121399, 0.09407257288694382, -0.6937233209609985, -0.8114094138145447, -0.8192750811576843, -0.04709549993276596, -0.3434831202030182, -0.5933818817138672, -0.4222051203250885, -0.4755379855632782, -0.4645090401172638, 0.015134215354919434, -0.15906137228012085, -0.31172874569892883, 0.02803221344947815, 0.05873829126358032, 0.08149439096450806];
