//! `pipeline run SPEC --folds K`: k-fold cross-validation. The spec's test
//! split is held out as a normal run holds it out; the other rows are dealt
//! into K folds (seeded, stratified when the spec's split is), and K runs
//! train one after the other, each validating on one fold with a fresh
//! model. Each fold is a normal run in the registry: its resolved spec says
//! which fold it is (`data.cross_validation`), it is tagged `fold:I/K`, and
//! all K share the tag `cv:GROUP`. They go through `run`'s own queue, so
//! Ctrl-C and failures end them as `run` ends any run. At the end stdout
//! gets each validation and test metric per fold with the mean and the
//! standard deviation across folds (or JSON with `--json`).

use std::process::ExitCode;

use anyhow::Context as _;
use pipeline_data::SplitSizes;
use pipeline_registry::{FOLD_TAG_PREFIX, RunId};
use pipeline_spec::{CrossValidation, LoadedSpec, MetricName, Spec, SplitName};
use serde_json::{Value, json};

use crate::cli::RunArgs;
use crate::commands::run::{
    Ending, Finished, Labels, Planned, RunOutput, train_all, warn_pitfalls,
};
use crate::commands::shared::{Context, print};
use crate::exit::UserError;
use crate::output::format::{self, number};

/// The start of the tag that every fold of one cross-validation carries.
pub const GROUP_TAG_PREFIX: &str = "cv:";

/// The splits the summary reports: the fold's own and the held-out test.
const REPORTED: [SplitName; 2] = [SplitName::Validation, SplitName::Test];

/// The tag of one fold's run, e.g. `fold:2/5`.
pub fn fold_tag(cross_validation: CrossValidation) -> String {
    format!(
        "{FOLD_TAG_PREFIX}{}/{}",
        cross_validation.fold(),
        cross_validation.folds()
    )
}

pub fn cross_validate(context: &Context, args: &RunArgs, folds: u32) -> anyhow::Result<ExitCode> {
    if folds < 2 {
        return Err(UserError::error(
            format!(
                "--folds {folds}: k-fold cross-validation needs at least 2 folds (each fold \
                 validates once while the others train)"
            ),
            Some("--folds 5 or --folds 10 are usual; without --folds the spec trains once"),
        ));
    }
    let [path] = args.specs.as_slice() else {
        return Err(UserError::error(
            format!("--folds cross-validates one spec; got {}", args.specs.len()),
            Some("run `pipeline run SPEC --folds K` once per spec"),
        ));
    };
    let loaded = Spec::load(path, &args.set)?;
    if let Some(cross_validation) = loaded.spec.data.cross_validation {
        return Err(UserError::error(
            format!(
                "{} already trains {cross_validation} (data.cross_validation); --folds trains \
                 every fold",
                path.display()
            ),
            Some(
                "remove data.cross_validation from the spec, or train that one fold without --folds",
            ),
        ));
    }
    if let Some(refusal) = loaded.spec.data.refuses_folds() {
        return Err(UserError::error(
            format!(
                "--folds cannot cross-validate {}: {} ({})",
                path.display(),
                refusal.message,
                refusal.key
            ),
            Some(refusal.hint),
        ));
    }
    let plans = plan_folds(&loaded, folds)?;
    let sizes: Vec<SplitSizes> = plans.iter().map(|plan| plan.data.sizes).collect();
    let spec = loaded.spec;
    if args.dry_run {
        let plan = FoldPlan {
            spec: &spec,
            sizes: &sizes,
        };
        print(&if args.json { plan.json() } else { plan.text() })?;
        return Ok(ExitCode::SUCCESS);
    }
    if !context.global.quiet
        && let Some(first) = plans.first()
    {
        warn_pitfalls(first, "");
    }
    let group = format!("{GROUP_TAG_PREFIX}{}", group_id());
    let mut tags = args.tags.clone();
    tags.push(group.clone());
    let labels = Labels {
        tags,
        note: args.note.clone(),
    };
    if !context.global.quiet {
        eprintln!(
            "cross-validation {group}: {folds} folds of {} (seed {}); the {} test rows are held \
             out of every fold",
            spec.name,
            spec.seed,
            sizes.first().map_or(0, |s| s.test)
        );
    }
    let trained = train_all(context, plans, &labels, RunOutput::Collected)?;
    let summary = FoldSummary {
        group: &group,
        spec: &spec,
        sizes: &sizes,
        runs: &trained.runs,
    };
    print(&if args.json {
        summary.json()
    } else {
        summary.text()
    })?;
    if !context.global.quiet {
        match summary.incomplete() {
            0 => eprintln!("the folds: pipeline runs --tag {group}"),
            n => eprintln!(
                "{n} of {folds} folds did not complete: no mean or std; the folds: pipeline \
                 runs --tag {group}"
            ),
        }
    }
    Ok(trained.code)
}

/// Every fold planned (data prepared with its own statistics, network
/// built) before anything is written: a fold that cannot train stops them
/// all here.
fn plan_folds(loaded: &LoadedSpec, folds: u32) -> anyhow::Result<Vec<Planned>> {
    let data_path = loaded.data_path();
    (1..=folds)
        .map(|fold| {
            let mut spec = loaded.clone();
            spec.spec.data.cross_validation = CrossValidation::new(folds, fold);
            Planned::new(spec, data_path.clone())
                .with_context(|| format!("cannot plan fold {fold} of {folds}"))
        })
        .collect()
}

/// A short random id for one cross-validation's group tag.
fn group_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    // RandomState's keys are random per process.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(now);
    hasher.write_u32(std::process::id());
    format!("{:08x}", hasher.finish() & 0xffff_ffff)
}

/// The mean and the population standard deviation (numpy's `mean` and
/// `std`, as `cross_val_score(...).std()` reports) of `values`.
fn mean_and_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, variance.sqrt())
}

/// `--dry-run`: the rows of each fold, nothing trained.
struct FoldPlan<'a> {
    spec: &'a Spec,
    sizes: &'a [SplitSizes],
}

impl FoldPlan<'_> {
    fn text(&self) -> String {
        let mut out = format!(
            "cross-validation plan  {}  {} folds, seed {} (nothing trained)\n",
            self.spec.name,
            self.sizes.len(),
            self.spec.seed
        );
        let mut table = format::table(&["fold", "train", "validation", "test"]);
        for (index, sizes) in self.sizes.iter().enumerate() {
            table.add_row(vec![
                (index + 1).to_string(),
                sizes.train.to_string(),
                sizes.validation.to_string(),
                sizes.test.to_string(),
            ]);
        }
        format::align_numbers(&mut table, 1);
        out.push_str(&format::render(&table));
        out.push('\n');
        out
    }

    fn json(&self) -> String {
        let value = json!({
            "experiment": self.spec.name.to_string(),
            "folds": self.sizes.len(),
            "seed": self.spec.seed,
            "plan": self
                .sizes
                .iter()
                .enumerate()
                .map(|(index, sizes)| json!({
                    "fold": index + 1,
                    "rows": sizes,
                }))
                .collect::<Vec<_>>(),
        });
        pretty(&value)
    }
}

/// The end of a cross-validation: each fold's run and metrics, and the
/// mean and standard deviation across folds when every fold completed.
struct FoldSummary<'a> {
    group: &'a str,
    spec: &'a Spec,
    sizes: &'a [SplitSizes],
    runs: &'a [(RunId, Ending)],
}

impl FoldSummary<'_> {
    fn finished(&self) -> impl Iterator<Item = Option<&Finished>> {
        self.runs.iter().map(|(_, ending)| match ending {
            Ending::Completed(finished) => Some(finished.as_ref()),
            Ending::Failed | Ending::Killed { .. } => None,
        })
    }

    /// Folds that did not complete.
    fn incomplete(&self) -> usize {
        self.finished().filter(Option::is_none).count()
    }

    /// The metric names of the task, as the first completed fold has them.
    fn names(&self) -> Vec<MetricName> {
        self.finished()
            .flatten()
            .next()
            .map(|f| f.metrics.validation.iter().map(|(name, _)| name).collect())
            .unwrap_or_default()
    }

    /// `split`'s `name` in every fold (`None` for a fold that did not complete).
    fn values(&self, split: SplitName, name: MetricName) -> Vec<Option<f64>> {
        self.finished()
            .map(|f| f.and_then(|f| f.metrics.get(split).get(name)))
            .collect()
    }

    /// Mean and std of `split`'s `name` across folds; `None` unless every
    /// fold completed.
    fn statistics(&self, split: SplitName, name: MetricName) -> Option<(f64, f64)> {
        let values: Option<Vec<f64>> = self.values(split, name).into_iter().collect();
        values.filter(|v| !v.is_empty()).map(|v| mean_and_std(&v))
    }

    fn text(&self) -> String {
        let folds = self.runs.len();
        let state = match self.incomplete() {
            0 => "every fold completed".to_string(),
            n => format!("{n} of {folds} folds did not complete"),
        };
        let mut out = format!(
            "cross-validation {}  {}  {folds} folds, seed {}: {state}\n",
            self.group, self.spec.name, self.spec.seed
        );
        let mut runs = format::table(&[
            "fold",
            "run",
            "status",
            "train",
            "validation",
            "test",
            "best epoch",
        ]);
        for (index, ((id, ending), sizes)) in self.runs.iter().zip(self.sizes).enumerate() {
            let (status, best) = match ending {
                Ending::Completed(f) => (
                    "completed",
                    f.best_epoch.map_or("-".into(), |e| e.to_string()),
                ),
                Ending::Failed => ("failed", "-".into()),
                Ending::Killed { best_epoch } => {
                    ("killed", best_epoch.map_or("-".into(), |e| e.to_string()))
                }
            };
            runs.add_row(vec![
                (index + 1).to_string(),
                id.to_string(),
                status.to_string(),
                sizes.train.to_string(),
                sizes.validation.to_string(),
                sizes.test.to_string(),
                best,
            ]);
        }
        format::align_numbers(&mut runs, 3);
        out.push_str(&format::render(&runs));
        out.push_str("\n\n");

        let fold_headers: Vec<String> = (1..=folds).map(|i| format!("fold {i}")).collect();
        let mut header = vec!["metric"];
        header.extend(fold_headers.iter().map(String::as_str));
        header.extend(["mean", "std"]);
        let mut metrics = format::table(&header);
        for split in REPORTED {
            for name in self.names() {
                let mut row = vec![format!("{}_{name}", split.prefix())];
                row.extend(
                    self.values(split, name)
                        .into_iter()
                        .map(|v| v.map_or("-".into(), number)),
                );
                match self.statistics(split, name) {
                    Some((mean, std)) => row.extend([number(mean), number(std)]),
                    None => row.extend(["-".to_string(), "-".to_string()]),
                }
                metrics.add_row(row);
            }
        }
        format::align_numbers(&mut metrics, 1);
        out.push_str(&format::render(&metrics));
        out.push('\n');
        out
    }

    /// The mean (or std, as `pick` chooses) of each metric by split; null
    /// unless every fold completed.
    fn statistics_json(&self, pick: fn((f64, f64)) -> f64) -> Value {
        if self.incomplete() > 0 {
            return Value::Null;
        }
        let mut by_split = serde_json::Map::new();
        for split in REPORTED {
            let values: serde_json::Map<String, Value> = self
                .names()
                .into_iter()
                .filter_map(|name| {
                    let stats = self.statistics(split, name)?;
                    Some((name.as_str().to_string(), json!(pick(stats))))
                })
                .collect();
            by_split.insert(split.as_str().to_string(), Value::Object(values));
        }
        Value::Object(by_split)
    }

    fn json(&self) -> String {
        let runs: Vec<Value> = self
            .runs
            .iter()
            .zip(self.sizes)
            .enumerate()
            .map(|(index, ((id, ending), sizes))| {
                let mut run = json!({
                    "fold": index + 1,
                    "id": id.to_string(),
                    "rows": sizes,
                });
                match ending {
                    Ending::Completed(f) => {
                        run["status"] = json!("completed");
                        run["best_epoch"] = json!(f.best_epoch);
                        run["epochs_run"] = json!(f.epochs);
                        run["seconds"] = json!(f.seconds);
                        run["metrics"] = json!({
                            "validation": f.metrics.validation,
                            "test": f.metrics.test,
                        });
                    }
                    Ending::Failed => run["status"] = json!("failed"),
                    Ending::Killed { best_epoch } => {
                        run["status"] = json!("killed");
                        run["best_epoch"] = json!(best_epoch);
                    }
                }
                run
            })
            .collect();
        let value = json!({
            "group": self.group,
            "experiment": self.spec.name.to_string(),
            "folds": self.runs.len(),
            "seed": self.spec.seed,
            "complete": self.incomplete() == 0,
            "runs": runs,
            "mean": self.statistics_json(|(mean, _)| mean),
            "std": self.statistics_json(|(_, std)| std),
        });
        pretty(&value)
    }
}

fn pretty(value: &Value) -> String {
    format!(
        "{}\n",
        serde_json::to_string_pretty(value).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn mean_and_population_std_as_numpy() {
        // numpy: np.mean([1, 2, 3, 4]) = 2.5, np.std([1, 2, 3, 4]) = 1.118033988749895
        let (mean, std) = mean_and_std(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(mean, 2.5);
        assert!((std - 1.118_033_988_749_895).abs() < 1e-15, "{std}");
        assert_eq!(mean_and_std(&[3.0, 3.0]), (3.0, 0.0));
    }

    #[test]
    fn fold_tags_and_group_ids() {
        let cv = CrossValidation::new(5, 2).expect("a valid fold");
        assert_eq!(fold_tag(cv), "fold:2/5");
        let id = group_id();
        assert_eq!(id.len(), 8);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
    }
}
