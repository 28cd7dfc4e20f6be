//! `pipeline workers`: the registry's workers (host, pid, device, jobs,
//! what each trains now, last heartbeat) and the queue's counts.

use pipeline_registry::{QueueCounts, WorkerRecord};

use crate::cli::WorkersArgs;
use crate::commands::shared::{Context, print};
use crate::output::format;

/// A worker silent for longer than this is shown as `silent`.
const SILENT_AFTER_SECONDS: f64 = 30.0;

pub fn workers(context: &Context, args: WorkersArgs) -> anyhow::Result<()> {
    let registry = context.registry_to_read()?;
    let workers = context.block_on(registry.workers())?;
    let queue = context.block_on(registry.queue_counts(None))?;
    if args.json {
        return print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&serde_json::json!({
                "queue": queue,
                "workers": workers,
            }))?
        ));
    }
    if !context.global.quiet {
        eprintln!("{}", queue_line(&queue));
    }
    if workers.is_empty() {
        eprintln!("no workers yet; start one with `pipeline worker`");
        return Ok(());
    }
    print(&format!("{}\n", render(&workers)))
}

fn queue_line(queue: &QueueCounts) -> String {
    format!(
        "work queue: {} queued, {} leased, {} done, {} failed",
        queue.queued, queue.leased, queue.done, queue.failed
    )
}

fn render(workers: &[WorkerRecord]) -> String {
    let mut table = format::table(&[
        "worker",
        "host",
        "pid",
        "device",
        "jobs",
        "state",
        "heartbeat",
        "done",
        "training",
    ]);
    for worker in workers {
        let state = match (&worker.stopped_at, worker.silent_seconds) {
            (Some(_), _) => "stopped",
            (None, silent) if silent > SILENT_AFTER_SECONDS => "silent",
            (None, _) if worker.current.is_empty() => "idle",
            (None, _) => "working",
        };
        table.add_row(vec![
            worker.id.clone(),
            worker.host.clone(),
            worker.pid.to_string(),
            worker.device.clone(),
            worker.jobs.to_string(),
            state.to_owned(),
            format!("{} ago", ago(worker.silent_seconds)),
            worker.items_done.to_string(),
            if worker.current.is_empty() {
                "-".to_owned()
            } else {
                worker.current.join(", ")
            },
        ]);
    }
    format::render(&table)
}

/// Seconds as a short age: `4 s`, `3 min`, `2 h`, `5 d`.
fn ago(seconds: f64) -> String {
    let seconds = seconds.max(0.0).round() as u64;
    match seconds {
        0..=119 => format!("{seconds} s"),
        120..=7_199 => format!("{} min", seconds / 60),
        7_200..=172_799 => format!("{} h", seconds / 3_600),
        _ => format!("{} d", seconds / 86_400),
    }
}
