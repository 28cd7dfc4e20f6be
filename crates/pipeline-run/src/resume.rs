//! Getting a stopped run ready to continue: only a killed or crashed run
//! (or one that failed on its environment) is resumable; its last
//! checkpoint is read and verified, its stored spec planned on the same
//! data, the checkpoint checked against them, the run moved back to
//! `running`, and the checkpoint given the registry's curve of the epochs
//! before it. [`crate::resume_one`] then trains it to its end.

use pipeline_registry::{
    ArtifactKind, ArtifactRecord, EpochMetric, Epochs, RegistryError, RunId, RunRecord, RunStatus,
};
use pipeline_spec::{MetricName, SplitName};
use pipeline_train::{EpochRecord, Metrics, TrainingState};

use crate::error::RunError;
use crate::plan::Planned;
use crate::store::Store;
use crate::stored::stored_plan;

/// A run moved back to `running`, ready for [`crate::resume_one`].
pub struct Resumption {
    pub plan: Planned,
    /// Its last checkpoint, with the recorded history; `None`: it had not
    /// finished an epoch and starts from its first.
    pub state: Option<TrainingState>,
    /// The last epoch of the checkpoint (0 without one).
    pub after: u32,
}

/// Checks that `record`'s run can be resumed and gets it ready.
pub fn prepare_resume(store: Store<'_>, record: &RunRecord) -> Result<Resumption, RunError> {
    refuse_unresumable(record)?;
    let id = &record.id;
    let state = match record.artifact(ArtifactKind::CheckpointLast) {
        Some(checkpoint) => Some(read_checkpoint(store, id, checkpoint)?),
        // Queued behind a run that stopped, or stopped in its first epoch:
        // starting it from epoch 1 loses nothing.
        None if record.epochs_run == 0 => None,
        None => {
            return Err(RunError::user(
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
        record,
        "resuming must read the same bytes; restore the original file, or train the spec \
         again with `pipeline run` to record a new run",
    )?;
    if let Some(state) = &state {
        state
            .check_fits(&plan.loaded.spec, &plan.data, &plan.network)
            .map_err(|source| RunError::CheckpointMismatch {
                run: id.clone(),
                source: RunError::boxed(source),
            })?;
    }
    let after = state.as_ref().map_or(0, TrainingState::epoch);
    store.block_on(store.registry.resume_run(id, after))?;
    let state = match state {
        Some(state) => {
            // The checkpoint holds no history: the registry's losses of the
            // epochs before it give the resumed run its whole curve
            // (overfitting summary, epoch count).
            let losses = store.block_on(store.registry.run_with(id, Epochs::Losses))?;
            Some(state.with_history(recorded_history(&losses.epochs, after)))
        }
        None => None,
    };
    Ok(Resumption { plan, state, after })
}

/// The training state of a run's checkpoint, verified against its sha256.
fn read_checkpoint(
    store: Store<'_>,
    id: &RunId,
    checkpoint: &ArtifactRecord,
) -> Result<TrainingState, RunError> {
    let bytes = store
        .block_on(store.registry.read_verified(checkpoint))
        .map_err(|error| match error {
            RegistryError::ArtifactMissing { .. } | RegistryError::ArtifactCorrupt { .. } => {
                RunError::user(
                    format!("cannot resume run {id}: {error}"),
                    Some(&format!(
                        "the checkpoint was changed or removed outside pipeline; `pipeline rerun \
                     {id}` trains its spec again from the start"
                    )),
                )
            }
            other => RunError::Registry(other),
        })?;
    TrainingState::from_bytes(&bytes).map_err(|source| RunError::CheckpointUnreadable {
        run: id.clone(),
        source: RunError::boxed(source),
    })
}

/// Only killed and crashed runs (and failed ones stopped by their
/// environment) can be resumed; says why the others cannot.
fn refuse_unresumable(record: &RunRecord) -> Result<(), RunError> {
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
        RunStatus::Pruned => (
            format!("run {id} was pruned by its sweep; only killed or crashed runs can be resumed"),
            format!(
                "a sweep's pruner stopped it as unpromising; `pipeline rerun {id}` trains its \
                 spec again in full"
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
    Err(RunError::user(message, Some(&hint)))
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
