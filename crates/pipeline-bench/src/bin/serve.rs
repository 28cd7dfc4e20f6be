//! `pipeline serve` under a bounded load, on localhost only: a registry is
//! built in a temp folder by the real `pipeline run experiments/mlp.toml
//! --set train.epochs=20`, the server is started on a free loopback port,
//! then `--threads` client threads each send `--requests` one-row
//! predictions (keep-alive connections), and one thread sends `--batches`
//! requests of 100 rows. Reported: requests/s, p50 and p99 latency.
//!
//! `bench-serve [--threads N] [--requests N] [--batches N]`

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use pipeline_bench::{Report, Row, ms, pipeline_binary};

const BENCH: &str = "serve";

const ROW: &str = r#"{"age":59,"sex":2,"bmi":32.1,"bp":101,"s1":157,"s2":93.2,"s3":38,"s4":4,"s5":4.8598,"s6":87}"#;

struct Options {
    threads: usize,
    requests: usize,
    batches: usize,
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options {
        threads: 4,
        requests: 2_000,
        batches: 200,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--threads" => options.threads = value()?.parse().context("--threads")?,
            "--requests" => options.requests = value()?.parse().context("--requests")?,
            "--batches" => options.batches = value()?.parse().context("--batches")?,
            other => bail!("unknown argument {other}; use --threads, --requests, --batches"),
        }
    }
    Ok(options)
}

/// The server process; killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn main() -> anyhow::Result<()> {
    let options = options()?;
    let pipeline = pipeline_binary()?;
    let dir = tempfile_dir()?;
    let registry = dir.join("registry.db");
    train(&pipeline, &registry)?;
    let server = start(&pipeline, &registry)?;
    let mut report = Report::default();

    // Warm-up: connections, allocator, first forward pass.
    let warm = agent();
    for _ in 0..50 {
        predict(&warm, &server.base, ROW)?;
    }

    let start = Instant::now();
    let mut latencies = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..options.threads)
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<Vec<Duration>> {
                    let agent = agent();
                    (0..options.requests)
                        .map(|_| predict(&agent, &server.base, ROW))
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("a client thread panicked"))?
            })
            .collect::<anyhow::Result<Vec<Vec<Duration>>>>()
    })?
    .concat();
    let elapsed = start.elapsed();
    latencies.sort();
    let name = format!(
        "one row: {} threads × {} requests",
        options.threads, options.requests
    );
    add(&mut report, &name, &latencies, elapsed);

    let batch = format!("[{}]", vec![ROW; 100].join(","));
    let start = Instant::now();
    let mut latencies = (0..options.batches)
        .map(|_| predict(&warm, &server.base, &batch))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let elapsed = start.elapsed();
    latencies.sort();
    let name = format!("100 rows: 1 thread × {} requests", options.batches);
    add(&mut report, &name, &latencies, elapsed);

    drop(server);
    std::fs::remove_dir_all(&dir).ok();
    eprintln!("\nserve benchmark (localhost)\n{}", report.table());
    Ok(())
}

fn add(report: &mut Report, name: &str, sorted: &[Duration], elapsed: Duration) {
    let percentile = |p: f64| {
        let index = ((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1);
        sorted.get(index).copied().unwrap_or_default()
    };
    let rows = [
        (
            format!("{name}: requests/s"),
            sorted.len() as f64 / elapsed.as_secs_f64(),
            "req/s",
        ),
        (format!("{name}: p50"), ms(percentile(0.50)), "ms"),
        (format!("{name}: p99"), ms(percentile(0.99)), "ms"),
    ];
    for (name, value, unit) in rows {
        report.add(
            BENCH,
            Row {
                name,
                value,
                unit,
                target: None,
                ok: None,
            },
        );
    }
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("pipeline-bench-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// The repository's `experiments/mlp.toml`.
fn mlp_spec() -> anyhow::Result<PathBuf> {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments/mlp.toml");
    spec.canonicalize()
        .with_context(|| format!("cannot find {}", spec.display()))
}

fn train(pipeline: &Path, registry: &Path) -> anyhow::Result<()> {
    let spec = mlp_spec()?;
    let out = Command::new(pipeline)
        .arg("run")
        .arg(&spec)
        .args(["--set", "train.epochs=20", "--quiet"])
        .env("PIPELINE_REGISTRY", registry)
        .output()
        .context("cannot run pipeline run")?;
    if !out.status.success() {
        bail!(
            "pipeline run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Starts `pipeline serve` on a free loopback port; waits for its address.
fn start(pipeline: &Path, registry: &Path) -> anyhow::Result<Server> {
    let mut child = Command::new(pipeline)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("PIPELINE_REGISTRY", registry)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start pipeline serve")?;
    let stderr = child.stderr.take().context("no stderr pipe")?;
    let mut server = Server {
        child,
        base: String::new(),
    };
    let mut lines = BufReader::new(stderr).lines();
    for line in lines.by_ref() {
        let line = line.context("cannot read the server's stderr")?;
        if let Some(rest) = line.strip_prefix("listening on ") {
            server.base = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            break;
        }
        eprintln!("server: {line}");
    }
    if server.base.is_empty() {
        bail!("pipeline serve exited without printing its address");
    }
    std::thread::spawn(move || for _ in lines {});
    Ok(server)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// One `/predict` request; its latency, or an error on a non-200 answer.
fn predict(agent: &ureq::Agent, base: &str, body: &str) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let mut response = agent
        .post(format!("{base}/predict"))
        .header("content-type", "application/json")
        .send(body)
        .context("request failed")?;
    let text = response
        .body_mut()
        .read_to_string()
        .context("cannot read the answer")?;
    let elapsed = start.elapsed();
    if response.status() != 200 {
        bail!("/predict answered {}: {text}", response.status());
    }
    Ok(elapsed)
}
