//! What `pipeline run --folds K` reports: the rows of each fold before
//! training (`--dry-run`), and at the end each fold's run and metrics with
//! the mean and the standard deviation across folds. `--json` prints these
//! types (fields in this order); the text tables read them too.

use pipeline_data::SplitSizes;
use pipeline_registry::RunId;
use pipeline_spec::{MetricName, Spec, SplitName};
use pipeline_train::Metrics;
use serde::Serialize;

use crate::ending::Ending;
use crate::plan::Planned;

/// The splits the summary reports: the fold's own and the held-out test.
pub const REPORTED: [SplitName; 2] = [SplitName::Validation, SplitName::Test];

/// `--dry-run`: the rows of each fold, nothing trained.
#[derive(Debug, Clone, Serialize)]
pub struct FoldPlanReport {
    pub experiment: String,
    pub folds: usize,
    pub seed: u64,
    pub plan: Vec<FoldRows>,
}

/// The rows of one fold's splits.
#[derive(Debug, Clone, Serialize)]
pub struct FoldRows {
    /// 1-based.
    pub fold: usize,
    pub rows: SplitSizes,
}

impl FoldPlanReport {
    pub fn new(spec: &Spec, plans: &[Planned]) -> FoldPlanReport {
        FoldPlanReport {
            experiment: spec.name.to_string(),
            folds: plans.len(),
            seed: spec.seed,
            plan: plans
                .iter()
                .enumerate()
                .map(|(index, plan)| FoldRows {
                    fold: index + 1,
                    rows: plan.data.sizes,
                })
                .collect(),
        }
    }
}

/// The end of a cross-validation.
#[derive(Debug, Clone, Serialize)]
pub struct FoldReport {
    /// The tag all folds share, `cv:GROUP`.
    pub group: String,
    pub experiment: String,
    pub folds: usize,
    pub seed: u64,
    /// Every fold completed.
    pub complete: bool,
    pub runs: Vec<FoldRun>,
    /// Mean of each metric across folds; `None` unless every fold completed.
    pub mean: Option<FoldMetrics>,
    /// Population standard deviation, as `mean`.
    pub std: Option<FoldMetrics>,
}

/// One fold's run and how it ended.
#[derive(Debug, Clone, Serialize)]
pub struct FoldRun {
    /// 1-based.
    pub fold: usize,
    pub id: RunId,
    pub rows: SplitSizes,
    /// `completed`, `failed` or `killed`.
    pub status: &'static str,
    /// Completed or killed: its best epoch (null: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_epoch: Option<Option<u32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epochs_run: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// Completed: its validation and test metrics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<FoldMetrics>,
}

/// Metrics of the reported splits.
#[derive(Debug, Clone, Serialize)]
pub struct FoldMetrics {
    pub validation: Metrics,
    pub test: Metrics,
}

impl FoldMetrics {
    /// The metrics of `split` (`None` for the train split).
    pub fn get(&self, split: SplitName) -> Option<&Metrics> {
        match split {
            SplitName::Validation => Some(&self.validation),
            SplitName::Test => Some(&self.test),
            SplitName::Train => None,
        }
    }
}

impl FoldRun {
    fn new(index: usize, id: &RunId, ending: &Ending, rows: SplitSizes) -> FoldRun {
        let mut run = FoldRun {
            fold: index + 1,
            id: id.clone(),
            rows,
            status: "failed",
            best_epoch: None,
            epochs_run: None,
            seconds: None,
            metrics: None,
        };
        match ending {
            Ending::Completed(f) => {
                run.status = "completed";
                run.best_epoch = Some(f.best_epoch);
                run.epochs_run = Some(f.epochs);
                run.seconds = Some(f.seconds);
                run.metrics = Some(FoldMetrics {
                    validation: f.metrics.validation.clone(),
                    test: f.metrics.test.clone(),
                });
            }
            Ending::Failed => {}
            Ending::Killed { best_epoch } => {
                run.status = "killed";
                run.best_epoch = Some(*best_epoch);
            }
            Ending::Pruned { best_epoch, .. } => {
                run.status = "pruned";
                run.best_epoch = Some(*best_epoch);
            }
        }
        run
    }
}

impl FoldReport {
    /// The report of the folds of `spec` (rows per fold: `sizes`) that
    /// ended as `runs` say.
    pub fn new(
        group: &str,
        spec: &Spec,
        sizes: &[SplitSizes],
        runs: &[(RunId, Ending)],
    ) -> FoldReport {
        let runs: Vec<FoldRun> = runs
            .iter()
            .zip(sizes)
            .enumerate()
            .map(|(index, ((id, ending), rows))| FoldRun::new(index, id, ending, *rows))
            .collect();
        let mut report = FoldReport {
            group: group.to_owned(),
            experiment: spec.name.to_string(),
            folds: runs.len(),
            seed: spec.seed,
            complete: runs.iter().all(|run| run.metrics.is_some()),
            runs,
            mean: None,
            std: None,
        };
        if report.complete {
            report.mean = Some(report.statistic(|(mean, _)| mean));
            report.std = Some(report.statistic(|(_, std)| std));
        }
        report
    }

    /// Folds that did not complete.
    pub fn incomplete(&self) -> usize {
        self.runs.iter().filter(|run| run.metrics.is_none()).count()
    }

    /// The metric names of the task, as the first completed fold has them.
    pub fn names(&self) -> Vec<MetricName> {
        self.runs
            .iter()
            .find_map(|run| run.metrics.as_ref())
            .map(|m| m.validation.iter().map(|(name, _)| name).collect())
            .unwrap_or_default()
    }

    /// `split`'s `name` in every fold (`None` for a fold that did not complete).
    pub fn values(&self, split: SplitName, name: MetricName) -> Vec<Option<f64>> {
        self.runs
            .iter()
            .map(|run| {
                run.metrics
                    .as_ref()
                    .and_then(|m| m.get(split))
                    .and_then(|m| m.get(name))
            })
            .collect()
    }

    /// The mean (or std, as `pick` chooses) of each metric of each reported
    /// split, for the metrics every fold has.
    fn statistic(&self, pick: fn((f64, f64)) -> f64) -> FoldMetrics {
        let of = |split: SplitName| {
            Metrics::new(
                self.names()
                    .into_iter()
                    .filter_map(|name| {
                        let values: Option<Vec<f64>> =
                            self.values(split, name).into_iter().collect();
                        let values = values.filter(|v| !v.is_empty())?;
                        Some((name, pick(mean_and_std(&values))))
                    })
                    .collect(),
            )
        };
        FoldMetrics {
            validation: of(SplitName::Validation),
            test: of(SplitName::Test),
        }
    }
}

/// The mean and the population standard deviation (numpy's `mean` and
/// `std`, as `cross_val_score(...).std()` reports) of `values`.
pub fn mean_and_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, variance.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_population_std_as_numpy() {
        // numpy: np.mean([1, 2, 3, 4]) = 2.5, np.std([1, 2, 3, 4]) = 1.118033988749895
        let (mean, std) = mean_and_std(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(mean, 2.5);
        assert!((std - 1.118_033_988_749_895).abs() < 1e-15, "{std}");
        assert_eq!(mean_and_std(&[3.0, 3.0]), (3.0, 0.0));
    }
}
