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
    assert_eq!(spec.data.target, Targets::one("target"));
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

/// Issue 18: `p` in a dropout layer was offered `padding` (a conv key).
#[test]
fn unknown_key_in_a_layer_is_matched_against_that_layer_type() {
    let dropout = |key: &str| {
        err(&with(
            "{ type = \"relu\" }",
            &format!("{{ type = \"relu\" }},\n  {{ type = \"dropout\", {key} = 0.5 }}"),
        ))
    };
    let e = dropout("p");
    assert_eq!(e.message, "unknown key `p`");
    assert_eq!(
        e.hint.as_deref(),
        Some("did you mean `rate`? (PyTorch's `p`)")
    );
    assert_eq!(dropout("rat").hint.as_deref(), Some("did you mean `rate`?"));
    assert_eq!(
        dropout("inplace").hint.as_deref(),
        Some("a `dropout` layer takes `rate`")
    );
    let e = err(&with("units = 64", "out_features = 64"));
    assert_eq!(
        e.hint.as_deref(),
        Some("did you mean `units`? (PyTorch's `out_features`)")
    );
    // The array-of-tables form is read the same way.
    let tables = MLP.replace(
        "layers = [\n  { type = \"linear\", units = 64 },\n  { type = \"relu\" },\n  { type = \"linear\", units = 1 },\n]\n",
        "[[model.layers]]\ntype = \"linear\"\nunits = 64\n\n[[model.layers]]\ntype = \"dropout\"\np = 0.1\n\n[[model.layers]]\ntype = \"linear\"\nunits = 1\n",
    );
    assert_ne!(tables, MLP);
    assert_eq!(
        err(&tables).hint.as_deref(),
        Some("did you mean `rate`? (PyTorch's `p`)")
    );
    // A key outside the layers keeps the plain did-you-mean.
    let e = err(&with("epochs = 500", "epoch = 500"));
    assert_eq!(e.hint.as_deref(), Some("did you mean `epochs`?"));
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

/// Issue 18: a value beyond a limit was told the other limit ("needs at least 1
/// unit" for 99999999999), and `inf` was told it was not greater than 0.
#[test]
fn out_of_range_values_are_told_the_limit_they_broke() {
    let cases = [
        (
            with("units = 64", "units = 99999999999"),
            "a linear layer has at most 4294967295 units; got 99999999999",
        ),
        (
            with("epochs = 500", "epochs = 4294967296"),
            "`train.epochs` must be at most 4294967295; got 4294967296",
        ),
        (
            with("batch_size = 32", "batch_size = -3"),
            "`train.batch_size` must be a whole number of at least 1; got -3",
        ),
        (
            with("learning_rate = 1e-3", "learning_rate = inf"),
            "`learning_rate` must be a finite number greater than 0; got inf",
        ),
        (
            with("learning_rate = 1e-3", "learning_rate = nan"),
            "`learning_rate` must be a finite number greater than 0; got NaN",
        ),
        (
            with(
                "{ type = \"relu\" }",
                "{ type = \"rnn\", units = 5000000000 }",
            ),
            "`units` of a rnn layer must be at most 4294967295; got 5000000000",
        ),
    ];
    for (text, expected) in cases {
        let e = err(&text);
        assert_eq!(e.message, expected);
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

// Issue 3: the `[data]` keys that real tables need.

const MESSY: &str = r#"name = "messy"
[data]
path = "d.csv"
target = "y"
features = ["p*", "age", "color", "zip", "bmi"]
exclude = ["p_id"]
missing = "median"
encode = "onehot"
unknown = "ignore"
normalize = "robust"

[data.types]
zip = "categorical"
age = "float"

[data.columns.bmi]
missing = { constant = 0.0 }
normalize = "minmax"

[data.columns.color]
missing = "mode"
encode = "ordinal"
unknown = "error"

[model]
layers = [{ type = "linear", units = 1 }]
[loss]
type = "mse"
[optimizer]
type = "adam"
learning_rate = 0.01
"#;

fn messy_with(from: &str, to: &str) -> String {
    assert!(MESSY.contains(from), "{from} not in MESSY");
    MESSY.replacen(from, to, 1)
}

#[test]
fn data_column_settings_parse() {
    let spec = parse(MESSY).unwrap();
    let data = &spec.data;
    assert_eq!(
        data.features.as_deref().unwrap(),
        ["p*", "age", "color", "zip", "bmi"]
    );
    assert_eq!(data.exclude, ["p_id"]);
    assert_eq!(data.missing, Missing::Median);
    assert_eq!(data.unknown, UnknownCategory::Ignore);
    assert_eq!(data.normalize, Normalize::Robust);
    assert_eq!(data.types.get("zip"), Some(&ColumnType::Categorical));
    assert_eq!(data.types.get("age"), Some(&ColumnType::Float));

    let bmi = data.column_options("bmi");
    assert_eq!(bmi.missing, Missing::Constant(FillValue::Number(0.0)));
    assert!(bmi.missing_is_own);
    assert_eq!(bmi.normalize, Normalize::Minmax);
    let color = data.column_options("color");
    assert_eq!(
        (color.missing, color.encode, color.unknown),
        (Missing::Mode, Encode::Ordinal, UnknownCategory::Error)
    );
    // A column without settings inherits [data].
    let p1 = data.column_options("p1");
    assert_eq!(
        (
            p1.missing,
            p1.missing_is_own,
            p1.normalize,
            p1.encode,
            p1.unknown
        ),
        (
            Missing::Median,
            false,
            Normalize::Robust,
            Encode::Onehot,
            UnknownCategory::Ignore
        )
    );
    assert_eq!(
        data.column_options("zip").declared_type,
        Some(ColumnType::Categorical)
    );
}

#[test]
fn data_column_settings_round_trip_through_the_resolved_spec() {
    let spec = parse(MESSY).unwrap();
    let resolved = spec.to_toml();
    assert_eq!(parse(&resolved).unwrap(), spec, "{resolved}");
    let text = messy_with("missing = \"mode\"", "missing = { constant = \"none\" }");
    let spec = parse(&text).unwrap();
    assert_eq!(parse(&spec.to_toml()).unwrap(), spec);
}

#[test]
fn new_defaults_stay_out_of_the_resolved_spec() {
    // Specs written before these keys existed keep their resolved text and
    // hash, so recorded runs still compare as reproductions.
    let resolved = parse(MLP).unwrap().to_toml();
    for key in [
        "missing", "encode", "unknown", "exclude", "types", "columns",
    ] {
        assert!(!resolved.contains(key), "{key} in:\n{resolved}");
    }
    let spec = parse(MLP).unwrap();
    assert_eq!(spec.data.missing, defaults::MISSING);
    assert_eq!(spec.data.encode, defaults::ENCODE);
    assert_eq!(spec.data.unknown, defaults::UNKNOWN);
    // ... and `run --dry-run` lists them after it, so every default shows.
    let implicit = spec.implicit_defaults();
    for line in [
        "data.missing = \"error\"",
        "data.encode = \"onehot\"",
        "data.unknown = \"error\"",
        "train.precision = \"f32\"",
    ] {
        assert!(
            implicit.iter().any(|l| l == line),
            "{line} not in {implicit:?}"
        );
    }
    // A key set away from its default is in the resolved spec, not listed.
    let median = parse(&MLP.replace("[data]\n", "[data]\nmissing = \"median\"\n")).unwrap();
    assert!(median.to_toml().contains("missing = \"median\""));
    assert!(
        !median
            .implicit_defaults()
            .iter()
            .any(|l| l.starts_with("data.missing"))
    );
}

#[test]
fn misspelt_data_settings_get_did_you_mean() {
    let cases = [
        (
            messy_with("missing = \"median\"", "missing = \"meadian\""),
            "missing = \"meadian\"",
            "unknown value `meadian`",
            "did you mean `median`?",
        ),
        (
            messy_with(
                "missing = { constant = 0.0 }",
                "missing = { constnt = 0.0 }",
            ),
            "missing = { constnt = 0.0 }",
            "unknown key `constnt`",
            "did you mean `constant`?",
        ),
        (
            messy_with("zip = \"categorical\"", "zip = \"categorial\""),
            "zip = \"categorial\"",
            "unknown value `categorial`",
            "did you mean `categorical`?",
        ),
        (
            messy_with("normalize = \"minmax\"", "normalize = \"robst\""),
            "normalize = \"robst\"",
            "unknown value `robst`",
            "did you mean `robust`?",
        ),
        (
            messy_with("encode = \"ordinal\"", "encod = \"ordinal\""),
            "encod = \"ordinal\"",
            "unknown key `encod`",
            "did you mean `encode`?",
        ),
        (
            messy_with("unknown = \"ignore\"", "unknown = \"ignor\""),
            "unknown = \"ignor\"",
            "unknown value `ignor`",
            "did you mean `ignore`?",
        ),
        (
            messy_with("exclude = [\"p_id\"]", "exclud = [\"p_id\"]"),
            "exclud = [\"p_id\"]",
            "unknown key `exclud`",
            "did you mean `exclude`?",
        ),
    ];
    for (text, line, message, hint) in cases {
        let e = err(&text);
        assert_eq!(e.message, message, "{e}");
        assert_eq!(e.hint.as_deref(), Some(hint), "{e}");
        assert_eq!(e.location.unwrap().line_text, line);
    }
}

#[test]
fn a_misspelt_missing_value_is_shown_in_full() {
    let e = err(&messy_with("missing = \"median\"", "missing = \"meadian\""));
    assert_eq!(
        e.to_string(),
        "spec.toml:7:11: unknown value `meadian`\n  |\n7 | missing = \"meadian\"\n  |           ^^^^^^^^^\nhint: did you mean `median`?"
    );
}

#[test]
fn contradictory_data_settings_are_rejected() {
    let cases = [
        (
            messy_with(
                "[data.columns.bmi]",
                "[data.columns.age]\nencode = \"ordinal\"\n[data.columns.bmi]",
            ),
            "data.columns.age.encode",
            "`encode` applies to categorical columns; `data.types` declares this one \"float\"",
        ),
        (
            messy_with(
                "[data.columns.bmi]",
                "[data.columns.zip]\nmissing = \"mean\"\n[data.columns.bmi]",
            ),
            "data.columns.zip.missing",
            "`missing = \"mean\"` needs numbers; `data.types` declares this column \"categorical\"",
        ),
        (
            messy_with("age = \"float\"", "y = \"float\""),
            "data.types.y",
            "`y` is the target; `data.types` is for feature columns",
        ),
        (
            messy_with(
                "[data.columns.bmi]",
                "[data.columns.y]\nmissing = \"drop\"\n[data.columns.bmi]",
            ),
            "data.columns.y",
            "`y` is the target; `data.columns` is for feature columns",
        ),
        (
            messy_with("exclude = [\"p_id\"]", "exclude = [\"p_id\", \"y\"]"),
            "data.exclude",
            "the target column `y` is listed in `data.exclude`",
        ),
        (
            messy_with("exclude = [\"p_id\"]", "exclude = []"),
            "data.exclude",
            "`data.exclude` is an empty list",
        ),
        (
            messy_with("exclude = [\"p_id\"]", "exclude = [\"p_id\", \"p_id\"]"),
            "data.exclude",
            "column `p_id` is listed twice in `data.exclude`",
        ),
        (
            messy_with(
                "missing = { constant = 0.0 }",
                "missing = { constant = nan }",
            ),
            "data.columns.bmi.missing",
            "`data.columns.bmi.missing` constant must be a finite number; got NaN",
        ),
    ];
    for (text, key, message) in cases {
        let e = err(&text);
        assert_eq!(e.key.as_deref(), Some(key), "{e}");
        assert_eq!(e.message, message, "{e}");
        assert!(e.location.is_some(), "no location in {e}");
    }
}

#[test]
fn data_settings_can_be_overridden() {
    let set = |s: &str| s.parse::<Override>().unwrap();
    let spec = Spec::parse(
        Path::new("s.toml"),
        MESSY,
        &[
            set("data.missing=mean"),
            set("data.columns.bmi.normalize=none"),
            set("data.unknown=error"),
        ],
    )
    .unwrap();
    assert_eq!(spec.data.missing, Missing::Mean);
    assert_eq!(spec.data.column_options("bmi").normalize, Normalize::None);
    assert_eq!(spec.data.unknown, UnknownCategory::Error);
    let e = Spec::parse(Path::new("s.toml"), MESSY, &[set("data.missing=avg")]).unwrap_err();
    assert!(e.message.contains("unknown value `avg`"), "{e}");
}

const BREAST_CANCER: &str = include_str!("../../../experiments/breast_cancer.toml");
const IRIS: &str = include_str!("../../../experiments/iris.toml");

#[test]
fn classification_specs_parse_with_their_defaults() {
    let spec = parse(BREAST_CANCER).unwrap();
    assert_eq!(spec.data.task, Task::Binary);
    assert!(
        spec.data.stratify,
        "classification splits are stratified by default"
    );
    assert_eq!(spec.loss, Loss::BinaryCrossEntropy { pos_weight: None });
    assert_eq!(spec.selection.direction, Direction::Maximize);
    let resolved = spec.to_toml();
    assert!(
        resolved.contains("type = \"binary_cross_entropy\""),
        "{resolved}"
    );
    assert_eq!(parse(&resolved).unwrap(), spec);

    let spec = parse(IRIS).unwrap();
    assert_eq!(
        spec.loss,
        Loss::CrossEntropy {
            class_weights: None,
            label_smoothing: 0.05
        }
    );
    // Ordered splits are not stratified.
    let ordered = parse(&IRIS.replace(
        "normalize = \"zscore\"",
        "normalize = \"zscore\"\nshuffle = false",
    ))
    .unwrap();
    assert!(!ordered.data.stratify);
}

#[test]
fn several_targets_are_for_regression() {
    let text = with("target = \"target\"", "target = [\"a\", \"b\"]").replace(
        "{ type = \"linear\", units = 1 }",
        "{ type = \"linear\", units = 2 }",
    );
    let spec = parse(&text).unwrap();
    assert_eq!(spec.data.target.columns(), ["a", "b"]);
    assert!(spec.to_toml().contains("target = [\"a\", \"b\"]"));
    // One output for two targets.
    let e = err(&with("target = \"target\"", "target = [\"a\", \"b\"]"));
    assert_eq!(e.key.as_deref(), Some("model.layers"));
    assert!(e.message.contains("predicts 2 targets"), "{}", e.message);
    // A classifier has one label column.
    let e = err(&IRIS.replace("target = \"label\"", "target = [\"label\", \"other\"]"));
    assert_eq!(e.key.as_deref(), Some("data.target"));
}

#[test]
fn task_loss_and_outputs_must_agree() {
    let cases: [(&str, &str, &str, &str); 8] = [
        (
            BREAST_CANCER,
            "{ type = \"linear\", units = 1 },\n]",
            "{ type = \"linear\", units = 2 },\n]",
            "model.layers",
        ),
        (
            IRIS,
            "{ type = \"linear\", units = 3 },\n]",
            "{ type = \"linear\", units = 1 },\n]",
            "model.layers",
        ),
        (
            IRIS,
            "type = \"cross_entropy\"",
            "type = \"binary_cross_entropy\"",
            "loss.type",
        ),
        (
            MLP,
            "type = \"mse\"",
            "type = \"cross_entropy\"",
            "loss.type",
        ),
        (
            IRIS,
            "label_smoothing = 0.05",
            "pos_weight = 2.0",
            "loss.pos_weight",
        ),
        (
            IRIS,
            "label_smoothing = 0.05",
            "label_smoothing = 1.0",
            "loss.label_smoothing",
        ),
        (
            IRIS,
            "label_smoothing = 0.05",
            "class_weights = \"even\"",
            "loss.class_weights",
        ),
        (
            MLP,
            "normalize = \"zscore\"",
            "normalize = \"zscore\"\nstratify = true",
            "data.stratify",
        ),
    ];
    for (base, from, to, key) in cases {
        assert!(base.contains(from), "{from}");
        let e = err(&base.replacen(from, to, 1));
        assert_eq!(e.key.as_deref(), Some(key), "{to}: {e}");
        assert!(
            e.hint.is_some() || key.starts_with("loss.label"),
            "{to}: {e}"
        );
    }
    let e = err(&IRIS.replace("metric = \"val_accuracy\"", "metric = \"val_r2\""));
    assert_eq!(e.key.as_deref(), Some("selection.metric"));
    assert!(
        e.message.contains("not recorded for multiclass runs"),
        "{e}"
    );
    let e = err(&BREAST_CANCER.replace("[selection]", "[train.x]\n[selection]"));
    assert!(e.message.contains("unknown"), "{e}");
    // roc_auc is the binary runs' only.
    assert!(
        parse(&BREAST_CANCER.replace("metric = \"val_f1\"", "metric = \"val_roc_auc\"")).is_ok()
    );
    assert!(parse(&IRIS.replace("metric = \"val_accuracy\"", "metric = \"val_roc_auc\"")).is_err());
    // Class weights: "balanced" or a list of positive numbers.
    let weighted =
        parse(&IRIS.replace("label_smoothing = 0.05", "class_weights = [1.0, 2.0, 0.5]")).unwrap();
    assert!(
        matches!(weighted.loss, Loss::CrossEntropy { class_weights: Some(ClassWeights::Given(ref w)), .. } if w.len() == 3)
    );
    assert!(
        parse(&IRIS.replace("label_smoothing = 0.05", "class_weights = [1.0, 0.0, 0.5]")).is_err()
    );
}

#[test]
fn a_split_column_replaces_fractions_and_stratification() {
    let text = with(
        "split = { train = 0.70, validation = 0.15, test = 0.15 }",
        "split_column = \"set\"",
    );
    let spec = parse(&text).unwrap();
    assert_eq!(spec.data.split_column.as_deref(), Some("set"));
    assert!(spec.to_toml().contains("split_column = \"set\""));
    let e = err(&with(
        "target = \"target\"",
        "target = \"target\"\nsplit_column = \"set\"",
    ));
    assert_eq!(e.key.as_deref(), Some("data.split"), "{e}");
    let e = err(&with(
        "split = { train = 0.70, validation = 0.15, test = 0.15 }",
        "split_column = \"target\"",
    ));
    assert_eq!(e.key.as_deref(), Some("data.split_column"), "{e}");
    let iris = IRIS.replace(
        "split = { train = 0.60, validation = 0.20, test = 0.20 }",
        "split_column = \"set\"",
    );
    assert!(!parse(&iris).unwrap().data.stratify);
    assert!(
        parse(&iris.replace(
            "task = \"multiclass\"",
            "task = \"multiclass\"\nstratify = true"
        ))
        .is_err()
    );
}

#[test]
fn a_classifier_ends_in_logits() {
    let e = err(&IRIS.replace(
        "{ type = \"linear\", units = 3 },\n]",
        "{ type = \"linear\", units = 3 },\n  { type = \"softmax\" },\n]",
    ));
    assert!(e.message.contains("its loss takes logits"), "{e}");
}

const SUNSPOTS_GRU: &str = include_str!("../../../experiments/sunspots_gru.toml");
const CO2_LSTM: &str = include_str!("../../../experiments/co2_lstm.toml");

/// Issue 3: `[data.window]` with its defaults, and what cannot stand beside it.
#[test]
fn windows_parse_with_their_defaults() {
    let spec = parse(SUNSPOTS_GRU).unwrap();
    let window = spec.data.window.unwrap();
    assert_eq!(window.steps.get(), 12);
    assert_eq!(window.horizon, defaults::WINDOW_HORIZON);
    assert_eq!(window.target_input, defaults::WINDOW_TARGET_INPUT);
    assert!(!window.difference);
    assert_eq!(window.order_by.as_deref(), Some("year"));
    assert_eq!(window.missing, WindowMissing::Error);
    assert!(!spec.data.shuffle, "windows are split in time order");
    let co2 = parse(CO2_LSTM).unwrap().data.window.unwrap();
    assert!(co2.difference);
    assert_eq!(co2.missing, WindowMissing::Interpolate);
}

#[test]
fn window_rejections_name_the_key() {
    let window = "[data.window]\nsteps = 12";
    let cases = [
        (
            SUNSPOTS_GRU.replacen(window, "shuffle = true\n[data.window]\nsteps = 12", 1),
            "data.shuffle",
            "would mix the past and the future",
        ),
        (
            SUNSPOTS_GRU.replacen(window, "stratify = true\n[data.window]\nsteps = 12", 1),
            "data.stratify",
            "does not apply to windows",
        ),
        (
            SUNSPOTS_GRU.replacen(window, "task = \"binary\"\n[data.window]\nsteps = 12", 1),
            "data.window",
            "forecasts one regression target",
        ),
        (
            SUNSPOTS_GRU.replacen("steps = 12 ", "steps = 0 ", 1),
            "data.window.steps",
            "at least 1; got 0",
        ),
        (
            SUNSPOTS_GRU.replacen("horizon = 1 ", "horizon = 1\nlag = 2 ", 1),
            "lag",
            "lag",
        ),
        (
            SUNSPOTS_GRU.replacen("order_by = \"year\"", "order_by = \"target\"", 1),
            "data.window.order_by",
            "is the target",
        ),
    ];
    for (text, key, message) in cases {
        assert_ne!(text, SUNSPOTS_GRU, "{key}: the case changed nothing");
        let e = err(&text);
        let shown = e.to_string();
        assert!(shown.contains(message), "{key}: {shown}");
        assert!(
            e.key.as_deref().unwrap_or(&shown).contains(key),
            "{key}: {shown}"
        );
        let location = e.location.unwrap();
        assert!(
            location.line_text.contains(key.rsplit('.').next().unwrap()) || key == "data.window",
            "{key}: the error points at the key's line: {shown}"
        );
    }
}

/// Issue 3: `data.cross_validation` names one fold of k; it round-trips in
/// the resolved spec and is refused where folds would mislead.
#[test]
fn cross_validation_names_one_fold() {
    let split = "split = { train = 0.70, validation = 0.15, test = 0.15 }";
    let fold = |folds: &str, fold: &str| {
        with(
            split,
            &format!("{split}\ncross_validation = {{ folds = {folds}, fold = {fold} }}"),
        )
    };
    let spec = parse(&fold("5", "2")).unwrap();
    let cv = spec.data.cross_validation.unwrap();
    assert_eq!((cv.folds(), cv.fold()), (5, 2));
    assert_eq!(cv.to_string(), "fold 2 of 5");
    let again = parse(&spec.to_toml()).unwrap();
    assert_eq!(again, spec);
    assert_ne!(again.hash(), parse(&fold("5", "3")).unwrap().hash());
    assert_eq!(parse(MLP).unwrap().data.cross_validation, None);
    assert!(!parse(MLP).unwrap().to_toml().contains("cross_validation"));
    assert_eq!(CrossValidation::new(1, 1), None);
    assert_eq!(CrossValidation::new(3, 0), None);
    assert_eq!(CrossValidation::new(3, 4), None);

    for (text, key, message) in [
        (
            fold("1", "1"),
            "data.cross_validation.folds",
            "at least 2; got 1",
        ),
        (
            fold("3", "0"),
            "data.cross_validation.fold",
            "between 1 and 3; got 0",
        ),
        (
            fold("3", "4"),
            "data.cross_validation.fold",
            "between 1 and 3; got 4",
        ),
        (
            fold("3", "1").replacen(split, &format!("{split}\nshuffle = false"), 1),
            "data.cross_validation",
            "beside `data.shuffle`",
        ),
        (
            fold("3", "1").replacen(split, "split_column = \"set\"", 1),
            "data.cross_validation",
            "beside `data.split_column`",
        ),
        (
            SUNSPOTS_GRU.replacen(
                "[data.window]",
                "cross_validation = { folds = 3, fold = 1 }\n[data.window]",
                1,
            ),
            "data.cross_validation",
            "beside `data.window`",
        ),
        (
            fold("3", "1").replacen("fold = 1", "fold = 1, seed = 2", 1),
            "seed",
            "seed",
        ),
    ] {
        let e = err(&text);
        let shown = e.to_string();
        assert!(shown.contains(message), "{key}: {shown}");
        assert!(
            e.key.as_deref().unwrap_or(&shown).contains(key),
            "{key}: {shown}"
        );
        assert!(
            e.location.unwrap().line_text.contains("cross_validation"),
            "{key}: the error points at the key's line: {shown}"
        );
    }
}

#[test]
fn ordered_data_refuses_folds_with_a_hint() {
    let ordered = with(
        "split = { train = 0.70, validation = 0.15, test = 0.15 }",
        "split = { train = 0.70, validation = 0.15, test = 0.15 }\nshuffle = false",
    );
    let refusal = parse(&ordered).unwrap().data.refuses_folds().unwrap();
    assert_eq!(refusal.key, "data.shuffle");
    assert!(refusal.hint.contains("shuffle = true"), "{refusal:?}");
    let window = parse(SUNSPOTS_GRU).unwrap().data.refuses_folds().unwrap();
    assert_eq!(window.key, "data.window");
    assert_eq!(parse(MLP).unwrap().data.refuses_folds(), None);
    assert_eq!(parse(IRIS).unwrap().data.refuses_folds(), None);
}

#[test]
fn devices_parse_with_ordinals_and_resolve_canonically() {
    for (written, device, resolved) in [
        ("cpu", Device::Cpu, "cpu"),
        ("cuda", Device::Cuda { ordinal: 0 }, "cuda"),
        ("cuda:0", Device::Cuda { ordinal: 0 }, "cuda"),
        ("cuda:2", Device::Cuda { ordinal: 2 }, "cuda:2"),
        ("auto", Device::Auto, "auto"),
    ] {
        let spec = parse(&with(
            "device = \"cpu\"",
            &format!("device = \"{written}\""),
        ))
        .unwrap();
        assert_eq!(spec.train.device, device, "{written}");
        let toml = spec.to_toml();
        assert!(toml.contains(&format!("device = \"{resolved}\"")), "{toml}");
        assert_eq!(parse(&toml).unwrap(), spec);
    }
    // `cuda` and `cuda:0` are one device, so one spec hash.
    let hash = |d: &str| {
        parse(&with("device = \"cpu\"", &format!("device = \"{d}\"")))
            .unwrap()
            .hash()
    };
    assert_eq!(hash("cuda"), hash("cuda:0"));
    assert_ne!(hash("cuda"), hash("cuda:1"));
}

#[test]
fn a_bad_device_is_located_and_lists_the_forms() {
    for (written, message) in [
        ("gpu", "`gpu` is not a device"),
        (
            "cuda:x",
            "`cuda:x` is not a device: the GPU ordinal after `cuda:` must be a whole number (0, 1, …)",
        ),
    ] {
        let e = err(&with(
            "device = \"cpu\"",
            &format!("device = \"{written}\""),
        ));
        assert_eq!(e.message, message);
        assert_eq!(e.key.as_deref(), Some("train.device"));
        let location = e.location.clone().unwrap();
        assert_eq!(location.line_text, format!("device = \"{written}\""));
        assert_eq!(location.column, 10);
        let hint = e.hint.unwrap();
        for form in ["`cpu`", "`cuda`", "`cuda:N`", "`auto`"] {
            assert!(hint.contains(form), "{hint}");
        }
    }
    // Overrides go through the same check.
    let set = |s: &str| s.parse::<Override>().unwrap();
    let e = Spec::parse(Path::new("s.toml"), MLP, &[set("train.device=cuda:one")]).unwrap_err();
    assert!(e.message.contains("`cuda:one` is not a device"), "{e}");
    let spec = Spec::parse(Path::new("s.toml"), MLP, &[set("train.device=cuda:1")]).unwrap();
    assert_eq!(spec.train.device, Device::Cuda { ordinal: 1 });
}
