//! Data preparation (issue #3): 1,000,000 generated rows × 20 numeric
//! features plus a target, written as CSV and as Parquet, prepared the way a
//! run prepares them (`pipeline_data::prepare`: read, pick columns, seeded
//! split, z-score fitted on the training rows, f32 matrices for every split).
//!
//! Each measurement is a fresh process, so every read is cold in the same
//! way and each side's peak RSS is its own: this binary re-runs itself with
//! `--child SPEC` for our side, and the scikit-learn peer
//! (`peers/sklearn_prepare.py`: pandas read, `train_test_split`,
//! `StandardScaler`, float32) runs on the same file when a Python with
//! scikit-learn is found (`PIPELINE_BENCH_PYTHON`, else
//! `/tmp/peers-venv/bin/python`, else `python3`). The two alternate
//! A B A B; the rates are medians of the time each side spends in the work,
//! without process start or imports (reported apart). Then, when the
//! `pipeline` binary is built, `pipeline run` with one epoch of a linear
//! model times the whole CLI path once per format.
//!
//! `bench-prepare [--rows N] [--repeats N] [--keep]`; JSON lines on stdout,
//! a table on stderr. `--keep` leaves the temp folder (data and specs) in
//! place, to profile one side alone: `bench-prepare --child DIR/csv.toml`.

use std::fmt::Write as _;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use pipeline_bench::{Report, Row, find_python, median, ms, pipeline_binary};
use pipeline_data::prepare;
use pipeline_spec::Spec;
use polars::prelude::{Column, DataFrame, ParquetWriter};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const FEATURES: usize = 20;
const TARGET: &str = "y";
const SEED: u64 = 42;
/// The spec's split, passed as is to the peer.
const SPLIT: [f64; 3] = [0.70, 0.15, 0.15];

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, spec] = args.as_slice()
        && flag == "--child"
    {
        return child(Path::new(spec));
    }
    let rows = option(&args, "--rows")?.unwrap_or(1_000_000);
    let repeats = option(&args, "--repeats")?.unwrap_or(5).max(1);

    let work = std::env::temp_dir().join(format!("pipeline-bench-prepare-{}", std::process::id()));
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let result = bench(&work, rows, repeats);
    if args.iter().any(|a| a == "--keep") {
        eprintln!("kept {}", work.display());
    } else {
        std::fs::remove_dir_all(&work).ok();
    }
    result
}

fn bench(work: &Path, rows: usize, repeats: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let columns = generate(rows);
    let csv = work.join("table.csv");
    let parquet = work.join("table.parquet");
    write_csv(&csv, &columns)?;
    write_parquet(&parquet, columns)?;
    eprintln!(
        "generated {rows} rows × {FEATURES} features + target in {:.1} s: CSV {:.0} MB, Parquet {:.0} MB",
        started.elapsed().as_secs_f64(),
        megabytes(&csv),
        megabytes(&parquet),
    );

    let exe = std::env::current_exe().context("cannot locate the benchmark binary")?;
    let peer = sklearn_peer();
    if let Err(reason) = &peer {
        eprintln!("scikit-learn peer skipped: {reason}");
    }
    let mut report = Report::default();
    let mut specs = Vec::new();
    for (label, data) in [("CSV", &csv), ("Parquet", &parquet)] {
        let spec = write_spec(work, label, data)?;
        Spec::load(&spec, &[]).with_context(|| format!("the bench spec {}", spec.display()))?;
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        // One warm-up each (page cache, Python's bytecode cache), then A B A B.
        for round in 0..=repeats {
            let a = run_json(Command::new(&exe).arg("--child").arg(&spec))?;
            let b = match &peer {
                Ok(python) => Some(run_json(
                    Command::new(python)
                        .arg(peer_script())
                        .arg(data)
                        .arg(TARGET)
                        .args(SPLIT.map(|f| f.to_string()))
                        .arg(SEED.to_string()),
                )?),
                Err(_) => None,
            };
            if round == 0 {
                eprintln!(
                    "{label}: split sizes ours {}, sklearn {}",
                    a.json["rows"],
                    b.as_ref()
                        .map_or("-".into(), |b| b.json["rows"].to_string())
                );
                continue;
            }
            ours.push(a);
            theirs.extend(b);
        }
        add_rows(&mut report, label, rows, &ours, &theirs);
        specs.push((label, spec));
    }

    match pipeline_binary() {
        Ok(pipeline) => {
            for (label, spec) in &specs {
                let registry = work.join(format!("registry-{label}/registry.db"));
                let mut times = Vec::new();
                for _ in 0..3 {
                    let (_, wall) = run_process(
                        Command::new(&pipeline)
                            .arg("run")
                            .arg(spec)
                            .arg("-q")
                            .env("PIPELINE_REGISTRY", &registry),
                    )?;
                    times.push(wall);
                }
                times.sort();
                report.add(
                    "prepare",
                    Row {
                        name: format!(
                            "{label}: pipeline run, 1 epoch of a linear model, end to end"
                        ),
                        value: rows as f64 / median(&times).as_secs_f64(),
                        unit: "rows/s",
                        target: None,
                        ok: None,
                    },
                );
            }
        }
        Err(reason) => eprintln!("`pipeline run` skipped: {reason}"),
    }

    eprintln!(
        "\ndata preparation benchmark, {rows} rows × {FEATURES} features, medians of {repeats} ({})\n{}",
        work.display(),
        report.table()
    );
    Ok(())
}

/// `--child SPEC`: one preparation as a run does it; prints its seconds,
/// split sizes and this process's peak RSS.
fn child(spec: &Path) -> anyhow::Result<()> {
    let loaded = Spec::load(spec, &[])?;
    let data_path = loaded.data_path();
    let start = Instant::now();
    let data = prepare(&loaded.spec.data, &data_path, loaded.spec.seed)?;
    let seconds = start.elapsed().as_secs_f64();
    let line = serde_json::json!({
        "seconds": seconds,
        "rows": [data.train.rows, data.validation.rows, data.test.rows],
        "features": data.train.features,
        "peak_rss_kib": peak_rss_kib(),
    });
    println!("{line}");
    Ok(())
}

/// One side's run: its JSON line and the process's wall-clock time.
struct Measured {
    json: serde_json::Value,
    wall: Duration,
}

impl Measured {
    fn seconds(&self) -> Duration {
        Duration::from_secs_f64(self.json["seconds"].as_f64().unwrap_or(f64::NAN).max(0.0))
    }

    fn peak_mib(&self) -> f64 {
        self.json["peak_rss_kib"].as_f64().unwrap_or(f64::NAN) / 1024.0
    }
}

/// Runs a process to success; its stdout and wall-clock time.
fn run_process(command: &mut Command) -> anyhow::Result<(String, Duration)> {
    let start = Instant::now();
    let out = command
        .output()
        .with_context(|| format!("cannot run {command:?}"))?;
    let wall = start.elapsed();
    if !out.status.success() {
        bail!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok((String::from_utf8_lossy(&out.stdout).into_owned(), wall))
}

/// Runs a process that ends its output with a JSON line.
fn run_json(command: &mut Command) -> anyhow::Result<Measured> {
    let (stdout, wall) = run_process(command)?;
    let json = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .with_context(|| format!("{command:?} printed no JSON line: {stdout}"))?;
    Ok(Measured { json, wall })
}

fn add_rows(report: &mut Report, label: &str, rows: usize, ours: &[Measured], theirs: &[Measured]) {
    let sorted = |list: &[Measured], f: fn(&Measured) -> Duration| {
        let mut times: Vec<Duration> = list.iter().map(f).collect();
        times.sort();
        times
    };
    let peak = |list: &[Measured]| list.iter().map(Measured::peak_mib).fold(f64::NAN, f64::max);
    let rate = |d: Duration| rows as f64 / d.as_secs_f64();
    let mut add = |name: String, value: f64, unit: &'static str, target: Option<(&str, bool)>| {
        report.add(
            "prepare",
            Row {
                name,
                value,
                unit,
                target: target.map(|(t, _)| t.to_string()),
                ok: target.map(|(_, ok)| ok),
            },
        );
    };
    let ours_rate = rate(median(&sorted(ours, Measured::seconds)));
    add(
        format!("{label}: pipeline_data::prepare"),
        ours_rate,
        "rows/s",
        None,
    );
    let reader = theirs
        .first()
        .and_then(|m| m.json["reader"].as_str())
        .unwrap_or("-")
        .to_string();
    if !theirs.is_empty() {
        let theirs_rate = rate(median(&sorted(theirs, Measured::seconds)));
        add(
            format!("{label}: sklearn ({reader}, split, StandardScaler)"),
            theirs_rate,
            "rows/s",
            None,
        );
        let ratio = ours_rate / theirs_rate;
        add(
            format!("{label}: prepare / sklearn, rows/s"),
            ratio,
            "ratio",
            Some((">= 1", ratio >= 1.0)),
        );
    }
    add(
        format!("{label}: process wall, ours (start + prepare)"),
        ms(median(&sorted(ours, |m| m.wall))),
        "ms",
        None,
    );
    if !theirs.is_empty() {
        add(
            format!("{label}: process wall, python (start + imports + work)"),
            ms(median(&sorted(theirs, |m| m.wall))),
            "ms",
            None,
        );
        let imports = sorted(theirs, |m| {
            Duration::from_secs_f64(m.json["import_seconds"].as_f64().unwrap_or(0.0).max(0.0))
        });
        add(
            format!("{label}: python imports (numpy, pandas, sklearn)"),
            ms(median(&imports)),
            "ms",
            None,
        );
    }
    add(format!("{label}: peak RSS, ours"), peak(ours), "MiB", None);
    if !theirs.is_empty() {
        add(
            format!("{label}: peak RSS, python"),
            peak(theirs),
            "MiB",
            None,
        );
    }
}

/// `rows` × `FEATURES` values plus the target, seeded: feature `j` is
/// uniform around its own mean and scale (so the z-score matters), the
/// target a linear mix plus noise; every value rounded to 4 decimals so the
/// CSV text and the Parquet floats hold the same numbers.
fn generate(rows: usize) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let round = |v: f64| (v * 1e4).round() / 1e4;
    let mut columns: Vec<Vec<f64>> = (0..=FEATURES).map(|_| Vec::with_capacity(rows)).collect();
    for _ in 0..rows {
        let mut y = 0.0;
        for (j, column) in columns.iter_mut().take(FEATURES).enumerate() {
            let mean = (j as f64 - 10.0) * 7.5;
            let scale = 0.5 + j as f64;
            let z: f64 = rng.random_range(-1.7..1.7);
            y += z * ((j % 5) as f64 - 2.0);
            column.push(round(mean + scale * z));
        }
        let noise: f64 = rng.random_range(-0.5..0.5);
        if let Some(target) = columns.last_mut() {
            target.push(round(y + noise));
        }
    }
    columns
}

fn names() -> Vec<String> {
    (1..=FEATURES)
        .map(|j| format!("x{j:02}"))
        .chain([TARGET.to_string()])
        .collect()
}

fn write_csv(path: &Path, columns: &[Vec<f64>]) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut line = names().join(",");
    line.push('\n');
    let rows = columns.first().map_or(0, Vec::len);
    for r in 0..rows {
        for (j, column) in columns.iter().enumerate() {
            if j > 0 {
                line.push(',');
            }
            write!(line, "{:.4}", column[r])?;
        }
        line.push('\n');
        if line.len() > 1 << 16 {
            out.write_all(line.as_bytes())?;
            line.clear();
        }
    }
    out.write_all(line.as_bytes())?;
    out.flush()
        .with_context(|| format!("cannot write {}", path.display()))
}

fn write_parquet(path: &Path, columns: Vec<Vec<f64>>) -> anyhow::Result<()> {
    let columns: Vec<Column> = names()
        .into_iter()
        .zip(columns)
        .map(|(name, values)| Column::new(name.into(), values))
        .collect();
    let mut frame = DataFrame::new_infer_height(columns)?;
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    ParquetWriter::new(file)
        .finish(&mut frame)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// A minimal spec over `data`: every column but `y` is a feature, z-score,
/// the default split; a linear model, one epoch (only `pipeline run` trains).
fn write_spec(work: &Path, label: &str, data: &Path) -> anyhow::Result<PathBuf> {
    let file = data
        .file_name()
        .and_then(|n| n.to_str())
        .context("the data file's name is not UTF-8")?;
    let [train, validation, test] = SPLIT;
    let text = format!(
        r#"name = "bench-prepare-{label}"
seed = {SEED}

[data]
path = "{file}"
target = "{TARGET}"
normalize = "zscore"
split = {{ train = {train}, validation = {validation}, test = {test} }}

[model]
layers = [{{ type = "linear", units = 1 }}]

[loss]
type = "mse"

[optimizer]
type = "adam"
learning_rate = 1e-3

[train]
epochs = 1
batch_size = 4096
device = "cpu"
"#,
        label = label.to_lowercase()
    );
    let path = work.join(format!("{}.toml", label.to_lowercase()));
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// A Python that imports scikit-learn and pandas.
fn sklearn_peer() -> anyhow::Result<PathBuf> {
    if !peer_script().exists() {
        bail!("{} is missing", peer_script().display());
    }
    find_python("import numpy, sklearn, pandas, pyarrow").context(
        "no Python with numpy, scikit-learn, pandas and pyarrow \
             (pip install scikit-learn pandas pyarrow, or set PIPELINE_BENCH_PYTHON)",
    )
}

fn peer_script() -> PathBuf {
    pipeline_bench::peers_dir().join("sklearn_prepare.py")
}

/// This process's peak resident set (`VmHWM`), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn megabytes(path: &Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / 1e6)
}

fn option(args: &[String], name: &str) -> anyhow::Result<Option<usize>> {
    match args.iter().position(|a| a == name) {
        None => Ok(None),
        Some(i) => {
            let value = args
                .get(i + 1)
                .with_context(|| format!("{name} needs a number"))?;
            Ok(Some(value.parse().with_context(|| {
                format!("{name} needs a number, not {value:?}")
            })?))
        }
    }
}
