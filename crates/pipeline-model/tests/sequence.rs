//! The sequence layers against PyTorch (`nn.RNN`, `nn.LSTM`, `nn.GRU`,
//! `nn.MultiheadAttention`, `nn.TransformerEncoderLayer`, the sinusoidal
//! positional encoding): outputs and gradients to 1e-5.
//!
//! Every expected number below is printed by
//! `crates/pipeline-model/tests/sequence_reference.py` (PyTorch 2.15.0): the
//! weights are PyTorch's (seeded, redrawn in ±0.5), loaded through the layers'
//! `init` callback by their `state_dict` names.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use candle_core::{Device, Tensor, Var};
use pipeline_model::sequence::{
    AttentionConfig, EncoderConfig, Gru, Init, Lstm, MultiheadAttention, PositionalEncoding,
    RecurrentConfig, Rnn, TransformerEncoderLayer,
};
use pipeline_model::{Mode, ModelError};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const N: usize = 2;
const T: usize = 4;
const F: usize = 3;
const H: usize = 4;
const D: usize = 4;
const HEADS: usize = 2;
const FEEDFORWARD: usize = 8;
const TOLERANCE: f32 = 1e-5;

/// The weights of `table` under `prefix`, as an `init` callback would read
/// them from a file; checks that every requested shape holds all the values.
fn loader(
    table: &'static [(&'static str, &'static [f32])],
    prefix: &'static str,
) -> impl FnMut(&str, &[usize], Init) -> Result<Vec<f32>, ModelError> {
    let map: HashMap<String, &[f32]> = table
        .iter()
        .map(|(name, values)| (format!("{prefix}.{name}"), *values))
        .collect();
    move |name, dims, _| {
        let values = map
            .get(name)
            .ok_or_else(|| ModelError::MissingWeight { name: name.into() })?;
        assert_eq!(dims.iter().product::<usize>(), values.len(), "{name}");
        Ok(values.to_vec())
    }
}

/// PyTorch's `state_dict` keys of `table` under `prefix`, in order.
fn names(table: &[(&str, &[f32])], prefix: &str) -> Vec<String> {
    table.iter().map(|(n, _)| format!("{prefix}.{n}")).collect()
}

fn tensor(values: &[f32], dims: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), dims, &Device::Cpu).unwrap()
}

fn flat(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

fn assert_close(what: &str, got: &[f32], expected: &[f32]) {
    assert_eq!(got.len(), expected.len(), "{what}: length");
    let worst = got
        .iter()
        .zip(expected)
        .map(|(g, e)| (g - e).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst < TOLERANCE,
        "{what}: largest difference {worst:e}\n got {got:?}\n PyTorch {expected:?}"
    );
}

/// The script's loss weights: `((i % 7) - 3) / 4` in row-major order.
fn loss_weights(dims: &[usize]) -> Tensor {
    let count: usize = dims.iter().product();
    let values: Vec<f32> = (0..count).map(|i| ((i % 7) as f32 - 3.0) / 4.0).collect();
    tensor(&values, dims)
}

fn gradient(output: &Tensor, var: &Var) -> Vec<f32> {
    let loss = (output * loss_weights(output.dims()))
        .unwrap()
        .sum_all()
        .unwrap();
    let grads = loss.backward().unwrap();
    flat(grads.get(var.as_tensor()).expect("a gradient"))
}

fn var<'a>(named: &'a [(String, Var)], name: &str) -> &'a Var {
    &named.iter().find(|(n, _)| n == name).expect(name).1
}

fn recurrent(return_sequences: bool) -> RecurrentConfig {
    RecurrentConfig {
        input_size: F,
        hidden_size: H,
        return_sequences,
    }
}

fn encoder_config(dropout: f32) -> EncoderConfig {
    EncoderConfig {
        d_model: D,
        heads: HEADS,
        feedforward_size: FEEDFORWARD,
        dropout,
    }
}

// ---------------------------------------------------------------- recurrent

macro_rules! recurrent_matches_pytorch {
    ($test:ident, $layer:ty, $weights:ident, $last:ident, $sequence:ident, $parameters:ident) => {
        #[test]
        fn $test() {
            let x = tensor(&X, &[N, T, F]);
            for (sequences, expected, dims) in [
                (false, &$last[..], vec![N, H]),
                (true, &$sequence[..], vec![N, T, H]),
            ] {
                let layer = <$layer>::new(
                    recurrent(sequences),
                    &mut loader($weights, "3"),
                    "3",
                    &Device::Cpu,
                )
                .unwrap();
                assert_eq!(layer.output_shape(&[N, T, F]).unwrap(), dims);
                let y = layer.forward(&x).unwrap();
                assert_eq!(y.dims(), dims.as_slice());
                assert_close(stringify!($layer), &flat(&y), expected);
                assert_eq!(layer.parameter_count(), $parameters);
                let got: Vec<&str> = layer.named_vars().iter().map(|(n, _)| n.as_str()).collect();
                assert_eq!(got, names($weights, "3"));
                every_parameter_has_a_gradient(&y, layer.named_vars());
            }
        }
    };
}

recurrent_matches_pytorch!(
    rnn_matches_pytorch,
    Rnn,
    RNN_WEIGHTS,
    RNN_LAST,
    RNN_SEQUENCE,
    RNN_PARAMETERS
);
recurrent_matches_pytorch!(
    lstm_matches_pytorch,
    Lstm,
    LSTM_WEIGHTS,
    LSTM_LAST,
    LSTM_SEQUENCE,
    LSTM_PARAMETERS
);
recurrent_matches_pytorch!(
    gru_matches_pytorch,
    Gru,
    GRU_WEIGHTS,
    GRU_LAST,
    GRU_SEQUENCE,
    GRU_PARAMETERS
);

fn every_parameter_has_a_gradient(output: &Tensor, named: &[(String, Var)]) {
    let grads = output.sum_all().unwrap().backward().unwrap();
    for (name, var) in named {
        assert!(
            grads.get(var.as_tensor()).is_some(),
            "no gradient for {name}"
        );
    }
}

#[test]
fn lstm_gradients_match_pytorch() {
    let lstm = Lstm::new(
        recurrent(true),
        &mut loader(LSTM_WEIGHTS, "3"),
        "3",
        &Device::Cpu,
    )
    .unwrap();
    let y = lstm.forward(&tensor(&X, &[N, T, F])).unwrap();
    let named = lstm.named_vars();
    assert_close(
        "d loss / d weight_hh_l0",
        &gradient(&y, var(named, "3.weight_hh_l0")),
        &LSTM_GRAD_WEIGHT_HH,
    );
    assert_close(
        "d loss / d bias_ih_l0",
        &gradient(&y, var(named, "3.bias_ih_l0")),
        &LSTM_GRAD_BIAS_IH,
    );
}

// ---------------------------------------------------------------- attention

#[test]
fn multihead_attention_matches_pytorch() {
    let config = AttentionConfig {
        embed_dim: D,
        heads: HEADS,
        dropout: 0.0,
    };
    let attention = MultiheadAttention::new(
        config,
        &mut loader(ATTENTION_WEIGHTS, "attn"),
        "attn",
        &Device::Cpu,
    )
    .unwrap();
    assert_eq!(attention.output_shape(&[N, T, D]).unwrap(), [N, T, D]);
    let y = attention
        .forward(&tensor(&XD, &[N, T, D]), &mut Mode::Eval)
        .unwrap();
    assert_eq!(y.dims(), [N, T, D]);
    assert_close("attention", &flat(&y), &ATTENTION_OUTPUT);
    assert_eq!(attention.parameter_count(), ATTENTION_PARAMETERS);
    let got: Vec<&str> = attention
        .named_vars()
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(got, names(ATTENTION_WEIGHTS, "attn"));
    every_parameter_has_a_gradient(&y, attention.named_vars());
}

// ---------------------------------------------------------------- transformer

fn transformer(dropout: f32) -> TransformerEncoderLayer {
    TransformerEncoderLayer::new(
        encoder_config(dropout),
        &mut loader(TRANSFORMER_WEIGHTS, "encoder.0"),
        "encoder.0",
        &Device::Cpu,
    )
    .unwrap()
}

#[test]
fn transformer_encoder_layer_matches_pytorch_in_eval_mode() {
    let block = transformer(0.1);
    assert_eq!(block.output_shape(&[N, T, D]).unwrap(), [N, T, D]);
    let y = block
        .forward(&tensor(&XD, &[N, T, D]), &mut Mode::Eval)
        .unwrap();
    assert_close("transformer", &flat(&y), &TRANSFORMER_OUTPUT);
    assert_eq!(block.parameter_count(), TRANSFORMER_PARAMETERS);
    let got: Vec<&str> = block.named_vars().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(got, names(TRANSFORMER_WEIGHTS, "encoder.0"));
    every_parameter_has_a_gradient(&y, block.named_vars());
}

#[test]
fn transformer_gradients_match_pytorch() {
    let block = transformer(0.1);
    let y = block
        .forward(&tensor(&XD, &[N, T, D]), &mut Mode::Eval)
        .unwrap();
    let named = block.named_vars();
    for (name, expected) in [
        (
            "encoder.0.self_attn.in_proj_weight",
            &TRANSFORMER_GRAD_IN_PROJ_WEIGHT[..],
        ),
        (
            "encoder.0.linear1.weight",
            &TRANSFORMER_GRAD_LINEAR1_WEIGHT[..],
        ),
        ("encoder.0.norm1.weight", &TRANSFORMER_GRAD_NORM1_WEIGHT[..]),
    ] {
        assert_close(name, &gradient(&y, var(named, name)), expected);
    }
}

#[test]
fn transformer_dropout_is_active_only_in_training_and_seeded() {
    let x = tensor(&XD, &[N, T, D]);
    let eval = flat(&transformer(0.5).forward(&x, &mut Mode::Eval).unwrap());
    let train = |dropout: f32, seed: u64| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        flat(
            &transformer(dropout)
                .forward(&x, &mut Mode::Train(&mut rng))
                .unwrap(),
        )
    };
    // No dropout: training computes what evaluation does.
    assert_close("dropout 0 in training", &train(0.0, 1), &TRANSFORMER_OUTPUT);
    assert_ne!(train(0.5, 1), eval);
    assert_eq!(train(0.5, 1), train(0.5, 1));
    assert_ne!(train(0.5, 1), train(0.5, 2));
}

#[test]
fn an_empty_prefix_gives_pytorchs_bare_names() {
    let block = TransformerEncoderLayer::new(
        encoder_config(0.0),
        &mut |name, dims, how| {
            Ok(how.sample(
                dims.iter().product(),
                &mut ChaCha8Rng::seed_from_u64(name.len() as u64),
            ))
        },
        "",
        &Device::Cpu,
    )
    .unwrap();
    let got: Vec<&str> = block.named_vars().iter().map(|(n, _)| n.as_str()).collect();
    let expected: Vec<&str> = TRANSFORMER_WEIGHTS.iter().map(|(n, _)| *n).collect();
    assert_eq!(got, expected);
}

// ---------------------------------------------------------------- positional

#[test]
fn positional_encoding_matches_pytorch() {
    for (d_model, expected) in [(4, &POSITIONAL_4[..]), (5, &POSITIONAL_5[..])] {
        let encoding = PositionalEncoding::new(d_model, 6, "pe", &Device::Cpu).unwrap();
        assert_close(
            "positional table",
            &flat(&encoding.table(6).unwrap()),
            expected,
        );
        assert_eq!(encoding.parameter_count(), 0);
    }
    let encoding = PositionalEncoding::new(D, 100, "pe", &Device::Cpu).unwrap();
    assert_eq!(encoding.output_shape(&[N, T, D]).unwrap(), [N, T, D]);
    let y = encoding.forward(&tensor(&XD, &[N, T, D])).unwrap();
    assert_close("x + positional", &flat(&y), &XD_PLUS_POSITIONAL);
}

// ---------------------------------------------------------------- init

/// Fresh weights as `Network::new` would draw them: PyTorch's bounds hold.
#[test]
fn fresh_weights_follow_pytorchs_init() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut fresh =
        |_: &str, dims: &[usize], how: Init| Ok(how.sample(dims.iter().product(), &mut rng));
    let lstm = Lstm::new(recurrent(false), &mut fresh, "0", &Device::Cpu).unwrap();
    let bound = 1.0 / (H as f32).sqrt();
    for (name, v) in lstm.named_vars() {
        let values = flat(v.as_tensor());
        assert!(values.iter().all(|x| x.abs() <= bound), "{name}");
        assert!(values.iter().any(|x| *x != 0.0), "{name}");
    }
    let block =
        TransformerEncoderLayer::new(encoder_config(0.1), &mut fresh, "1", &Device::Cpu).unwrap();
    let values = |name: &str| flat(var(block.named_vars(), name).as_tensor());
    let xavier = (6.0 / (D + 3 * D) as f32).sqrt();
    assert!(
        values("1.self_attn.in_proj_weight")
            .iter()
            .all(|x| x.abs() <= xavier)
    );
    assert!(values("1.self_attn.in_proj_bias").iter().all(|x| *x == 0.0));
    assert!(
        values("1.self_attn.out_proj.bias")
            .iter()
            .all(|x| *x == 0.0)
    );
    assert!(
        values("1.linear2.weight")
            .iter()
            .all(|x| x.abs() <= 1.0 / (FEEDFORWARD as f32).sqrt())
    );
    assert!(values("1.norm1.weight").iter().all(|x| *x == 1.0));
    assert!(values("1.norm2.bias").iter().all(|x| *x == 0.0));
}

#[test]
fn a_missing_weight_is_reported_by_name() {
    let error = Gru::new(
        recurrent(false),
        &mut loader(LSTM_WEIGHTS, "x"),
        "3",
        &Device::Cpu,
    )
    .err()
    .unwrap();
    assert!(matches!(error, ModelError::MissingWeight { name } if name == "3.weight_ih_l0"));
}

// ---------------------------------------------------------------- shape errors

#[test]
fn inputs_of_the_wrong_shape_are_refused_before_training() {
    let lstm = Lstm::new(
        recurrent(false),
        &mut loader(LSTM_WEIGHTS, "3"),
        "3",
        &Device::Cpu,
    )
    .unwrap();
    for input in [&[N, F][..], &[N, T, F + 1], &[N, 0, F], &[N, T, F, 1]] {
        let error = lstm.output_shape(input).unwrap_err();
        assert!(
            matches!(&error, ModelError::SequenceInput { layer, kind: "lstm", features: F, actual } if layer == "3" && actual == input),
            "{error}"
        );
    }
    assert_eq!(
        lstm.output_shape(&[N, F]).unwrap_err().to_string(),
        "lstm layer `3` needs an input of shape (batch, time, 3) with time >= 1, got [2, 3]; sequence layers take batch-first sequences"
    );
    // And forward refuses it too (a candle error, not a panic).
    assert!(lstm.forward(&tensor(&X[..N * F], &[N, F])).is_err());

    let block = transformer(0.1);
    assert!(matches!(
        block.output_shape(&[N, T, D + 1]),
        Err(ModelError::SequenceInput {
            kind: "transformer_encoder",
            ..
        })
    ));
    let encoding = PositionalEncoding::new(D, 3, "pe", &Device::Cpu).unwrap();
    assert!(matches!(
        encoding.output_shape(&[N, T, D]),
        Err(ModelError::SequenceTooLong {
            max_len: 3,
            time: T,
            ..
        })
    ));
}

#[test]
fn impossible_configurations_are_refused() {
    let mut fresh = |_: &str, dims: &[usize], how: Init| {
        Ok(how.sample(dims.iter().product(), &mut ChaCha8Rng::seed_from_u64(0)))
    };
    let error = TransformerEncoderLayer::new(
        EncoderConfig {
            heads: 3,
            ..encoder_config(0.1)
        },
        &mut fresh,
        "2",
        &Device::Cpu,
    )
    .err()
    .unwrap();
    assert_eq!(
        error.to_string(),
        "transformer_encoder layer `2`: 4 features cannot be split into 3 heads (it must be a multiple of heads)"
    );
    let attention = MultiheadAttention::new(
        AttentionConfig {
            embed_dim: 6,
            heads: 4,
            dropout: 0.0,
        },
        &mut fresh,
        "a",
        &Device::Cpu,
    );
    assert!(matches!(
        attention,
        Err(ModelError::HeadsDoNotDivide {
            embed_dim: 6,
            heads: 4,
            ..
        })
    ));
    let rnn = Rnn::new(
        RecurrentConfig {
            hidden_size: 0,
            ..recurrent(false)
        },
        &mut fresh,
        "r",
        &Device::Cpu,
    );
    assert!(matches!(
        rnn,
        Err(ModelError::ZeroSize {
            field: "hidden_size",
            ..
        })
    ));
    let block = TransformerEncoderLayer::new(encoder_config(1.0), &mut fresh, "t", &Device::Cpu);
    assert!(matches!(block, Err(ModelError::DropoutRate { .. })));
    assert!(matches!(
        PositionalEncoding::new(0, 10, "pe", &Device::Cpu),
        Err(ModelError::ZeroSize {
            field: "d_model",
            ..
        })
    ));
}

// ---------------------------------------------------------------- PyTorch's numbers

// PyTorch 2.15.0+cu132; printed by tests/sequence_reference.py
#[rustfmt::skip]
const X: [f32; 24] = [-1.1258398, -1.1523602, -0.25057858, -0.4338788, 0.84871036, 0.69200915, -0.31601277, -2.1152194, 0.4680964, -0.15771244, 1.4436601, 0.2660494, 0.16645534, 0.87438184, -0.14347385, -0.11160933, 0.9318266, 1.2590092, 2.0049806, 0.053736903, 0.61805665, -0.41280222, -0.8410648, -2.316042];
#[rustfmt::skip]
const XD: [f32; 32] = [-0.21586326, -0.74254817, 0.5627214, 0.2596274, -0.173961, -0.6787462, 0.93826073, 0.48886982, 1.2032237, 0.0845347, -1.2001394, -0.004785738, -0.5180748, -0.3067042, -1.5809939, 1.7066433, 0.20552567, -0.45032975, -0.5730771, -0.5553584, 0.59432304, 1.5419426, 0.5073344, -0.59103316, -1.325326, 0.18855357, -0.069072686, -0.49492535, -1.4959149, -0.19383712, 0.44551218, 1.3252748];
#[rustfmt::skip]
const RNN_WEIGHTS: &[(&str, &[f32])] = &[
    ("weight_ih_l0", &[-0.027549803, 0.07507253, -0.20476514, 0.2966888, -0.30426955, 0.45368505, 0.34264994, -0.42164147, -0.12444216, 0.022561312, 0.07295054, 0.118587136]),
    ("weight_hh_l0", &[0.19621414, 0.029950082, -0.24396437, 0.2365945, -0.47962445, -0.29635334, -0.12516493, -0.24355668, -0.17491668, -0.40981084, -0.106357574, 0.10687822, -0.3257329, -0.02565968, 0.35792542, -0.051400125]),
    ("bias_ih_l0", &[0.013896108, -0.04313445, 0.101190686, 0.31791973]),
    ("bias_hh_l0", &[0.4736231, 0.31752795, 0.47470677, -0.036160827]),
];
const RNN_PARAMETERS: usize = 36;
#[rustfmt::skip]
const RNN_SEQUENCE: [f32; 32] = [0.44891056, 0.17547859, 0.6089142, 0.14161944, 0.37976, -0.17482081, -0.21346529, 0.442943, 0.43636727, 0.67783856, 0.880163, -0.042527758, 0.40272588, -0.537716, -0.5169938, 0.51737815, 0.5211767, -0.0073606535, 0.27485856, 0.3205741, 0.3915078, 0.1670973, -0.09474793, 0.38749257, 0.4671181, 0.6715096, 0.79240644, 0.21514809, 0.70609176, -0.8389303, 0.5777704, 0.03959324];
#[rustfmt::skip]
const RNN_LAST: [f32; 8] = [0.40272588, -0.537716, -0.5169938, 0.51737815, 0.70609176, -0.8389303, 0.5777704, 0.03959324];
#[rustfmt::skip]
const LSTM_WEIGHTS: &[(&str, &[f32])] = &[
    ("weight_ih_l0", &[-0.1143381, -0.022235572, -0.3045221, 0.16910046, 0.15808296, -0.010314286, -0.11245108, -0.3082149, 0.3457724, -0.37221205, 0.20483273, -0.16812676, -0.241234, 0.08982253, -0.2597285, 0.11520243, 0.09819043, -0.37124473, 0.08324927, 0.2129646, 0.1979155, -0.062939346, -0.4098938, -0.07707703, 0.17365384, -0.18243855, 0.18979055, 0.3329813, -0.2610758, 0.0049309134, 0.2067495, 0.03918892, 0.04176575, 0.062432706, -0.39307386, 0.039294124, 0.34623492, 0.45055687, 0.29387546, 0.06700152, 0.2335071, -0.24323982, -0.4143442, -0.42996055, 0.49880487, 0.31739467, -0.34561688, 0.19562131]),
    ("weight_hh_l0", &[0.3775838, 0.49980742, 0.43719745, 0.3873769, -0.114629626, -0.17547083, 0.41052443, 0.2801898, -0.3008895, 0.4495086, 0.2415793, 0.27256775, -0.31338817, 0.1434499, -0.17528123, 0.3906783, -0.08997029, 0.19465625, 0.08881092, 0.2127341, -0.16991377, 0.24378568, -0.34923548, 0.1129275, -0.33829594, -0.4932688, -0.40152788, 0.39473504, 0.27051783, 0.46910787, 0.40056062, -0.4465227, -0.34121555, -0.080791295, -0.32471615, 0.34719825, -0.3780039, -0.24395072, -0.4830457, -0.28387278, 0.41123873, 0.40938002, 0.35791886, 0.38606364, 0.44459325, -0.12803149, 0.22000104, 0.4454652, 0.16540939, 0.49983817, 0.25933146, 0.31082416, -0.17499608, 0.23991376, 0.057453275, -0.11940867, -0.28185493, -0.2805583, -0.3847404, 0.33566517, 0.3554656, -0.056906343, -0.289343, 0.38645273]),
    ("bias_ih_l0", &[0.31974447, 0.037167013, -0.23606765, 0.45952392, 0.20447034, -0.3795727, 0.47854143, 0.3796869, -0.18224543, 0.28107727, -0.2840945, -0.07835716, 0.4245506, 0.020659566, -0.35360909, -0.16711646]),
    ("bias_hh_l0", &[-0.13572258, -0.096464396, 0.04785031, 0.4624148, 0.026770175, -0.30872, 0.025627136, 0.23974359, 0.24802011, -0.45696926, -0.08947122, -0.37157226, -0.21334279, 0.1801467, -0.3550651, 0.18586344]),
];
const LSTM_PARAMETERS: usize = 144;
#[rustfmt::skip]
const LSTM_SEQUENCE: [f32; 32] = [0.0062697497, -0.04634946, -0.16452774, -0.029323986, 0.010555136, -0.122588396, -0.15288779, -0.21957976, 0.062290225, 0.036181368, -0.34475496, -0.18436825, 0.034533735, -0.095671944, -0.13163607, -0.25513485, -0.0326444, -0.107042044, -0.025297083, -0.19752273, 0.004275459, -0.109090015, -0.10544119, -0.29319265, 0.12136093, 0.1281903, -0.05146804, -0.39137882, -0.04887692, 0.065339334, -0.048818883, -0.27520922];
#[rustfmt::skip]
const LSTM_LAST: [f32; 8] = [0.034533735, -0.095671944, -0.13163607, -0.25513485, -0.04887692, 0.065339334, -0.048818883, -0.27520922];
#[rustfmt::skip]
const LSTM_GRAD_WEIGHT_HH: [f32; 64] = [0.00092122884, 0.0012517546, 0.0037562242, -0.004429277, -0.00349288, -0.0037287967, 0.017839149, 0.0007796365, 0.0014448361, -0.0022943646, -0.0072634825, -0.011265609, 0.0017588508, 0.0049658413, -0.0055652633, 0.009323099, 0.00050816487, 0.00045804962, -0.005809042, 0.00069974863, -0.002156931, -0.0030971672, -0.0017253864, 0.0034548987, 0.0014552162, -0.00086121244, -0.007433973, -0.007104989, 0.00072286004, 0.009792428, 0.0051326137, 0.021564243, -0.010069059, -0.03265406, -0.06351057, -0.026364576, 0.00229655, 0.0037156104, -0.0685312, 0.046218444, -0.002814221, 0.004296423, 0.015343131, 0.020500248, -0.0025741053, -0.026689421, -0.005909428, -0.05707943, 0.0033099416, 0.0067183618, 0.00064297987, -0.006433195, -0.0045786505, -0.006564429, 0.012418133, -0.0008201001, 0.0047034924, 0.0031898345, -0.017542053, -0.020258209, 0.003613195, 0.007945184, -0.0290748, 0.009421243];
#[rustfmt::skip]
const LSTM_GRAD_BIAS_IH: [f32; 16] = [0.0050081452, -0.012819837, 0.050839763, -0.052011747, 0.0050564185, -0.002237482, 0.028825667, -0.076865226, 0.26723516, -0.12468901, -0.10178058, 0.23205939, 0.008334036, -0.002247829, 0.069115445, 0.010051042];
#[rustfmt::skip]
const GRU_WEIGHTS: &[(&str, &[f32])] = &[
    ("weight_ih_l0", &[-0.26124537, 0.110791266, -0.11465794, -0.24228168, 0.068692744, 0.41112912, -0.33803964, 0.023217201, -0.18438387, 0.49065316, -0.47438163, -0.4793306, 0.49269247, -0.31634498, 0.09586167, -0.043153048, -0.1053285, -0.11167389, 0.3177203, 0.023898482, -0.4868073, -0.29518008, -0.17045015, 0.2516082, -0.32356685, 0.4714598, -0.11136466, -0.08978099, 0.391779, 0.25130385, 0.42406017, 0.28922218, -0.15167695, -0.3317362, -0.037201524, 0.41381878]),
    ("weight_hh_l0", &[-0.1678099, -0.46368498, 0.20496422, 0.4867357, -0.14234161, -0.41401178, -0.45352983, 0.12529969, -0.037859857, -0.25249362, 0.10106593, 0.18987942, 0.39765948, 0.3881911, -0.07484186, -0.44088358, -0.45181155, 0.4668448, 0.22102761, 0.21795368, -0.4326105, 0.46300787, 0.47367156, 0.45143014, -0.4217925, -0.1886617, -0.3438819, 0.4734828, -0.21484, -0.22827727, 0.26195645, -0.23129618, -0.24626106, -0.043735743, -0.04805976, -0.38948923, 0.41683406, -0.22056085, 0.17735744, 0.43489182, 0.25215822, 0.07078993, 0.4254285, 0.06721312, -0.23132831, 0.47299975, 0.118340254, -0.4878404]),
    ("bias_ih_l0", &[-0.14234579, -0.34058374, 0.4383765, -0.08257294, -0.45576245, -0.031431675, 0.31400645, 0.12990022, 0.15810221, 0.046436608, 0.18640935, -0.12182599]),
    ("bias_hh_l0", &[-0.1989001, -0.46735424, -0.37666845, 0.21670127, -0.2960567, 0.07173324, 0.15959573, 0.03540194, -0.32417488, 0.4781642, -0.29074973, 0.4112503]),
];
const GRU_PARAMETERS: usize = 108;
#[rustfmt::skip]
const GRU_SEQUENCE: [f32; 32] = [-0.10306896, -0.0912559, -0.2881726, 0.13839558, 0.3103325, 0.3218384, -0.20055349, 0.22817749, -0.26265326, -0.001642406, -0.4113754, 0.32008365, 0.38971394, 0.36481023, -0.20600931, 0.18403816, 0.26994088, 0.22851057, 0.1278513, -0.03958916, 0.3151933, 0.5066364, 0.13852777, 0.19426703, -0.033990383, 0.3484623, 0.34417403, -0.026566818, -0.012978364, 0.024024725, 0.27666286, -0.20823945];
#[rustfmt::skip]
const GRU_LAST: [f32; 8] = [0.38971394, 0.36481023, -0.20600931, 0.18403816, -0.012978364, 0.024024725, 0.27666286, -0.20823945];
#[rustfmt::skip]
const ATTENTION_WEIGHTS: &[(&str, &[f32])] = &[
    ("in_proj_weight", &[0.024974406, 0.13555616, 0.3398661, 0.42673707, 0.40550858, -0.37044156, -0.080108404, -0.2958688, -0.28567588, 0.11860353, 0.469324, -0.40055197, 0.30260223, -0.25923336, -0.097387135, 0.39688545, -0.11308515, 0.045527875, -0.34951627, 0.42562044, -0.06463492, -0.36569524, 0.14640516, -0.3555087, -0.39675367, 0.030459583, 0.3964218, -0.14149201, 0.23533344, 0.42966062, 0.33163047, -0.26228052, -0.054809928, -0.15734243, -0.40206146, 0.0002065897, 0.37621754, 0.4212578, 0.04665035, 0.11356151, -0.21646082, 0.3774212, -0.20805424, -0.3473264, 0.07699674, 0.2996927, -0.45079577, 0.45198375]),
    ("in_proj_bias", &[0.17986554, -0.3503064, -0.107703745, 0.43378997, -0.38361734, -0.14613861, 0.16399014, -0.43804252, 0.2740991, 0.2602738, 0.31010276, -0.31877357]),
    ("out_proj.weight", &[0.4980005, -0.29638076, 0.49917024, -0.47984523, -0.445485, 0.30709815, 0.052256465, 0.028844655, -0.2768792, -0.20973772, -0.14619374, -0.4870777, 0.025984347, 0.08842945, -0.0004233122, 0.16146517]),
    ("out_proj.bias", &[0.4744255, 0.13294202, -0.18303621, -0.20577335]),
];
const ATTENTION_PARAMETERS: usize = 80;
#[rustfmt::skip]
const ATTENTION_OUTPUT: [f32; 32] = [0.74946034, -0.06353131, -0.314631, -0.19477017, 0.7841469, -0.08766483, -0.31442788, -0.19783875, 0.6338749, 0.0045437217, -0.39103502, -0.16557515, 0.7156785, -0.067791656, -0.4818482, -0.14953846, 0.98974013, 0.116523154, -0.20305867, -0.2389472, 0.95361155, 0.10832361, -0.18703908, -0.24062735, 0.91470325, 0.13568276, -0.19223528, -0.23546079, 0.9960788, 0.111131236, -0.18384096, -0.24488556];
#[rustfmt::skip]
const TRANSFORMER_WEIGHTS: &[(&str, &[f32])] = &[
    ("self_attn.in_proj_weight", &[0.11170083, -0.3275174, -0.19859773, 0.088534415, -0.19659, -0.07911146, -0.47391218, -0.47143662, 0.19368154, -0.21163923, -0.3041948, -0.19729114, -0.40878427, -0.3997001, 0.29918617, 0.25412107, 0.06660175, -0.27312982, 0.16635048, 0.022462606, -0.3573364, 0.10759491, 0.45527196, -0.49180317, -0.49719608, 0.064062476, 0.37651116, -0.30424488, 0.11006856, 0.35149264, 0.15415817, 0.10820538, 0.49886298, 0.32573634, -0.28121352, 0.043218255, 0.25543618, 0.44095474, -0.49746644, 0.27075267, -0.14516592, -0.4896106, 0.11098701, -0.27220684, 0.070856094, -0.32462347, -0.3762645, -0.042425513]),
    ("self_attn.in_proj_bias", &[-0.16796285, 0.29243237, 0.04310906, 0.3902793, 0.09370148, -0.16078067, 0.3386668, 0.02732253, 0.093845844, -0.1608113, 0.0017943978, -0.09613657]),
    ("self_attn.out_proj.weight", &[-0.04250866, -0.38993967, -0.003074944, -0.41502213, -0.1075654, 0.2897731, -0.34767514, -0.33702588, -0.12208825, -0.13706702, 0.08464372, 0.08300781, 0.25354826, -0.34444028, -0.035285592, 0.27964562]),
    ("self_attn.out_proj.bias", &[0.43248576, -0.036472738, -0.2893101, 0.1437313]),
    ("linear1.weight", &[0.28473866, -0.31237495, -0.2901467, 0.22099912, -0.035032988, -0.47224933, -0.28829253, 0.20276642, -0.16958785, 0.34511453, 0.39526993, 0.07273495, -0.03953737, -0.15871358, -0.02528292, 0.09101045, -0.38192552, -0.119497836, -0.41590047, 0.30687743, -0.31841815, 0.4567719, -0.1288904, -0.28643763, 0.24022657, 0.07453954, 0.346228, 0.20873487, -0.48166972, 0.3162452, -0.09415692, -0.22098553]),
    ("linear1.bias", &[0.31752694, 0.36466515, -0.43946534, -0.045211673, 0.41060328, 0.19364339, 0.42123467, -0.17134935]),
    ("linear2.weight", &[-0.2758212, 0.42995483, 0.20841146, 0.47999126, -0.2088483, -0.32103342, -0.058606446, -0.47078997, 0.19598758, 0.3687942, 0.120028436, -0.04940343, 0.24790317, -0.31737566, 0.48912156, -0.49717182, -0.4789726, -0.11815083, 0.40842223, 0.050062895, 0.19202286, -0.36650342, 0.18234289, -0.055871725, 0.2004118, 0.35312128, 0.21734011, -0.042532086, -0.030799568, -0.3135901, -0.18085104, 0.32491904]),
    ("linear2.bias", &[-0.20049828, 0.31051987, -0.19826597, -0.116449416]),
    ("norm1.weight", &[0.010641098, -0.45883274, -0.004992485, -0.050397873]),
    ("norm1.bias", &[-0.04491818, -0.0999521, 0.39418864, 0.36899358]),
    ("norm2.weight", &[-0.33887863, 0.23226339, -0.3921913, -0.42566067]),
    ("norm2.bias", &[0.15284097, 0.0073482394, -0.23325318, -0.48225188]),
];
const TRANSFORMER_PARAMETERS: usize = 172;
#[rustfmt::skip]
const TRANSFORMER_OUTPUT: [f32; 32] = [0.5321579, 0.3792475, -0.21058491, -0.3017431, 0.53600305, 0.37842658, -0.20955734, -0.30919254, 0.6148117, 0.34507412, -0.17345667, -0.5084884, 0.60045034, 0.3549212, -0.20359883, -0.43968853, 0.6053096, 0.35110852, -0.16974793, -0.48951903, 0.6385345, 0.18034947, -0.07038712, -0.9520365, 0.60362977, 0.083442606, -0.07690402, -1.0787178, 0.59782624, 0.35625634, -0.20498618, -0.43243974];
#[rustfmt::skip]
const TRANSFORMER_GRAD_IN_PROJ_WEIGHT: [f32; 48] = [0.004768843, -0.0010415243, -0.00061357376, -0.0037878188, 0.013727864, 0.0051028114, 0.00036993172, -0.015096785, 0.0048738546, -0.0012140515, 0.00087966735, 0.0010899911, 0.027891666, 0.0024048549, 0.0055854083, 0.010368548, -0.012866067, -0.008357748, -0.0028933445, 0.0069959457, 0.0044129686, 0.0009899377, 0.0033828272, -0.005936506, -0.00055491814, 0.00021474173, -3.527388e-05, -0.00051308196, -0.016173892, -0.03911535, -0.022841169, 0.0016110818, -0.035208397, 0.024172595, 0.010972902, -0.012142736, 0.032472566, -0.020255636, -0.013766477, 0.014225765, -0.02770612, 0.030415481, 0.014929216, -0.0065296125, -0.10636073, 0.08565735, 0.03000771, -0.018004715];
#[rustfmt::skip]
const TRANSFORMER_GRAD_LINEAR1_WEIGHT: [f32; 32] = [-0.0047123227, 0.16080575, -0.034290314, -0.05230219, 0.0038997647, 0.23447292, -0.07932692, -0.09046045, 0.0, 0.0, 0.0, 0.0, 0.008486941, 0.13574407, -0.07905756, -0.08444967, -0.011367541, -0.20726918, 0.09244355, 0.089361146, -5.4169446e-05, 0.013968868, 0.0009307241, 0.0018320314, -0.01599199, -0.24937019, 0.11835463, 0.109416805, 0.0, 0.0, 0.0, 0.0];
#[rustfmt::skip]
const TRANSFORMER_GRAD_NORM1_WEIGHT: [f32; 4] = [0.020101875, 0.6705977, -1.4594446, 0.4273122];
#[rustfmt::skip]
const POSITIONAL_4: [f32; 24] = [0.0, 1.0, 0.0, 1.0, 0.84147096, 0.5403023, 0.009999833, 0.99995, 0.9092974, -0.41614684, 0.019998666, 0.9998, 0.14112, -0.9899925, 0.029995501, 0.99955004, -0.7568025, -0.6536436, 0.039989334, 0.9992001, -0.9589243, 0.2836622, 0.04997917, 0.99875027];
#[rustfmt::skip]
const POSITIONAL_5: [f32; 30] = [0.0, 1.0, 0.0, 1.0, 0.0, 0.84147096, 0.5403023, 0.025116222, 0.9996845, 0.0006309573, 0.9092974, -0.41614684, 0.0502166, 0.99873835, 0.0012619144, 0.14112, -0.9899925, 0.07528529, 0.99716204, 0.0018928709, -0.7568025, -0.6536436, 0.10030649, 0.9949566, 0.0025238267, -0.9589243, 0.2836622, 0.12526439, 0.99212337, 0.0031547814];
#[rustfmt::skip]
const XD_PLUS_POSITIONAL: [f32; 32] = [-0.21586326, 0.25745183, 0.5627214, 1.2596273, 0.66751, -0.13844395, 0.94826055, 1.4888198, 2.1125212, -0.33161214, -1.1801407, 0.9950143, -0.3769548, -1.2966967, -1.5509984, 2.7061934, 0.20552567, 0.5496702, -0.5730771, 0.4446416, 1.435794, 2.0822449, 0.5173342, 0.40891683, -0.41602856, -0.22759327, -0.04907402, 0.5048747, -1.354795, -1.1838297, 0.47550768, 2.3248248];
