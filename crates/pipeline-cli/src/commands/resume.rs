//! `pipeline resume RUN`: continue a killed or crashed run (or one that
//! failed on its environment: a full disk, an I/O error) from its last
//! checkpoint (`checkpoint_last`, verified against its sha256) with the
//! run's stored resolved spec on the data file it read (same sha256), so it
//! ends as it would have without the stop: on the CPU, the same weights bit
//! for bit. The run goes back to `running` under its own id, its epochs
//! after the checkpoint are trained again, and it ends like `pipeline run`.
//! A run that never finished an epoch (queued behind one that stopped)
//! starts from its first epoch.

use std::process::ExitCode;

use anyhow::Context as _;
use pipeline_registry::{
    ArtifactKind, ArtifactRecord, EpochMetric, Epochs, Registry, RegistryError, RunId, RunRecord,
    RunStatus,
};
use pipeline_spec::{MetricName, SplitName};
use pipeline_train::{EpochRecord, Metrics, TrainingState};

use crate::cli::ResumeArgs;
use crate::commands::rerun::{short, stored_plan};
use crate::commands::run::resume_one;
use crate::commands::shared::Context;
use crate::exit::UserError;

pub fn resume(context: &Context, args: ResumeArgs) -> anyhow::Result<ExitCode> {
    let registry = context.existing_registry()?;
    let record = context.run_record(
        &registry,
        &args.run,
        args.experiment.as_deref(),
        Epochs::None,
    )?;
    refuse_unresumable(&record)?;
    let id = &record.id;
    let state = match record.artifact(ArtifactKind::CheckpointLast) {
        Some(checkpoint) => Some(read_checkpoint(&registry, id, checkpoint)?),
        // Queued behind a run that stopped, or stopped in its first epoch:
        // starting it from epoch 1 loses nothing.
        None if record.epochs_run == 0 => None,
        None => {
            return Err(UserError::error(
                format!(
                    "run {id} is {} but kept no checkpoint to resume from (it stopped before \
                     its first epoch was saved, or was recorded by an older pipeline)",
                    record.status
                ),
                Some(&format!(
                    "`pipeline rerun {id}` trains its spec again from the start"
                )),
            ));
        }
    };
    let plan = stored_plan(
        &record,
        "resuming must read the same bytes; restore the original file, or train the spec \
         again with `pipeline run` to record a new run",
    )?;
    if let Some(state) = &state {
        state
            .check_fits(&plan.loaded.spec, &plan.data, &plan.network)
            .with_context(|| {
                format!("the checkpoint of run {id} does not fit its spec and data")
            })?;
    }
    let after = state.as_ref().map_or(0, TrainingState::epoch);
    context.block_on(registry.resume_run(id, after))?;
    let epochs = plan.loaded.spec.train.epochs;
    let state = match state {
        Some(state) => {
            // The checkpoint holds no history: the registry's losses of the
            // epochs before it give the resumed run its whole curve
            // (overfitting summary, epoch count).
            let losses = context.block_on(registry.run_with(id, Epochs::Losses))?;
            if !context.global.quiet {
                eprintln!(
                    "resuming run {id} ({}) after epoch {after} of {epochs}; data unchanged \
                     (sha256 {})",
                    record.experiment,
                    short(&record.data_sha256)
                );
            }
            Some(state.with_history(recorded_history(&losses.epochs, after)))
        }
        None => {
            if !context.global.quiet {
                eprintln!(
                    "starting run {id} ({}) from epoch 1 of {epochs}: it had not finished an \
                     epoch; data unchanged (sha256 {})",
                    record.experiment,
                    short(&record.data_sha256)
                );
            }
            None
        }
    };
    resume_one(context, &registry, plan, id, state, args.json)
}

/// The training state of a run's checkpoint, verified against its sha256.
fn read_checkpoint(
    registry: &Registry,
    id: &RunId,
    checkpoint: &ArtifactRecord,
) -> anyhow::Result<TrainingState> {
    let bytes = registry
        .read_verified(checkpoint)
        .map_err(|error| match error {
            RegistryError::ArtifactMissing { .. } | RegistryError::ArtifactCorrupt { .. } => {
                UserError::error(
                    format!("cannot resume run {id}: {error}"),
                    Some(&format!(
                        "the checkpoint was changed or removed outside pipeline; `pipeline rerun \
                     {id}` trains its spec again from the start"
                    )),
                )
            }
            other => anyhow::Error::new(other),
        })?;
    TrainingState::from_bytes(&bytes)
        .with_context(|| format!("the checkpoint of run {id} is unreadable"))
}

/// Only killed and crashed runs (and failed ones stopped by their
/// environment) can be resumed; says why the others cannot.
fn refuse_unresumable(record: &RunRecord) -> anyhow::Result<()> {
    let id = &record.id;
    let (message, hint) = match record.status {
        RunStatus::Killed | RunStatus::Crashed => return Ok(()),
        // A full disk or an I/O error: nothing that resuming meets again.
        RunStatus::Failed if record.failed_on_environment => return Ok(()),
        RunStatus::Completed => (
            format!("run {id} is completed: there is nothing to resume"),
            format!(
                "only killed or crashed runs can be resumed; `pipeline rerun {id}` trains its \
                 spec again from the start"
            ),
        ),
        RunStatus::Failed => (
            format!(
                "run {id} failed{}; only killed or crashed runs can be resumed",
                record
                    .error
                    .as_deref()
                    .and_then(|e| e.lines().next())
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            ),
            format!(
                "it stopped on an error that resuming would meet again; fix its cause and \
                 `pipeline rerun {id}`, or train the corrected spec with `pipeline run`"
            ),
        ),
        RunStatus::Running | RunStatus::Queued => (
            format!(
                "run {id} is {}{}: it is still training",
                record.status,
                match (record.pid, record.host.as_deref()) {
                    (Some(pid), Some(host)) => format!(" (pid {pid} on {host})"),
                    _ => String::new(),
                }
            ),
            "stop it with Ctrl-C (or `kill -INT PID`), then resume it".to_owned(),
        ),
    };
    Err(UserError::error(message, Some(&hint)))
}

/// The records of epochs 1 to `through` rebuilt from the registry's rows
/// (ordered by epoch): the metrics it holds, without times, `improved` false.
fn recorded_history(rows: &[EpochMetric], through: u32) -> Vec<EpochRecord> {
    type Values = Vec<(MetricName, f64)>;
    let mut epochs: Vec<(u32, Values, Values)> = Vec::with_capacity(through as usize);
    for row in rows.iter().filter(|row| row.epoch <= through) {
        let (Some(split), Some(metric)) =
            (SplitName::parse(&row.split), MetricName::parse(&row.metric))
        else {
            continue;
        };
        if epochs.last().is_none_or(|(epoch, ..)| *epoch != row.epoch) {
            epochs.push((row.epoch, Vec::new(), Vec::new()));
        }
        if let Some((_, train, validation)) = epochs.last_mut() {
            match split {
                SplitName::Train => train.push((metric, row.value)),
                SplitName::Validation => validation.push((metric, row.value)),
                SplitName::Test => {}
            }
        }
    }
    epochs
        .into_iter()
        .map(|(epoch, train, validation)| EpochRecord {
            epoch,
            train: Metrics::new(train),
            validation: Metrics::new(validation),
            improved: false,
            learning_rate: f64::NAN,
            seconds: 0.0,
            train_seconds: 0.0,
        })
        .collect()
}
