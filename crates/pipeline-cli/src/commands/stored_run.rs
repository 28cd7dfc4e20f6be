//! Loading the run a prediction command names (`--run SELECTOR`): the
//! selector resolved, the run read with its artifacts verified
//! ([`pipeline_predict::StoredModel`]), and the warning printed when it is
//! a killed run's checkpoint. `infer`, `evaluate`, `serve` and `export`
//! share it.

use pipeline_predict::{Predictor, StoredModel, is_checkpoint};
use pipeline_registry::{Registry, RunId};
use pipeline_spec::Device as DeviceSpec;

use crate::commands::shared::Context;

/// The stored run named by `selector`; `purpose` ends the refusal of a run
/// without weights ("to predict with", "to export").
pub fn load(
    context: &Context,
    registry: &Registry,
    selector: &str,
    experiment: Option<&str>,
    purpose: &str,
) -> anyhow::Result<StoredModel> {
    let id = context.run_id(registry, selector, experiment)?;
    Ok(context.block_on(StoredModel::load(registry, &id, purpose))?)
}

/// The run named by `selector` ready to predict on `device`, with a
/// warning when it is a killed run's checkpoint.
pub fn predictor(
    context: &Context,
    registry: &Registry,
    selector: &str,
    experiment: Option<&str>,
    device: DeviceSpec,
) -> anyhow::Result<Predictor> {
    let id = context.run_id(registry, selector, experiment)?;
    predictor_of(context, registry, &id, device)
}

/// [`predictor`] for the run `selector` names among the trials of `sweep`
/// (`infer --sweep`): `best` is the sweep's best trial.
pub fn predictor_in_sweep(
    context: &Context,
    registry: &Registry,
    selector: &str,
    sweep: &str,
    device: DeviceSpec,
) -> anyhow::Result<Predictor> {
    let sweep = context.block_on(registry.resolve_sweep(sweep))?;
    let parsed = crate::commands::shared::parse_selector(selector)?;
    let id = context.block_on(registry.resolve_in_sweep(&parsed, &sweep))?;
    predictor_of(context, registry, &id, device)
}

fn predictor_of(
    context: &Context,
    registry: &Registry,
    id: &RunId,
    device: DeviceSpec,
) -> anyhow::Result<Predictor> {
    let stored = context.block_on(StoredModel::load(registry, id, "to predict with"))?;
    let record = &stored.record;
    if is_checkpoint(record) && !context.global.quiet {
        eprintln!(
            "{} run {} was {} after {} epoch(s); predicting with its best checkpoint (epoch {})",
            crate::output::color::warning(),
            record.id,
            record.status,
            record.epochs_run,
            record
                .best_epoch
                .map_or_else(|| "?".to_owned(), |e| e.to_string())
        );
    }
    Ok(Predictor::new(stored, device)?)
}
