//! `pipeline runs`: the registry's runs as a table, or JSON for scripts.

use std::collections::BTreeMap;

use pipeline_registry::{ArchivedRuns, Condition, Field, Registry, RunFilter, RunSummary, SortKey};
use pipeline_spec::{FlatValue, MetricName, differing_keys, dotted_path, short_key_names};

use crate::cli::RunsArgs;
use crate::commands::shared::{Context, parse_status, print};
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
        archived: match (args.archived, args.all) {
            (true, _) => ArchivedRuns::Only,
            (false, true) => ArchivedRuns::Included,
            (false, false) => ArchivedRuns::Hidden,
        },
    };
    let mut runs = context.block_on(registry.list_runs(&filter))?;
    let more = args.limit.is_none() && !args.json && runs.len() > TABLE_ROWS as usize;
    if more {
        runs.truncate(TABLE_ROWS as usize);
    }
    let keys = spec_columns(context, &registry, &args, &runs)?;
    if args.json {
        for run in &mut runs {
            run.params.retain(|key, _| keys.contains(key));
        }
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
    print(&format!("{}\n", render(&runs, &columns, &keys)))?;
    if more {
        eprintln!(
            "more runs match; the first {TABLE_ROWS} are shown (--limit N for more, --limit 0 for all)"
        );
    }
    Ok(())
}

/// Rows of the table when `--limit` is not given.
const TABLE_ROWS: u32 = 50;

/// Spec keys the table shows when `--columns` is not given.
const DEFAULT_SPEC_COLUMNS: usize = 4;

/// The widest spec value a table cell shows whole.
const SPEC_CELL_WIDTH: usize = 24;

/// The spec keys shown as columns (and kept in `--json`'s `params`):
/// `--columns` as given (`none`: no key), else the keys whose values differ
/// among `runs`, noise left out (`pipeline_spec::is_noise_key`), those the
/// filter or sort names first; the table shows at most
/// [`DEFAULT_SPEC_COLUMNS`] and says how many more differ.
fn spec_columns(
    context: &Context,
    registry: &Registry,
    args: &RunsArgs,
    runs: &[RunSummary],
) -> anyhow::Result<Vec<String>> {
    match args.columns.as_deref().map(str::trim) {
        Some("none") => Ok(Vec::new()),
        Some(list) => {
            let mut keys: Vec<String> = Vec::new();
            for word in list.split(',').map(str::trim).filter(|w| !w.is_empty()) {
                let key = dotted_path(word).map_err(|e| {
                    UserError::error(
                        format!("--columns: {e}"),
                        Some("name spec keys as --set takes them: optimizer.learning_rate,model.layers.0.units (or none)"),
                    )
                })?;
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
            context.block_on(registry.check_column_keys(&keys))?;
            Ok(keys)
        }
        None => {
            let specs: Vec<&BTreeMap<String, FlatValue>> = runs.iter().map(|r| &r.params).collect();
            let differing = differing_keys(&specs);
            let mut named = args
                .condition
                .as_ref()
                .map(Condition::spec_keys)
                .unwrap_or_default();
            if let Some(SortKey {
                field: Field::Param(key),
                ..
            }) = &args.sort
            {
                named.insert(0, key.clone());
            }
            // Across experiments nearly every key differs (data, task,
            // layers): the table then shows only the keys the filter or sort
            // names; `--json` still carries every differing key.
            let mut experiments: Vec<&str> = runs.iter().map(|r| r.experiment.as_str()).collect();
            experiments.sort_unstable();
            experiments.dedup();
            let mixed = experiments.len() > 1 && !args.json;
            // A key the filter or sort names is a column even where every
            // listed run has the same value: it says why they are listed.
            let mut keys: Vec<String> = Vec::new();
            for key in named {
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
            for key in differing.iter().filter(|_| !mixed) {
                if !keys.contains(key) {
                    keys.push(key.clone());
                }
            }
            if mixed && !differing.is_empty() {
                eprintln!(
                    "hint: these runs span {} experiments, so their spec keys are not columns; \
                     --experiment NAME shows the keys that differ within one, --columns KEY,… chooses",
                    experiments.len()
                );
            }
            if !args.json && keys.len() > DEFAULT_SPEC_COLUMNS {
                let hidden = keys.split_off(DEFAULT_SPEC_COLUMNS);
                eprintln!(
                    "hint: {} more spec keys differ among these runs ({}); --columns KEY,… chooses them",
                    hidden.len(),
                    hidden.join(", ")
                );
            }
            Ok(keys)
        }
    }
}

/// A spec value as a table cell: as the spec writes it, long text cut.
fn spec_cell(run: &RunSummary, key: &str) -> String {
    match run.params.get(key) {
        None => "-".into(),
        Some(value) => {
            let text = value.to_string();
            if text.chars().count() > SPEC_CELL_WIDTH {
                let cut: String = text.chars().take(SPEC_CELL_WIDTH - 1).collect();
                format!("{cut}…")
            } else {
                text
            }
        }
    }
}

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

fn render(runs: &[RunSummary], metrics: &[Field], keys: &[String]) -> String {
    let names: Vec<String> = metrics.iter().map(Field::to_string).collect();
    // A short header that is also a column's name (`train.epochs` as
    // `epochs`) keeps its whole key.
    const COLUMNS: [&str; 11] = [
        "id",
        "name",
        "experiment",
        "status",
        "started",
        "epochs",
        "best",
        "gap",
        "verdict",
        "tags",
        "note",
    ];
    let short: Vec<String> = short_key_names(keys)
        .into_iter()
        .zip(keys)
        .map(|(short, key)| {
            let taken = COLUMNS.contains(&short.as_str()) || names.contains(&short);
            if taken { key.clone() } else { short }
        })
        .collect();
    // A name and a note column only when some listed run has one.
    let named = runs.iter().any(|r| r.name.is_some());
    let noted = runs.iter().any(|r| r.note.is_some());
    let mut header = vec!["id"];
    if named {
        header.push("name");
    }
    header.extend(["experiment", "status", "started", "epochs", "best"]);
    header.extend(short.iter().map(String::as_str));
    header.extend(names.iter().map(String::as_str));
    header.extend(["gap", "verdict", "tags"]);
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
            match run.archived_at {
                Some(_) => format!("{} (archived)", run.status),
                None => run.status.to_string(),
            },
            // `12-07 11:49` (UTC): the year and seconds widen every row
            // and `show` has them.
            run.started_at
                .get(5..16)
                .unwrap_or(&run.started_at)
                .replace('T', " "),
            run.epochs_run.to_string(),
            run.best_epoch.map_or_else(|| "-".into(), |e| e.to_string()),
        ]);
        row.extend(keys.iter().map(|key| spec_cell(run, key)));
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
        // The onset stays in `show`, JSON and `--where onset`.
        row.push(crate::output::diagnosis::cell(&run.overfitting.diagnosis));
        row.push(run.tags.join(","));
        if noted {
            row.push(run.note.as_deref().map_or_else(|| "-".into(), trimmed_note));
        }
        table.add_row(row);
    }
    format::align_numbers(&mut table, 4 + usize::from(named));
    // The words after the numbers (verdict, tags, note) read from the left.
    let verdict = table.column_count() - 2 - usize::from(noted);
    for index in verdict..table.column_count() {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(comfy_table::CellAlignment::Left);
        }
    }
    crate::output::color::status_cells(&mut table, 2 + usize::from(named));
    format::render(&table)
}
