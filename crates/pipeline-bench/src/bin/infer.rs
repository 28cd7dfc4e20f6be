//! Inference (issues #6 and #7), three measures, each against PyTorch in
//! the same run when a Python with `torch` is found
//! (`PIPELINE_BENCH_PYTHON`, else `/tmp/peers-venv/bin/python`, else
//! `python3`), alternating A B A B:
//! - cold start: `pipeline infer --row` (one row, whole process) against
//!   `peers/torch_predict.py`;
//! - batch, like for like: `pipeline infer --input 200k.csv --output out.csv`
//!   against `peers/torch_infer_csv.py` (pandas reads the CSV, torch
//!   predicts, pandas writes the CSV), both whole processes;
//! - the model alone, in memory: `pipeline_train::predict_rows` called on
//!   all 200,000 rows at once and in calls of fewer rows (one candle thread,
//!   as `infer` runs it) against `torch_mlp.py synth`'s one-call and
//!   256-row-call rates.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use pipeline_bench::{Report, Row, find_python, median, ms, pipeline_binary};
use pipeline_train::{FORWARD_ROWS, predict_rows};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const ROWS: usize = 200_000;
const REPEATS: usize = 9;
/// The first row of the diabetes data (raw, unscaled).
const ROW: &str = "age=59,sex=2,bmi=32.1,bp=101,s1=157,s2=93.2,s3=38,s4=4,s5=4.8598,s6=87";

/// Slice sizes the in-memory measure tries (rows per forward pass).
const SLICES: [usize; 7] = [128, 256, 512, 1024, 4096, 65_536, ROWS];

fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("--in-memory") {
        return in_memory();
    }
    let pipeline = pipeline_binary()?;
    let repo = repo_root()?;
    let work = tempfile_dir()?;
    let registry = work.join("registry/registry.db");
    let run = |args: &[&str]| -> anyhow::Result<Duration> {
        let start = Instant::now();
        let out = Command::new(&pipeline)
            .args(args)
            .env("PIPELINE_REGISTRY", &registry)
            .output()
            .with_context(|| format!("cannot run {}", pipeline.display()))?;
        let elapsed = start.elapsed();
        if !out.status.success() {
            bail!(
                "pipeline {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(elapsed)
    };
    let spec = repo.join("experiments/mlp.toml");
    run(&["run", path(&spec)?, "--set", "train.epochs=20", "-q"])?;

    let rows_csv = work.join("rows.csv");
    write_rows(&rows_csv)?;
    let output = work.join("predictions.csv");

    let torch = torch_peer(&work);
    if let Err(reason) = &torch {
        eprintln!("PyTorch peer skipped: {reason}");
    }
    let raw_row: String = ROW
        .split(',')
        .map(|kv| kv.split_once('=').map_or("", |(_, v)| v))
        .collect::<Vec<_>>()
        .join(",");

    let mut ours_cold = Vec::new();
    let mut torch_cold = Vec::new();
    let mut ours_batch = Vec::new();
    run(&["infer", "--row", ROW, "--only-predictions"])?;
    for _ in 0..REPEATS {
        ours_cold.push(run(&["infer", "--row", ROW, "--only-predictions"])?);
        if let Ok(peer) = &torch {
            torch_cold.push(peer.predict_one(&raw_row)?);
        }
    }
    let mut torch_batch = Vec::new();
    let mut torch_work = Vec::new();
    let torch_output = work.join("torch-predictions.csv");
    for _ in 0..5 {
        ours_batch.push(run(&[
            "infer",
            "--input",
            path(&rows_csv)?,
            "--output",
            path(&output)?,
        ])?);
        if let Ok(peer) = &torch {
            let (wall, work) = peer.predict_csv(&rows_csv, &torch_output)?;
            torch_batch.push(wall);
            torch_work.push(work);
        }
    }
    for list in [
        &mut ours_cold,
        &mut torch_cold,
        &mut ours_batch,
        &mut torch_batch,
        &mut torch_work,
    ] {
        list.sort();
    }
    let memory = in_memory_rates()?;

    let mut report = Report::default();
    let cold = ms(median(&ours_cold));
    report.add(
        "infer",
        Row::new("cold process: pipeline infer --row (one row)", cold, "ms"),
    );
    if !torch_cold.is_empty() {
        let theirs = ms(median(&torch_cold));
        report.add(
            "infer",
            Row::new(
                "cold process: python torch_predict.py (one row)",
                theirs,
                "ms",
            ),
        );
        report.add(
            "infer",
            Row::new("cold start, pipeline / torch", cold / theirs, "ratio")
                .with_target("<= 0.05", cold / theirs <= 0.05),
        );
    }
    let batch = ROWS as f64 / median(&ours_batch).as_secs_f64();
    report.add(
        "infer",
        Row::new(
            "batch: pipeline infer, 200,000 rows CSV in and out (whole process)",
            batch,
            "rows/s",
        ),
    );
    if !torch_batch.is_empty() {
        let theirs = ROWS as f64 / median(&torch_batch).as_secs_f64();
        let work = ROWS as f64 / median(&torch_work).as_secs_f64();
        report.add(
            "infer",
            Row::new(
                "batch: torch_infer_csv.py, same file (whole process)",
                theirs,
                "rows/s",
            ),
        );
        report.add(
            "infer",
            Row::new(
                "batch: torch_infer_csv.py after its imports (read, predict, write)",
                work,
                "rows/s",
            ),
        );
        report.add(
            "infer",
            Row::new(
                "batch, pipeline / torch (whole processes)",
                batch / theirs,
                "ratio",
            )
            .with_target(">= 1", batch >= theirs),
        );
        report.add(
            "infer",
            Row::new(
                "batch, pipeline (whole process) / torch after imports",
                batch / work,
                "ratio",
            )
            .with_target(">= 1", batch >= work),
        );
    }
    for (slice, rate) in &memory {
        report.add(
            "infer",
            Row::new(
                format!("in memory: predict_rows, calls of {slice} rows"),
                *rate,
                "rows/s",
            ),
        );
    }
    let rate_of = |calls: usize| {
        memory
            .iter()
            .find(|(slice, _)| *slice == calls)
            .map_or(0.0, |(_, rate)| *rate)
    };
    if let Ok(peer) = &torch {
        for (name, theirs, calls) in [
            ("one call", peer.in_memory_rows_per_s, ROWS),
            ("calls of 256", peer.in_memory_batched_rows_per_s, 256),
        ] {
            let Some(theirs) = theirs else { continue };
            let chosen = rate_of(calls);
            report.add(
                "infer",
                Row::new(
                    format!("in memory: torch, 200,000 rows, {name} (torch_mlp.py synth)"),
                    theirs,
                    "rows/s",
                ),
            );
            report.add(
                "infer",
                Row::new(
                    format!("in memory, pipeline / torch, {name}"),
                    chosen / theirs,
                    "ratio",
                )
                .with_target(">= 1", chosen >= theirs),
            );
        }
    }
    eprintln!(
        "\ninference benchmark ({})\n{}",
        work.display(),
        report.table()
    );
    std::fs::remove_dir_all(&work).ok();
    Ok(())
}

/// The PyTorch reference: a Python with torch, the saved SimpleNN, and the
/// synth workload's in-memory inference rate.
struct TorchPeer {
    python: PathBuf,
    script: PathBuf,
    csv_script: PathBuf,
    model: PathBuf,
    in_memory_rows_per_s: Option<f64>,
    in_memory_batched_rows_per_s: Option<f64>,
}

impl TorchPeer {
    /// The whole process's time, and the script's own time after imports.
    fn predict_csv(&self, input: &Path, output: &Path) -> anyhow::Result<(Duration, Duration)> {
        let start = Instant::now();
        let out = Command::new(&self.python)
            .arg(&self.csv_script)
            .arg(&self.model)
            .arg(input)
            .arg(output)
            .output()?;
        let elapsed = start.elapsed();
        if !out.status.success() {
            bail!(
                "torch_infer_csv.py failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let line: serde_json::Value = serde_json::from_slice(&out.stdout)
            .context("torch_infer_csv.py printed no JSON line")?;
        let work = line["work_s"]
            .as_f64()
            .context("torch_infer_csv.py gave no work_s")?;
        Ok((elapsed, Duration::from_secs_f64(work)))
    }

    fn predict_one(&self, row: &str) -> anyhow::Result<Duration> {
        let start = Instant::now();
        let out = Command::new(&self.python)
            .arg(&self.script)
            .arg(&self.model)
            .arg(row)
            .output()?;
        let elapsed = start.elapsed();
        if !out.status.success() {
            bail!(
                "torch_predict.py failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(elapsed)
    }
}

fn torch_peer(work: &Path) -> anyhow::Result<TorchPeer> {
    let peers = pipeline_bench::peers_dir();
    let python = find_python("import torch, numpy, pandas").context(
        "no Python with torch, numpy and pandas (see crates/pipeline-bench/peers/README.md)",
    )?;
    let data = work.join("peers-data");
    let models = work.join("peers-models");
    let ok = |out: std::process::Output, what: &str| -> anyhow::Result<std::process::Output> {
        if out.status.success() {
            Ok(out)
        } else {
            bail!("{what} failed: {}", String::from_utf8_lossy(&out.stderr))
        }
    };
    ok(
        Command::new(&python)
            .arg(peers.join("make_data.py"))
            .arg(&data)
            .output()?,
        "make_data.py",
    )?;
    ok(
        Command::new(&python)
            .arg(peers.join("torch_mlp.py"))
            .args(["diabetes", "--epochs", "5", "--data"])
            .arg(&data)
            .arg("--models")
            .arg(&models)
            .output()?,
        "torch_mlp.py diabetes",
    )?;
    let synth = ok(
        Command::new(&python)
            .arg(peers.join("torch_mlp.py"))
            .args(["synth", "--epochs", "1", "--data"])
            .arg(&data)
            .arg("--models")
            .arg(&models)
            .output()?,
        "torch_mlp.py synth",
    )?;
    let line = String::from_utf8_lossy(&synth.stdout);
    let json = line
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok());
    let rate = |key: &str| json.as_ref().and_then(|v| v[key].as_f64());
    Ok(TorchPeer {
        python,
        script: peers.join("torch_predict.py"),
        csv_script: peers.join("torch_infer_csv.py"),
        model: models.join("torch_simplenn.pt"),
        in_memory_rows_per_s: rate("infer_full_rows_per_s"),
        in_memory_batched_rows_per_s: rate("infer_batched_rows_per_s"),
    })
}

/// Runs this benchmark again as `--in-memory` with one candle thread, as
/// `pipeline infer` runs the network, and reads back its rates.
fn in_memory_rates() -> anyhow::Result<Vec<(usize, f64)>> {
    let exe = std::env::current_exe().context("cannot locate the benchmark binary")?;
    let out = Command::new(exe)
        .arg("--in-memory")
        .env("RAYON_NUM_THREADS", "1")
        .output()?;
    if !out.status.success() {
        bail!(
            "the in-memory measure failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let rates: Vec<(usize, f64)> =
        serde_json::from_slice(&out.stdout).context("the in-memory measure printed no JSON")?;
    Ok(rates)
}

/// The model alone: SimpleNN (the first experiment's network) over 200,000
/// in-memory rows, in calls of each size (each call through
/// `predict_rows`, which runs MLPs in its own passes); prints
/// `[[rows per call, rows/s], …]`
/// (median of 7 after a warm-up).
fn in_memory() -> anyhow::Result<()> {
    let repo = repo_root()?;
    let spec_path = repo.join("experiments/mlp.toml");
    let text = std::fs::read_to_string(&spec_path)?;
    let spec = pipeline_spec::Spec::parse(&spec_path, &text, &[])?;
    let device = candle_core::Device::Cpu;
    let network = pipeline_model::Network::new(&spec.model, 10, 1, 7, &device)?;
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let inputs: Vec<f32> = (0..ROWS * 10)
        .map(|_| rng.random_range(-2.0..2.0))
        .collect();
    let mut rates = Vec::new();
    for slice in SLICES {
        let mut times = Vec::new();
        for repeat in 0..8 {
            let start = Instant::now();
            let mut predictions = 0;
            for call in inputs.chunks(slice * 10) {
                predictions += predict_rows(&network, call, 10, FORWARD_ROWS, &device)?.len();
            }
            let elapsed = start.elapsed();
            if predictions != ROWS {
                bail!("{} predictions for {ROWS} rows", predictions);
            }
            if repeat > 0 {
                times.push(elapsed);
            }
        }
        times.sort();
        rates.push((slice, ROWS as f64 / median(&times).as_secs_f64()));
    }
    println!("{}", serde_json::to_string(&rates)?);
    Ok(())
}

/// 200,000 rows with the diabetes feature names, values in their ranges.
fn write_rows(path: &Path) -> anyhow::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut text = String::from("age,sex,bmi,bp,s1,s2,s3,s4,s5,s6\n");
    for _ in 0..ROWS {
        let values = [
            rng.random_range(19.0..79.0f64),
            f64::from(rng.random_range(1..=2u8)),
            rng.random_range(18.0..42.0),
            rng.random_range(62.0..133.0),
            rng.random_range(97.0..301.0),
            rng.random_range(41.0..242.0),
            rng.random_range(22.0..99.0),
            rng.random_range(2.0..9.1),
            rng.random_range(3.2..6.1),
            rng.random_range(58.0..124.0),
        ];
        let line: Vec<String> = values.iter().map(|v| format!("{v:.4}")).collect();
        text.push_str(&line.join(","));
        text.push('\n');
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn repo_root() -> anyhow::Result<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.join("../..")
        .canonicalize()
        .context("cannot find the repository root")
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("pipeline-bench-infer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

fn path(p: &Path) -> anyhow::Result<&str> {
    p.to_str().context("the temp path is not UTF-8")
}
