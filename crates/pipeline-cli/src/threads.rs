//! CPU threads for candle: its matrix products split work across
//! `RAYON_NUM_THREADS` threads, which costs more than it saves on small
//! networks (the first experiment trains 2.5× faster on one thread than on
//! two). Inference always runs the network on one thread: `infer` and
//! `evaluate` parse the next batch on another core meanwhile, and `serve`
//! answers requests on several, so a pool that spins waiting for its
//! workers only steals their time (it made `infer` 2.4× slower). Decided
//! once, before any thread exists; an explicit `RAYON_NUM_THREADS` from the
//! user always wins.
//!
//! The variable is always set, also to candle's own default (the physical
//! cores): candle asks for the count at every matrix product, and without
//! the variable it counts the cores by reading `/proc/cpuinfo` each time,
//! which was a third of the digits CNN's run (3.13 → 2.29 s) and half the
//! LSTM's system time.

use pipeline_spec::{Layer, Spec};

use crate::cli::{Cli, Command};

/// Below this many floating-point operations per training step (forward and
/// backward, estimated), one thread is faster than several.
const SINGLE_THREAD_FLOPS: f64 = 20e6;

/// Estimated FLOPs of one training step: 6 × batch × the multiply-adds of
/// one row. With `model.input` declared, the row's shape through every layer
/// is known before the data is read, and linear and convolution layers
/// count in full. Otherwise only the linear layers count, and the first
/// layer's input width, not known yet, is taken to be its own width.
pub fn step_flops(spec: &Spec) -> f64 {
    let macs = declared_macs(spec).unwrap_or_else(|| linear_macs(spec));
    6.0 * f64::from(spec.train.batch_size) * macs
}

fn linear_macs(spec: &Spec) -> f64 {
    let widths: Vec<f64> = spec
        .model
        .layers
        .iter()
        .filter_map(|l| match l {
            Layer::Linear { units, .. } => Some(f64::from(units.get())),
            _ => None,
        })
        .collect();
    let mut macs = 0.0;
    let mut previous = widths.first().copied().unwrap_or(1.0);
    for width in &widths {
        macs += previous * width;
        previous = *width;
    }
    macs
}

/// Multiply-adds of one row through the linear and convolution layers, when
/// `model.input` gives the row's shape (`None` without it, or when the
/// layers do not fit it: the run reports that).
fn declared_macs(spec: &Spec) -> Option<f64> {
    let input: Vec<usize> = spec
        .model
        .input
        .as_ref()?
        .iter()
        .map(|d| d.get() as usize)
        .collect();
    let shapes = pipeline_model::row_shapes(&spec.model, input.iter().product()).ok()?;
    let mut before = input;
    let mut macs = 0.0;
    for (layer, after) in spec.model.layers.iter().zip(shapes) {
        let outputs: usize = after.iter().product();
        macs += match layer {
            Layer::Linear { .. } => (outputs * before.last().copied().unwrap_or(1)) as f64,
            Layer::Conv1d(c) | Layer::Conv2d(c) => {
                let window = (c.kernel.get() as usize).pow(before.len() as u32 - 1);
                (outputs * before[0] * window) as f64
            }
            Layer::Rnn(r) | Layer::Lstm(r) | Layer::Gru(r) => {
                let gates = match layer {
                    Layer::Lstm(_) => 4,
                    Layer::Gru(_) => 3,
                    _ => 1,
                };
                let (steps, features) = (before[0], before.last().copied().unwrap_or(1));
                let units = r.units.get() as usize;
                (steps * gates * units * (features + units)) as f64
            }
            Layer::Transformer(t) => {
                let (steps, d) = (before[0], before.last().copied().unwrap_or(1));
                let feedforward = t.feedforward.map_or(4 * d, |f| f.get() as usize);
                // Projections, attention scores and their weighted sum, the
                // feed-forward network.
                (steps * (4 * d * d + 2 * d * feedforward) + 2 * steps * steps * d) as f64
            }
            _ => 0.0,
        };
        before = after;
    }
    Some(macs)
}

/// Sets `RAYON_NUM_THREADS`: 1 for `pipeline run` when every spec is a
/// small network, and for the commands that predict; candle's default
/// otherwise. Must run before any other thread starts (first thing in
/// `main`). `pipeline rerun` reads its spec from the registry, which starts
/// threads: it keeps the default (the results are the same, only slower).
pub fn configure(cli: &Cli) {
    if std::env::var_os("RAYON_NUM_THREADS").is_some() {
        return;
    }
    let threads = if one_thread(cli) {
        1
    } else {
        candle_core::utils::get_num_threads()
    };
    set_threads(threads);
}

fn one_thread(cli: &Cli) -> bool {
    match &cli.command {
        Command::Run(args) => args.specs.iter().all(|path| {
            // An unreadable spec is reported by the run command.
            Spec::load(path, &args.set)
                .is_ok_and(|loaded| step_flops(&loaded.spec) < SINGLE_THREAD_FLOPS)
        }),
        Command::Infer(_) | Command::Evaluate(_) | Command::Serve(_) => true,
        _ => false,
    }
}

#[allow(unsafe_code)]
fn set_threads(threads: usize) {
    // SAFETY: called from `main` before the program starts any thread (no
    // runtime, pool or logger thread exists yet), so no other thread can
    // read the environment concurrently.
    unsafe { std::env::set_var("RAYON_NUM_THREADS", threads.to_string()) };
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_first_experiment_is_small_and_a_wide_mlp_is_not() {
        let text = include_str!("../../../experiments/mlp.toml");
        let spec = Spec::parse(std::path::Path::new("mlp.toml"), text, &[]).unwrap();
        assert!(step_flops(&spec) < SINGLE_THREAD_FLOPS);
        let wide: Vec<pipeline_spec::Override> =
            ["model.layers.0.units=1024", "train.batch_size=128"]
                .iter()
                .map(|s| s.parse().unwrap())
                .collect();
        let wide = Spec::parse(std::path::Path::new("mlp.toml"), text, &wide).unwrap();
        assert!(step_flops(&wide) > SINGLE_THREAD_FLOPS);
    }

    #[test]
    fn convolutions_count_once_the_input_shape_is_declared() {
        let text = include_str!("../../../experiments/mlp.toml").replace(
            "layers = [\n  { type = \"linear\", units = 64 },\n  { type = \"relu\" },\n",
            "input = [1, 28, 28]\nlayers = [\n  { type = \"conv2d\", filters = 16, kernel = 3, padding = 1 },\n  { type = \"max_pool2d\", kernel = 2 },\n  { type = \"flatten\" },\n",
        );
        let spec = Spec::parse(std::path::Path::new("conv.toml"), &text, &[]).unwrap();
        // torch: Conv2d(1, 16, 3, padding=1) on 28×28 is 16·28·28·9 multiply-adds
        // a row, then Linear(16·14·14, 1).
        let macs = 16.0 * 28.0 * 28.0 * 9.0 + 16.0 * 14.0 * 14.0;
        assert_eq!(step_flops(&spec), 6.0 * 32.0 * macs);
        assert!(step_flops(&spec) > SINGLE_THREAD_FLOPS);
    }

    /// Every experiment's estimate, pinned before the cost model moved
    /// into pipeline-model (issue 19): the move must not change a number.
    #[test]
    fn the_experiments_step_flops_are_pinned() {
        let experiments =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
        let pinned = [
            ("mlp", 798_720.0),
            ("digits_cnn", 16_171_008.0),
            ("mnist_cnn", 281_346_048.0),
            ("co2_lstm", 21_731_328.0),
            ("sunspots_gru", 941_568.0),
            ("sunspots_transformer", 2_821_632.0),
            ("iris", 29_184.0),
            ("wine", 107_520.0),
            ("breast_cancer", 202_752.0),
            ("shuttle", 3_194_880.0),
            ("overfit_wide", 37_797_888.0),
            ("overfit_regularized", 37_797_888.0),
        ];
        for (name, flops) in pinned {
            let path = experiments.join(format!("{name}.toml"));
            let text = std::fs::read_to_string(&path).unwrap();
            let spec = Spec::parse(&path, &text, &[]).unwrap();
            assert_eq!(step_flops(&spec), flops, "{name}");
        }
    }
}
