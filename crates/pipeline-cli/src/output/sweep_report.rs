//! A sweep as `sweep show` prints it (and `run`, `sweep resume` and
//! `sweep retry` with `--json`): its space, state and trials ranked by its
//! metric (completed by value, then pruned by value, then the rest), each
//! with the best value the sweep had found when it ended, and the
//! cross-validation of its best trials when `sweep confirm` recorded one.

use pipeline_registry::{
    Confirmation, SweepRecord, SweepState, TrialCounts, TrialRecord, TrialState,
};
use serde::Serialize;

use crate::output::format::{self, number};

/// What `sweep show --json` prints, and the text reads.
#[derive(Debug, Serialize)]
pub struct SweepReport<'a> {
    id: &'a str,
    short_id: &'a str,
    name: Option<&'a str>,
    experiment: &'a str,
    created_at: &'a str,
    method: &'a str,
    metric: &'a str,
    higher_is_better: bool,
    budget: u32,
    jobs: u32,
    seed: u64,
    parameters: &'a serde_json::Value,
    pruner: Option<&'a serde_json::Value>,
    spec_path: &'a str,
    state: SweepState,
    counts: TrialCounts,
    /// Best first; `--top N` keeps the first N.
    pub trials: Vec<RankedTrial<'a>>,
    confirmations: &'a [Confirmation],
    /// Present when confirmations exist.
    confirmation: Option<ConfirmationSummary>,
}

#[derive(Debug, Serialize)]
pub struct RankedTrial<'a> {
    rank: usize,
    #[serde(flatten)]
    trial: &'a TrialRecord,
    /// The best completed value when this trial ended.
    best_so_far: Option<f64>,
}

/// The validation winner against the cross-validated one.
#[derive(Debug, Serialize)]
struct ConfirmationSummary {
    /// The best trial by validation value.
    validation_winner: Option<u32>,
    validation_value: Option<f64>,
    /// Its cross-validation (the most folds), when confirmed.
    cv_mean: Option<f64>,
    cv_std: Option<f64>,
    test_value: Option<f64>,
    /// The confirmed trial with the best cross-validated mean.
    cv_winner: Option<u32>,
    /// The two winners differ.
    winners_differ: bool,
}

pub fn report(sweep: &SweepRecord, top: Option<usize>) -> SweepReport<'_> {
    let so_far = sweep.best_so_far();
    let trials = sweep
        .ranked()
        .into_iter()
        .take(top.unwrap_or(usize::MAX))
        .enumerate()
        .map(|(index, trial)| RankedTrial {
            rank: index + 1,
            best_so_far: so_far.get(&trial.number).copied(),
            trial,
        })
        .collect();
    SweepReport {
        id: sweep.id.as_str(),
        short_id: &sweep.short_id,
        name: sweep.name.as_deref(),
        experiment: &sweep.experiment,
        created_at: &sweep.created_at,
        method: &sweep.method,
        metric: &sweep.metric,
        higher_is_better: sweep.higher_is_better,
        budget: sweep.budget,
        jobs: sweep.jobs,
        seed: sweep.seed,
        parameters: &sweep.parameters,
        pruner: sweep.pruner.as_ref(),
        spec_path: &sweep.spec_path,
        state: sweep.state(),
        counts: sweep.counts(),
        trials,
        confirmations: &sweep.confirmations,
        confirmation: confirmation_summary(sweep),
    }
}

fn confirmation_summary(sweep: &SweepRecord) -> Option<ConfirmationSummary> {
    if sweep.confirmations.is_empty() {
        return None;
    }
    let winner = sweep
        .ranked()
        .into_iter()
        .find(|t| t.state == TrialState::Completed);
    // Of a trial confirmed with several fold counts, the most folds speak.
    let of = |number: u32| {
        sweep
            .confirmations
            .iter()
            .filter(|c| c.confirmation.number == number)
            .max_by_key(|c| c.confirmation.folds)
    };
    let mut numbers: Vec<u32> = sweep
        .confirmations
        .iter()
        .map(|c| c.confirmation.number)
        .collect();
    numbers.dedup();
    let cv_winner = numbers
        .into_iter()
        .filter_map(|n| Some((n, of(n)?.confirmation.mean?)))
        .filter(|(_, mean)| !mean.is_nan())
        .reduce(|best, next| {
            let better = if sweep.higher_is_better {
                next.1 > best.1
            } else {
                next.1 < best.1
            };
            if better { next } else { best }
        })
        .map(|(n, _)| n);
    let confirmed = winner.and_then(|w| of(w.number));
    let validation_winner = winner.map(|w| w.number);
    Some(ConfirmationSummary {
        validation_winner,
        validation_value: winner.and_then(|w| w.value),
        cv_mean: confirmed.and_then(|c| c.confirmation.mean),
        cv_std: confirmed.and_then(|c| c.confirmation.std),
        test_value: confirmed.and_then(|c| c.confirmation.test_value),
        winners_differ: cv_winner.is_some()
            && validation_winner.is_some()
            && cv_winner != validation_winner,
        cv_winner,
    })
}

pub fn render(report: &SweepReport<'_>) -> String {
    let mut out = String::new();
    let direction = if report.higher_is_better {
        "maximize"
    } else {
        "minimize"
    };
    let name = report.name.map(|n| format!(" ({n})")).unwrap_or_default();
    out.push_str(&format!(
        "sweep {}{name}  experiment {}  {}  {} ({direction})\n",
        report.short_id, report.experiment, report.method, report.metric
    ));
    out.push_str(&format!(
        "budget {}  jobs {}  seed {}  pruner {}\n",
        report.budget,
        report.jobs,
        report.seed,
        pruner_text(report.pruner)
    ));
    let c = &report.counts;
    let mut counts = vec![format!("{} completed", c.completed)];
    for (count, word) in [
        (c.pruned, "pruned"),
        (c.failed, "failed"),
        (c.running, "running"),
        (c.interrupted, "interrupted"),
        (c.pending, "pending"),
        (c.deleted, "deleted"),
    ] {
        if count > 0 {
            counts.push(format!("{count} {word}"));
        }
    }
    out.push_str(&format!(
        "{}: {}/{} trials ended ({})\n",
        report.state,
        c.ended(),
        report.budget,
        counts.join(", ")
    ));
    if !report.trials.is_empty() {
        out.push('\n');
        out.push_str(&trials_table(report));
        out.push('\n');
    }
    if let Some(summary) = &report.confirmation {
        out.push('\n');
        out.push_str(&confirmation_text(report, summary));
    }
    out
}

fn trials_table(report: &SweepReport<'_>) -> String {
    let keys = parameter_keys(report);
    let short = pipeline_spec::short_key_names(&keys);
    let mut header = vec!["rank", "trial", "run"];
    header.extend(short.iter().map(String::as_str));
    header.extend([report.metric, "status", "epochs", "best so far"]);
    let mut table = format::table(&header);
    for ranked in &report.trials {
        let trial = ranked.trial;
        let mut row = vec![
            ranked.rank.to_string(),
            format!("#{}", trial.number),
            trial.run_short_id.clone().unwrap_or_else(|| "-".into()),
        ];
        row.extend(keys.iter().map(|key| value_cell(trial.params.get(key))));
        row.extend([
            trial.value.map_or_else(|| "-".into(), number),
            match (trial.state, trial.pruned_epoch) {
                (TrialState::Pruned, Some(epoch)) => format!("pruned@{epoch}"),
                (state, _) => state.to_string(),
            },
            trial.epochs.to_string(),
            ranked.best_so_far.map_or_else(|| "-".into(), number),
        ]);
        table.add_row(row);
    }
    format::align_numbers(&mut table, 3);
    let status = 3 + keys.len() + 1;
    if let Some(column) = table.column_mut(status) {
        column.set_cell_alignment(comfy_table::CellAlignment::Left);
    }
    format::render(&table)
}

fn confirmation_text(report: &SweepReport<'_>, summary: &ConfirmationSummary) -> String {
    let value = |v: Option<f64>| v.map_or_else(|| "-".into(), number);
    let mut out = String::from("confirmation\n");
    match summary.validation_winner {
        Some(winner) => {
            out.push_str(&format!(
                "  validation winner #{winner}: {} {}\n",
                report.metric,
                value(summary.validation_value)
            ));
            match summary.cv_mean {
                Some(mean) => out.push_str(&format!(
                    "  cross-validated: {} ± {}\n",
                    number(mean),
                    value(summary.cv_std)
                )),
                None => out.push_str("  cross-validated: not confirmed\n"),
            }
            out.push_str(&format!("  test: {}\n", value(summary.test_value)));
        }
        None => out.push_str("  no completed trial\n"),
    }
    if summary.winners_differ
        && let Some(cv) = summary.cv_winner
    {
        out.push_str(&format!(
            "{} the cross-validated winner is trial #{cv}, not the validation winner: \
             its validation score was partly luck of the split\n",
            crate::output::color::warning()
        ));
    }
    out
}

/// The parameter keys, in the sweep's order when its `parameters` list
/// them (`[{"key": …}, …]` or an object), else every trial's keys in order.
fn parameter_keys(report: &SweepReport<'_>) -> Vec<String> {
    let mut keys: Vec<String> = match report.parameters {
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|item| item.get("key")?.as_str().map(str::to_owned))
            .collect(),
        serde_json::Value::Object(map) => map.keys().cloned().collect(),
        _ => Vec::new(),
    };
    for ranked in &report.trials {
        if let serde_json::Value::Object(params) = &ranked.trial.params {
            for key in params.keys() {
                if !keys.contains(key) {
                    keys.push(key.clone());
                }
            }
        }
    }
    keys
}

fn value_cell(value: Option<&serde_json::Value>) -> String {
    match value {
        None | Some(serde_json::Value::Null) => "-".into(),
        Some(serde_json::Value::Number(n)) if n.is_f64() => {
            n.as_f64().map_or_else(|| n.to_string(), number)
        }
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// `asha (min_epochs 10, reduction 3)`; `none` without one.
fn pruner_text(pruner: Option<&serde_json::Value>) -> String {
    match pruner {
        None | Some(serde_json::Value::Null) => "none".into(),
        Some(serde_json::Value::Object(map)) => {
            let kind = map
                .get("type")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("custom");
            let settings: Vec<String> = map
                .iter()
                .filter(|(key, _)| key.as_str() != "type")
                .map(|(key, value)| format!("{key} {value}"))
                .collect();
            if settings.is_empty() {
                kind.to_owned()
            } else {
                format!("{kind} ({})", settings.join(", "))
            }
        }
        Some(other) => other.to_string(),
    }
}
