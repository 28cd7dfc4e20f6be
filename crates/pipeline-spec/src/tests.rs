//! Parser tests on the shipped first experiment and on each rejection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use crate::*;

const MLP: &str = include_str!("../../../experiments/mlp.toml");

fn parse(text: &str) -> Result<Spec, SpecError> {
    Spec::parse(Path::new("spec.toml"), text, &[])
}

fn err(text: &str) -> SpecError {
    parse(text).expect_err("the spec should be rejected")
}

fn with(key_line: &str, replacement: &str) -> String {
    assert!(MLP.contains(key_line), "{key_line} not in mlp.toml");
    MLP.replacen(key_line, replacement, 1)
}

#[test]
fn the_first_experiment_parses() {
    let spec = parse(MLP).unwrap();
    assert_eq!(spec.name.as_str(), "diabetes-mlp");
    assert_eq!(spec.seed, 42);
    assert_eq!(spec.data.target, "target");
    assert_eq!(spec.data.features, None);
    assert_eq!(spec.data.normalize, Normalize::Zscore);
    assert_eq!(
        spec.model.layers,
        vec![
            Layer::Linear {
                units: 64.try_into().unwrap(),
                bias: true
            },
            Layer::Relu,
            Layer::Linear {
                units: 1.try_into().unwrap(),
                bias: true
            },
        ]
    );
    assert_eq!(spec.loss, Loss::Mse);
    assert_eq!(spec.optimizer.learning_rate(), 1e-3);
    assert!(matches!(spec.optimizer.algorithm, Algorithm::Adam { .. }));
    assert_eq!(spec.optimizer.weight_decay, 0.0);
    assert_eq!(spec.train.monitor.to_string(), "val_loss");
    assert_eq!(spec.selection.direction, Direction::Minimize);
    assert_eq!(spec.output_units(), Some(1));
}

#[test]
fn the_resolved_spec_round_trips() {
    let spec = parse(MLP).unwrap();
    let resolved = spec.to_toml();
    let again = parse(&resolved).unwrap();
    assert_eq!(spec, again);
    assert_eq!(spec.hash(), again.hash());
    assert!(resolved.contains("restore_best = true"), "{resolved}");
}

#[test]
fn defaults_fill_a_minimal_spec() {
    let spec = parse(
        "name = \"m\"\n[data]\npath = \"d.csv\"\ntarget = \"y\"\n[model]\nlayers = [{ type = \"linear\", units = 1 }]\n[loss]\ntype = \"mse\"\n[optimizer]\ntype = \"adamw\"\nlearning_rate = 0.01\n",
    )
    .unwrap();
    assert_eq!(spec.seed, defaults::SEED);
    assert_eq!(spec.train.epochs, defaults::EPOCHS);
    assert_eq!(spec.train.batch_size, defaults::BATCH_SIZE);
    assert_eq!(spec.data.split.train, defaults::SPLIT_TRAIN);
    assert!(
        matches!(spec.optimizer.algorithm, Algorithm::AdamW { .. })
            && spec.optimizer.weight_decay == defaults::ADAMW_WEIGHT_DECAY
    );
}

#[test]
fn unknown_key_has_position_and_did_you_mean() {
    let e = err(&with("epochs = 500", "epoch = 500"));
    let loc = e.location.clone().unwrap();
    assert_eq!(loc.line_text, "epoch = 500");
    assert_eq!(loc.column, 1);
    assert_eq!(e.message, "unknown key `epoch`");
    assert_eq!(e.hint.as_deref(), Some("did you mean `epochs`?"));
}

#[test]
fn unknown_key_inside_a_layer() {
    let e = err(&with("units = 64", "unit = 64"));
    assert_eq!(e.message, "unknown key `unit`");
    assert_eq!(e.hint.as_deref(), Some("did you mean `units`?"));
    assert!(e.location.unwrap().line_text.contains("unit = 64"));
}

#[test]
fn unknown_value_has_did_you_mean() {
    let e = err(&with("type = \"adam\"", "type = \"adamm\""));
    assert_eq!(e.message, "unknown value `adamm`");
    assert_eq!(e.hint.as_deref(), Some("did you mean `adam`?"));
}

#[test]
fn rejects_bad_values() {
    let cases = [
        (
            with("learning_rate = 1e-3", "learning_rate = 0"),
            "`learning_rate` must be greater than 0",
        ),
        (
            with("learning_rate = 1e-3", "learning_rate = -1"),
            "`learning_rate` must be greater than 0",
        ),
        (
            with("test = 0.15", "test = 0.25"),
            "split fractions must sum to 1",
        ),
        (
            with("units = 64", "units = 0"),
            "a linear layer needs at least 1 unit",
        ),
        (
            with("epochs = 500", "epochs = 0"),
            "`train.epochs` must be a whole number of at least 1",
        ),
        (
            with("monitor = \"val_loss\"", "monitor = \"test_loss\""),
            "may not use the test split",
        ),
        (
            with("monitor = \"val_loss\"", "monitor = \"val_los\""),
            "unknown metric",
        ),
        (
            with("{ type = \"relu\" }", "{ type = \"relu\", units = 3 }"),
            "does not apply to a `relu` layer",
        ),
        (
            with("{ type = \"linear\", units = 1 },", "{ type = \"relu\" },"),
            "the last layer must be linear",
        ),
        (
            with("name = \"diabetes-mlp\"", "name = \"has space\""),
            "`name` must be",
        ),
        (
            with(
                "learning_rate = 1e-3",
                "learning_rate = 1e-3\nmomentum = 0.9",
            ),
            "`momentum` does not apply to the `adam` optimizer",
        ),
    ];
    for (text, expected) in cases {
        let e = err(&text);
        assert!(
            e.message.contains(expected),
            "expected {expected:?}, got {e}"
        );
        assert!(e.location.is_some(), "no location in {e}");
    }
}

#[test]
fn display_shows_file_line_caret_and_hint() {
    let e = err(&with("epochs = 500", "epoch = 500"));
    let text = e.to_string();
    let line = MLP.lines().position(|l| l == "epochs = 500").unwrap() + 1;
    assert!(
        text.starts_with(&format!("spec.toml:{line}:1: unknown key `epoch`")),
        "{text}"
    );
    assert!(text.contains("| ^^^^^"), "{text}");
    assert!(text.ends_with("hint: did you mean `epochs`?"), "{text}");
}

#[test]
fn overrides_apply_and_are_validated() {
    let set = |s: &str| s.parse::<Override>().unwrap();
    let spec = Spec::parse(
        Path::new("s.toml"),
        MLP,
        &[set("train.epochs=5"), set("optimizer.learning_rate=0.01")],
    )
    .unwrap();
    assert_eq!(spec.train.epochs, 5);
    assert_eq!(spec.optimizer.learning_rate(), 0.01);
    let spec = Spec::parse(Path::new("s.toml"), MLP, &[set("model.layers.0.units=8")]).unwrap();
    assert!(matches!(spec.model.layers[0], Layer::Linear { units, .. } if units.get() == 8));

    let e = Spec::parse(Path::new("s.toml"), MLP, &[set("train.epoch=5")]).unwrap_err();
    assert!(matches!(e.kind, SpecErrorKind::Override));
    assert!(e.message.contains("unknown key `epoch`"), "{e}");
    assert_eq!(e.hint.as_deref(), Some("did you mean `epochs`?"));
    let e = Spec::parse(
        Path::new("s.toml"),
        MLP,
        &[set("optimizer.learning_rate=-1")],
    )
    .unwrap_err();
    assert!(e.message.contains("must be greater than 0"), "{e}");
}

#[test]
fn malformed_toml_is_located() {
    let e = err("name = \"x\"\n[data\n");
    assert!(e.location.is_some(), "{e}");
}
