//! Training progress on stderr: a bar with epoch, losses and ETA on a
//! terminal; when stderr is piped, plain lines kept sparse (the first epoch,
//! then one every `LINE_EVERY`, every epoch with -v); nothing with -q.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pipeline_spec::MetricRef;
use pipeline_train::{EpochRecord, Observer, Plan, observer::ObserverResult};

use crate::output::format::number;

/// Piped stderr gets at most one epoch line this often (a log, not a
/// transcript: a run of 500 quick epochs prints a line or two).
const LINE_EVERY: Duration = Duration::from_secs(5);

enum Display {
    Bar(ProgressBar),
    /// Plain lines, each at least `every` after the last one printed.
    Lines {
        every: Duration,
        printed: Option<Instant>,
    },
    Quiet,
}

pub struct Progress {
    display: Display,
    epochs: u32,
    monitor: MetricRef,
}

impl Progress {
    /// `every_epoch` (-v) prints a line for each epoch when stderr is piped.
    pub fn new(quiet: bool, every_epoch: bool, monitor: MetricRef) -> Progress {
        let display = if quiet {
            Display::Quiet
        } else if std::io::stderr().is_terminal() {
            Display::Bar(ProgressBar::hidden())
        } else {
            Display::Lines {
                every: if every_epoch {
                    Duration::ZERO
                } else {
                    LINE_EVERY
                },
                printed: None,
            }
        };
        Progress {
            display,
            epochs: 0,
            monitor,
        }
    }

    pub fn finish(&self) {
        if let Display::Bar(bar) = &self.display {
            bar.finish_and_clear();
        }
    }

    fn line(&self, record: &EpochRecord) -> String {
        let monitored = match self.monitor.split {
            pipeline_spec::SplitName::Train => record.train.get(self.monitor.metric),
            _ => record.validation.get(self.monitor.metric),
        };
        let mut line = format!(
            "train_loss {}  val_loss {}",
            number(record.train.loss()),
            number(record.validation.loss())
        );
        if self.monitor.metric != pipeline_spec::MetricName::Loss {
            line.push_str(&format!(
                "  {} {}",
                self.monitor,
                monitored.map_or("-".into(), number)
            ));
        }
        if record.improved {
            line.push_str("  (best)");
        }
        line
    }
}

impl Observer for Progress {
    fn on_start(&mut self, plan: &Plan) {
        self.epochs = plan.epochs;
        if let Display::Bar(bar) = &mut self.display {
            *bar = ProgressBar::with_draw_target(
                Some(u64::from(plan.epochs)),
                ProgressDrawTarget::stderr(),
            );
            let style =
                ProgressStyle::with_template("epoch {pos:>4}/{len} [{bar:30}] {msg}  eta {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> ");
            bar.set_style(style);
            // A resumed run starts after its saved epochs.
            bar.set_position(u64::from(plan.first_epoch.saturating_sub(1)));
            bar.reset_eta();
            bar.enable_steady_tick(Duration::from_millis(200));
        }
    }

    fn on_epoch(&mut self, record: &EpochRecord) -> ObserverResult {
        let line = self.line(record);
        match &mut self.display {
            Display::Bar(bar) => {
                bar.set_position(u64::from(record.epoch));
                bar.set_message(line);
            }
            Display::Lines { every, printed } => {
                if printed.is_none_or(|at| at.elapsed() >= *every) {
                    *printed = Some(Instant::now());
                    eprintln!("epoch {:>4}/{}  {line}", record.epoch, self.epochs);
                }
            }
            Display::Quiet => {}
        }
        Ok(())
    }
}
