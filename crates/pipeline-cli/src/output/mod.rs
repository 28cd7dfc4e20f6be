//! Everything the CLI prints: logging setup, the progress display, tables,
//! number formats and terminal charts. Data goes to stdout; progress, logs
//! and hints go to stderr.

pub mod chart;
pub mod classes;
pub mod color;
pub mod diagnosis;
pub mod document;
pub mod file;
pub mod folds;
pub mod format;
pub mod html;
pub mod png;
pub mod progress;
pub mod rows_progress;
pub mod svg;
pub mod sweep_plots;
pub mod sweep_progress;
pub mod sweep_report;
pub mod table_sink;
pub mod training;

use std::io::Write;

use anyhow::Context as _;
use tracing_subscriber::EnvFilter;

use crate::cli::GlobalArgs;

/// Logs to stderr; `RUST_LOG` overrides `-v` / `-q`.
pub fn init_logging(global: &GlobalArgs) {
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let color = color::stderr_enabled();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_target(false)
        .without_time()
        .init();
}

/// Writes `text` to stdout; a closed pipe (`| head`) is not an error.
pub fn print(text: &str) -> anyhow::Result<()> {
    print_bytes(text.as_bytes())
}

/// Writes `bytes` to stdout; a closed pipe (`| head`) is not an error.
pub fn print_bytes(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to stdout"),
    }
}
