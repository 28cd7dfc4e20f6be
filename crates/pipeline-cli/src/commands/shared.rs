//! What the subcommands share: the async runtime for the registry, opening
//! it, resolving run selectors, and training planned runs on the console
//! (`run`, `rerun`).

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context as _;
use pipeline_registry::{
    Access, Epochs, Registry, RegistryError, RunId, RunRecord, RunSelector, RunStatus, ShortIds,
};
use pipeline_registry::{ArtifactStore, Location, RegistryFiles};
use pipeline_run::{Labels, Planned, Store, Trained, train_all};
use pipeline_spec::MetricRef;

use crate::cli::GlobalArgs;
use crate::exit::{self, UserError};
use crate::output::training::{Console, RunOutput, report_failures};

pub struct Context {
    pub global: GlobalArgs,
    runtime: tokio::runtime::Runtime,
    /// Whether stderr already said which experiment `best` was narrowed to.
    said_current: Cell<bool>,
}

impl Context {
    pub fn new(global: GlobalArgs) -> anyhow::Result<Context> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        Ok(Context {
            global,
            runtime,
            said_current: Cell::new(false),
        })
    }

    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The runtime every registry call of this process runs on.
    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.runtime
    }

    /// `registry` with this runtime, for the run library.
    pub fn store<'a>(&'a self, registry: &'a Registry) -> Store<'a> {
        Store::new(registry, &self.runtime)
    }

    /// Where --registry / PIPELINE_REGISTRY points: a SQLite file or a
    /// PostgreSQL URL.
    pub fn location(&self) -> Location {
        Location::parse(self.global.registry.as_os_str())
    }

    /// Opens (creating on first use) the registry named by --registry. A
    /// PostgreSQL database must have been made a registry by `pipeline
    /// registry migrate`.
    pub fn registry(&self) -> anyhow::Result<Registry> {
        // A wrong --artifacts is refused before a registry is created.
        let store = self.artifact_store()?;
        let location = self.location();
        let registry = self
            .block_on(Registry::open_at(&location))
            .with_context(|| format!("cannot open the registry at {location}"))?;
        Ok(with_store(registry, store))
    }

    /// The object store `--artifacts` names, opened.
    fn artifact_store(&self) -> anyhow::Result<Option<ArtifactStore>> {
        Ok(match &self.global.artifacts {
            Some(url) => Some(ArtifactStore::open(url)?),
            None => None,
        })
    }

    /// Opens an existing registry to change it; a missing file is an
    /// error, not created.
    pub fn existing_registry(&self) -> anyhow::Result<Registry> {
        self.open_existing(Access::Write)
    }

    /// Opens an existing registry to read it: never created, and opened
    /// read-only where it cannot be written (a read-only mount).
    pub fn registry_to_read(&self) -> anyhow::Result<Registry> {
        self.open_existing(Access::Read)
    }

    fn open_existing(&self, access: Access) -> anyhow::Result<Registry> {
        let store = match access {
            Access::Write => self.artifact_store()?,
            Access::Read => None,
        };
        let location = self.location();
        if let Location::File(path) = &location
            && let Err(error) = std::fs::metadata(path)
        {
            if is_link_loop(&error) {
                return Err(UserError::error(
                    format!(
                        "cannot open the registry at {}: it is a loop of symbolic links",
                        path.display()
                    ),
                    Some(
                        "point --registry / PIPELINE_REGISTRY at the registry database, or fix the link (`ls -l` shows where it points)",
                    ),
                ));
            }
            return Err(UserError::error(
                format!("no registry at {}", path.display()),
                Some(
                    "train a run first (`pipeline run SPEC`), or point --registry / PIPELINE_REGISTRY at a registry",
                ),
            ));
        }
        let registry = self
            .block_on(Registry::open_existing_at(&location, access))
            .with_context(|| format!("cannot open the registry at {location}"))?;
        Ok(with_store(registry, store))
    }

    /// The files of the registry named by --registry, which no output
    /// file may replace (none for a PostgreSQL registry).
    pub fn registry_files(&self) -> RegistryFiles {
        match self.location() {
            Location::File(path) => RegistryFiles::of(&path),
            Location::Postgres(_) => RegistryFiles::none(),
        }
    }

    /// The id of the run named by `selector` (see [`parse_selector`]).
    /// `best` without `--experiment`, where several experiments have runs,
    /// is the best of the latest run's experiment: stderr says so once.
    /// Errors quote the selector as typed.
    pub fn run_id(
        &self,
        registry: &Registry,
        selector: &str,
        experiment: Option<&str>,
    ) -> anyhow::Result<RunId> {
        let parsed = parse_selector(selector)?;
        let resolved = self
            .block_on(registry.resolve_current(&parsed, experiment))
            .map_err(|e| as_typed(e, selector))?;
        if let Some(current) = &resolved.current_experiment
            && !self.said_current.replace(true)
            && !self.global.quiet
        {
            eprintln!(
                "{} of experiment '{current}' (the latest run's); --experiment NAME for another",
                selector.trim()
            );
        }
        Ok(resolved.id)
    }

    /// The short id of every run of `registry`, as tables print them.
    pub fn short_ids(&self, registry: &Registry) -> anyhow::Result<ShortIds> {
        Ok(self.block_on(registry.short_ids())?)
    }

    /// The record of the run named by `selector`, with the per-epoch
    /// metrics `epochs` says.
    pub fn run_record(
        &self,
        registry: &Registry,
        selector: &str,
        experiment: Option<&str>,
        epochs: Epochs,
    ) -> anyhow::Result<RunRecord> {
        let id = self.run_id(registry, selector, experiment)?;
        Ok(self.block_on(registry.run_with(&id, epochs))?)
    }
}

/// Whether `error` says a path's links loop (ELOOP: too many levels of
/// symbolic links).
fn is_link_loop(error: &std::io::Error) -> bool {
    #[cfg(target_os = "linux")]
    const ELOOP: Option<i32> = Some(40);
    #[cfg(target_os = "macos")]
    const ELOOP: Option<i32> = Some(62);
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    const ELOOP: Option<i32> = None;
    ELOOP.is_some() && error.raw_os_error() == ELOOP
}

/// What the user may type to name a run: `latest`, `best`, `best:<metric>`
/// (`best:test_r2`, in the metric's own direction), an alias, a full id or
/// a unique id prefix.
pub fn parse_selector(text: &str) -> anyhow::Result<RunSelector> {
    if let Some(metric) = text.trim().strip_prefix("best:") {
        let metric: MetricRef = metric.parse().map_err(|e: String| {
            UserError::error(
                format!("invalid run selector {text:?}: {e}"),
                Some("write `best:` and a recorded metric, e.g. best:val_loss or best:test_r2"),
            )
        })?;
        return Ok(RunSelector::BestBy {
            split: metric.split.as_str().to_owned(),
            metric: metric.metric.as_str().to_owned(),
            higher_is_better: metric.metric.direction().higher_is_better(),
        });
    }
    text.parse()
        .map_err(|e| UserError::error(format!("invalid run selector {text:?}: {e}"), None))
}

pub use crate::output::print;

/// `error` quoting `typed`, the selector as the user wrote it
/// (`best:validation_r2`, not the registry's `best:val_r2`).
fn as_typed(error: RegistryError, typed: &str) -> RegistryError {
    let typed = typed.trim().to_owned();
    match error {
        RegistryError::UnknownRun { reason, .. } => RegistryError::UnknownRun {
            selector: typed,
            reason,
        },
        RegistryError::AmbiguousRun { matches, .. } => RegistryError::AmbiguousRun {
            prefix: typed,
            matches,
        },
        RegistryError::AmbiguousExperiment { experiments, .. } => {
            RegistryError::AmbiguousExperiment {
                selector: typed,
                experiments,
            }
        }
        other => other,
    }
}

/// `registry` writing new artifacts to `store` when there is one.
fn with_store(registry: Registry, store: Option<ArtifactStore>) -> Registry {
    match store {
        Some(store) => registry.with_artifact_store(store),
        None => registry,
    }
}

/// Ctrl-C / SIGTERM raise a flag checked between batches; a second Ctrl-C
/// exits at once (the run is then marked crashed by the next command).
pub fn install_signal_handlers() -> anyhow::Result<Arc<AtomicBool>> {
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

/// Opens (or creates) the registry, installs the signal handlers and trains
/// `plans` as `pipeline run` does, printing as `output` says; says which
/// runs failed.
pub fn train_plans(
    context: &Context,
    plans: Vec<Planned>,
    labels: &Labels,
    output: RunOutput,
) -> anyhow::Result<Trained> {
    // Opened only now: a spec or data mistake leaves no registry behind.
    let registry = context.registry()?;
    let stop = install_signal_handlers()?;
    let mut console = Console::new(&context.global, output);
    let store = context.store(&registry);
    let trained = train_all(store, plans, labels, &stop, &mut console)?;
    report_failures(&trained);
    Ok(trained)
}

/// A `--status` word (`completed`, `killed`, …), for `runs`, `rm` and
/// `archive` alike.
pub fn parse_status(word: &str) -> anyhow::Result<RunStatus> {
    RunStatus::parse(word).ok_or_else(|| {
        UserError::error(
            format!("unknown status {word:?}"),
            Some("one of: queued, running, completed, failed, killed, crashed, pruned"),
        )
    })
}

/// A sweep library error as the CLI reports it (exit codes by kind).
pub fn sweep_error(error: pipeline_sweep::SweepError) -> anyhow::Error {
    match error {
        pipeline_sweep::SweepError::Spec(e) => (*e).into(),
        pipeline_sweep::SweepError::Run(e) => (*e).into(),
        pipeline_sweep::SweepError::Registry(e) => e.into(),
        pipeline_sweep::SweepError::Search(e) => e.into(),
        pipeline_sweep::SweepError::User { message, hint } => {
            UserError::error(message, hint.as_deref())
        }
    }
}
