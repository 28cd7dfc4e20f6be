//! `pipeline run SPEC…`: validate everything that can be checked before
//! training (specs, data, device, model shapes), then train each spec with
//! two observers (progress display and registry recorder), then write the
//! artifacts atomically and commit the run as completed. Several specs are
//! all checked first, queued in the registry, then trained in order.
//! `pipeline rerun` reuses the same path with a run's stored spec.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use candle_core::Device;
use pipeline_data::{PreparedData, prepare};
use pipeline_model::Network;
use pipeline_registry::{
    ArtifactKind, Completion, EndStatus, EpochMetric, HEARTBEAT_INTERVAL, MetricValue, NewRun,
    Overfitting, Registry, RunId,
};
use pipeline_spec::{LoadedSpec, MetricName, Spec, SplitName, defaults};
use pipeline_train::generalization::{LossPoint, gap_at, onset};
use pipeline_train::observer::ObserverResult;
use pipeline_train::{
    EpochRecord, Observer, Outcome, SplitMetrics, StopReason, TrainError, TrainingState,
    device_name, initial_network, pitfalls, select_device, train,
};
use serde_json::json;

use crate::cli::RunArgs;
use crate::commands::folds::fold_tag;
use crate::commands::shared::{Context, install_signal_handlers, print};
use crate::exit;
use crate::output::classes::{ClassTable, class_metric_values};
use crate::output::format::{self, number};
use crate::output::progress::Progress;

pub fn run(context: &Context, args: RunArgs) -> anyhow::Result<ExitCode> {
    if let Some(folds) = args.folds {
        return crate::commands::folds::cross_validate(context, &args, folds);
    }
    let mut loaded = Vec::with_capacity(args.specs.len());
    for path in &args.specs {
        loaded.push(Spec::load(path, &args.set)?);
    }
    if args.dry_run {
        for (i, spec) in loaded.iter().enumerate() {
            if loaded.len() > 1 {
                print(&format!(
                    "{}# {}\n",
                    if i > 0 { "\n" } else { "" },
                    spec.path.display()
                ))?;
            }
            print(&spec.spec.to_toml())?;
            let implicit = spec.spec.implicit_defaults();
            if !implicit.is_empty() {
                print(&format!(
                    "\n# At their defaults, left out of the stored spec and its hash:\n# {}\n",
                    implicit.join("\n# ")
                ))?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let labels = Labels {
        tags: args.tags.clone(),
        note: args.note.clone(),
    };
    let plans = loaded
        .into_iter()
        .map(|loaded| {
            let data_path = loaded.data_path();
            Planned::new(loaded, data_path)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if !context.global.quiet {
        for plan in &plans {
            let from = if plans.len() > 1 {
                format!(" ({})", plan.loaded.path.display())
            } else {
                String::new()
            };
            warn_pitfalls(plan, &from);
        }
    }
    let output = if args.json {
        RunOutput::Json
    } else {
        RunOutput::Text
    };
    Ok(train_all(context, plans, &labels, output)?.code)
}

/// Prints the pitfalls of a plan on stderr, each with its hint; `from` says
/// which plan when there are several.
pub fn warn_pitfalls(plan: &Planned, from: &str) {
    for pitfall in pitfalls(&plan.loaded.spec, &plan.data, &plan.network) {
        eprintln!(
            "warning{from}: {}\n  hint: {}",
            pitfall.message, pitfall.hint
        );
    }
}

/// What [`train_all`] prints on stdout as each run completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutput {
    /// The run's summary table.
    Text,
    /// The run's summary as JSON.
    Json,
    /// Nothing: the caller reports the runs (a line per run on stderr).
    Collected,
}

/// How one run of [`train_all`] ended.
#[derive(Debug)]
pub enum Ending {
    Completed(Box<Finished>),
    /// Recorded as failed, with its error.
    Failed,
    /// Stopped by Ctrl-C (with the best of its finished epochs, whose
    /// weights are kept), or never started because of it.
    Killed {
        best_epoch: Option<u32>,
    },
}

/// A completed run: its final metrics and how training went.
#[derive(Debug)]
pub struct Finished {
    pub metrics: SplitMetrics,
    pub best_epoch: Option<u32>,
    pub epochs: usize,
    pub seconds: f64,
}

/// What [`train_all`] did: the exit code (the worst outcome) and each run's
/// ending, in order.
pub struct Trained {
    pub code: ExitCode,
    pub runs: Vec<(RunId, Ending)>,
}

/// Tags and note given on the command line, for every run it starts.
#[derive(Debug, Clone, Default)]
pub struct Labels {
    pub tags: Vec<String>,
    pub note: Option<String>,
}

/// A spec whose data is read and split, whose device is chosen and whose
/// network is built: everything that can fail on a user's mistake has run.
pub struct Planned {
    pub loaded: LoadedSpec,
    pub data_path: PathBuf,
    pub data: PreparedData,
    pub device: Device,
    pub network: Network,
}

impl Planned {
    pub fn new(loaded: LoadedSpec, data_path: PathBuf) -> anyhow::Result<Planned> {
        let spec = &loaded.spec;
        let data = prepare(&spec.data, &data_path, spec.seed)
            .with_context(|| format!("cannot prepare the data of {}", loaded.path.display()))?;
        let device =
            select_device(spec.train.device).context("cannot select the training device")?;
        let network = initial_network(spec, &data, &device).with_context(|| {
            format!(
                "the model of {} does not fit its data",
                loaded.path.display()
            )
        })?;
        Ok(Planned {
            loaded,
            data_path,
            data,
            device,
            network,
        })
    }
}

/// Queues every plan (when there are several), then trains them in order.
/// A failed run does not stop the ones after it; an interrupt does, and
/// marks them killed. The exit code is the worst outcome.
pub fn train_all(
    context: &Context,
    plans: Vec<Planned>,
    labels: &Labels,
    output: RunOutput,
) -> anyhow::Result<Trained> {
    // Opened only now: a spec or data mistake leaves no registry behind.
    let registry = context.registry()?;
    let interrupt = install_signal_handlers()?;
    let queue = plans.len() > 1;
    let mut ids = Vec::with_capacity(plans.len());
    for plan in &plans {
        let new = new_run(plan, labels);
        let id = if queue {
            context.block_on(registry.queue_run(&new))?
        } else {
            context.block_on(registry.create_run(&new))?
        };
        ids.push(id);
    }
    if queue && !context.global.quiet {
        eprintln!("queued {} runs: {}", ids.len(), join_ids(&ids));
    }
    let heartbeat = Heartbeat::start(&registry, &ids);
    let mut failures = Vec::new();
    let mut runs = Vec::with_capacity(ids.len());
    let mut pending = plans.into_iter().zip(ids.iter());
    let mut code = ExitCode::SUCCESS;
    for (plan, id) in pending.by_ref() {
        if queue {
            context.block_on(registry.start_run(id))?;
        }
        let ending = match train_one(context, &registry, plan, id, &interrupt, output, None) {
            Ok(ending) => ending,
            Err(error) if !queue => return Err(error),
            Err(error) => {
                eprintln!("error: {error:#}");
                failures.push(id.clone());
                Ending::Failed
            }
        };
        heartbeat.forget(id);
        let killed = matches!(ending, Ending::Killed { .. });
        runs.push((id.clone(), ending));
        // Interrupted after the last epoch finished: the run is complete,
        // but the user asked to stop the queue.
        if killed || interrupt.load(Ordering::Relaxed) {
            code = ExitCode::from(exit::INTERRUPTED);
            break;
        }
    }
    for (_, id) in pending {
        let message = "interrupted before it started";
        context.block_on(registry.end_run(id, EndStatus::Killed, Some(message)))?;
        eprintln!("run {id} killed: {message}");
        runs.push((id.clone(), Ending::Killed { best_epoch: None }));
    }
    drop(heartbeat);
    if code == ExitCode::SUCCESS && !failures.is_empty() {
        eprintln!(
            "{} of {} runs failed: {}",
            failures.len(),
            ids.len(),
            join_ids(&failures)
        );
        code = ExitCode::from(exit::FAILURE);
    }
    Ok(Trained { code, runs })
}

fn join_ids(ids: &[RunId]) -> String {
    ids.iter()
        .map(RunId::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Continues a run that [`Registry::resume_run`] moved back to `running`,
/// from `state` (its last checkpoint; `None`: from its first epoch), with
/// the observers and the ending of `pipeline run`.
pub fn resume_one(
    context: &Context,
    registry: &Registry,
    plan: Planned,
    id: &RunId,
    state: Option<TrainingState>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let interrupt = install_signal_handlers()?;
    let heartbeat = Heartbeat::start(registry, std::slice::from_ref(id));
    let output = if json {
        RunOutput::Json
    } else {
        RunOutput::Text
    };
    let ended = train_one(context, registry, plan, id, &interrupt, output, state);
    drop(heartbeat);
    Ok(match ended? {
        Ending::Completed(_) if !interrupt.load(Ordering::Relaxed) => ExitCode::SUCCESS,
        Ending::Failed => ExitCode::from(exit::FAILURE),
        Ending::Completed(_) | Ending::Killed { .. } => ExitCode::from(exit::INTERRUPTED),
    })
}

/// Trains one registered run to its end and records how it ended.
fn train_one(
    context: &Context,
    registry: &Registry,
    plan: Planned,
    id: &RunId,
    interrupt: &Arc<AtomicBool>,
    output: RunOutput,
    start: Option<TrainingState>,
) -> anyhow::Result<Ending> {
    let Planned {
        loaded,
        data,
        device,
        network,
        ..
    } = plan;
    let spec = &loaded.spec;
    tracing::debug!(run = %id, "run started");
    let fold = spec
        .data
        .cross_validation
        .map(|cv| format!("{cv}: "))
        .unwrap_or_default();
    if !context.global.quiet && start.is_none() {
        eprintln!(
            "{fold}run {id}: training {} ({} parameters; {} train / {} validation / {} test rows)",
            spec.name,
            network.parameter_count(),
            data.sizes.train,
            data.sizes.validation,
            data.sizes.test
        );
    }
    let started = Instant::now();
    let mut progress = Progress::new(
        context.global.quiet,
        context.global.verbose > 0,
        spec.train.monitor,
    );
    let mut recorder = Recorder {
        context,
        registry,
        id,
        spec,
        preprocessing: &data.preprocessing,
        saved_epoch: start.as_ref().map_or(0, TrainingState::epoch),
        saved_best: start.as_ref().and_then(TrainingState::best_epoch),
        saved_at: None,
        save_failing: false,
        pending: Vec::new(),
        committed_at: Instant::now(),
    };
    let result = train(
        spec,
        &data,
        network,
        &device,
        &mut (&mut progress, &mut recorder),
        interrupt,
        start,
    );
    progress.finish();
    // The last epochs, whatever the ending: a failed or interrupted run
    // keeps its curves too.
    let committed = recorder.commit();
    let seconds = started.elapsed().as_secs_f64();

    let outcome = match (result, committed) {
        (Ok(outcome), Ok(())) => outcome,
        // An interrupted run still ends killed and resumable.
        (Ok(outcome), Err(lost)) if outcome.final_metrics.is_none() => {
            tracing::warn!("cannot record the last epochs of run {id}: {lost:#}");
            outcome
        }
        (Ok(_), Err(error)) => {
            let failure = Failure::Environment(recorder.saved_epoch);
            record_failure(context, registry, id, &format!("{error:#}"), failure);
            return Err(error.context(failure.headline(id, "while recording its epochs")));
        }
        (Err(error), committed) => {
            if let Err(lost) = committed {
                tracing::warn!("cannot record the last epochs of run {id}: {lost:#}");
            }
            // The recorder failed (the registry or its disk), not training.
            let failure = if matches!(error, TrainError::Observer(_)) {
                Failure::Environment(recorder.saved_epoch)
            } else {
                Failure::Work
            };
            let hint = error.hint();
            let error = anyhow::Error::new(error);
            // The whole chain: "an observer failed" alone hid the cause.
            let message = match hint {
                Some(hint) => format!("{error:#}\nhint: {hint}"),
                None => format!("{error:#}"),
            };
            record_failure(context, registry, id, &message, failure);
            return Err(error.context(failure.headline(id, "")));
        }
    };
    let Some(final_metrics) = outcome.final_metrics.as_ref() else {
        let message = format!(
            "interrupted after {} finished epoch(s)",
            outcome.history.len()
        );
        let summary = overfitting(spec, &outcome, None);
        if let Err(error) = context.block_on(registry.record_overfitting(id, &summary)) {
            tracing::warn!("cannot record the overfitting summary of run {id}: {error}");
        }
        // The state after the last finished epoch, for `pipeline resume`.
        if let Some(state) = &outcome.state
            && let Err(error) = recorder.save(state)
        {
            tracing::warn!("cannot save the training state of run {id}: {error:#}");
        }
        let resumable = recorder.saved_epoch > 0;
        let kept = match outcome.best_epoch {
            Some(best) => {
                match keep_checkpoint(context, registry, id, spec, &outcome, best, &data) {
                    Ok(()) => format!("; the best epoch's weights (epoch {best}) are kept"),
                    Err(error) => {
                        tracing::warn!("cannot keep the checkpoint of run {id}: {error:#}");
                        String::new()
                    }
                }
            }
            None => String::new(),
        };
        context.block_on(registry.end_run(id, EndStatus::Killed, Some(&message)))?;
        eprintln!("run {id} killed: {message}; its finished epochs are kept{kept}");
        if resumable && !context.global.quiet {
            eprintln!(
                "hint: continue it with `pipeline resume {id}` (from epoch {})",
                recorder.saved_epoch + 1
            );
        }
        return Ok(Ending::Killed {
            best_epoch: outcome.best_epoch,
        });
    };
    if let Err(error) = finish(
        context,
        registry,
        id,
        spec,
        &outcome,
        final_metrics,
        &data.preprocessing,
    ) {
        let failure = Failure::Environment(recorder.saved_epoch);
        record_failure(context, registry, id, &format!("{error:#}"), failure);
        return Err(error.context(failure.headline(id, "while saving its results")));
    }
    let summary = Summary {
        id,
        spec,
        outcome: &outcome,
        metrics: final_metrics,
        classes: data.preprocessing.targets.classes().map(<[String]>::to_vec),
        seconds,
    };
    match output {
        RunOutput::Text => print(&summary.text())?,
        RunOutput::Json => print(&summary.json())?,
        RunOutput::Collected if !context.global.quiet => {
            eprintln!("{fold}{}", summary.headline());
        }
        RunOutput::Collected => {}
    }
    Ok(Ending::Completed(Box::new(Finished {
        metrics: final_metrics.clone(),
        best_epoch: outcome.best_epoch,
        epochs: outcome.history.len(),
        seconds,
    })))
}

/// What stopped a run that failed.
#[derive(Debug, Clone, Copy)]
enum Failure {
    /// Its spec, data or training (a non-finite loss, …): resuming would
    /// meet it again.
    Work,
    /// Its environment: the registry or its disk (full, an I/O error) could
    /// not be written. Resumable once that is fixed, from the checkpoint of
    /// this epoch (0: none saved by this process).
    Environment(u32),
}

impl Failure {
    /// The error's first line: the run, `when` it failed, and for an
    /// environmental failure how to continue it.
    fn headline(self, id: &RunId, when: &str) -> String {
        let when = if when.is_empty() {
            String::new()
        } else {
            format!(" {when}")
        };
        match self {
            Failure::Work => format!("run {id} failed{when}"),
            Failure::Environment(0) => format!(
                "run {id} failed{when} on its environment, not its spec or data; once that is \
                 fixed, `pipeline resume {id}` continues it from its last checkpoint"
            ),
            Failure::Environment(epoch) => format!(
                "run {id} failed{when} on its environment, not its spec or data; once that is \
                 fixed, `pipeline resume {id}` continues it from epoch {}",
                epoch + 1
            ),
        }
    }
}

/// Marks the run failed; if even that fails, says so on stderr and lets the
/// original error be the one reported (the next command marks the run crashed,
/// which is resumable too).
fn record_failure(
    context: &Context,
    registry: &Registry,
    id: &RunId,
    message: &str,
    failure: Failure,
) {
    let status = match failure {
        Failure::Work => EndStatus::Failed,
        Failure::Environment(_) => EndStatus::FailedOnEnvironment,
    };
    if let Err(error) = context.block_on(registry.end_run(id, status, Some(message))) {
        tracing::error!("cannot record run {id} as failed: {error}");
    }
}

/// The commit this binary was built from (see build.rs).
pub const GIT_COMMIT: &str = env!("PIPELINE_GIT_COMMIT");

fn new_run(plan: &Planned, labels: &Labels) -> NewRun {
    let spec = &plan.loaded.spec;
    let data_path =
        std::fs::canonicalize(&plan.data_path).unwrap_or_else(|_| plan.data_path.clone());
    let spec_path =
        std::fs::canonicalize(&plan.loaded.path).unwrap_or_else(|_| plan.loaded.path.clone());
    let mut tags = labels.tags.clone();
    if let Some(cross_validation) = spec.data.cross_validation {
        let tag = fold_tag(cross_validation);
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    NewRun {
        experiment: spec.name.to_string(),
        spec_toml: spec.to_toml(),
        spec_hash: spec.hash(),
        source_spec: plan.loaded.source.clone(),
        spec_path: spec_path.display().to_string(),
        data_path: data_path.display().to_string(),
        data_sha256: plan.data.data_sha256.clone(),
        columns_hash: Some(plan.data.preprocessing.columns_hash()),
        seed: spec.seed,
        device: device_name(&plan.device),
        program_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: GIT_COMMIT.to_string(),
        // Seeded initialisation, shuffling and dropout with sequential CPU
        // kernels repeat bit for bit; GPU reductions may not.
        deterministic: matches!(plan.device, Device::Cpu),
        tags,
        note: labels.note.clone(),
        selection_metric: spec.selection.metric.to_string(),
        selection_higher_is_better: spec.selection.direction.higher_is_better(),
    }
}

/// Refreshes the heartbeat of this process's queued and running runs every
/// [`HEARTBEAT_INTERVAL`] from a thread of its own, so a long epoch never
/// looks like a dead process to another host. Stops when dropped.
struct Heartbeat {
    active: Arc<Mutex<Vec<RunId>>>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Heartbeat {
    fn start(registry: &Registry, ids: &[RunId]) -> Heartbeat {
        let active = Arc::new(Mutex::new(ids.to_vec()));
        let (stop, stopped) = mpsc::channel::<()>();
        let registry = registry.clone();
        let shared = Arc::clone(&active);
        let thread = std::thread::Builder::new()
            .name("heartbeat".into())
            .spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                while let Err(mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(HEARTBEAT_INTERVAL)
                {
                    let ids = shared.lock().map(|ids| ids.clone()).unwrap_or_default();
                    for id in ids {
                        if let Err(error) = runtime.block_on(registry.heartbeat(&id)) {
                            tracing::debug!("heartbeat of run {id}: {error}");
                        }
                    }
                }
            })
            .ok();
        Heartbeat {
            active,
            stop: Some(stop),
            thread,
        }
    }

    /// Stops refreshing a run that has ended.
    fn forget(&self, id: &RunId) {
        if let Ok(mut ids) = self.active.lock() {
            ids.retain(|other| other != id);
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The stored overfitting summary: gap at the best epoch, test minus train
/// loss of the kept model, and the onset of overfitting.
fn overfitting(spec: &Spec, outcome: &Outcome, metrics: Option<&SplitMetrics>) -> Overfitting {
    let curve: Vec<LossPoint> = outcome
        .history
        .iter()
        .map(|e| LossPoint {
            epoch: e.epoch,
            train: e.train.loss(),
            validation: e.validation.loss(),
        })
        .collect();
    let patience = spec
        .train
        .early_stopping
        .map_or(defaults::ONSET_PATIENCE, |e| e.patience);
    let finite = |v: f64| v.is_finite().then_some(v);
    Overfitting {
        gap_at_best: outcome
            .best_epoch
            .and_then(|epoch| gap_at(&curve, epoch))
            .and_then(finite),
        test_train_gap: metrics.and_then(|m| finite(m.test.loss() - m.train.loss())),
        onset: onset(&curve, patience),
    }
}

/// The name of the learning rate among an epoch's recorded metrics.
const LEARNING_RATE_METRIC: &str = "lr";

/// The least time between two checkpoints: saving after every epoch of a
/// small network would cost more than training it (each save is two files
/// written and synced, and a commit). A run that dies loses at most this
/// much training; one stopped by Ctrl-C loses none (its last finished epoch
/// is saved as it stops).
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(5);

/// The longest a finished epoch's metrics wait before they are committed
/// (checked after every batch and every epoch, so a batch longer than this
/// adds its own length). One commit per epoch cost the first experiment 3 ms
/// an epoch, fifteen times its training (a transaction of a dozen
/// statements, each a round trip to SQLite's thread); in batches a run of
/// 600 small epochs commits a few times. Live views (`runs`, `show`) lag by
/// about this much, and a process killed without warning loses about this
/// much of its curves, never a checkpoint's epochs (they are committed
/// before it).
const EPOCH_COMMIT_INTERVAL: Duration = Duration::from_millis(250);

/// Commits the finished epochs' metrics to the registry (in batches, see
/// [`EPOCH_COMMIT_INTERVAL`]), and saves checkpoints: the training state
/// (`checkpoint_last`) and the best epoch's weights (`checkpoint_best`),
/// after the first epoch and then at most every [`CHECKPOINT_INTERVAL`].
struct Recorder<'a> {
    context: &'a Context,
    registry: &'a Registry,
    id: &'a RunId,
    spec: &'a Spec,
    preprocessing: &'a pipeline_data::Preprocessing,
    /// The epoch of the last saved state (0: none yet).
    saved_epoch: u32,
    /// The best epoch whose weights were last saved.
    saved_best: Option<u32>,
    /// When this process last saved one (or last failed to).
    saved_at: Option<Instant>,
    /// The last attempt to save one failed (warned once until one succeeds).
    save_failing: bool,
    /// Finished epochs' metrics not committed yet.
    pending: Vec<EpochMetric>,
    /// When they were last committed (or the recorder made).
    committed_at: Instant,
}

impl Recorder<'_> {
    /// Commits the epochs' metrics still pending.
    fn commit(&mut self) -> anyhow::Result<()> {
        if !self.pending.is_empty() {
            self.context
                .block_on(self.registry.record_epochs(self.id, &self.pending))?;
            self.pending.clear();
        }
        self.committed_at = Instant::now();
        Ok(())
    }

    /// Writes `state` (and the best weights, when the best epoch changed)
    /// under new names, then records them, which deletes the files they
    /// replace. Does nothing for a state already saved.
    fn save(&mut self, state: &TrainingState) -> anyhow::Result<()> {
        let epoch = state.epoch();
        if epoch <= self.saved_epoch {
            return Ok(());
        }
        // The registry holds every epoch a saved state has finished.
        self.commit()?;
        let mut artifacts = Vec::with_capacity(2);
        let best = state.best_epoch();
        if let Some(best) = best
            && Some(best) != self.saved_best
            && let Some(weights) =
                state.best_weights(weights_metadata(self.spec, self.preprocessing))?
        {
            artifacts.push(self.context.block_on(self.registry.write_artifact(
                self.id,
                ArtifactKind::CheckpointBest,
                &ArtifactKind::CheckpointBest.epoch_file_name(best),
                &weights,
            ))?);
        }
        artifacts.push(self.context.block_on(self.registry.write_artifact(
            self.id,
            ArtifactKind::CheckpointLast,
            &ArtifactKind::CheckpointLast.epoch_file_name(epoch),
            &state.to_bytes()?,
        ))?);
        self.context
            .block_on(self.registry.record_checkpoint(self.id, &artifacts))?;
        self.saved_epoch = epoch;
        self.saved_best = best;
        self.saved_at = Some(Instant::now());
        Ok(())
    }
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
    fn on_batch(&mut self, _epoch: u32, _batch: usize) {
        // A finished epoch does not wait for the end of a long next one. A
        // failure here is retried, and reported, at the end of the epoch.
        if !self.pending.is_empty()
            && self.committed_at.elapsed() >= EPOCH_COMMIT_INTERVAL
            && self.commit().is_err()
        {
            self.committed_at = Instant::now();
        }
    }

    fn on_epoch(&mut self, record: &EpochRecord) -> ObserverResult {
        // The learning rate is stored as the train split's metric `lr`.
        let values = metric_values(SplitName::Train, &record.train)
            .chain(metric_values(SplitName::Validation, &record.validation))
            .chain(std::iter::once(MetricValue {
                split: SplitName::Train.as_str().to_string(),
                metric: LEARNING_RATE_METRIC.to_string(),
                value: record.learning_rate,
            }));
        self.pending
            .extend(values.map(|m| m.at_epoch(record.epoch)));
        if self.committed_at.elapsed() >= EPOCH_COMMIT_INTERVAL {
            self.commit().map_err(|e| format!("{e:#}"))?;
        }
        Ok(())
    }

    fn on_checkpoint(&mut self, state: &TrainingState) -> ObserverResult {
        if self
            .saved_at
            .is_none_or(|at| at.elapsed() >= CHECKPOINT_INTERVAL)
        {
            // A checkpoint that cannot be written (a full disk, …) costs the
            // run the epochs since the last one if it stops, never the run:
            // training goes on, and the next try comes an interval later.
            match self.save(state) {
                Ok(()) if self.save_failing => {
                    self.save_failing = false;
                    tracing::info!(
                        "run {}: checkpoints are saved again (epoch {})",
                        self.id,
                        self.saved_epoch
                    );
                }
                Ok(()) => {}
                Err(error) => {
                    self.saved_at = Some(Instant::now());
                    if !std::mem::replace(&mut self.save_failing, true) {
                        let last = match self.saved_epoch {
                            0 => "none yet".to_string(),
                            epoch => format!("epoch {epoch}"),
                        };
                        eprintln!(
                            "warning: run {}: cannot save the checkpoint of epoch {}: {error:#}\n  \
                             training goes on and tries again every {} s; the last saved \
                             checkpoint is {last}\n  hint: free space where the registry keeps \
                             its artifacts",
                            self.id,
                            state.epoch(),
                            CHECKPOINT_INTERVAL.as_secs()
                        );
                    } else {
                        tracing::debug!(
                            "checkpoint of epoch {} not saved: {error:#}",
                            state.epoch()
                        );
                    }
                }
            }
        }
        Ok(())
    }
}

/// Writes the weights and preprocessing of an interrupted run and records
/// them as its checkpoint.
fn keep_checkpoint(
    context: &Context,
    registry: &Registry,
    id: &RunId,
    spec: &Spec,
    outcome: &Outcome,
    best_epoch: u32,
    data: &PreparedData,
) -> anyhow::Result<()> {
    let (artifacts, digest) =
        write_model(context, registry, id, spec, outcome, &data.preprocessing)?;
    context.block_on(registry.keep_checkpoint(id, best_epoch, &digest, &artifacts))?;
    Ok(())
}

/// The metadata of a weights file. No run id: a rerun that reproduces the
/// weights writes the same tensors.
fn weights_metadata(
    spec: &Spec,
    preprocessing: &pipeline_data::Preprocessing,
) -> HashMap<String, String> {
    HashMap::from([
        ("experiment".to_string(), spec.name.to_string()),
        ("spec_sha256".to_string(), spec.hash()),
        ("features".to_string(), preprocessing.features.join(",")),
        (
            "producer".to_string(),
            format!("pipeline {}", env!("CARGO_PKG_VERSION")),
        ),
    ])
}

/// Writes weights and preprocessing (temp file, fsync, rename); returns
/// their records and the digest of the weights' tensors.
fn write_model(
    context: &Context,
    registry: &Registry,
    id: &RunId,
    spec: &Spec,
    outcome: &Outcome,
    preprocessing: &pipeline_data::Preprocessing,
) -> anyhow::Result<(Vec<pipeline_registry::ArtifactRecord>, String)> {
    let weights = outcome
        .model
        .network
        .to_safetensors(weights_metadata(spec, preprocessing))?;
    let digest = pipeline_model::weights_digest(&weights)?;
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
    Ok((vec![weights, prep], digest))
}

/// Writes the model, then commits the run as completed with its final
/// metrics, overfitting summary and the artifacts' checksums.
fn finish(
    context: &Context,
    registry: &Registry,
    id: &RunId,
    spec: &Spec,
    outcome: &Outcome,
    metrics: &SplitMetrics,
    preprocessing: &pipeline_data::Preprocessing,
) -> anyhow::Result<()> {
    let (artifacts, digest) = write_model(context, registry, id, spec, outcome, preprocessing)?;
    let mut final_metrics: Vec<MetricValue> = SplitName::ALL
        .into_iter()
        .flat_map(|split| metric_values(split, metrics.get(split)).collect::<Vec<_>>())
        .collect();
    if let (Some(reports), Some(classes)) =
        (&outcome.final_reports, preprocessing.targets.classes())
    {
        for split in SplitName::ALL {
            final_metrics.extend(
                class_metric_values(reports.get(split), classes)
                    .into_iter()
                    .map(|(metric, value)| MetricValue {
                        split: split.as_str().to_string(),
                        metric,
                        value,
                    }),
            );
        }
    }
    let selection = spec.selection.metric;
    let completion = Completion {
        best_epoch: outcome.best_epoch.unwrap_or(outcome.history.len() as u32),
        epochs_run: outcome.history.len() as u32,
        selection_value: metrics
            .get(selection.split)
            .get(selection.metric)
            .unwrap_or(f64::NAN),
        final_metrics,
        artifacts,
        overfitting: overfitting(spec, outcome, Some(metrics)),
        weights_digest: Some(digest),
    };
    context.block_on(registry.complete_run(id, &completion))?;
    Ok(())
}

struct Summary<'a> {
    id: &'a RunId,
    spec: &'a Spec,
    outcome: &'a Outcome,
    metrics: &'a SplitMetrics,
    /// Class labels of a classification run.
    classes: Option<Vec<String>>,
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

    /// One line: the run, how it stopped, its best epoch and time.
    fn headline(&self) -> String {
        let best = self.outcome.best_epoch.unwrap_or(0);
        format!(
            "run {}  {}  completed: {}, best epoch {best} by {}, {}",
            self.id,
            self.spec.name,
            self.stop(),
            self.spec.train.monitor,
            format::duration(self.seconds)
        )
    }

    fn text(&self) -> String {
        let mut out = format!("{}\n", self.headline());
        let names: Vec<MetricName> = self.metrics.train.iter().map(|(name, _)| name).collect();
        let mut header = vec!["split"];
        header.extend(names.iter().map(|name| name.as_str()));
        let mut table = format::table(&header);
        for split in SplitName::ALL {
            let m = self.metrics.get(split);
            let mut row = vec![split.to_string()];
            row.extend(
                names
                    .iter()
                    .map(|&name| m.get(name).map_or("-".into(), number)),
            );
            table.add_row(row);
        }
        format::align_numbers(&mut table, 1);
        out.push_str(&format::render(&table));
        out.push('\n');
        if let (Some(reports), Some(classes)) =
            (&self.outcome.final_reports, self.classes.as_deref())
        {
            let test = ClassTable::from_report(&reports.test, classes);
            out.push_str(&test.render("test split"));
        }
        out
    }

    fn json(&self) -> String {
        let mut value = json!({
            "id": self.id.to_string(),
            "experiment": self.spec.name.to_string(),
            "status": "completed",
            "stop_reason": self.outcome.reason,
            "epochs_run": self.outcome.history.len(),
            "best_epoch": self.outcome.best_epoch,
            "seconds": self.seconds,
            "train_seconds": self.outcome.history.iter().map(|r| r.train_seconds).sum::<f64>(),
            "metrics": self.metrics,
        });
        if let (Some(classes), Some(reports)) = (&self.classes, &self.outcome.final_reports) {
            value["classes"] = json!(classes);
            value["reports"] = json!(reports);
        }
        // One line per run: several specs give JSON Lines.
        format!("{value}\n")
    }
}
