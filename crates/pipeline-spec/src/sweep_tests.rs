//! `[sweep]` tests (issue 22) on the shipped sweep spec and on each rejection.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use crate::*;

const SWEEP: &str = include_str!("../../../experiments/sweep.toml");

fn parse(text: &str) -> Result<Spec, SpecError> {
    Spec::parse(Path::new("sweep.toml"), text, &[])
}

fn loaded(text: &str) -> LoadedSpec {
    loaded_with(text, &[])
}

fn loaded_with(text: &str, overrides: &[&str]) -> LoadedSpec {
    let overrides: Vec<Override> = overrides.iter().map(|o| o.parse().unwrap()).collect();
    LoadedSpec {
        spec: Spec::parse(Path::new("sweep.toml"), text, &overrides).unwrap(),
        source: text.to_owned(),
        path: PathBuf::from("experiments/sweep.toml"),
        overrides,
    }
}

/// The shipped sweep with `line` replaced by `replacement`.
fn with(line: &str, replacement: &str) -> String {
    assert!(SWEEP.contains(line), "{line} not in sweep.toml");
    SWEEP.replacen(line, replacement, 1)
}

/// The shipped sweep's text without its `[sweep…]` tables.
fn without_sweep() -> String {
    let start = SWEEP.find("\n[sweep]").unwrap();
    SWEEP[..start].to_owned()
}

/// The error of `text`, which must point at the line holding `at`.
fn rejected(text: &str, at: &str) -> SpecError {
    let error = parse(text).expect_err("the spec should be rejected");
    let line = text
        .lines()
        .position(|l| l.contains(at))
        .unwrap_or_else(|| panic!("{at} not in the text"))
        + 1;
    let location = error.location.as_ref().expect("a location");
    assert_eq!(location.line, line, "{error}");
    error
}

fn value(text: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {text}")).unwrap()["v"].clone()
}

#[test]
fn the_shipped_sweep_parses_in_the_files_order() {
    let spec = parse(SWEEP).unwrap();
    let sweep = spec.sweep.as_ref().unwrap();
    assert_eq!(sweep.method, SweepMethod::Tpe);
    assert_eq!(sweep.trials.map(|t| t.get()), Some(40));
    assert_eq!(sweep.jobs.get(), 2);
    assert_eq!(sweep.seed, 7);
    assert_eq!(sweep.metric, None);
    assert_eq!(
        sweep.pruner,
        PrunerSpec::Asha {
            min_epochs: 10,
            reduction: 3
        }
    );
    let keys: Vec<&str> = sweep.parameters.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "optimizer.learning_rate",
            "model.layers.0.units",
            "optimizer.weight_decay",
            "model.layers.2.rate",
            "train.batch_size"
        ]
    );
    assert_eq!(
        sweep.parameters[0].domain,
        Domain::LogUniform {
            low: 1e-4,
            high: 1e-1,
            integer: false
        }
    );
    assert_eq!(sweep.grid_size(), None);
    assert_eq!(sweep.budget(), 40);
    assert_eq!(
        sweep.parameters[1].domain.corners(),
        [value("16"), value("128")]
    );
    assert_eq!(
        sweep.parameters[0].domain.to_string(),
        "log_uniform [0.0001, 0.1]"
    );
}

#[test]
fn defaults_fill_the_sweep() {
    let text = with("jobs = 2 ", "# jobs")
        .replace("seed = 7 ", "# seed")
        .replace(
            "[sweep.pruner]\ntype = \"asha\"",
            "[sweep.pruner]\ntype = \"median\"",
        )
        .replace("reduction = 3 ", "# reduction");
    let spec = parse(&text).unwrap();
    let sweep = spec.sweep.unwrap();
    assert_eq!(sweep.jobs, defaults::SWEEP_JOBS);
    assert_eq!(sweep.seed, spec.seed, "the spec's seed");
    assert_eq!(
        sweep.pruner,
        PrunerSpec::Median {
            min_epochs: 10,
            min_trials: defaults::MEDIAN_MIN_TRIALS
        }
    );
    let no_pruner = SWEEP[..SWEEP.find("[sweep.pruner]").unwrap()].to_owned();
    assert_eq!(
        parse(&no_pruner).unwrap().sweep.unwrap().pruner,
        PrunerSpec::None
    );
}

#[test]
fn a_spec_without_a_sweep_resolves_and_hashes_as_before() {
    let plain = parse(&without_sweep()).unwrap();
    assert_eq!(plain.sweep, None);
    assert!(!plain.to_toml().contains("[sweep"), "{}", plain.to_toml());
    // The sweep is the only difference between the two resolved specs.
    let swept = parse(SWEEP).unwrap();
    let resolved = swept.to_toml();
    let start = resolved.find("\n[sweep]").unwrap();
    assert_eq!(resolved[..start].trim_end(), plain.to_toml().trim_end());
    // A trial that assigns nothing is the plain spec, hash and all.
    let trial = loaded(SWEEP).trial(&[]).unwrap();
    assert_eq!(trial.spec, plain);
    assert_eq!(trial.spec.hash(), plain.hash());
}

#[test]
fn the_resolved_sweep_round_trips() {
    let text = with(
        "\"train.batch_size\" = { values = [16, 32, 64, 128] }",
        "\"train.batch_size\" = { log_uniform = [16, 128] }\n\"optimizer.type\" = { values = [\"adam\", \"adamw\"] }",
    );
    let spec = parse(&text).unwrap();
    let resolved = spec.to_toml();
    assert!(resolved.contains("log_uniform = [16, 128]"), "{resolved}");
    let again = parse(&resolved).unwrap();
    assert_eq!(again, spec);
    assert_eq!(again.hash(), spec.hash());
    let sweep = spec.sweep.unwrap();
    assert_eq!(
        sweep.parameters[4].domain,
        Domain::LogUniform {
            low: 16.0,
            high: 128.0,
            integer: true
        }
    );
    assert_eq!(sweep.parameters[5].key, "optimizer.type");
}

#[test]
fn set_reaches_the_sweep_and_keeps_the_parameters_order() {
    let overrides: Vec<Override> = ["sweep.trials=10", "sweep.jobs=1"]
        .iter()
        .map(|o| o.parse().unwrap())
        .collect();
    let spec = Spec::parse(Path::new("sweep.toml"), SWEEP, &overrides).unwrap();
    let sweep = spec.sweep.unwrap();
    assert_eq!(sweep.budget(), 10);
    assert_eq!(sweep.jobs.get(), 1);
    assert_eq!(sweep.parameters[0].key, "optimizer.learning_rate");
    assert_eq!(sweep.parameters[4].key, "train.batch_size");
    let grid: Override = "sweep.method=grid".parse().unwrap();
    let error = Spec::parse(Path::new("sweep.toml"), SWEEP, &[grid]).unwrap_err();
    assert!(
        error.message.contains("`trials` does not apply to a grid"),
        "{error}"
    );
}

#[test]
fn a_grid_runs_every_point() {
    let text = without_sweep()
        + "\n[sweep]\nmethod = \"grid\"\n[sweep.parameters]\n\
           \"model.layers.0.units\" = { values = [16, 32, 64] }\n\
           \"optimizer.type\" = { values = [\"adam\", \"sgd\"] }\n";
    let sweep = parse(&text).unwrap().sweep.unwrap();
    assert_eq!(sweep.trials, None);
    assert_eq!(sweep.grid_size(), Some(6));
    assert_eq!(sweep.budget(), 6);
}

#[test]
fn a_trial_is_the_spec_with_its_values_set() {
    let text = with(
        "# metric and direction default to [selection]",
        "metric = \"val_r2\"",
    );
    let loaded = loaded(&text);
    let trial = loaded
        .trial(&[
            ("model.layers[0].units".into(), value("128")),
            ("optimizer.learning_rate".into(), value("0.01")),
            ("train.batch_size".into(), value("16")),
        ])
        .unwrap();
    let spec = &trial.spec;
    assert_eq!(spec.sweep, None);
    assert_eq!(
        spec.model.layers[0],
        Layer::Linear {
            units: 128.try_into().unwrap(),
            bias: true
        }
    );
    assert_eq!(spec.optimizer.learning_rate(), 0.01);
    assert_eq!(spec.train.batch_size, 16);
    assert_eq!(spec.train.epochs, 60, "the rest is the spec's");
    assert_eq!(spec.selection.metric.to_string(), "val_r2");
    assert_eq!(spec.selection.direction, Direction::Maximize);
    assert_eq!(trial.path, loaded.path);
    assert!(!trial.source.contains("[sweep"), "{}", trial.source);
    assert_eq!(
        &parse(&trial.source).unwrap(),
        spec,
        "the source reproduces it"
    );
    // Overrides the spec was loaded with stay in every trial, and in the
    // text stored for the sweep.
    let with_override = loaded_with(SWEEP, &["train.epochs=2", "sweep.trials=3"]);
    let trial = with_override.trial(&[]).unwrap();
    assert_eq!(trial.spec.train.epochs, 2);
    assert!(trial.overrides.is_empty());
    let written = with_override.written().unwrap();
    let again = parse(&written).unwrap();
    assert_eq!(again, with_override.spec);
    assert_eq!(
        loaded.written().unwrap(),
        text,
        "no overrides: the file as written"
    );
}

#[test]
fn a_trial_may_switch_a_type() {
    // From the text as written: the resolved spec's adam defaults
    // (beta1, …) would refuse sgd.
    let text = with(
        "\"train.batch_size\" =",
        "\"optimizer.type\" = { values = [\"adam\", \"sgd\"] }\n\"train.batch_size\" =",
    );
    let trial = loaded(&text)
        .trial(&[("optimizer.type".into(), value("\"sgd\""))])
        .unwrap();
    assert!(matches!(
        trial.spec.optimizer.algorithm,
        Algorithm::Sgd { .. }
    ));
}

#[test]
fn a_trial_that_cannot_be_is_an_error_naming_it() {
    let loaded = loaded(SWEEP);
    let error = loaded
        .trial(&[
            ("model.layers.0.units".into(), value("0")),
            ("train.batch_size".into(), value("16")),
        ])
        .unwrap_err();
    assert!(
        error
            .message
            .starts_with("the trial model.layers.0.units = 0, train.batch_size = 16: "),
        "{error}"
    );
    assert!(error.message.contains("at least 1"), "{error}");
    let error = loaded
        .trial(&[("model.layers.9.units".into(), value("3"))])
        .unwrap_err();
    assert!(error.message.contains("past the end"), "{error}");
}

#[test]
fn every_mistake_points_at_its_parameter() {
    let lr = "\"optimizer.learning_rate\" = { log_uniform = [1e-4, 1e-1] }";
    let cases: Vec<(String, &str, &str, Option<&str>)> = vec![
        (
            with("trials = 40 ", "trails = 40 "),
            "trails = 40",
            "unknown key `trails`",
            Some("did you mean `trials`?"),
        ),
        (
            with("method = \"tpe\"", "method = \"bayes\""),
            "method = \"bayes\"",
            "unknown value `bayes`",
            None,
        ),
        (
            with("trials = 40 ", "# trials"),
            "method = \"tpe\"",
            "a tpe sweep needs `trials`",
            None,
        ),
        (
            with(
                "\"model.layers.0.units\" = { values = [16, 32, 64, 128] }",
                "\"model.layers.0.units\" = { values = [] }",
            ),
            "\"model.layers.0.units\" = { values = [] }",
            "`values` of `model.layers.0.units` is empty",
            None,
        ),
        (
            with(
                lr,
                "\"optimizer.learning_rate\" = { log_uniform = [1e-1, 1e-4] }",
            ),
            "log_uniform = [1e-1, 1e-4]",
            "low must be below high",
            None,
        ),
        (
            with(
                lr,
                "\"optimizer.learning_rate\" = { log_uniform = [0, 1e-1] }",
            ),
            "log_uniform = [0, 1e-1]",
            "its logarithm needs a low above 0",
            None,
        ),
        (
            with(
                lr,
                "\"optimizer.learning_rate\" = { log_uniform = [1e-4, 1e-1], values = [0.1] }",
            ),
            "values = [0.1]",
            "has both",
            None,
        ),
        (
            with(
                lr,
                "\"optimizer.learning_rate\" = { log_unifrom = [1e-4, 1e-1] }",
            ),
            "log_unifrom",
            "unknown key `log_unifrom`",
            Some("did you mean `log_uniform`?"),
        ),
        (
            with("method = \"tpe\"", "method = \"grid\"").replace("trials = 40 ", "# trials"),
            lr,
            "a grid sweep runs every point, but `optimizer.learning_rate` is a continuous log_uniform",
            Some(
                "list the points to try: { values = [...] }, or choose method = \"random\" or \"tpe\"",
            ),
        ),
        (
            with(
                "\"train.batch_size\" =",
                "\"model.layers[0].units\" = { values = [8] }\n\"train.batch_size\" =",
            ),
            "\"model.layers[0].units\" = { values = [8] }",
            "`model.layers[0].units` is swept twice (`model.layers.0.units` names the same key)",
            None,
        ),
        (
            with(
                "\"train.batch_size\" =",
                "\"sweep.trials\" = { values = [8] }\n\"train.batch_size\" =",
            ),
            "\"sweep.trials\" =",
            "`sweep.trials` cannot be swept",
            None,
        ),
        (
            with(
                "\"train.batch_size\" =",
                "\"name\" = { values = [\"a\", \"b\"] }\n\"train.batch_size\" =",
            ),
            "\"name\" =",
            "`name` cannot be swept",
            None,
        ),
        // Each corner is checked against the spec: an unknown path, ...
        (
            with(
                lr,
                "\"optimizer.learnng_rate\" = { log_uniform = [1e-4, 1e-1] }",
            ),
            "\"optimizer.learnng_rate\"",
            "sweep parameter `optimizer.learnng_rate` = 0.0001: unknown key `learnng_rate`",
            Some("did you mean `learning_rate`?"),
        ),
        (
            with(
                "\"train.batch_size\" =",
                "\"model.layers.7.units\" = { values = [8] }\n\"train.batch_size\" =",
            ),
            "\"model.layers.7.units\"",
            "index 7 is past the end of a list of 4",
            None,
        ),
        // ... a value of the wrong type, ...
        (
            with(
                "values = [16, 32, 64, 128] }\n\"optimizer.weight_decay\"",
                "values = [16, \"wide\"] }\n\"optimizer.weight_decay\"",
            ),
            "values = [16, \"wide\"]",
            "sweep parameter `model.layers.0.units` = \"wide\": expected a whole number",
            None,
        ),
        // ... or out of range, at the bound that is.
        (
            with("{ uniform = [0.0, 0.5] }", "{ uniform = [0.0, 1.5] }"),
            "uniform = [0.0, 1.5]",
            "sweep parameter `model.layers.2.rate` = 1.5:",
            None,
        ),
        (
            with("type = \"asha\"", "type = \"median\""),
            "reduction = 3",
            "`reduction` does not apply to the median pruner",
            None,
        ),
        (
            with("reduction = 3 ", "reduction = 1 "),
            "reduction = 1",
            "must be at least 2",
            None,
        ),
        (
            with("trials = 40 ", "trials = 0 "),
            "trials = 0",
            "`sweep.trials` must be a whole number of at least 1",
            None,
        ),
        (
            with(
                "# metric and direction default to [selection]",
                "direction = \"maximize\"",
            ),
            "direction = \"maximize\"",
            "`val_loss` is better when it is smaller",
            None,
        ),
        (
            with(
                "# metric and direction default to [selection]",
                "metric = \"test_r2\"",
            ),
            "metric = \"test_r2\"",
            "may not use the test split",
            None,
        ),
    ];
    for (text, at, message, hint) in cases {
        let error = rejected(&text, at);
        assert!(error.message.contains(message), "{message}: {error}");
        if let Some(hint) = hint {
            assert_eq!(error.hint.as_deref(), Some(hint), "{error}");
        }
    }
    let mut empty = without_sweep();
    empty.push_str("\n[sweep]\nmethod = \"random\"\ntrials = 3\n[sweep.parameters]\n");
    let error = parse(&empty).unwrap_err();
    assert!(error.message.contains("is empty"), "{error}");
}

#[test]
fn the_reported_corner_is_the_offending_bound() {
    let text = with("{ uniform = [0.0, 0.5] }", "{ uniform = [0.0, 1.5] }");
    let error = parse(&text).unwrap_err();
    let location = error.location.unwrap();
    let line = text.lines().nth(location.line - 1).unwrap();
    let at: String = line.chars().skip(location.column - 1).take(3).collect();
    assert_eq!(at, "1.5", "{line}");
}
