//! `pipeline evaluate --run RUN --input FILE`: the run's metrics on a
//! labelled file ([`pipeline_predict::evaluate()`]), as a table or as JSON
//! (`--json`, the [`Evaluation`] itself).

use pipeline_predict::Evaluation;

use crate::cli::EvaluateArgs;
use crate::commands::shared::{Context, print};
use crate::commands::stored_run;
use crate::output::classes::ClassTable;
use crate::output::format::{self, number};

pub fn evaluate(context: &Context, args: EvaluateArgs) -> anyhow::Result<()> {
    let registry = context.registry_to_read()?;
    let predictor = stored_run::predictor(
        context,
        &registry,
        &args.run,
        args.experiment.as_deref(),
        args.device,
    )?;
    let evaluation = pipeline_predict::evaluate(&predictor, &args.input)?;
    if args.json {
        return print(&format!("{}\n", serde_json::to_string_pretty(&evaluation)?));
    }
    print(&render(&evaluation))
}

/// The scores as a table, then a classification's per-class tables.
fn render(evaluation: &Evaluation) -> String {
    let scored = evaluation.scored;
    let names: Vec<&str> = evaluation
        .metrics
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    let mut header = vec![scored.unit()];
    header.extend(&names);
    let mut table = format::table(&header);
    let mut row = vec![scored.count().to_string()];
    row.extend(evaluation.metrics.iter().map(|(_, value)| number(value)));
    table.add_row(row);
    format::align_numbers(&mut table, 0);
    let mut out = format!(
        "run {} ({}) on {}\n{}\n",
        evaluation.run,
        evaluation.experiment,
        evaluation.input,
        format::render(&table)
    );
    if let (Some(report), Some(classes)) = (&evaluation.report, &evaluation.classes) {
        out.push_str(&ClassTable::from_report(report, classes).render("this file"));
    }
    out
}
