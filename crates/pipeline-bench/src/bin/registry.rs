//! Registry at scale (issue #5): 10,000 completed runs × 200 epochs of
//! metrics (train and validation: loss, mse, rmse, mae, r2), generated
//! through the public `Registry::import_run`; then the real `pipeline`
//! binary is timed on `runs --where … --sort …` and `compare` of two runs
//! (median of 7 processes after a warm-up; target: under 100 ms each), and
//! the registry's size on disk is reported.
//!
//! `bench-registry [--runs N] [--epochs N] [--dir DIR]`: the registry is
//! kept in DIR (default: a folder under the system temp dir) and reused when
//! it already holds N runs, so repeated benchmarks skip the generation.
//!
//! `bench-registry --registry postgres://… [--runs N] [--epochs N]` (issue
//! 23) runs the same benchmark on a PostgreSQL registry: the database must
//! be empty (it is migrated and filled) or hold exactly N runs (reused).
//!
//! `bench-registry --sweep-trials N [--dir DIR]` (issue 22) instead builds a
//! registry holding one sweep of N trials (two thirds completed, one third
//! pruned, each run with 30 epochs of losses) and times `sweep show` and
//! `sweeps` on it (target: under 100 ms each).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use pipeline_bench::{Report, Row, database_bytes, median, ms, pipeline_binary, time_command};
use pipeline_registry::{
    Backend, Completion, EpochMetric, ImportedRun, Location, MetricValue, NewRun, NewSweep,
    Overfitting, PrunedRun, Registry, RunFilter, RunId, RunSelector, SweepFilter, TrialLink,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const EXPERIMENTS: usize = 10;
const TARGET_MS: f64 = 100.0;

struct Options {
    runs: usize,
    epochs: u32,
    dir: PathBuf,
    /// `--sweep-trials N`: only the sweep benchmark, with N trials.
    sweep_trials: Option<u32>,
    /// `--registry URL`: a PostgreSQL registry instead of a SQLite file.
    registry: Option<String>,
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options {
        runs: 10_000,
        epochs: 200,
        dir: std::env::temp_dir().join("pipeline-bench-registry"),
        sweep_trials: None,
        registry: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--runs" => options.runs = value()?.parse().context("--runs")?,
            "--epochs" => options.epochs = value()?.parse().context("--epochs")?,
            "--dir" => options.dir = PathBuf::from(value()?),
            "--registry" => options.registry = Some(value()?),
            "--sweep-trials" => {
                options.sweep_trials = Some(value()?.parse().context("--sweep-trials")?);
            }
            other => anyhow::bail!(
                "unknown argument {other}; use --runs, --epochs, --dir, --registry, --sweep-trials"
            ),
        }
    }
    Ok(options)
}

fn main() -> anyhow::Result<()> {
    let options = options()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if let Some(trials) = options.sweep_trials {
        return sweep_bench(&runtime, &options.dir, trials);
    }
    let db = match &options.registry {
        Some(url) => PathBuf::from(url),
        None => options
            .dir
            // `-v2`: since issue 21 the runs' specs vary (learning rate,
            // units, optimizer); a registry generated before is not reused.
            .join(format!("{}x{}-v2", options.runs, options.epochs))
            .join("registry.db"),
    };
    let location = Location::parse(db.as_os_str());
    let mut report = Report::default();
    runtime.block_on(generate(&location, &options, &mut report))?;
    if location.backend() == Backend::Sqlite {
        report.add(
            "registry",
            Row {
                name: "registry size on disk".into(),
                value: database_bytes(&db) as f64 / 1e6,
                unit: "MB",
                target: None,
                ok: None,
            },
        );
    }

    let (a, b, read) = runtime.block_on(pick_runs(&location))?;
    report.add(
        "registry",
        Row {
            name: "Registry::run (one run, all epochs), in process".into(),
            value: ms(read),
            unit: "ms",
            target: None,
            ok: None,
        },
    );

    let pipeline = pipeline_binary()?;
    let env = [("PIPELINE_REGISTRY", db.as_path())];
    let mut timed = |name: &str, args: &[&str], target: Option<f64>| -> anyhow::Result<()> {
        let times = time_command(&pipeline, args, &env, 7)?;
        let value = ms(median(&times));
        report.add(
            "registry",
            Row {
                name: name.into(),
                value,
                unit: "ms",
                target: target.map(|t| format!("< {t} ms")),
                ok: target.map(|t| value < t),
            },
        );
        Ok(())
    };
    timed("pipeline --version (process start)", &["--version"], None)?;
    timed(
        "runs --where … --sort … --limit 20",
        &[
            "runs",
            "--where",
            "val_loss < 3000 and status = completed",
            "--sort",
            "test_r2:desc",
            "--limit",
            "20",
        ],
        Some(TARGET_MS),
    )?;
    let mixed = "(test_r2 > 0.55 or onset = none) and tag = wide";
    timed(
        "runs --where (or, parentheses, tag) --sort gap (table of 50)",
        &["runs", "--where", mixed, "--sort", "gap"],
        Some(TARGET_MS),
    )?;
    timed(
        "  the same, --json with all ~2,000 matches",
        &["runs", "--where", mixed, "--sort", "gap", "--json"],
        None,
    )?;
    timed(
        "runs --where on a spec key (table of 50)",
        &["runs", "--where", "optimizer.learning_rate > 0.005"],
        Some(TARGET_MS),
    )?;
    timed(
        "runs --where on two spec keys --sort on a spec key:desc",
        &[
            "runs",
            "--where",
            "optimizer.learning_rate > 0.005 and model.layers[0].units = 64",
            "--sort",
            "optimizer.learning_rate:desc",
        ],
        Some(TARGET_MS),
    )?;
    timed(
        "runs --sort on a spec key --columns three keys",
        &[
            "runs",
            "--sort",
            "model.layers.0.units",
            "--columns",
            "optimizer.learning_rate,model.layers.0.units,optimizer.type",
        ],
        Some(TARGET_MS),
    )?;
    timed(
        "compare two runs (200 epochs each)",
        &["compare", a.as_str(), b.as_str()],
        Some(TARGET_MS),
    )?;
    timed(
        "compare --json two runs",
        &["compare", a.as_str(), b.as_str(), "--json"],
        Some(TARGET_MS),
    )?;
    timed(
        "show best --experiment exp-3",
        &["show", "best", "--experiment", "exp-3"],
        Some(TARGET_MS),
    )?;
    eprintln!(
        "\nregistry benchmark: {} runs × {} epochs in {}\n{}",
        options.runs,
        options.epochs,
        location,
        report.table()
    );
    Ok(())
}

/// Two runs of one experiment to compare (the newest and the best), and
/// how long reading one run takes in process.
async fn pick_runs(location: &Location) -> anyhow::Result<(RunId, RunId, std::time::Duration)> {
    let registry = Registry::open_at(location).await?;
    let newest = registry
        .resolve(&RunSelector::Latest, Some("exp-3"))
        .await?;
    let best = registry.resolve(&RunSelector::Best, Some("exp-3")).await?;
    let start = Instant::now();
    let _ = registry.run(&best).await?;
    let read = start.elapsed();
    registry.close().await;
    Ok((newest, best, read))
}

/// Fills the registry unless it already holds the wanted number of runs.
async fn generate(
    location: &Location,
    options: &Options,
    report: &mut Report,
) -> anyhow::Result<()> {
    Registry::migrate_at(location).await?;
    let registry = Registry::open_at(location).await?;
    let existing = registry.list_runs(&RunFilter::default()).await?.len();
    if existing == options.runs {
        eprintln!("reusing {location} ({existing} runs)");
        registry.close().await;
        return Ok(());
    }
    registry.close().await;
    match location {
        Location::File(db) => {
            if let Some(folder) = db.parent() {
                std::fs::remove_dir_all(folder).ok();
            }
        }
        Location::Postgres(_) if existing > 0 => {
            anyhow::bail!(
                "{location} holds {existing} runs, not {}: use an empty database",
                options.runs
            )
        }
        Location::Postgres(_) => {}
    }
    let registry = Registry::open_at(location).await?;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let start = Instant::now();
    let mut rows = 0usize;
    for i in 0..options.runs {
        let imported = synthetic_run(i, options.epochs, &mut rng);
        rows += imported.epochs.len();
        let _: RunId = registry.import_run(&imported).await?;
        if (i + 1).is_multiple_of(1000) {
            eprintln!(
                "generated {} runs ({:.0} s)",
                i + 1,
                start.elapsed().as_secs_f64()
            );
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    registry.close().await;
    report.add(
        "registry",
        Row {
            name: "generation: epoch metric rows per second".into(),
            value: rows as f64 / seconds,
            unit: "rows/s",
            target: None,
            ok: None,
        },
    );
    Ok(())
}

/// Learning rates and widths the synthetic specs cycle through: a filter
/// such as `optimizer.learning_rate > 0.005` selects 3 runs in 7.
const LEARNING_RATES: [f64; 7] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05];
const UNITS: [i64; 5] = [16, 32, 64, 128, 256];

/// The resolved spec of synthetic run `i`: a regression MLP whose learning
/// rate, width and optimizer vary from run to run.
fn synthetic_spec(i: usize) -> String {
    let learning_rate = LEARNING_RATES[i % LEARNING_RATES.len()];
    let units = UNITS[(i / LEARNING_RATES.len()) % UNITS.len()];
    let optimizer = if i.is_multiple_of(4) { "sgd" } else { "adam" };
    format!(
        "name = \"synthetic\"\nseed = {i}\n\n[data]\npath = \"synthetic.csv\"\n\
         target = \"y\"\ntask = \"regression\"\nnormalize = \"zscore\"\n\n\
         [data.split]\ntrain = 0.7\nvalidation = 0.15\ntest = 0.15\n\n\
         [model]\nlayers = [\n  {{ type = \"linear\", units = {units} }},\n  \
         {{ type = \"relu\" }},\n  {{ type = \"dropout\", rate = 0.1 }},\n  \
         {{ type = \"linear\", units = 1 }},\n]\n\n\
         [optimizer]\ntype = \"{optimizer}\"\nlearning_rate = {learning_rate:?}\n\
         weight_decay = 0.0001\n\n[train]\nepochs = 200\nbatch_size = 32\n\
         monitor = \"val_loss\"\n"
    )
}

/// A plausible learning curve: both losses fall; in some runs validation
/// turns up after a random epoch (overfitting).
fn synthetic_run(i: usize, epochs: u32, rng: &mut ChaCha8Rng) -> ImportedRun {
    let experiment = format!("exp-{}", i % EXPERIMENTS);
    let floor = 2500.0 + rng.random::<f64>() * 1500.0;
    let turn = if rng.random_bool(0.4) {
        Some(rng.random_range(20..epochs.max(21)))
    } else {
        None
    };
    let mut metrics = Vec::with_capacity(epochs as usize * 10);
    let (mut best, mut best_epoch) = (f64::INFINITY, 1);
    let mut last = (0.0, 0.0);
    for epoch in 1..=epochs {
        let t = f64::from(epoch);
        let train = floor * 0.8 + 25_000.0 * (-t / 15.0).exp() + rng.random::<f64>() * 50.0;
        let rise = turn.map_or(0.0, |e| (t - f64::from(e)).max(0.0) * 8.0);
        let validation = floor + 25_000.0 * (-t / 15.0).exp() + rise + rng.random::<f64>() * 80.0;
        if validation < best {
            best = validation;
            best_epoch = epoch;
        }
        last = (train, validation);
        for (split, loss) in [("train", train), ("validation", validation)] {
            for (metric, value) in [
                ("loss", loss),
                ("mse", loss),
                ("rmse", loss.sqrt()),
                ("mae", loss.sqrt() * 0.8),
                ("r2", 1.0 - loss / 6000.0),
            ] {
                metrics.push(EpochMetric {
                    epoch,
                    split: split.into(),
                    metric: metric.into(),
                    value,
                });
            }
        }
    }
    let test = best * (1.0 + rng.random::<f64>() * 0.2);
    let final_metrics = [("train", last.0), ("validation", best), ("test", test)]
        .into_iter()
        .flat_map(|(split, loss)| {
            [
                ("loss", loss),
                ("mse", loss),
                ("rmse", loss.sqrt()),
                ("mae", loss.sqrt() * 0.8),
                ("r2", 1.0 - loss / 6000.0),
            ]
            .map(|(metric, value)| MetricValue {
                split: split.into(),
                metric: metric.into(),
                value,
            })
        })
        .collect();
    let wide = i.is_multiple_of(3);
    ImportedRun {
        run: NewRun {
            experiment,
            spec_toml: synthetic_spec(i),
            spec_hash: format!("{i:064x}"),
            source_spec: String::new(),
            spec_path: "synthetic.toml".into(),
            data_path: "synthetic.csv".into(),
            data_sha256: "0".repeat(64),
            columns_hash: None,
            seed: i as u64,
            device: "cpu".into(),
            program_version: "bench".into(),
            git_commit: "bench".into(),
            deterministic: true,
            tags: if wide { vec!["wide".into()] } else { vec![] },
            note: None,
            name: None,
            selection_metric: "val_loss".into(),
            selection_higher_is_better: false,
            trial: None,
        },
        started_at: format!("2026-01-01T00:00:{:02}.{:03}Z", (i / 1000) % 60, i % 1000),
        ended_at: "2026-01-01T01:00:00.000Z".into(),
        epochs: metrics,
        completion: Completion {
            best_epoch,
            epochs_run: epochs,
            selection_value: best,
            final_metrics,
            artifacts: vec![],
            overfitting: Overfitting {
                gap_at_best: Some(best - last.0),
                test_train_gap: Some(test - last.0),
                onset: turn,
                ..Overfitting::default()
            },
            weights_digest: None,
        },
    }
}

/// Issue 22: `sweep show` and `sweeps` on one sweep of `trials` trials.
fn sweep_bench(runtime: &tokio::runtime::Runtime, dir: &Path, trials: u32) -> anyhow::Result<()> {
    let db = dir.join(format!("sweep-{trials}")).join("registry.db");
    let mut report = Report::default();
    runtime.block_on(generate_sweep(&db, trials, &mut report))?;
    let pipeline = pipeline_binary()?;
    let env = [("PIPELINE_REGISTRY", db.as_path())];
    for (name, args) in [
        ("pipeline --version (process start)", &["--version"][..]),
        (
            "sweep show latest (every trial)",
            &["sweep", "show", "latest"][..],
        ),
        (
            "sweep show latest --top 20",
            &["sweep", "show", "latest", "--top", "20"][..],
        ),
        (
            "sweep show latest --json",
            &["sweep", "show", "latest", "--json"][..],
        ),
        ("sweeps", &["sweeps"][..]),
    ] {
        let times = time_command(&pipeline, args, &env, 7)?;
        let value = ms(median(&times));
        let target = (args[0] != "--version").then_some(TARGET_MS);
        report.add(
            "sweeps",
            Row {
                name: name.into(),
                value,
                unit: "ms",
                target: target.map(|t| format!("< {t} ms")),
                ok: target.map(|t| value < t),
            },
        );
    }
    eprintln!(
        "\nsweep benchmark: one sweep of {trials} trials in {}\n{}",
        db.display(),
        report.table()
    );
    Ok(())
}

/// Fills the registry with one sweep of `trials` trials unless it holds
/// one already: two thirds imported as completed runs, one third created,
/// given their epochs and pruned.
async fn generate_sweep(db: &Path, trials: u32, report: &mut Report) -> anyhow::Result<()> {
    let registry = Registry::open(db).await?;
    let existing = registry.sweeps(&SweepFilter::default()).await?;
    if existing.first().is_some_and(|s| s.counts.ended() == trials) {
        eprintln!("reusing {} (a sweep of {trials} trials)", db.display());
        registry.close().await;
        return Ok(());
    }
    registry.close().await;
    if let Some(folder) = db.parent() {
        std::fs::remove_dir_all(folder).ok();
    }
    let registry = Registry::open(db).await?;
    let sweep = registry
        .create_sweep(&NewSweep {
            experiment: "exp-sweep".into(),
            name: None,
            spec_path: "sweep.toml".into(),
            source_spec: String::new(),
            spec_toml: String::new(),
            method: "tpe".into(),
            metric: "val_loss".into(),
            higher_is_better: false,
            budget: trials,
            jobs: 2,
            seed: 7,
            parameters: serde_json::json!([
                {"key": "optimizer.learning_rate", "log_uniform": [1e-4, 1e-1]},
                {"key": "model.layers.0.units", "values": [16, 32, 64, 128]},
            ]),
            pruner: Some(serde_json::json!({"type": "asha", "min_epochs": 10, "reduction": 3})),
            tags: Vec::new(),
        })
        .await?;
    let mut rng = ChaCha8Rng::seed_from_u64(22);
    let start = Instant::now();
    for number in 0..trials {
        let i = number as usize;
        let lr = 10f64.powf(rng.random_range(-4.0..-1.0));
        let units = UNITS[i % 4];
        let params =
            serde_json::json!({"optimizer.learning_rate": lr, "model.layers.0.units": units});
        registry.claim_trial(&sweep, number, &params).await?;
        let mut imported = synthetic_run(i, 30, &mut rng);
        imported.run.experiment = "exp-sweep".into();
        imported.run.trial = Some(TrialLink {
            sweep: sweep.clone(),
            number,
        });
        imported.epochs.retain(|e| e.metric == "loss");
        if number % 3 == 2 {
            let run = registry.create_run(&imported.run).await?;
            let epochs: Vec<EpochMetric> = imported
                .epochs
                .iter()
                .filter(|e| e.epoch <= 10)
                .cloned()
                .collect();
            registry.record_epochs(&run, &epochs).await?;
            let pruned = PrunedRun {
                epoch: 10,
                reason: "val_loss is not in the best 1/3 at epoch 10".into(),
                best_epoch: Some(10),
                value: Some(imported.completion.selection_value * 1.5),
            };
            registry.prune_run(&run, &pruned).await?;
        } else {
            registry.import_run(&imported).await?;
        }
        if (number + 1).is_multiple_of(1000) {
            eprintln!(
                "generated {} trials ({:.0} s)",
                number + 1,
                start.elapsed().as_secs_f64()
            );
        }
    }
    registry.close().await;
    report.add(
        "sweeps",
        Row {
            name: "generation: trials per second".into(),
            value: f64::from(trials) / start.elapsed().as_secs_f64(),
            unit: "trials/s",
            target: None,
            ok: None,
        },
    );
    Ok(())
}
