//! `pipeline runs`: the registry's runs as a table, or JSON for scripts.

use pipeline_registry::{Condition, Field, RunFilter, RunStatus, RunSummary, SortKey};
use pipeline_spec::MetricName;

use crate::cli::RunsArgs;
use crate::commands::shared::{Context, print};
use crate::exit::UserError;
use crate::output::format::{self, number};

pub fn runs(context: &Context, args: RunsArgs) -> anyhow::Result<()> {
    let registry = context.registry_to_read()?;
    let status = match &args.status {
        None => None,
        Some(word) => Some(parse_status(word)?),
    };
    check_metric_names(args.condition.as_ref(), args.sort.as_ref())?;
    let filter = RunFilter {
        experiment: args.experiment.clone(),
        status,
        tags: args.tags.clone(),
        condition: args.condition.clone(),
        sort: args.sort.clone(),
        // One more than shown tells whether more runs match.
        limit: match (args.limit, args.json) {
            (Some(0), _) | (None, true) => None,
            (Some(n), _) => Some(n),
            (None, false) => Some(TABLE_ROWS + 1),
        },
    };
    let mut runs = context.block_on(registry.list_runs(&filter))?;
    let more = args.limit.is_none() && !args.json && runs.len() > TABLE_ROWS as usize;
    if more {
        runs.truncate(TABLE_ROWS as usize);
    }
    if args.json {
        return print(&format!("{}\n", serde_json::to_string_pretty(&runs)?));
    }
    if runs.is_empty() {
        eprintln!("no runs match; `pipeline run SPEC` records one");
        return Ok(());
    }
    // A metric the runs are sorted by gets a column of its own.
    let metric = |split, name: &str| Field::Metric {
        split,
        metric: name.to_string(),
    };
    // Regression runs show test rmse and r2, classification runs test
    // accuracy and F1; a table of both kinds shows all four.
    let recorded = |name: &str| {
        runs.iter()
            .any(|r| r.final_metrics.iter().any(|m| m.metric == name))
    };
    let classification = recorded("accuracy");
    let regression = recorded("rmse") || !classification;
    let mut columns = vec![metric("validation", "loss")];
    if regression {
        columns.extend([metric("test", "rmse"), metric("test", "r2")]);
    }
    if classification {
        columns.extend([metric("test", "accuracy"), metric("test", "f1")]);
    }
    if let Some(SortKey {
        field: field @ Field::Metric { .. },
        ..
    }) = &args.sort
        && !columns.contains(field)
    {
        columns.push(field.clone());
    }
    print(&format!("{}\n", render(&runs, &columns)))?;
    if more {
        eprintln!(
            "more runs match; the first {TABLE_ROWS} are shown (--limit N for more, --limit 0 for all)"
        );
    }
    Ok(())
}

/// Rows of the table when `--limit` is not given.
const TABLE_ROWS: u32 = 50;

/// Rejects metric names the tool never records (`val_rsme`), which would
/// otherwise match nothing and sort nothing.
fn check_metric_names(condition: Option<&Condition>, sort: Option<&SortKey>) -> anyhow::Result<()> {
    fn fields<'a>(condition: &'a Condition, out: &mut Vec<&'a Field>) {
        match condition {
            Condition::Compare { field, .. } => out.push(field),
            Condition::And(a, b) | Condition::Or(a, b) => {
                fields(a, out);
                fields(b, out);
            }
            Condition::Not(inner) => fields(inner, out),
        }
    }
    let mut all = Vec::new();
    if let Some(condition) = condition {
        fields(condition, &mut all);
    }
    all.extend(sort.map(|s| &s.field));
    for field in all {
        if let Field::Metric { split, metric } = field
            && MetricName::parse(metric).is_none()
        {
            let known: Vec<String> = MetricName::ALL
                .iter()
                .map(|m| m.as_str().to_owned())
                .collect();
            let hint = match pipeline_spec::closest(metric, &known) {
                Some(near) => {
                    let near = Field::Metric {
                        split,
                        metric: near,
                    };
                    format!("did you mean `{near}`?")
                }
                None => format!("known metrics: {}", known.join(", ")),
            };
            return Err(UserError::error(
                format!("unknown metric `{metric}` in `{field}`"),
                Some(&hint),
            ));
        }
    }
    Ok(())
}

fn parse_status(word: &str) -> anyhow::Result<RunStatus> {
    [
        RunStatus::Queued,
        RunStatus::Running,
        RunStatus::Completed,
        RunStatus::Failed,
        RunStatus::Killed,
        RunStatus::Crashed,
    ]
    .into_iter()
    .find(|s| s.to_string() == word)
    .ok_or_else(|| {
        UserError::error(
            format!("unknown status {word:?}"),
            Some("one of: queued, running, completed, failed, killed, crashed"),
        )
    })
}

fn metric(run: &RunSummary, split: &str, name: &str) -> String {
    run.final_metrics
        .iter()
        .find(|m| m.split == split && m.metric == name)
        .map_or_else(|| "-".into(), |m| number(m.value))
}

/// Longest note the table shows; `show` prints it whole.
const NOTE_WIDTH: usize = 40;

/// A note's first line, cut to [`NOTE_WIDTH`] characters with `…`.
fn trimmed_note(note: &str) -> String {
    let line = note.lines().next().unwrap_or("").trim();
    if line.chars().count() <= NOTE_WIDTH && note.trim() == line {
        return line.to_owned();
    }
    let cut: String = line.chars().take(NOTE_WIDTH - 1).collect();
    format!("{}…", cut.trim_end())
}

fn render(runs: &[RunSummary], metrics: &[Field]) -> String {
    let names: Vec<String> = metrics.iter().map(Field::to_string).collect();
    // A name and a note column only when some listed run has one.
    let named = runs.iter().any(|r| r.name.is_some());
    let noted = runs.iter().any(|r| r.note.is_some());
    let mut header = vec!["id"];
    if named {
        header.push("name");
    }
    header.extend(["experiment", "status", "started", "epochs", "best"]);
    header.extend(names.iter().map(String::as_str));
    header.extend(["gap", "onset", "tags"]);
    if noted {
        header.push("note");
    }
    let mut table = format::table(&header);
    for run in runs {
        let mut row = vec![run.short_id.clone()];
        if named {
            row.push(run.name.clone().unwrap_or_else(|| "-".into()));
        }
        row.extend([
            run.experiment.clone(),
            run.status.to_string(),
            run.started_at
                .get(..19)
                .unwrap_or(&run.started_at)
                .replace('T', " "),
            run.epochs_run.to_string(),
            run.best_epoch.map_or_else(|| "-".into(), |e| e.to_string()),
        ]);
        row.extend(metrics.iter().map(|field| match field {
            Field::Metric {
                split,
                metric: name,
            } => metric(run, split, name),
            _ => "-".into(),
        }));
        row.push(
            run.overfitting
                .gap_at_best
                .map_or_else(|| "-".into(), number),
        );
        row.push(match (run.status, run.overfitting.onset) {
            (_, Some(epoch)) => epoch.to_string(),
            (pipeline_registry::RunStatus::Completed, None) => "none".into(),
            _ => "-".into(),
        });
        row.push(run.tags.join(","));
        if noted {
            row.push(run.note.as_deref().map_or_else(|| "-".into(), trimmed_note));
        }
        table.add_row(row);
    }
    format::align_numbers(&mut table, 4 + usize::from(named));
    format::render(&table)
}
