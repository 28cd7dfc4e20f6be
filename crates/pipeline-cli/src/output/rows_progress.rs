//! Progress of a stream of rows (`infer` over a large file) on stderr: a bar
//! with bytes or rows read, the rows done and an ETA, only on a terminal and
//! never with -q; nothing at all when piped, so scripts see clean stderr.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pipeline_data::{Position, PositionUnit};

pub struct RowsProgress {
    bar: Option<ProgressBar>,
}

impl RowsProgress {
    pub fn new(quiet: bool, start: Position) -> RowsProgress {
        if quiet || !std::io::stderr().is_terminal() {
            return RowsProgress { bar: None };
        }
        let template = match (start.unit, start.total) {
            (PositionUnit::Bytes, Some(_)) => {
                "{bytes:>10}/{total_bytes} [{bar:30}] {msg}  {bytes_per_sec}  eta {eta}"
            }
            (PositionUnit::Rows, Some(_)) => "{pos:>10}/{len} rows [{bar:30}]  eta {eta}",
            (_, None) => "{spinner} {bytes} read, {msg}",
        };
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let bar = ProgressBar::with_draw_target(start.total, ProgressDrawTarget::stderr());
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(200));
        RowsProgress { bar: Some(bar) }
    }

    pub fn update(&self, position: Position, rows: usize) {
        if let Some(bar) = &self.bar {
            bar.set_position(position.done);
            bar.set_message(format!("{rows} rows"));
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for RowsProgress {
    fn drop(&mut self) {
        self.finish();
    }
}
