//! What the benchmarks share: timing a command as a real process (median of
//! several runs after a warm-up), finding the `pipeline` binary built beside
//! the benchmark, and printing results as JSON lines plus a table.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// The `pipeline` binary of the same build (`target/release/pipeline`).
pub fn pipeline_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate the benchmark binary")?;
    let path = exe
        .parent()
        .map(|dir| dir.join("pipeline"))
        .context("the benchmark binary has no folder")?;
    if !path.exists() {
        bail!(
            "{} is missing; build it first (`just bench` does: cargo build --release --workspace --all-targets)",
            path.display()
        );
    }
    Ok(path)
}

/// Wall-clock times of `runs` executions of a command (after one warm-up),
/// sorted; fails if any execution fails.
pub fn time_command(
    program: &Path,
    args: &[&str],
    envs: &[(&str, &Path)],
    runs: usize,
) -> anyhow::Result<Vec<Duration>> {
    let run = || -> anyhow::Result<Duration> {
        let mut command = Command::new(program);
        command.args(args);
        for (key, value) in envs {
            command.env(key, value);
        }
        let start = Instant::now();
        let out = command
            .output()
            .with_context(|| format!("cannot run {}", program.display()))?;
        let elapsed = start.elapsed();
        if !out.status.success() {
            bail!(
                "{} {args:?} failed: {}",
                program.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(elapsed)
    };
    run()?;
    let mut times = (0..runs)
        .map(|_| run())
        .collect::<anyhow::Result<Vec<_>>>()?;
    times.sort();
    Ok(times)
}

/// The folder of the peer scripts the benchmarks run
/// (`crates/pipeline-bench/peers`, kept in the repository).
pub fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("peers")
}

/// The Python that runs the peers: `PIPELINE_BENCH_PYTHON`, else
/// `/tmp/peers-venv/bin/python` (see `peers/README.md`), else
/// `python3`, the first that runs `imports` (e.g. `import torch, numpy`).
pub fn find_python(imports: &str) -> Option<PathBuf> {
    std::env::var_os("PIPELINE_BENCH_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            PathBuf::from("/tmp/peers-venv/bin/python"),
            PathBuf::from("python3"),
        ])
        .find(|p| {
            Command::new(p)
                .args(["-c", imports])
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// The middle value of sorted durations.
pub fn median(sorted: &[Duration]) -> Duration {
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

/// Milliseconds with a fraction.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Total size of a SQLite database with its WAL and shared-memory files.
pub fn database_bytes(db: &Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            std::fs::metadata(PathBuf::from(name)).ok()
        })
        .map(|m| m.len())
        .sum()
}

/// One result row: printed as a JSON line on stdout, kept for the table.
pub struct Row {
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
    pub target: Option<String>,
    pub ok: Option<bool>,
}

impl Row {
    /// A measure with no target.
    pub fn new(name: impl Into<String>, value: f64, unit: &'static str) -> Row {
        Row {
            name: name.into(),
            value,
            unit,
            target: None,
            ok: None,
        }
    }

    /// The same row judged against `target` (e.g. ">= 1").
    pub fn with_target(self, target: &str, ok: bool) -> Row {
        Row {
            target: Some(target.to_owned()),
            ok: Some(ok),
            ..self
        }
    }
}

/// Prints each row as JSON on stdout as it comes, and the table at the end
/// on stderr.
#[derive(Default)]
pub struct Report {
    rows: Vec<Row>,
}

impl Report {
    pub fn add(&mut self, bench: &str, row: Row) {
        let line = serde_json::json!({
            "bench": bench,
            "name": row.name,
            "value": row.value,
            "unit": row.unit,
            "target": row.target,
            "ok": row.ok,
        });
        println!("{line}");
        self.rows.push(row);
    }

    pub fn table(&self) -> String {
        let width = self.rows.iter().map(|r| r.name.len()).max().unwrap_or(4);
        let mut out = format!(
            "{:<width$}  {:>12}  {:<6}  target\n",
            "measure", "value", "unit"
        );
        for r in &self.rows {
            let verdict = match r.ok {
                Some(true) => " (met)",
                Some(false) => " (MISSED)",
                None => "",
            };
            out.push_str(&format!(
                "{:<width$}  {:>12.2}  {:<6}  {}{verdict}\n",
                r.name,
                r.value,
                r.unit,
                r.target.as_deref().unwrap_or("-")
            ));
        }
        out
    }
}
