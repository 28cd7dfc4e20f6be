//! Running a sweep: its record created from the spec ([`start`]), then its
//! trials trained by `jobs` threads ([`run`]) until the budget is spent.
//! Everything is read back from the registry first, so that the same code
//! continues a sweep after Ctrl-C, kill -9 or a reboot (`sweep resume`):
//! finished trials are history for the sampler and the pruner, interrupted
//! and never-started ones are trained again, new numbers follow.

use std::num::NonZeroU32;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use pipeline_registry::{
    ArtifactKind, NewSweep, SweepId, SweepRecord, TrialLink, TrialState as StoredState, random_part,
};
use pipeline_run::{
    Ending, Labels, Planned, Resumption, Store, TrialRun, chain_text, continue_run, prepare_resume,
    train_trial,
};
use pipeline_search::{Goal, Method, PrunerKind, TrialState, pruner, sampler};
use pipeline_spec::{LoadedSpec, MetricRef, PrunerSpec, Spec, SweepMethod, SweepSpec};

use crate::coordinator::{Coordinator, Next};
use crate::error::SweepError;
use crate::events::{SweepEvents, TrialEnded, TrialOutcome};
use crate::space::SearchSpace;
use crate::trial::TrialWatcher;

/// The tag every trial's run of sweep `id` carries.
pub fn sweep_tag(id: &SweepId) -> String {
    let random = random_part(id.as_str());
    format!("sweep:{}", &random[..8.min(random.len())])
}

/// What [`run`] is asked to do.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Trials at a time (default: the spec's `sweep.jobs`).
    pub jobs: Option<NonZeroU32>,
    /// Stop the sweep at the first failed trial.
    pub fail_fast: bool,
    /// Train only these trials again (`sweep retry`), no new ones.
    pub retry: Option<Vec<u32>>,
}

/// How a call of [`run`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swept {
    /// The budget is spent (some trials may have failed or been pruned).
    Finished,
    /// `--fail-fast` stopped it after a failed trial.
    FailedFast,
    /// Ctrl-C or a signal; `sweep resume` continues it.
    Interrupted,
}

/// Creates the record of a sweep over `loaded` (a spec with `[sweep]`;
/// `source` is the text with any `--set` already applied). Every trial is
/// planned later; only the base spec is checked here.
pub fn start(
    store: Store<'_>,
    loaded: &LoadedSpec,
    name: Option<&str>,
    tags: &[String],
) -> Result<SweepId, SweepError> {
    let sweep = sweep_of(loaded)?;
    let base = loaded.trial(&[])?;
    let selection = base.spec.selection;
    let spec_path = std::fs::canonicalize(&loaded.path).unwrap_or_else(|_| loaded.path.clone());
    let space = SearchSpace::new(sweep);
    let parameters = serde_json::to_value(
        space
            .keys()
            .zip(&sweep.parameters)
            .map(|(key, parameter)| {
                (
                    key.to_owned(),
                    serde_json::Value::String(parameter.domain.to_string()),
                )
            })
            .collect::<serde_json::Map<_, _>>(),
    )
    .unwrap_or_default();
    let pruner = match sweep.pruner {
        PrunerSpec::None => None,
        other => serde_json::to_value(other).ok(),
    };
    let new = NewSweep {
        experiment: loaded.spec.name.to_string(),
        name: name.map(ToOwned::to_owned),
        pruner,
        tags: tags.to_vec(),
        spec_path: spec_path.display().to_string(),
        source_spec: loaded.written()?,
        spec_toml: loaded.spec.to_toml(),
        method: sweep.method.to_string(),
        metric: selection.metric.to_string(),
        higher_is_better: selection.direction.higher_is_better(),
        budget: sweep.budget(),
        jobs: sweep.jobs.get(),
        seed: sweep.seed,
        parameters,
    };
    Ok(store.block_on(store.registry.create_sweep(&new))?)
}

fn sweep_of(loaded: &LoadedSpec) -> Result<&SweepSpec, SweepError> {
    loaded.spec.sweep.as_ref().ok_or_else(|| {
        SweepError::user(
            format!("{} has no [sweep] table", loaded.path.display()),
            Some("add a [sweep] table with method, trials and [sweep.parameters]"),
        )
    })
}

/// The spec a stored sweep was started from.
pub fn stored_spec(record: &SweepRecord) -> Result<LoadedSpec, SweepError> {
    let path = Path::new(&record.spec_path);
    let spec = Spec::parse(path, &record.source_spec, &[])?;
    Ok(LoadedSpec {
        spec,
        source: record.source_spec.clone(),
        path: path.to_path_buf(),
        overrides: Vec::new(),
    })
}

/// Trains sweep `id`'s trials until its budget is spent (or, with
/// `options.retry`, the named trials again). `interrupt` set (Ctrl-C) ends
/// the trials in training killed: `sweep resume` trains them again.
pub fn run(
    store: Store<'_>,
    id: &SweepId,
    options: &Options,
    interrupt: &AtomicBool,
    events: &dyn SweepEvents,
) -> Result<Swept, SweepError> {
    let (setup, mut coordinator) = Setup::read(store, id)?;
    read_back(
        store,
        &setup.record,
        &setup.space,
        &mut coordinator,
        options.retry.as_deref(),
    )?;
    let jobs = options.jobs.unwrap_or(setup.sweep.jobs).get() as usize;
    let job = setup.job(
        store,
        id,
        coordinator,
        interrupt,
        events,
        options.fail_fast,
        None,
    );
    let results: Vec<Result<(), SweepError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs.max(1))
            .map(|_| scope.spawn(|| job.work()))
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err(SweepError::user("a sweep job panicked", None)))
            })
            .collect()
    });
    for result in results {
        result?;
    }
    Ok(if interrupt.load(Ordering::Relaxed) {
        Swept::Interrupted
    } else if job.failed_fast.load(Ordering::Relaxed) {
        Swept::FailedFast
    } else {
        Swept::Finished
    })
}

/// How [`work_trial`] left a trial.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkedTrial {
    /// It trained (or was continued) and ended so.
    Trained {
        run: Option<pipeline_registry::RunId>,
        outcome: TrialOutcome,
    },
    /// It had ended before: nothing to do.
    Ended,
}

/// Trains trial `number` of sweep `id` for a worker holding its lease
/// (`store`'s registry writes as that lease): a new trial is sampled from
/// what the registry holds of the others now (TPE sees every worker's
/// trials), claimed and trained; a trial stopped before (its worker was
/// stopped, died or stalled) continues from its run's checkpoint, or trains
/// again when it kept none. `device` replaces the spec's device;
/// `interrupt` stops it at once, `drain` after the epoch in progress.
pub fn work_trial(
    store: Store<'_>,
    id: &SweepId,
    number: u32,
    device: Option<pipeline_spec::Device>,
    interrupt: &AtomicBool,
    drain: &AtomicBool,
    events: &dyn SweepEvents,
) -> Result<WorkedTrial, SweepError> {
    let (setup, mut coordinator) = Setup::read(store, id)?;
    read_back(store, &setup.record, &setup.space, &mut coordinator, None)?;
    let stored = setup
        .record
        .trials
        .iter()
        .find(|trial| trial.number == number)
        .cloned();
    let next = match &stored {
        None => {
            let point = coordinator.suggest(number);
            let params = setup.space.to_json(&point);
            if !store.block_on(store.registry.claim_trial(id, number, &params))? {
                return Err(SweepError::user(
                    format!("trial {number} of sweep {id} was claimed by another process"),
                    Some("a sweep given to workers is trained by workers only"),
                ));
            }
            Next {
                number,
                point,
                again: false,
            }
        }
        Some(trial) => match trial.state {
            StoredState::Completed | StoredState::Pruned | StoredState::Failed => {
                return Ok(WorkedTrial::Ended);
            }
            StoredState::Deleted => return Ok(WorkedTrial::Ended),
            StoredState::Running => {
                return Err(SweepError::user(
                    format!(
                        "trial {number} of sweep {id} is being trained by another process{}",
                        trial
                            .run_id
                            .as_ref()
                            .map(|run| format!(" (run {run})"))
                            .unwrap_or_default()
                    ),
                    Some("a sweep given to workers is trained by workers only"),
                ));
            }
            StoredState::Interrupted | StoredState::Pending => {
                let Some(point) = setup.space.from_json(&trial.params) else {
                    return Err(SweepError::user(
                        format!(
                            "trial {number} of sweep {id}: its parameters no longer fit the \
                             sweep's space"
                        ),
                        None,
                    ));
                };
                Next {
                    number,
                    point,
                    again: true,
                }
            }
        },
    };
    let mut job = setup.job(store, id, coordinator, interrupt, events, false, device);
    job.drain = Some(drain);
    if let Some(run) = stored.as_ref().and_then(|trial| trial.run_id.as_ref()) {
        let record = store.block_on(store.registry.run(run))?;
        if record.artifact(ArtifactKind::CheckpointLast).is_some() {
            let resumption = prepare_resume(store, &record)?;
            let outcome = job.continued(&next, &record.id, resumption)?;
            return Ok(WorkedTrial::Trained {
                run: Some(record.id),
                outcome,
            });
        }
    }
    let (run, outcome) = job.trial(&next)?;
    Ok(WorkedTrial::Trained { run, outcome })
}

/// A stored sweep read back for training: its spec, space and budget
/// (with [`Setup::read`], a coordinator of its sampler and pruner that has
/// seen no trial yet).
struct Setup {
    record: SweepRecord,
    loaded: LoadedSpec,
    sweep: SweepSpec,
    space: SearchSpace,
    budget: u32,
    epochs: u32,
    metric: MetricRef,
}

impl Setup {
    fn read(store: Store<'_>, id: &SweepId) -> Result<(Setup, Coordinator), SweepError> {
        let record = store.block_on(store.registry.sweep(id))?;
        let loaded = stored_spec(&record)?;
        let sweep = sweep_of(&loaded)?.clone();
        let base = loaded.trial(&[])?;
        let selection = base.spec.selection;
        let goal = if selection.direction.higher_is_better() {
            Goal::Maximize
        } else {
            Goal::Minimize
        };
        let space = SearchSpace::new(&sweep);
        let budget = sweep.budget();
        let epochs = base.spec.train.epochs;
        let method = match sweep.method {
            SweepMethod::Grid => Method::Grid,
            SweepMethod::Random => Method::Random,
            SweepMethod::Tpe => Method::Tpe,
        };
        let metric_name = selection.metric.to_string();
        let kind = match sweep.pruner {
            PrunerSpec::None => PrunerKind::None,
            PrunerSpec::Median {
                min_epochs,
                min_trials,
            } => PrunerKind::Median {
                min_epochs,
                min_trials,
            },
            PrunerSpec::Asha {
                min_epochs,
                reduction,
            } => PrunerKind::Asha {
                min_epochs,
                reduction,
            },
        };
        let pruner = pruner(kind, &metric_name, goal, epochs)?;
        let coordinator = Coordinator::new(
            sampler(method, space.space(), goal, sweep.seed)?,
            pruner,
            goal,
            budget,
        );
        let setup = Setup {
            record,
            loaded,
            sweep,
            space,
            budget,
            epochs,
            metric: selection.metric,
        };
        Ok((setup, coordinator))
    }

    /// The jobs' shared state around `coordinator`.
    #[allow(clippy::too_many_arguments)]
    fn job<'a>(
        &'a self,
        store: Store<'a>,
        id: &'a SweepId,
        coordinator: Coordinator,
        interrupt: &'a AtomicBool,
        events: &'a dyn SweepEvents,
        fail_fast: bool,
        device: Option<pipeline_spec::Device>,
    ) -> Job<'a> {
        Job {
            store,
            id,
            loaded: &self.loaded,
            space: &self.space,
            budget: self.budget,
            epochs: self.epochs,
            metric: self.metric,
            coordinator: Mutex::new(coordinator),
            interrupt,
            halt: AtomicBool::new(false),
            fail_fast,
            events,
            tags: self
                .record
                .tags
                .iter()
                .cloned()
                .chain([sweep_tag(id)])
                .collect(),
            failed_fast: AtomicBool::new(false),
            device,
            drain: None,
        }
    }
}

/// How a trial's run ended, as the sweep reports it.
fn outcome_of(trained: &TrialRun, watcher: &TrialWatcher<'_>, metric: MetricRef) -> TrialOutcome {
    match (&trained.ending, &trained.error) {
        (Ending::Completed(finished), _) => TrialOutcome::Completed {
            value: finished.metrics.get(metric.split).get(metric.metric),
            epochs: finished.epochs,
        },
        (Ending::Pruned { epoch, value, .. }, _) => TrialOutcome::Pruned {
            epoch: *epoch,
            value: *value,
            reason: watcher
                .pruned
                .as_ref()
                .map_or_else(|| "pruned".to_owned(), |p| p.reason.clone()),
        },
        (Ending::Failed, error) => TrialOutcome::Failed {
            reason: error
                .as_ref()
                .map_or_else(|| "failed".to_owned(), |e| chain_text(e)),
        },
        (Ending::Killed { .. }, _) => TrialOutcome::Interrupted,
    }
}

/// Gives the coordinator what the registry says of the sweep's trials.
fn read_back(
    store: Store<'_>,
    record: &SweepRecord,
    space: &SearchSpace,
    coordinator: &mut Coordinator,
    retry: Option<&[u32]>,
) -> Result<(), SweepError> {
    for trial in &record.trials {
        let Some(point) = space.from_json(&trial.params) else {
            tracing::warn!(
                "trial {} of sweep {}: its parameters no longer fit the sweep's space; skipped",
                trial.number,
                record.id
            );
            coordinator.skip(trial.number);
            continue;
        };
        let retried = retry.is_some_and(|numbers| numbers.contains(&trial.number));
        if retried {
            coordinator.again(trial.number, point);
            continue;
        }
        match trial.state {
            StoredState::Completed => {
                coordinator.ended(trial.number, point, TrialState::Completed, trial.value)
            }
            StoredState::Pruned => {
                coordinator.ended(trial.number, point, TrialState::Pruned, trial.value)
            }
            StoredState::Failed => coordinator.ended(trial.number, point, TrialState::Failed, None),
            // Another process trains it now.
            StoredState::Running => {
                coordinator.ended(trial.number, point, TrialState::Running, None)
            }
            StoredState::Interrupted | StoredState::Pending if retry.is_none() => {
                coordinator.again(trial.number, point)
            }
            StoredState::Interrupted | StoredState::Pending | StoredState::Deleted => {
                coordinator.skip(trial.number)
            }
        }
    }
    if retry.is_some() {
        coordinator.only_again();
    }
    let curves = store.block_on(store.registry.trial_curves(&record.id))?;
    coordinator.curve_points(curves);
    Ok(())
}

/// What every job thread of one [`run`] shares.
struct Job<'a> {
    store: Store<'a>,
    id: &'a SweepId,
    loaded: &'a LoadedSpec,
    space: &'a SearchSpace,
    budget: u32,
    epochs: u32,
    metric: MetricRef,
    coordinator: Mutex<Coordinator>,
    interrupt: &'a AtomicBool,
    halt: AtomicBool,
    fail_fast: bool,
    events: &'a dyn SweepEvents,
    tags: Vec<String>,
    failed_fast: AtomicBool,
    /// Replaces the spec's device (a worker's `--device`).
    device: Option<pipeline_spec::Device>,
    /// Raised: each trial stops after the epoch in progress (a worker's
    /// SIGTERM).
    drain: Option<&'a AtomicBool>,
}

impl Job<'_> {
    /// One job: trials one after the other until none is left.
    fn work(&self) -> Result<(), SweepError> {
        loop {
            if self.interrupt.load(Ordering::Relaxed) {
                self.lock()?.halt();
            }
            let next = {
                let mut coordinator = self.lock()?;
                let Some(next) = coordinator.next() else {
                    return Ok(());
                };
                if !next.again {
                    let params = self.space.to_json(&next.point);
                    let claimed = self.store.block_on(self.store.registry.claim_trial(
                        self.id,
                        next.number,
                        &params,
                    ));
                    match claimed {
                        Ok(true) => {}
                        Ok(false) => {
                            // Another process took this number first.
                            coordinator.finish(next.number, None, None);
                            continue;
                        }
                        Err(error) => {
                            coordinator.halt();
                            return Err(error.into());
                        }
                    }
                }
                next
            };
            if let Err(error) = self.trial(&next) {
                self.lock()?.halt();
                self.halt.store(true, Ordering::Relaxed);
                return Err(error);
            }
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Coordinator>, SweepError> {
        self.coordinator
            .lock()
            .map_err(|_| SweepError::user("a sweep job panicked", None))
    }

    /// Trains one trial and records how it ended (its run, when one was
    /// made, and the outcome). Only the registry failing is an error; a
    /// trial's own failure is recorded with it.
    fn trial(
        &self,
        next: &Next,
    ) -> Result<(Option<pipeline_registry::RunId>, TrialOutcome), SweepError> {
        let started = Instant::now();
        let assignments = self.space.assignments(&next.point);
        let planned = self
            .loaded
            .trial(&assignments)
            .map_err(|error| chain_text(&error))
            .and_then(|loaded| Planned::of(loaded).map_err(|error| chain_text(&error)))
            .and_then(|plan| match self.device {
                Some(device) => plan.on_device(device).map_err(|error| chain_text(&error)),
                None => Ok(plan),
            });
        let plan = match planned {
            Ok(plan) => plan,
            Err(reason) => {
                // The combination cannot train: failed before a run exists.
                self.store.block_on(self.store.registry.fail_trial(
                    self.id,
                    next.number,
                    &reason,
                ))?;
                let outcome = TrialOutcome::Failed { reason };
                self.ended(next.number, None, &outcome, started);
                return Ok((None, outcome));
            }
        };
        let labels = Labels {
            tags: self.tags.clone(),
            note: None,
            name: None,
            trial: Some(TrialLink {
                sweep: self.id.clone(),
                number: next.number,
            }),
        };
        let stop = AtomicBool::new(false);
        let mut watcher = self.watcher(next, &assignments, &stop);
        let trained = train_trial(self.store, plan, &labels, &stop, &mut watcher)?;
        let outcome = outcome_of(&trained, &watcher, self.metric);
        self.ended(next.number, Some(&trained.id), &outcome, started);
        Ok((Some(trained.id), outcome))
    }

    /// Continues trial `next` from the checkpoint of its run `run`, which
    /// `resumption` moved back to running.
    fn continued(
        &self,
        next: &Next,
        run: &pipeline_registry::RunId,
        resumption: Resumption,
    ) -> Result<TrialOutcome, SweepError> {
        let started = Instant::now();
        let assignments = self.space.assignments(&next.point);
        let stop = AtomicBool::new(false);
        let mut watcher = self.watcher(next, &assignments, &stop);
        let Resumption { plan, state, .. } = resumption;
        let trained = continue_run(self.store, plan, run, state, &stop, &mut watcher);
        let outcome = outcome_of(&trained, &watcher, self.metric);
        self.ended(next.number, Some(run), &outcome, started);
        Ok(outcome)
    }

    /// The watcher of trial `next`, raising `stop` to prune it.
    fn watcher<'w>(
        &'w self,
        next: &Next,
        assignments: &'w [(String, toml::Value)],
        stop: &'w AtomicBool,
    ) -> TrialWatcher<'w> {
        TrialWatcher {
            number: next.number,
            budget: self.budget,
            again: next.again,
            assignments,
            coordinator: &self.coordinator,
            interrupt: self.interrupt,
            halt: &self.halt,
            stop,
            metric: self.metric,
            epochs: self.epochs,
            events: self.events,
            pruned: None,
            drain: self.drain,
        }
    }

    /// Tells the coordinator and the caller that a trial ended.
    fn ended(
        &self,
        number: u32,
        run: Option<&pipeline_registry::RunId>,
        outcome: &TrialOutcome,
        started: Instant,
    ) {
        let (state, value) = match outcome {
            TrialOutcome::Completed { value, .. } => (Some(TrialState::Completed), *value),
            TrialOutcome::Pruned { value, .. } => (Some(TrialState::Pruned), *value),
            TrialOutcome::Failed { .. } => (Some(TrialState::Failed), None),
            TrialOutcome::Interrupted => (None, None),
        };
        let best = match self.coordinator.lock() {
            Ok(mut coordinator) => {
                let best = coordinator.finish(number, state, value);
                if matches!(outcome, TrialOutcome::Failed { .. }) && self.fail_fast {
                    coordinator.halt();
                    self.halt.store(true, Ordering::Relaxed);
                    self.failed_fast.store(true, Ordering::Relaxed);
                }
                best
            }
            Err(_) => None,
        };
        self.events.trial_ended(&TrialEnded {
            number,
            budget: self.budget,
            run,
            outcome,
            best,
            elapsed: started.elapsed(),
        });
    }
}
