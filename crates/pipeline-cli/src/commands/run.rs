//! `pipeline run SPEC`: validate everything that can be checked before
//! training (spec, registry, data, device, model shape), then train with two
//! observers (progress display and registry recorder), then write the
//! artifacts atomically and commit the run as completed.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::Context as _;
use pipeline_data::prepare;
use pipeline_registry::{
    ArtifactKind, Completion, EndStatus, MetricValue, NewRun, Registry, RunId,
};
use pipeline_spec::{LoadedSpec, Spec, SplitName};
use pipeline_train::observer::ObserverResult;
use pipeline_train::{
    EpochRecord, Observer, Outcome, SplitMetrics, StopReason, initial_network, select_device, train,
};
use serde_json::json;

use crate::cli::RunArgs;
use crate::commands::shared::{Context, print};
use crate::exit;
use crate::output::format::{self, number};
use crate::output::progress::Progress;

pub fn run(context: &Context, args: RunArgs) -> anyhow::Result<ExitCode> {
    let loaded = Spec::load(&args.spec, &args.set)?;
    if args.dry_run {
        print(&loaded.spec.to_toml())?;
        return Ok(ExitCode::SUCCESS);
    }
    let spec = &loaded.spec;
    let data_path = loaded.data_path();
    let data = prepare(&spec.data, &data_path, spec.seed)
        .with_context(|| format!("cannot prepare the data of {}", args.spec.display()))?;
    let device = select_device(spec.train.device).context("cannot select the training device")?;
    let network = initial_network(spec, &data, &device)
        .with_context(|| format!("the model of {} does not fit its data", args.spec.display()))?;
    // Opened only now: a spec or data mistake leaves no registry behind.
    let registry = context.registry()?;
    let interrupt = install_signal_handlers()?;

    let id =
        context.block_on(registry.create_run(&new_run(&loaded, &data.data_sha256, &device)?))?;
    tracing::debug!(run = %id, "run created");
    if !context.global.quiet {
        eprintln!(
            "run {id}: training {} ({} parameters; {} train / {} validation / {} test rows)",
            spec.name,
            network.parameter_count(),
            data.sizes.train,
            data.sizes.validation,
            data.sizes.test
        );
    }
    let started = Instant::now();
    let mut progress = Progress::new(context.global.quiet, spec.train.monitor);
    let mut recorder = Recorder {
        context,
        registry: &registry,
        id: &id,
    };
    let result = train(
        spec,
        &data,
        network,
        &device,
        &mut (&mut progress, &mut recorder),
        &interrupt,
    );
    progress.finish();
    let seconds = started.elapsed().as_secs_f64();

    let outcome = match result {
        Ok(outcome) => outcome,
        Err(error) => {
            let message = match error.hint() {
                Some(hint) => format!("{error}\nhint: {hint}"),
                None => format!("{error}"),
            };
            record_failure(context, &registry, &id, &message);
            return Err(anyhow::Error::new(error).context(format!("run {id} failed")));
        }
    };
    let Some(final_metrics) = outcome.final_metrics else {
        let message = format!(
            "interrupted after {} finished epoch(s)",
            outcome.history.len()
        );
        context.block_on(registry.end_run(&id, EndStatus::Killed, Some(&message)))?;
        eprintln!("run {id} killed: {message}; its finished epochs are kept");
        return Ok(ExitCode::from(exit::INTERRUPTED));
    };
    if let Err(error) = finish(
        context,
        &registry,
        &id,
        spec,
        &outcome,
        &final_metrics,
        &data.preprocessing,
    ) {
        record_failure(context, &registry, &id, &format!("{error:#}"));
        return Err(error.context(format!("run {id} failed while saving its results")));
    }
    let summary = Summary {
        id: &id,
        spec,
        outcome: &outcome,
        metrics: &final_metrics,
        seconds,
    };
    print(&if args.json {
        summary.json()
    } else {
        summary.text()
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Marks the run failed; if even that fails, says so on stderr and lets the
/// original error be the one reported (the next command marks the run crashed).
fn record_failure(context: &Context, registry: &Registry, id: &RunId, message: &str) {
    if let Err(error) = context.block_on(registry.end_run(id, EndStatus::Failed, Some(message))) {
        tracing::error!("cannot record run {id} as failed: {error}");
    }
}

fn new_run(
    loaded: &LoadedSpec,
    data_sha256: &str,
    device: &candle_core::Device,
) -> anyhow::Result<NewRun> {
    let spec = &loaded.spec;
    let data_path = loaded.data_path();
    let data_path = std::fs::canonicalize(&data_path).unwrap_or(data_path);
    let spec_path = std::fs::canonicalize(&loaded.path).unwrap_or_else(|_| loaded.path.clone());
    Ok(NewRun {
        experiment: spec.name.to_string(),
        spec_toml: spec.to_toml(),
        spec_hash: spec.hash(),
        source_spec: loaded.source.clone(),
        spec_path: spec_path.display().to_string(),
        data_path: data_path.display().to_string(),
        data_sha256: data_sha256.to_string(),
        seed: spec.seed,
        device: match device {
            candle_core::Device::Cpu => "cpu".into(),
            other => format!("{:?}", other.location()).to_lowercase(),
        },
        program_version: env!("CARGO_PKG_VERSION").to_string(),
        selection_metric: spec.selection.metric.to_string(),
        selection_higher_is_better: spec.selection.direction.higher_is_better(),
    })
}

/// Ctrl-C / SIGTERM raise a flag checked between batches; a second Ctrl-C
/// exits at once (the run is then marked crashed by the next command).
fn install_signal_handlers() -> anyhow::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(
            signal,
            i32::from(exit::INTERRUPTED),
            Arc::clone(&flag),
        )
        .context("cannot install the signal handler")?;
        signal_hook::flag::register(signal, Arc::clone(&flag))
            .context("cannot install the signal handler")?;
    }
    Ok(flag)
}

/// Commits each finished epoch's metrics to the registry.
struct Recorder<'a> {
    context: &'a Context,
    registry: &'a Registry,
    id: &'a RunId,
}

fn metric_values(
    split: SplitName,
    metrics: &pipeline_train::Metrics,
) -> impl Iterator<Item = MetricValue> + '_ {
    metrics.iter().map(move |(name, value)| MetricValue {
        split: split.as_str().to_string(),
        metric: name.as_str().to_string(),
        value,
    })
}

impl Observer for Recorder<'_> {
    fn on_epoch(&mut self, record: &EpochRecord) -> ObserverResult {
        let values: Vec<MetricValue> = metric_values(SplitName::Train, &record.train)
            .chain(metric_values(SplitName::Validation, &record.validation))
            .collect();
        self.context
            .block_on(self.registry.record_epoch(self.id, record.epoch, &values))?;
        Ok(())
    }
}

/// Writes weights and preprocessing (temp file, fsync, rename), then commits
/// the run as completed with its final metrics and the artifacts' checksums.
fn finish(
    context: &Context,
    registry: &Registry,
    id: &RunId,
    spec: &Spec,
    outcome: &Outcome,
    metrics: &SplitMetrics,
    preprocessing: &pipeline_data::Preprocessing,
) -> anyhow::Result<()> {
    let metadata = HashMap::from([
        ("run_id".to_string(), id.to_string()),
        ("experiment".to_string(), spec.name.to_string()),
        ("spec_sha256".to_string(), spec.hash()),
        ("features".to_string(), preprocessing.features.join(",")),
        (
            "producer".to_string(),
            format!("pipeline {}", env!("CARGO_PKG_VERSION")),
        ),
    ]);
    let weights = outcome.model.network.to_safetensors(metadata)?;
    let weights = context.block_on(registry.write_artifact(
        id,
        ArtifactKind::Weights,
        "model.safetensors",
        &weights,
    ))?;
    let prep = context.block_on(registry.write_artifact(
        id,
        ArtifactKind::Preprocessing,
        "preprocessing.json",
        preprocessing.to_json().as_bytes(),
    ))?;
    let final_metrics: Vec<MetricValue> = SplitName::ALL
        .into_iter()
        .flat_map(|split| metric_values(split, metrics.get(split)).collect::<Vec<_>>())
        .collect();
    let selection = spec.selection.metric;
    let completion = Completion {
        best_epoch: outcome.best_epoch.unwrap_or(outcome.history.len() as u32),
        epochs_run: outcome.history.len() as u32,
        selection_value: metrics.get(selection.split).get(selection.metric),
        final_metrics,
        artifacts: vec![weights, prep],
    };
    context.block_on(registry.complete_run(id, &completion))?;
    Ok(())
}

struct Summary<'a> {
    id: &'a RunId,
    spec: &'a Spec,
    outcome: &'a Outcome,
    metrics: &'a SplitMetrics,
    seconds: f64,
}

impl Summary<'_> {
    fn stop(&self) -> String {
        let epochs = self.outcome.history.len();
        match self.outcome.reason {
            StopReason::EarlyStopped => format!("early stopped after {epochs} epochs"),
            _ => format!("{epochs} epochs"),
        }
    }

    fn text(&self) -> String {
        let best = self.outcome.best_epoch.unwrap_or(0);
        let mut out = format!(
            "run {}  {}  completed: {}, best epoch {best} by {}, {}\n",
            self.id,
            self.spec.name,
            self.stop(),
            self.spec.train.monitor,
            format::duration(self.seconds)
        );
        let mut table = format::table(&["split", "loss", "mse", "rmse", "mae", "r2"]);
        for split in SplitName::ALL {
            let m = self.metrics.get(split);
            table.add_row(vec![
                split.to_string(),
                number(m.loss),
                number(m.mse),
                number(m.rmse),
                number(m.mae),
                number(m.r2),
            ]);
        }
        format::align_numbers(&mut table, 1);
        out.push_str(&format::render(&table));
        out.push('\n');
        out
    }

    fn json(&self) -> String {
        let value = json!({
            "id": self.id.to_string(),
            "experiment": self.spec.name.to_string(),
            "status": "completed",
            "stop_reason": self.outcome.reason,
            "epochs_run": self.outcome.history.len(),
            "best_epoch": self.outcome.best_epoch,
            "seconds": self.seconds,
            "metrics": self.metrics,
        });
        format!(
            "{}\n",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        )
    }
}
