//! `compare --sweep SWEEP`: the runs of a sweep's best trials (completed
//! first, then pruned, by value), and for the HTML report the plot of every
//! trial against the sweep's parameters.

use pipeline_registry::{Epochs, Registry, RunRecord, SweepRecord, TrialState};
use pipeline_spec::Domain;

use crate::commands::shared::{Context, sweep_error};
use crate::exit::UserError;
use crate::output::sweep_plots::{PlotParameter, PlotTrial, Scale, SweepPlot, label};

/// How many of the best trials are compared when `--top` says nothing.
const DEFAULT_TOP: usize = 10;

/// The sweep, and the runs of its `top` best trials (default 10).
pub fn sweep_runs(
    context: &Context,
    registry: &Registry,
    sweep: &str,
    top: Option<u64>,
    epochs: Epochs,
) -> anyhow::Result<(SweepRecord, Vec<RunRecord>)> {
    let id = context.block_on(registry.resolve_sweep(sweep))?;
    let record = context.block_on(registry.sweep(&id))?;
    // Completed trials by value, then pruned ones (`SweepRecord::ranked`).
    let ranked: Vec<_> = record
        .ranked()
        .into_iter()
        .filter(|t| matches!(t.state, TrialState::Completed | TrialState::Pruned))
        .filter(|t| t.value.is_some())
        .filter_map(|t| t.run_id.as_ref())
        .collect();
    let keep = top.map_or(DEFAULT_TOP, |n| usize::try_from(n).unwrap_or(usize::MAX));
    if ranked.len() < 2 {
        return Err(UserError::error(
            format!(
                "sweep {} has {} trial(s) with a result; a comparison needs two",
                record.short_id,
                ranked.len()
            ),
            Some("`pipeline sweep show SWEEP` shows its trials"),
        ));
    }
    let runs = ranked
        .iter()
        .take(keep.max(2))
        .map(|run| context.block_on(registry.run_with(run, epochs)))
        .collect::<Result<Vec<_>, _>>()?;
    if !context.global.quiet && ranked.len() > keep {
        eprintln!(
            "comparing the {keep} best of sweep {}'s {} trials with a result (--top N for more)",
            record.short_id,
            ranked.len()
        );
    }
    Ok((record, runs))
}

/// Every trial of the sweep on the axes of its parameters.
pub fn plot(record: &SweepRecord) -> anyhow::Result<SweepPlot> {
    let loaded = pipeline_sweep::stored_spec(record).map_err(sweep_error)?;
    let parameters: Vec<PlotParameter> = loaded
        .spec
        .sweep
        .iter()
        .flat_map(|sweep| &sweep.parameters)
        .map(|parameter| PlotParameter {
            key: parameter.key.clone(),
            scale: match &parameter.domain {
                Domain::Values(values) => Scale::Categorical(
                    values
                        .iter()
                        .map(|v| label(&pipeline_sweep::toml_to_json(v)))
                        .collect(),
                ),
                Domain::Uniform { .. } => Scale::Linear,
                Domain::LogUniform { .. } => Scale::Log,
            },
        })
        .collect();
    let trials = record
        .trials
        .iter()
        .map(|trial| PlotTrial {
            number: trial.number,
            values: parameters
                .iter()
                .map(|p| trial.params.get(&p.key).cloned().unwrap_or_default())
                .collect(),
            metric: trial.value,
            state: trial.state.as_str().to_owned(),
        })
        .collect();
    Ok(SweepPlot {
        metric: record.metric.clone(),
        higher_is_better: record.higher_is_better,
        parameters,
        trials,
    })
}
