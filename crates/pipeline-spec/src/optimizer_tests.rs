//! Parser tests of `[optimizer]` and `[optimizer.schedule]` (issue 4):
//! defaults, the resolved spec, and each rejection.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use crate::*;

const MLP: &str = include_str!("../../../experiments/mlp.toml");
const ADAM: &str = "[optimizer]\ntype = \"adam\"\nlearning_rate = 1e-3\n";

/// mlp.toml with its `[optimizer]` table replaced by `table`.
fn with_optimizer(table: &str) -> String {
    assert!(MLP.contains(ADAM), "mlp.toml changed its optimizer");
    MLP.replacen(ADAM, table, 1)
}

fn parse(table: &str) -> Spec {
    let text = with_optimizer(table);
    Spec::parse(Path::new("spec.toml"), &text, &[]).unwrap_or_else(|e| panic!("{e}\n---\n{text}"))
}

fn err(table: &str) -> SpecError {
    Spec::parse(Path::new("spec.toml"), &with_optimizer(table), &[])
        .expect_err("the spec should be rejected")
}

fn schedule(lines: &str) -> Schedule {
    parse(&format!("{ADAM}[optimizer.schedule]\n{lines}\n"))
        .optimizer
        .schedule
}

#[test]
fn defaults_of_each_optimizer() {
    let o = parse(ADAM);
    assert_eq!(o.optimizer.schedule, Schedule::Constant);
    assert_eq!(o.optimizer.weight_decay, defaults::WEIGHT_DECAY);
    assert_eq!(o.optimizer.clip_grad_norm, None);
    assert_eq!(o.optimizer.clip_grad_value, None);

    let o = parse("[optimizer]\ntype = \"sgd\"\nlearning_rate = 0.1\n").optimizer;
    assert_eq!(
        o.algorithm,
        Algorithm::Sgd {
            momentum: defaults::MOMENTUM,
            dampening: defaults::DAMPENING,
            nesterov: defaults::NESTEROV,
        }
    );
    let o = parse("[optimizer]\ntype = \"rmsprop\"\nlearning_rate = 0.01\n").optimizer;
    assert_eq!(
        o.algorithm,
        Algorithm::RmsProp {
            alpha: defaults::RMSPROP_ALPHA,
            epsilon: defaults::EPSILON,
            momentum: defaults::MOMENTUM,
            centered: defaults::CENTERED,
        }
    );
    assert_eq!(o.weight_decay, defaults::WEIGHT_DECAY);
    let o = parse("[optimizer]\ntype = \"adamw\"\nlearning_rate = 0.01\n").optimizer;
    assert_eq!(o.weight_decay, defaults::ADAMW_WEIGHT_DECAY);
}

#[test]
fn every_new_key_is_read() {
    let o = parse(
        "[optimizer]\ntype = \"sgd\"\nlearning_rate = 0.1\nmomentum = 0.9\nnesterov = true\nweight_decay = 1e-4\nclip_grad_norm = 1.0\nclip_grad_value = 0.5\n",
    )
    .optimizer;
    assert_eq!(
        o.algorithm,
        Algorithm::Sgd {
            momentum: 0.9,
            dampening: 0.0,
            nesterov: true
        }
    );
    assert_eq!(o.weight_decay, 1e-4);
    assert_eq!(o.clip_grad_norm, Some(1.0));
    assert_eq!(o.clip_grad_value, Some(0.5));
    let o = parse(
        "[optimizer]\ntype = \"rmsprop\"\nlearning_rate = 0.01\nalpha = 0.9\nepsilon = 1e-6\nmomentum = 0.5\ncentered = true\nweight_decay = 0.1\n",
    )
    .optimizer;
    assert_eq!(
        o.algorithm,
        Algorithm::RmsProp {
            alpha: 0.9,
            epsilon: 1e-6,
            momentum: 0.5,
            centered: true
        }
    );
    let o = parse(
        "[optimizer]\ntype = \"sgd\"\nlearning_rate = 0.1\nmomentum = 0.9\ndampening = 0.1\n",
    )
    .optimizer;
    assert!(matches!(o.algorithm, Algorithm::Sgd { dampening, .. } if dampening == 0.1));
}

#[test]
fn schedules_and_their_defaults() {
    assert_eq!(schedule("type = \"constant\""), Schedule::Constant);
    assert_eq!(
        schedule("type = \"step\"\nstep_size = 30"),
        Schedule::Step {
            step_size: 30,
            gamma: defaults::STEP_GAMMA
        }
    );
    assert_eq!(
        schedule("type = \"exponential\"\ngamma = 0.95"),
        Schedule::Exponential { gamma: 0.95 }
    );
    // mlp.toml trains 500 epochs: t_max covers those after the warmup.
    assert_eq!(
        schedule("type = \"cosine\"\nwarmup_epochs = 5"),
        Schedule::Cosine {
            t_max: 495,
            eta_min: defaults::COSINE_ETA_MIN,
            warmup_epochs: 5,
            warmup_start_factor: defaults::WARMUP_START_FACTOR,
        }
    );
    assert_eq!(
        schedule("type = \"cosine\"\nt_max = 50\neta_min = 1e-5\nwarmup_start_factor = 0.1"),
        Schedule::Cosine {
            t_max: 50,
            eta_min: 1e-5,
            warmup_epochs: defaults::WARMUP_EPOCHS,
            warmup_start_factor: 0.1,
        }
    );
    assert_eq!(
        schedule("type = \"one_cycle\""),
        Schedule::OneCycle {
            max_lr: 1e-3,
            pct_start: defaults::ONE_CYCLE_PCT_START,
            div_factor: defaults::ONE_CYCLE_DIV_FACTOR,
            final_div_factor: defaults::ONE_CYCLE_FINAL_DIV_FACTOR,
        }
    );
    assert_eq!(
        schedule("type = \"plateau\"\nfactor = 0.5\npatience = 3"),
        Schedule::Plateau {
            factor: 0.5,
            patience: 3,
            min_lr: defaults::PLATEAU_MIN_LR,
            threshold: defaults::PLATEAU_THRESHOLD,
            cooldown: defaults::PLATEAU_COOLDOWN,
        }
    );
}

#[test]
fn the_resolved_spec_holds_the_filled_in_defaults_and_round_trips() {
    let spec = parse(
        "[optimizer]\ntype = \"rmsprop\"\nlearning_rate = 0.01\ncentered = true\nclip_grad_norm = 1.0\n[optimizer.schedule]\ntype = \"cosine\"\nwarmup_epochs = 5\n",
    );
    let resolved = spec.to_toml();
    for line in [
        "type = \"rmsprop\"",
        "alpha = 0.99",
        "epsilon = 0.00000001",
        "momentum = 0.0",
        "centered = true",
        "weight_decay = 0.0",
        "clip_grad_norm = 1.0",
        "[optimizer.schedule]",
        "type = \"cosine\"",
        "t_max = 495",
        "eta_min = 0.0",
        "warmup_epochs = 5",
        "warmup_start_factor = 0.3333333333333333",
    ] {
        assert!(resolved.contains(line), "no {line:?} in\n{resolved}");
    }
    assert!(!resolved.contains("clip_grad_value"), "{resolved}");
    let again = Spec::parse(Path::new("resolved.toml"), &resolved, &[]).unwrap();
    assert_eq!(spec, again);

    // The default schedule is written too.
    let resolved = parse(ADAM).to_toml();
    assert!(
        resolved.contains("[optimizer.schedule]\ntype = \"constant\""),
        "{resolved}"
    );
    let again = Spec::parse(Path::new("resolved.toml"), &resolved, &[]).unwrap();
    assert_eq!(parse(ADAM), again);
}

#[test]
fn overrides_choose_a_schedule_an_optimizer_and_clipping() {
    let set = |s: &str| s.parse::<Override>().unwrap();
    let spec = Spec::parse(
        Path::new("s.toml"),
        MLP,
        &[
            set("optimizer.type=rmsprop"),
            set("optimizer.clip_grad_norm=1.0"),
            set("optimizer.schedule.type=step"),
            set("optimizer.schedule.step_size=2"),
        ],
    )
    .unwrap();
    assert!(matches!(
        spec.optimizer.algorithm,
        Algorithm::RmsProp { .. }
    ));
    assert_eq!(spec.optimizer.clip_grad_norm, Some(1.0));
    assert_eq!(
        spec.optimizer.schedule,
        Schedule::Step {
            step_size: 2,
            gamma: 0.1
        }
    );
}

#[test]
fn unknown_keys_and_values_get_did_you_mean() {
    let e = err(&format!(
        "{ADAM}[optimizer.schedule]\ntype = \"step\"\nstep_sise = 3\n"
    ));
    assert_eq!(e.message, "unknown key `step_sise`");
    assert_eq!(e.hint.as_deref(), Some("did you mean `step_size`?"));
    assert_eq!(e.location.unwrap().line_text, "step_sise = 3");

    let e = err(&format!("{ADAM}[optimizer.schedule]\ntype = \"cosin\"\n"));
    assert_eq!(e.message, "unknown value `cosin`");
    assert_eq!(e.hint.as_deref(), Some("did you mean `cosine`?"));

    let e = err("[optimizer]\ntype = \"rmsprp\"\nlearning_rate = 0.01\n");
    assert_eq!(e.message, "unknown value `rmsprp`");
    assert_eq!(e.hint.as_deref(), Some("did you mean `rmsprop`?"));

    let e = err("[optimizer]\ntype = \"sgd\"\nlearning_rate = 0.01\nclip_grad_nrom = 1\n");
    assert_eq!(e.message, "unknown key `clip_grad_nrom`");
    assert_eq!(e.hint.as_deref(), Some("did you mean `clip_grad_norm`?"));
}

#[test]
fn a_parameter_of_another_optimizer_is_named() {
    let cases = [
        (
            "adam",
            "alpha = 0.9",
            "`alpha` does not apply to the `adam` optimizer",
            "`alpha` belongs to rmsprop",
        ),
        (
            "sgd",
            "centered = true",
            "`centered` does not apply to the `sgd` optimizer",
            "`centered` belongs to rmsprop",
        ),
        (
            "rmsprop",
            "beta1 = 0.9",
            "`beta1` does not apply to the `rmsprop` optimizer",
            "`beta1` belongs to adam and adamw",
        ),
        (
            "adamw",
            "nesterov = true",
            "`nesterov` does not apply to the `adamw` optimizer",
            "`nesterov` belongs to sgd",
        ),
        (
            "adam",
            "momentum = 0.9",
            "`momentum` does not apply to the `adam` optimizer",
            "`momentum` belongs to sgd and rmsprop",
        ),
        (
            "sgd",
            "epsilon = 1e-6",
            "`epsilon` does not apply to the `sgd` optimizer",
            "`epsilon` belongs to adam, adamw and rmsprop",
        ),
        (
            "rmsprop",
            "dampening = 0.1",
            "`dampening` does not apply to the `rmsprop` optimizer",
            "`dampening` belongs to sgd",
        ),
    ];
    for (kind, line, message, hint) in cases {
        let e = err(&format!(
            "[optimizer]\ntype = \"{kind}\"\nlearning_rate = 0.01\n{line}\n"
        ));
        assert_eq!(e.message, message);
        assert_eq!(e.hint.as_deref(), Some(hint));
        assert_eq!(e.location.unwrap().line_text, line);
    }
}

#[test]
fn a_parameter_of_another_schedule_is_named() {
    let cases = [
        (
            "type = \"step\"\nstep_size = 3\nt_max = 5",
            "t_max = 5",
            "`t_max` does not apply to the `step` schedule",
            "`t_max` belongs to the cosine schedule",
        ),
        (
            "type = \"cosine\"\ngamma = 0.5",
            "gamma = 0.5",
            "`gamma` does not apply to the `cosine` schedule",
            "`gamma` belongs to the step and exponential schedules",
        ),
        (
            "type = \"constant\"\npatience = 2",
            "patience = 2",
            "`patience` does not apply to the `constant` schedule",
            "`patience` belongs to the plateau schedule",
        ),
        (
            "type = \"plateau\"\nmax_lr = 0.1",
            "max_lr = 0.1",
            "`max_lr` does not apply to the `plateau` schedule",
            "`max_lr` belongs to the one_cycle schedule",
        ),
    ];
    for (lines, line, message, hint) in cases {
        let e = err(&format!("{ADAM}[optimizer.schedule]\n{lines}\n"));
        assert_eq!(e.message, message);
        assert_eq!(e.hint.as_deref(), Some(hint));
        assert_eq!(
            e.key
                .as_deref()
                .map(|k| k.starts_with("optimizer.schedule.")),
            Some(true)
        );
        assert_eq!(e.location.unwrap().line_text, line);
    }
}

#[test]
fn rejects_bad_values() {
    let schedule_table = |lines: &str| format!("{ADAM}[optimizer.schedule]\n{lines}\n");
    let cases = [
        (
            "[optimizer]\ntype = \"sgd\"\nlearning_rate = 0.1\nnesterov = true\n".to_string(),
            "`nesterov` needs `momentum` above 0 and `dampening` = 0",
        ),
        (
            "[optimizer]\ntype = \"sgd\"\nlearning_rate = 0.1\nmomentum = 0.9\ndampening = 0.5\nnesterov = true\n".to_string(),
            "`nesterov` needs `momentum` above 0 and `dampening` = 0",
        ),
        (
            "[optimizer]\ntype = \"rmsprop\"\nlearning_rate = 0.1\nalpha = 1.5\n".to_string(),
            "`optimizer.alpha` must be at least 0 and below 1",
        ),
        (
            "[optimizer]\ntype = \"sgd\"\nlearning_rate = 0.1\nclip_grad_norm = 0\n".to_string(),
            "`optimizer.clip_grad_norm` must be greater than 0",
        ),
        (
            "[optimizer]\ntype = \"sgd\"\nlearning_rate = 0.1\nclip_grad_value = -1.0\n".to_string(),
            "`optimizer.clip_grad_value` must be greater than 0",
        ),
        (
            "[optimizer]\ntype = \"adam\"\nlearning_rate = 0.1\nweight_decay = -0.1\n".to_string(),
            "`optimizer.weight_decay` must be 0 or more",
        ),
        (
            schedule_table("type = \"step\"\nstep_size = 0"),
            "`optimizer.schedule.step_size` must be a whole number of at least 1",
        ),
        (
            schedule_table("type = \"plateau\"\nfactor = 1.5"),
            "`factor` must be between 0 and 1 (exclusive)",
        ),
        (
            schedule_table("type = \"plateau\"\npatience = -1"),
            "`optimizer.schedule.patience` must be a whole number of 0 or more",
        ),
        (
            schedule_table("type = \"one_cycle\"\npct_start = 1.0"),
            "`pct_start` must be between 0 and 1 (exclusive)",
        ),
        (
            schedule_table("type = \"cosine\"\nwarmup_epochs = 500"),
            "`warmup_epochs` (500) leaves no epoch of the 500 in `train.epochs` for the cosine",
        ),
        (
            schedule_table("type = \"cosine\"\nwarmup_epochs = 5\nwarmup_start_factor = 0"),
            "`warmup_start_factor` must be above 0 and at most 1",
        ),
        (
            schedule_table("type = \"exponential\"\ngamma = 0"),
            "`optimizer.schedule.gamma` must be greater than 0",
        ),
    ];
    for (table, expected) in cases {
        let e = err(&table);
        assert!(
            e.message.contains(expected),
            "expected {expected:?}, got {e}"
        );
        assert!(e.location.is_some(), "no location in {e}");
    }
}

#[test]
fn a_missing_required_parameter_points_at_the_table() {
    let e = err(&format!("{ADAM}[optimizer.schedule]\ntype = \"step\"\n"));
    assert_eq!(e.message, "the `step` schedule needs `step_size`");
    assert_eq!(e.key.as_deref(), Some("optimizer.schedule.step_size"));
    assert!(e.hint.unwrap().starts_with("for example step_size = "));
    assert!(e.location.is_some());
    let e = err(&format!(
        "{ADAM}[optimizer.schedule]\ntype = \"exponential\"\n"
    ));
    assert_eq!(e.message, "the `exponential` schedule needs `gamma`");
}
