//! Parser tests of `[model]` (issue 4): each layer type with its defaults,
//! the declared input shape, the resolved spec, and each rejection.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::num::NonZeroU32;
use std::path::Path;

use crate::*;

const MLP: &str = include_str!("../../../experiments/mlp.toml");
const LAYERS: &str = "layers = [
  { type = \"linear\", units = 64 },
  { type = \"relu\" },
  { type = \"linear\", units = 1 },
]";

/// mlp.toml with its `[model]` body (`layers = …`) replaced by `body`.
fn with_model(body: &str) -> String {
    assert!(MLP.contains(LAYERS), "mlp.toml changed its layers");
    MLP.replacen(LAYERS, body, 1)
}

fn parse(body: &str) -> ModelSpec {
    let text = with_model(body);
    Spec::parse(Path::new("spec.toml"), &text, &[])
        .unwrap_or_else(|e| panic!("{e}\n---\n{text}"))
        .model
}

fn err(body: &str) -> SpecError {
    Spec::parse(Path::new("spec.toml"), &with_model(body), &[])
        .expect_err("the spec should be rejected")
}

/// The first layer of `layers = [LAYER, { type = "linear", units = 1 }]`.
fn first(layer: &str) -> Layer {
    parse(&format!(
        "layers = [{layer}, {{ type = \"linear\", units = 1 }}]"
    ))
    .layers[0]
        .clone()
}

fn n(value: u32) -> NonZeroU32 {
    NonZeroU32::new(value).unwrap()
}

#[test]
fn activations_parse_with_their_defaults() {
    assert_eq!(
        first("{ type = \"leaky_relu\" }"),
        Layer::LeakyRelu {
            negative_slope: defaults::LEAKY_RELU_NEGATIVE_SLOPE
        }
    );
    assert_eq!(
        first("{ type = \"leaky_relu\", negative_slope = 0.2 }"),
        Layer::LeakyRelu {
            negative_slope: 0.2
        }
    );
    assert_eq!(first("{ type = \"silu\" }"), Layer::Silu);
    assert_eq!(first("{ type = \"flatten\" }"), Layer::Flatten);
    assert_eq!(first("{ type = \"batch_norm\" }"), Layer::BatchNorm);
    assert_eq!(first("{ type = \"layer_norm\" }"), Layer::LayerNorm);
}

#[test]
fn convolutions_parse_with_their_defaults() {
    assert_eq!(
        first("{ type = \"conv2d\", filters = 16, kernel = 3 }"),
        Layer::Conv2d(Convolution {
            filters: n(16),
            kernel: n(3),
            stride: n(1),
            padding: 0,
            bias: true,
        })
    );
    assert_eq!(
        first(
            "{ type = \"conv1d\", filters = 4, kernel = 5, stride = 2, padding = 2, bias = false }"
        ),
        Layer::Conv1d(Convolution {
            filters: n(4),
            kernel: n(5),
            stride: n(2),
            padding: 2,
            bias: false,
        })
    );
}

#[test]
fn pooling_stride_defaults_to_the_kernel() {
    let pooling = |kernel, stride| Pooling {
        kernel: n(kernel),
        stride: n(stride),
    };
    assert_eq!(
        first("{ type = \"max_pool2d\", kernel = 2 }"),
        Layer::MaxPool2d(pooling(2, 2))
    );
    assert_eq!(
        first("{ type = \"max_pool1d\", kernel = 3, stride = 1 }"),
        Layer::MaxPool1d(pooling(3, 1))
    );
    assert_eq!(
        first("{ type = \"avg_pool2d\", kernel = 3 }"),
        Layer::AvgPool2d(pooling(3, 3))
    );
    assert_eq!(
        first("{ type = \"avg_pool1d\", kernel = 4, stride = 2 }"),
        Layer::AvgPool1d(pooling(4, 2))
    );
}

#[test]
fn embedding_parses() {
    assert_eq!(
        first("{ type = \"embedding\", vocabulary = 100, dimensions = 8 }"),
        Layer::Embedding {
            vocabulary: n(100),
            dimensions: n(8)
        }
    );
}

#[test]
fn input_shape_parses_and_is_optional() {
    assert_eq!(parse(LAYERS).input, None);
    let model = parse(&format!("input = [1, 8, 8]\n{LAYERS}"));
    assert_eq!(model.input, Some(vec![n(1), n(8), n(8)]));
    assert_eq!(
        parse(&format!("input = [5, 2]\n{LAYERS}")).input,
        Some(vec![n(5), n(2)])
    );
}

#[test]
fn softmax_may_end_the_model_after_its_last_linear_layer() {
    let model = parse("layers = [{ type = \"linear\", units = 1 }, { type = \"softmax\" }]");
    assert_eq!(model.layers[1], Layer::Softmax);

    let e = err("layers = [{ type = \"softmax\" }, { type = \"linear\", units = 3 }]");
    assert!(
        e.message.contains("softmax may only be the last layer"),
        "{e}"
    );
    assert!(e.location.unwrap().line_text.contains("softmax"));
    let e = err(
        "layers = [{ type = \"linear\", units = 3 }, { type = \"relu\" }, { type = \"softmax\" }]",
    );
    assert!(e.message.contains("the last layer must be linear"), "{e}");
}

#[test]
fn every_layer_round_trips_through_the_resolved_spec() {
    let body = "input = [2, 6, 6]
layers = [
  { type = \"conv2d\", filters = 4, kernel = 3, padding = 1 },
  { type = \"batch_norm\" },
  { type = \"leaky_relu\", negative_slope = 0.1 },
  { type = \"max_pool2d\", kernel = 2 },
  { type = \"avg_pool2d\", kernel = 3, stride = 1 },
  { type = \"flatten\" },
  { type = \"layer_norm\" },
  { type = \"silu\" },
  { type = \"dropout\", rate = 0.1 },
  { type = \"linear\", units = 1, bias = false },
  { type = \"softmax\" },
]";
    let spec = Spec::parse(Path::new("spec.toml"), &with_model(body), &[]).unwrap();
    let resolved = spec.to_toml();
    let again = Spec::parse(Path::new("resolved.toml"), &resolved, &[]).unwrap();
    assert_eq!(spec, again, "{resolved}");
    assert!(resolved.contains("input = [2, 6, 6]"), "{resolved}");

    let sequence = "layers = [
  { type = \"embedding\", vocabulary = 10, dimensions = 4 },
  { type = \"conv1d\", filters = 2, kernel = 3, stride = 2 },
  { type = \"max_pool1d\", kernel = 2 },
  { type = \"avg_pool1d\", kernel = 1 },
  { type = \"flatten\" },
  { type = \"linear\", units = 1 },
]";
    let spec = Spec::parse(Path::new("spec.toml"), &with_model(sequence), &[]).unwrap();
    let again = Spec::parse(Path::new("resolved.toml"), &spec.to_toml(), &[]).unwrap();
    assert_eq!(spec, again);
    // No `input` written when none was declared: old specs hash the same.
    assert!(!spec.to_toml().contains("input"));
}

#[test]
fn a_key_of_another_layer_type_is_an_error_with_the_keys_it_takes() {
    let cases = [
        (
            "{ type = \"conv2d\", filters = 4, kernel = 3, units = 2 }",
            "`units` does not apply to a `conv2d` layer",
            "`filters`, `kernel`, `stride`, `padding`, `bias`",
        ),
        (
            "{ type = \"max_pool2d\", kernel = 2, padding = 1 }",
            "`padding` does not apply to a `max_pool2d` layer",
            "`kernel`, `stride`",
        ),
        (
            "{ type = \"batch_norm\", rate = 0.1 }",
            "`rate` does not apply to a `batch_norm` layer",
            "takes no settings",
        ),
        (
            "{ type = \"relu\", negative_slope = 0.1 }",
            "`negative_slope` does not apply to a `relu` layer",
            "takes no settings",
        ),
        (
            "{ type = \"embedding\", vocabulary = 4, dimensions = 2, bias = true }",
            "`bias` does not apply to a `embedding` layer",
            "`vocabulary`, `dimensions`",
        ),
    ];
    for (layer, message, hint) in cases {
        let e = err(&format!(
            "layers = [{layer}, {{ type = \"linear\", units = 1 }}]"
        ));
        assert!(e.message.contains(message), "{layer}: {e}");
        assert!(
            e.hint.as_deref().unwrap_or("").contains(hint),
            "{layer}: {e}"
        );
        let location = e.location.unwrap();
        assert_eq!(location.line, 15, "{layer}");
        let key = message.split('`').nth(1).unwrap();
        assert_eq!(
            location.column,
            location.line_text.find(key).unwrap() + key.len() + " = ".len() + 1,
            "{layer}: the column points at the value of `{key}`"
        );
    }
}

#[test]
fn missing_and_bad_values_are_errors() {
    let cases = [
        (
            "{ type = \"conv2d\", kernel = 3 }",
            "conv2d layer 0 has no `filters`",
        ),
        (
            "{ type = \"conv1d\", filters = 3 }",
            "conv1d layer 0 has no `kernel`",
        ),
        (
            "{ type = \"max_pool2d\" }",
            "max_pool2d layer 0 has no `kernel`",
        ),
        (
            "{ type = \"embedding\", vocabulary = 10 }",
            "embedding layer 0 has no `dimensions`",
        ),
        (
            "{ type = \"conv2d\", filters = 0, kernel = 3 }",
            "`filters` of a conv2d layer must be a whole number of at least 1; got 0",
        ),
        (
            "{ type = \"conv2d\", filters = 2, kernel = 3, stride = 0 }",
            "`stride` of a conv2d layer must be a whole number of at least 1",
        ),
        (
            "{ type = \"conv2d\", filters = 2, kernel = 3, padding = -1 }",
            "`padding` of a conv2d layer must be a whole number of at least 0",
        ),
        (
            "{ type = \"avg_pool1d\", kernel = -2 }",
            "`kernel` of a avg_pool1d layer must be a whole number of at least 1",
        ),
        (
            "{ type = \"leaky_relu\", negative_slope = nan }",
            "`negative_slope` must be a finite number",
        ),
    ];
    for (layer, message) in cases {
        let e = err(&format!(
            "layers = [{layer}, {{ type = \"linear\", units = 1 }}]"
        ));
        assert!(e.message.contains(message), "{layer}: {e}");
        assert!(e.location.is_some(), "{layer}");
    }
    let e = err("layers = [{ type = \"conv2d\", kernel = 3 }, { type = \"linear\", units = 1 }]");
    assert_eq!(
        e.hint.as_deref(),
        Some("for example { type = \"conv2d\", filters = 16, kernel = 3, padding = 1 }")
    );
}

#[test]
fn bad_input_shapes_are_errors() {
    let e = err(&format!("input = []\n{LAYERS}"));
    assert!(
        e.message.contains("`model.input` has 0 dimension(s)"),
        "{e}"
    );
    let e = err(&format!("input = [1, 2, 3, 4]\n{LAYERS}"));
    assert!(
        e.message.contains("has 4 dimension(s); it takes 1 to 3"),
        "{e}"
    );
    let e = err(&format!("input = [1, 0, 8]\n{LAYERS}"));
    assert!(e.message.contains("must be at least 1; got 0"), "{e}");
    assert_eq!(e.location.unwrap().column, 13);
}

/// Issue 4: recurrent and transformer layers, with PyTorch's defaults.
#[test]
fn sequence_layers_parse_with_their_defaults() {
    let recurrent = |units, return_sequences| Recurrent {
        units: n(units),
        return_sequences,
    };
    assert_eq!(
        first("{ type = \"gru\", units = 8 }"),
        Layer::Gru(recurrent(8, false))
    );
    assert_eq!(
        first("{ type = \"lstm\", units = 4, return_sequences = true }"),
        Layer::Lstm(recurrent(4, true))
    );
    assert_eq!(
        first("{ type = \"rnn\", units = 2 }"),
        Layer::Rnn(recurrent(2, false))
    );
    assert_eq!(
        first("{ type = \"transformer\", heads = 2 }"),
        Layer::Transformer(Transformer {
            heads: n(2),
            feedforward: None,
            dropout: defaults::TRANSFORMER_DROPOUT,
        })
    );
    assert_eq!(
        first("{ type = \"transformer\", heads = 4, feedforward = 64, dropout = 0.0 }"),
        Layer::Transformer(Transformer {
            heads: n(4),
            feedforward: Some(n(64)),
            dropout: 0.0,
        })
    );
    for (layer, expected) in [
        ("positional_encoding", Layer::PositionalEncoding),
        ("last_step", Layer::LastStep),
        ("mean_pool", Layer::MeanPool),
    ] {
        assert_eq!(first(&format!("{{ type = \"{layer}\" }}")), expected);
    }
}

#[test]
fn sequence_layer_keys_are_checked_with_line_and_column() {
    let cases = [
        (
            "{ type = \"gru\", units = 8, heads = 2 }",
            "`heads` does not apply to a `gru` layer",
            "`units`, `return_sequences`",
        ),
        (
            "{ type = \"transformer\", heads = 2, units = 8 }",
            "`units` does not apply to a `transformer` layer",
            "`heads`, `feedforward`, `dropout`",
        ),
        (
            "{ type = \"mean_pool\", dropout = 0.1 }",
            "`dropout` does not apply to a `mean_pool` layer",
            "takes no settings",
        ),
    ];
    for (layer, message, hint) in cases {
        let e = err(&format!(
            "layers = [{layer}, {{ type = \"linear\", units = 1 }}]"
        ));
        assert!(e.message.contains(message), "{layer}: {e}");
        assert!(
            e.hint.as_deref().unwrap_or("").contains(hint),
            "{layer}: {e}"
        );
        let location = e.location.unwrap();
        assert_eq!(location.line, 15, "{layer}");
        let key = message.split('`').nth(1).unwrap();
        assert_eq!(
            location.column,
            location.line_text.find(&format!("{key} =")).unwrap() + key.len() + " = ".len() + 1,
            "{layer}: the column points at the value of `{key}`"
        );
    }
    for (layer, message) in [
        ("{ type = \"lstm\" }", "lstm layer 0 has no `units`"),
        (
            "{ type = \"transformer\" }",
            "transformer layer 0 has no `heads`",
        ),
        (
            "{ type = \"transformer\", heads = 2, dropout = 1.0 }",
            "transformer `dropout` must be at least 0 and below 1; got 1",
        ),
        (
            "{ type = \"gru\", units = 0 }",
            "`units` of a gru layer must be a whole number of at least 1; got 0",
        ),
    ] {
        let e = err(&format!(
            "layers = [{layer}, {{ type = \"linear\", units = 1 }}]"
        ));
        assert!(e.message.contains(message), "{layer}: {e}");
    }
}
