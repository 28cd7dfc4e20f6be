//! Inference (issue #6): the cold start of `pipeline infer` predicting one
//! row, and end-to-end batch throughput on 200,000 rows (CSV in, CSV out),
//! through the real binary. When a Python with `torch` is found
//! (`PIPELINE_BENCH_PYTHON`, else `/tmp/peers-venv/bin/python`, else
//! `python3`), the PyTorch peer from `../shared/peers/` runs in the same
//! process loop, alternating A B A B, and the ratios are printed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use pipeline_bench::{Report, Row, median, ms, pipeline_binary};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const ROWS: usize = 200_000;
const REPEATS: usize = 9;
/// The first row of the diabetes data (raw, unscaled).
const ROW: &str = "age=59,sex=2,bmi=32.1,bp=101,s1=157,s2=93.2,s3=38,s4=4,s5=4.8598,s6=87";

fn main() -> anyhow::Result<()> {
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

    let torch = torch_peer(&repo, &work);
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
    for _ in 0..3 {
        ours_batch.push(run(&[
            "infer",
            "--input",
            path(&rows_csv)?,
            "--output",
            path(&output)?,
        ])?);
    }
    for list in [&mut ours_cold, &mut torch_cold, &mut ours_batch] {
        list.sort();
    }

    let mut report = Report::default();
    let cold = ms(median(&ours_cold));
    report.add(
        "infer",
        Row {
            name: "cold process: pipeline infer --row (one row)".into(),
            value: cold,
            unit: "ms",
            target: None,
            ok: None,
        },
    );
    if !torch_cold.is_empty() {
        let theirs = ms(median(&torch_cold));
        report.add(
            "infer",
            Row {
                name: "cold process: python torch_predict.py (one row)".into(),
                value: theirs,
                unit: "ms",
                target: None,
                ok: None,
            },
        );
        report.add(
            "infer",
            Row {
                name: "cold start, pipeline / torch".into(),
                value: cold / theirs,
                unit: "ratio",
                target: Some("<= 0.05".into()),
                ok: Some(cold / theirs <= 0.05),
            },
        );
    }
    let batch = ROWS as f64 / median(&ours_batch).as_secs_f64();
    report.add(
        "infer",
        Row {
            name: "200,000 rows, CSV file in and out, end to end".into(),
            value: batch,
            unit: "rows/s",
            target: None,
            ok: None,
        },
    );
    if let Ok(peer) = &torch
        && let Some(theirs) = peer.in_memory_rows_per_s
    {
        report.add(
            "infer",
            Row {
                name: "torch, 200,000 rows in memory, one call (torch_mlp.py synth)".into(),
                value: theirs,
                unit: "rows/s",
                target: None,
                ok: None,
            },
        );
        report.add(
            "infer",
            Row {
                name: "batch, pipeline end to end / torch in memory".into(),
                value: batch / theirs,
                unit: "ratio",
                target: Some(">= 1".into()),
                ok: Some(batch >= theirs),
            },
        );
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
    model: PathBuf,
    in_memory_rows_per_s: Option<f64>,
}

impl TorchPeer {
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

fn torch_peer(repo: &Path, work: &Path) -> anyhow::Result<TorchPeer> {
    let peers = repo.join("../shared/peers");
    if !peers.join("torch_predict.py").exists() {
        bail!("{} has no torch_predict.py", peers.display());
    }
    let candidates: Vec<PathBuf> = std::env::var_os("PIPELINE_BENCH_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            PathBuf::from("/tmp/peers-venv/bin/python"),
            PathBuf::from("python3"),
        ])
        .collect();
    let python = candidates
        .into_iter()
        .find(|p| {
            Command::new(p)
                .args(["-c", "import torch, numpy"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .context("no Python with torch and numpy (see ../shared/peers/README.md)")?;
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
    let in_memory_rows_per_s = line
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .and_then(|v| v["infer_full_rows_per_s"].as_f64());
    Ok(TorchPeer {
        python,
        script: peers.join("torch_predict.py"),
        model: models.join("torch_simplenn.pt"),
        in_memory_rows_per_s,
    })
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
