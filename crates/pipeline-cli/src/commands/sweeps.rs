//! `pipeline sweeps`: the hyperparameter sweeps of the registry, newest
//! first, with their trial counts, best value and state.

use pipeline_registry::{SweepFilter, SweepSummary};

use crate::cli::SweepsArgs;
use crate::commands::shared::{Context, print};
use crate::output::format::{self, number};

pub fn sweeps(context: &Context, args: SweepsArgs) -> anyhow::Result<()> {
    let registry = context.registry_to_read()?;
    let filter = SweepFilter {
        experiment: args.experiment,
    };
    let sweeps = context.block_on(registry.sweeps(&filter))?;
    if args.json {
        return print(&format!("{}\n", serde_json::to_string_pretty(&sweeps)?));
    }
    if sweeps.is_empty() {
        eprintln!("no sweeps; `pipeline run SPEC` on a spec with [sweep] starts one");
        return Ok(());
    }
    print(&format!("{}\n", render(&sweeps)))
}

fn render(sweeps: &[SweepSummary]) -> String {
    let named = sweeps.iter().any(|s| s.name.is_some());
    let mut header = vec!["id"];
    if named {
        header.push("name");
    }
    header.extend([
        "experiment",
        "method",
        "created",
        "trials",
        "pruned",
        "failed",
        "metric",
        "best",
        "trial",
        "state",
    ]);
    let mut table = format::table(&header);
    for sweep in sweeps {
        let mut row = vec![sweep.short_id.clone()];
        if named {
            row.push(sweep.name.clone().unwrap_or_else(|| "-".into()));
        }
        row.extend([
            sweep.experiment.clone(),
            sweep.method.clone(),
            sweep
                .created_at
                .get(5..16)
                .unwrap_or(&sweep.created_at)
                .replace('T', " "),
            format!("{}/{}", sweep.counts.ended(), sweep.budget),
            sweep.counts.pruned.to_string(),
            sweep.counts.failed.to_string(),
            sweep.metric.clone(),
            sweep.best_value.map_or_else(|| "-".into(), number),
            sweep
                .best_trial
                .map_or_else(|| "-".into(), |t| format!("#{t}")),
            sweep.state.to_string(),
        ]);
        table.add_row(row);
    }
    format::align_numbers(&mut table, 4 + usize::from(named));
    let metric = 7 + usize::from(named);
    let state = table.column_count() - 1;
    for index in [metric, state] {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(comfy_table::CellAlignment::Left);
        }
    }
    format::render(&table)
}
