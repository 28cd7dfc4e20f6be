//! Losses, optimizers and learning-rate schedules against PyTorch (issue 4).
//!
//! Every expected number below is printed by
//! `crates/pipeline-model/tests/pytorch_reference.py` (PyTorch 2.15.0):
//! losses and parameters to 1e-5, learning rates to 1e-7 relative.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use candle_core::{Device, Tensor, Var};
use pipeline_model::{Optimizer, Scheduler, loss};
use pipeline_spec::{Algorithm, Direction, Loss, Optimizer as OptimizerSpec, Schedule};

// ---------------------------------------------------------------- losses

const PREDICTION: [[f32; 3]; 2] = [[0.5, -1.25, 3.0], [2.0, 0.1, -0.7]];
const TARGET: [[f32; 3]; 2] = [[1.0, 0.75, -0.5], [2.0, 0.6, 1.9]];

const MSE: f64 = 3.918333053588867;
const MAE: f64 = 1.5166667699813843;
const HUBER_1_0: f64 = 1.1416666507720947;
const HUBER_0_5: f64 = 0.6541666388511658;
const HUBER_2_0: f64 = 1.7416666746139526;
fn loss_value(kind: Loss) -> f64 {
    let p = Tensor::new(&PREDICTION, &Device::Cpu).unwrap();
    let t = Tensor::new(&TARGET, &Device::Cpu).unwrap();
    f64::from(loss(&kind, &p, &t).unwrap().to_scalar::<f32>().unwrap())
}

#[test]
fn losses_match_pytorch() {
    let cases = [
        ("mse", Loss::Mse, MSE),
        ("mae", Loss::Mae, MAE),
        ("huber 1.0", Loss::Huber { delta: 1.0 }, HUBER_1_0),
        ("huber 0.5", Loss::Huber { delta: 0.5 }, HUBER_0_5),
        ("huber 2.0", Loss::Huber { delta: 2.0 }, HUBER_2_0),
    ];
    for (name, kind, expected) in cases {
        let got = loss_value(kind);
        assert!(
            (got - expected).abs() < 1e-5,
            "{name}: {got} vs PyTorch {expected}"
        );
    }
}

// ---------------------------------------------------------------- optimizers

/// A fixed `Linear(3, 2)` trained for three steps on four rows with MSE.
const WEIGHT: [[f32; 3]; 2] = [[0.2, -0.4, 0.1], [0.5, 0.3, -0.2]];
const BIAS: [f32; 2] = [0.05, -0.1];
const INPUT: [[f32; 3]; 4] = [
    [1.0, 2.0, -1.0],
    [0.5, -1.5, 2.0],
    [-2.0, 0.0, 1.0],
    [1.5, 1.0, 0.5],
];
const OUTPUT: [[f32; 2]; 4] = [[1.0, -1.0], [0.0, 2.0], [-1.0, 0.5], [2.0, 1.0]];

/// Weight (row-major) then bias after three steps, as the script prints them.
#[rustfmt::skip]
const SGD: [f64; 8] = [0.5124266743659973, -0.03335069864988327, -0.059600237756967545, 0.2888549566268921, -0.1373225897550583, 0.32840877771377563, 0.16939565539360046, 0.053900737315416336];
#[rustfmt::skip]
const SGD_MOMENTUM_WEIGHT_DECAY: [f64; 8] = [0.805523693561554, 0.31428012251853943, -0.2151522934436798, 0.08322713524103165, -0.5546426773071289, 0.8249123096466064, 0.2789161503314972, 0.19514110684394836];
#[rustfmt::skip]
const SGD_DAMPENING: [f64; 8] = [0.7465324997901917, 0.24318252503871918, -0.19221754372119904, 0.11824674159288406, -0.47651904821395874, 0.7201278209686279, 0.25183823704719543, 0.15804573893547058];
#[rustfmt::skip]
const SGD_NESTEROV_WEIGHT_DECAY: [f64; 8] = [0.8424790501594543, 0.35169634222984314, -0.18191760778427124, 0.10697959363460541, -0.5609200596809387, 0.9050727486610413, 0.3210790455341339, 0.25844377279281616];
#[rustfmt::skip]
const ADAM: [f64; 8] = [0.4941919147968292, -0.10671661049127579, -0.19019824266433716, 0.20732459425926208, 0.003187023103237152, 0.09693185985088348, 0.34488481283187866, 0.19657447934150696];
#[rustfmt::skip]
const ADAM_WEIGHT_DECAY: [f64; 8] = [0.4936716556549072, -0.10672836750745773, -0.18958857655525208, 0.20719918608665466, 0.0032734423875808716, 0.0968349277973175, 0.34378060698509216, 0.19607973098754883];
#[rustfmt::skip]
const ADAMW_WEIGHT_DECAY: [f64; 8] = [0.485344260931015, -0.09798290580511093, -0.18978342413902283, 0.19605068862438202, -0.0025839954614639282, 0.0997864380478859, 0.3404662013053894, 0.19659078121185303];
#[rustfmt::skip]
const RMSPROP: [f64; 8] = [0.4073094129562378, -0.19476447999477386, -0.09892788529396057, 0.2962838113307953, 0.08563503623008728, 0.014716781675815582, 0.2587791681289673, 0.11349464952945709];
#[rustfmt::skip]
const RMSPROP_CENTERED_MOMENTUM_WEIGHT_DECAY: [f64; 8] = [0.31545278429985046, -0.28467750549316406, -0.014285546727478504, 0.3848263621330261, 0.18335410952568054, -0.08330249786376953, 0.16548876464366913, 0.01635388843715191];
#[rustfmt::skip]
const SGD_CLIP_GRAD_NORM: [f64; 8] = [0.39269235730171204, -0.17218177020549774, -0.009135523810982704, 0.3594193160533905, 0.02077939361333847, 0.12257722020149231, 0.11781547963619232, -0.014291676692664623]; // norms before clipping [4.143085479736328, 3.834531307220459, 3.2501184940338135] // norms before clipping [4.143085479736328, 3.834531307220459, 3.2501184940338135]
#[rustfmt::skip]
const ADAM_CLIP_GRAD_VALUE: [f64; 8] = [0.4999999701976776, -0.10000002384185791, -0.1976030170917511, 0.20000001788139343, 2.2351741790771484e-08, 0.09999997913837433, 0.3449004590511322, 0.1989639699459076];
#[rustfmt::skip]
const RMSPROP_CLIP_VALUE_AND_NORM: [f64; 8] = [0.43205147981643677, -0.16794849932193756, -0.12462067604064941, 0.2679485082626343, 0.06794850528240204, 0.03205149993300438, 0.2620905935764313, 0.12720748782157898]; // norms before clipping [1.4098427295684814, 1.3784615993499756, 1.3111839294433594] // norms before clipping [1.4098427295684814, 1.3784615993499756, 1.3111839294433594]
fn sgd(momentum: f64, dampening: f64, nesterov: bool) -> Algorithm {
    Algorithm::Sgd {
        momentum,
        dampening,
        nesterov,
    }
}

const ADAM_DEFAULTS: Algorithm = Algorithm::Adam {
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-8,
};

fn rmsprop(alpha: f64, epsilon: f64, momentum: f64, centered: bool) -> Algorithm {
    Algorithm::RmsProp {
        alpha,
        epsilon,
        momentum,
        centered,
    }
}

fn spec(algorithm: Algorithm, learning_rate: f64, weight_decay: f64) -> OptimizerSpec {
    OptimizerSpec {
        algorithm,
        learning_rate,
        weight_decay,
        clip_grad_norm: None,
        clip_grad_value: None,
        schedule: Schedule::Constant,
    }
}

fn three_steps(spec: &OptimizerSpec) -> Vec<f64> {
    let device = Device::Cpu;
    let weight = Var::new(&WEIGHT, &device).unwrap();
    let bias = Var::new(&BIAS, &device).unwrap();
    let x = Tensor::new(&INPUT, &device).unwrap();
    let y = Tensor::new(&OUTPUT, &device).unwrap();
    let mut optimizer = Optimizer::new(spec, vec![weight.clone(), bias.clone()]);
    for _ in 0..3 {
        let prediction = x
            .matmul(&weight.as_tensor().t().unwrap())
            .unwrap()
            .broadcast_add(bias.as_tensor())
            .unwrap();
        let value = loss(&Loss::Mse, &prediction, &y).unwrap();
        optimizer.step(&value.backward().unwrap()).unwrap();
    }
    let mut values = weight
        .as_tensor()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    values.extend(bias.as_tensor().to_vec1::<f32>().unwrap());
    values.into_iter().map(f64::from).collect()
}

fn assert_close(name: &str, got: &[f64], expected: &[f64]) {
    assert_eq!(got.len(), expected.len(), "{name}");
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert!(
            (g - e).abs() < 1e-5,
            "{name}[{i}]: {g} vs PyTorch {e}\ngot      {got:?}\nexpected {expected:?}"
        );
    }
}

#[test]
fn sgd_matches_pytorch() {
    let cases = [
        ("sgd", spec(sgd(0.0, 0.0, false), 0.1, 0.0), SGD),
        (
            "sgd momentum, weight decay",
            spec(sgd(0.9, 0.0, false), 0.1, 0.01),
            SGD_MOMENTUM_WEIGHT_DECAY,
        ),
        (
            "sgd dampening",
            spec(sgd(0.9, 0.3, false), 0.1, 0.0),
            SGD_DAMPENING,
        ),
        (
            "sgd nesterov, weight decay",
            spec(sgd(0.9, 0.0, true), 0.1, 0.01),
            SGD_NESTEROV_WEIGHT_DECAY,
        ),
    ];
    for (name, spec, expected) in cases {
        assert_close(name, &three_steps(&spec), &expected);
    }
}

#[test]
fn adam_and_adamw_match_pytorch() {
    let adamw = Algorithm::AdamW {
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-8,
    };
    let cases = [
        ("adam", spec(ADAM_DEFAULTS, 0.1, 0.0), ADAM),
        (
            "adam, weight decay",
            spec(ADAM_DEFAULTS, 0.1, 0.1),
            ADAM_WEIGHT_DECAY,
        ),
        (
            "adamw, weight decay",
            spec(adamw, 0.1, 0.1),
            ADAMW_WEIGHT_DECAY,
        ),
    ];
    for (name, spec, expected) in cases {
        assert_close(name, &three_steps(&spec), &expected);
    }
}

#[test]
fn rmsprop_matches_pytorch() {
    let cases = [
        (
            "rmsprop",
            spec(rmsprop(0.99, 1e-8, 0.0, false), 0.01, 0.0),
            RMSPROP,
        ),
        (
            "rmsprop centered, momentum, weight decay",
            spec(rmsprop(0.9, 1e-6, 0.5, true), 0.01, 0.1),
            RMSPROP_CENTERED_MOMENTUM_WEIGHT_DECAY,
        ),
    ];
    for (name, spec, expected) in cases {
        assert_close(name, &three_steps(&spec), &expected);
    }
}

#[test]
fn gradient_clipping_matches_pytorch() {
    let mut norm = spec(sgd(0.9, 0.0, false), 0.1, 0.0);
    norm.clip_grad_norm = Some(1.0);
    assert_close(
        "sgd, clip_grad_norm",
        &three_steps(&norm),
        &SGD_CLIP_GRAD_NORM,
    );

    let mut value = spec(ADAM_DEFAULTS, 0.1, 0.0);
    value.clip_grad_value = Some(0.5);
    assert_close(
        "adam, clip_grad_value",
        &three_steps(&value),
        &ADAM_CLIP_GRAD_VALUE,
    );

    let mut both = spec(rmsprop(0.99, 1e-8, 0.0, false), 0.01, 0.0);
    both.clip_grad_value = Some(0.5);
    both.clip_grad_norm = Some(0.8);
    assert_close(
        "rmsprop, clip value then norm",
        &three_steps(&both),
        &RMSPROP_CLIP_VALUE_AND_NORM,
    );
}

#[test]
fn a_norm_below_the_limit_is_left_alone() {
    let mut loose = spec(sgd(0.9, 0.0, false), 0.1, 0.0);
    loose.clip_grad_norm = Some(100.0);
    // norm 4.14 < 100: the coefficient is clamped to 1 (within 1e-6 of PyTorch's no-op).
    assert_close(
        "sgd, loose clip",
        &three_steps(&loose),
        &three_steps(&spec(sgd(0.9, 0.0, false), 0.1, 0.0)),
    );
}

// ---------------------------------------------------------------- schedules

/// Learning rates of 12 epochs from a base of 0.1, as the script prints them.
#[rustfmt::skip]
const STEP: [f64; 12] = [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125, 0.0125];
#[rustfmt::skip]
const EXPONENTIAL: [f64; 12] = [0.1, 0.08000000000000002, 0.06400000000000002, 0.051200000000000016, 0.04096000000000002, 0.03276800000000001, 0.026214400000000013, 0.02097152000000001, 0.016777216000000008, 0.013421772800000007, 0.010737418240000006, 0.008589934592000005];
#[rustfmt::skip]
const COSINE: [f64; 12] = [0.1, 0.09831332840130888, 0.09336825748732973, 0.0855017856687341, 0.07525000000000001, 0.06331154273257479, 0.05050000000000001, 0.037688457267425236, 0.025750000000000016, 0.015498214331265903, 0.007631742512670285, 0.0026866715986911243];
#[rustfmt::skip]
const COSINE_WARMUP: [f64; 12] = [0.025, 0.05, 0.07500000000000001, 0.1, 0.09701478472890247, 0.0884191999343894, 0.07525, 0.05909558479451306, 0.04190441520548695, 0.02575000000000001, 0.012580800065610593, 0.003985215271097539];
#[rustfmt::skip]
const COSINE_PAST_T_MAX: [f64; 12] = [0.1, 0.09045084971874738, 0.06545084971874737, 0.03454915028125263, 0.009549150281252633, 0.0, 0.009549150281252628, 0.03454915028125265, 0.06545084971874741, 0.09045084971874744, 0.10000000000000006, 0.09045084971874746];
#[rustfmt::skip]
const ONE_CYCLE: [f64; 12] = [0.0040000000000000036, 0.0349789654219583, 0.08792851591221287, 0.09944154354509119, 0.09330129698414118, 0.0811745653949763, 0.06473789976951033, 0.046263710266697504, 0.028306099820869922, 0.01334775301888306, 0.0034566987425395223, 4e-07];
#[rustfmt::skip]
const ONE_CYCLE_CUSTOM: [f64; 12] = [0.04999999999999999, 0.275, 0.5, 0.4849382320412806, 0.44156959966896475, 0.375125, 0.2936186323723159, 0.20688136762768417, 0.12537500000000004, 0.05893040033103527, 0.015561767958719398, 0.0005];
#[rustfmt::skip]
const PLATEAU: [f64; 12] = [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.02, 0.02];
#[rustfmt::skip]
const PLATEAU_COOLDOWN: [f64; 12] = [0.1, 0.1, 0.1, 0.010000000000000002, 0.010000000000000002, 0.010000000000000002, 0.010000000000000002, 0.0010000000000000002, 0.0010000000000000002, 0.0010000000000000002, 0.00010000000000000003, 0.00010000000000000003];
#[rustfmt::skip]
const PLATEAU_MAX: [f64; 12] = [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125];
/// The monitored metric of each epoch for the plateau schedules.
const PLATEAU_METRICS: [f64; 12] = [
    5.0, 4.0, 4.0, 3.9999, 4.1, 3.0, 3.0, 3.0, 3.0, 3.0, 2.0, 2.5,
];

fn with_schedule(schedule: Schedule) -> OptimizerSpec {
    OptimizerSpec {
        schedule,
        ..spec(sgd(0.0, 0.0, false), 0.1, 0.0)
    }
}

/// The learning rate of each epoch's first batch (as `param_groups[0]["lr"]`
/// before the epoch), stepping per epoch.
fn per_epoch(schedule: Schedule, direction: Direction) -> Vec<f64> {
    let mut scheduler = Scheduler::new(&with_schedule(schedule), direction, 12, 1);
    let mut rates = Vec::new();
    for metric in PLATEAU_METRICS {
        rates.push(scheduler.learning_rate());
        scheduler.batch_done();
        scheduler.epoch_done(metric);
    }
    rates
}

fn assert_rates(name: &str, got: &[f64], expected: &[f64]) {
    assert_eq!(got.len(), expected.len(), "{name}");
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert!(
            (g - e).abs() <= 1e-7 * e.abs() + 1e-15,
            "{name}, epoch {}: {g} vs PyTorch {e}\ngot      {got:?}\nexpected {expected:?}",
            i + 1
        );
    }
}

#[test]
fn epoch_schedules_match_pytorch() {
    let min = Direction::Minimize;
    let cases = [
        ("constant", Schedule::Constant, [0.1; 12]),
        (
            "step",
            Schedule::Step {
                step_size: 3,
                gamma: 0.5,
            },
            STEP,
        ),
        (
            "exponential",
            Schedule::Exponential { gamma: 0.8 },
            EXPONENTIAL,
        ),
        (
            "cosine",
            Schedule::Cosine {
                t_max: 12,
                eta_min: 0.001,
                warmup_epochs: 0,
                warmup_start_factor: 1.0 / 3.0,
            },
            COSINE,
        ),
        (
            "cosine with warmup",
            Schedule::Cosine {
                t_max: 9,
                eta_min: 0.001,
                warmup_epochs: 3,
                warmup_start_factor: 0.25,
            },
            COSINE_WARMUP,
        ),
        (
            "cosine past t_max",
            Schedule::Cosine {
                t_max: 5,
                eta_min: 0.0,
                warmup_epochs: 0,
                warmup_start_factor: 1.0 / 3.0,
            },
            COSINE_PAST_T_MAX,
        ),
        (
            "plateau",
            Schedule::Plateau {
                factor: 0.5,
                patience: 1,
                min_lr: 0.02,
                threshold: 1e-4,
                cooldown: 0,
            },
            PLATEAU,
        ),
        (
            "plateau with cooldown",
            Schedule::Plateau {
                factor: 0.1,
                patience: 0,
                min_lr: 0.0,
                threshold: 0.01,
                cooldown: 2,
            },
            PLATEAU_COOLDOWN,
        ),
    ];
    for (name, schedule, expected) in cases {
        assert_rates(name, &per_epoch(schedule, min), &expected);
    }
    let maximize = Schedule::Plateau {
        factor: 0.5,
        patience: 2,
        min_lr: 0.0,
        threshold: 1e-4,
        cooldown: 0,
    };
    assert_rates(
        "plateau, maximize",
        &per_epoch(maximize, Direction::Maximize),
        &PLATEAU_MAX,
    );
}

#[test]
fn one_cycle_steps_per_batch_as_pytorch() {
    let cases = [
        (
            "one_cycle",
            Schedule::OneCycle {
                max_lr: 0.1,
                pct_start: 0.3,
                div_factor: 25.0,
                final_div_factor: 1e4,
            },
            ONE_CYCLE,
        ),
        (
            "one_cycle, custom",
            Schedule::OneCycle {
                max_lr: 0.5,
                pct_start: 0.25,
                div_factor: 10.0,
                final_div_factor: 100.0,
            },
            ONE_CYCLE_CUSTOM,
        ),
    ];
    for (name, schedule, expected) in cases {
        // 3 epochs of 4 batches; the rate of every batch.
        let mut scheduler = Scheduler::new(&with_schedule(schedule), Direction::Minimize, 3, 4);
        let mut rates = Vec::new();
        for _ in 0..3 {
            for _ in 0..4 {
                rates.push(scheduler.learning_rate());
                scheduler.batch_done();
            }
            scheduler.epoch_done(1.0);
        }
        assert_rates(name, &rates, &expected);
    }
}
