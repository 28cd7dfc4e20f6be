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

use pipeline_spec::Spec;

use crate::cli::{Cli, Command, SweepCommand};

/// Below this many floating-point operations per training step (forward and
/// backward, estimated by [`pipeline_model::cost::step_flops`]), one thread
/// is faster than several.
const SINGLE_THREAD_FLOPS: f64 = 20e6;

fn step_flops(spec: &Spec) -> f64 {
    pipeline_model::cost::step_flops(&spec.model, spec.train.batch_size)
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
            // A sweep with several jobs trains that many trials at once:
            // one thread each keeps the threads at most the cores.
            Spec::load(path, &args.set).is_ok_and(|loaded| {
                step_flops(&loaded.spec) < SINGLE_THREAD_FLOPS
                    || loaded
                        .spec
                        .sweep
                        .as_ref()
                        .is_some_and(|sweep| args.jobs.unwrap_or(sweep.jobs).get() >= 2)
            })
        }),
        Command::Infer(_) | Command::Evaluate(_) | Command::Serve(_) => true,
        // A sweep's parallelism is its jobs: each trial trains on one
        // thread (the stored spec is in the registry, read too late here).
        Command::Sweep(args) => !matches!(args.command, SweepCommand::Show(_)),
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
        let cnn = include_str!("../../../experiments/mnist_cnn.toml");
        let cnn = Spec::parse(std::path::Path::new("mnist_cnn.toml"), cnn, &[]).unwrap();
        assert!(step_flops(&cnn) > SINGLE_THREAD_FLOPS);
    }
}
