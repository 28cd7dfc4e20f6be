//! Names of metrics (`val_loss`, `test_r2`, …) as typed values, with the
//! direction that makes one value better than another.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::task::Task;

/// The three splits every run is evaluated on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SplitName {
    Train,
    Validation,
    Test,
}

impl SplitName {
    pub const ALL: [SplitName; 3] = [SplitName::Train, SplitName::Validation, SplitName::Test];

    /// The word stored in the registry (`train`, `validation`, `test`).
    pub fn as_str(self) -> &'static str {
        match self {
            SplitName::Train => "train",
            SplitName::Validation => "validation",
            SplitName::Test => "test",
        }
    }

    /// The prefix used in metric references (`train_`, `val_`, `test_`).
    pub fn prefix(self) -> &'static str {
        match self {
            SplitName::Train => "train",
            SplitName::Validation => "val",
            SplitName::Test => "test",
        }
    }

    pub fn parse(word: &str) -> Option<SplitName> {
        SplitName::ALL.into_iter().find(|s| s.as_str() == word)
    }
}

impl fmt::Display for SplitName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A metric computed for a split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MetricName {
    /// The training loss of the spec (`[loss]`), whatever it is.
    Loss,
    Mse,
    Rmse,
    Mae,
    R2,
    /// Classification (binary and multiclass), as scikit-learn's
    /// `accuracy_score`, `balanced_accuracy_score`, macro-averaged
    /// `precision_score`, `recall_score`, `f1_score`, and `log_loss`.
    Accuracy,
    BalancedAccuracy,
    Precision,
    Recall,
    F1,
    LogLoss,
    /// Binary classification only: `roc_auc_score` of the positive class.
    RocAuc,
}

impl MetricName {
    pub const ALL: [MetricName; 12] = [
        MetricName::Loss,
        MetricName::Mse,
        MetricName::Rmse,
        MetricName::Mae,
        MetricName::R2,
        MetricName::Accuracy,
        MetricName::BalancedAccuracy,
        MetricName::Precision,
        MetricName::Recall,
        MetricName::F1,
        MetricName::LogLoss,
        MetricName::RocAuc,
    ];

    const REGRESSION: [MetricName; 5] = [
        MetricName::Loss,
        MetricName::Mse,
        MetricName::Rmse,
        MetricName::Mae,
        MetricName::R2,
    ];

    const BINARY: [MetricName; 8] = [
        MetricName::Loss,
        MetricName::Accuracy,
        MetricName::BalancedAccuracy,
        MetricName::Precision,
        MetricName::Recall,
        MetricName::F1,
        MetricName::LogLoss,
        MetricName::RocAuc,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MetricName::Loss => "loss",
            MetricName::Mse => "mse",
            MetricName::Rmse => "rmse",
            MetricName::Mae => "mae",
            MetricName::R2 => "r2",
            MetricName::Accuracy => "accuracy",
            MetricName::BalancedAccuracy => "balanced_accuracy",
            MetricName::Precision => "precision",
            MetricName::Recall => "recall",
            MetricName::F1 => "f1",
            MetricName::LogLoss => "log_loss",
            MetricName::RocAuc => "roc_auc",
        }
    }

    pub fn parse(word: &str) -> Option<MetricName> {
        MetricName::ALL.into_iter().find(|m| m.as_str() == word)
    }

    /// Which way is better for this metric.
    pub fn direction(self) -> Direction {
        match self {
            MetricName::Loss
            | MetricName::Mse
            | MetricName::Rmse
            | MetricName::Mae
            | MetricName::LogLoss => Direction::Minimize,
            MetricName::R2
            | MetricName::Accuracy
            | MetricName::BalancedAccuracy
            | MetricName::Precision
            | MetricName::Recall
            | MetricName::F1
            | MetricName::RocAuc => Direction::Maximize,
        }
    }

    /// The metrics recorded for every split of a run of `task`, in display order.
    pub fn for_task(task: Task) -> &'static [MetricName] {
        match task {
            Task::Regression => &MetricName::REGRESSION,
            Task::Binary => &MetricName::BINARY,
            // ROC AUC is the binary one's last.
            Task::Multiclass => &MetricName::BINARY[..7],
        }
    }

    pub fn applies_to(self, task: Task) -> bool {
        MetricName::for_task(task).contains(&self)
    }
}

impl fmt::Display for MetricName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether smaller or larger values of a metric are better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Minimize,
    Maximize,
}

impl Direction {
    /// True when `candidate` beats `incumbent` by more than `min_delta`.
    pub fn improves(self, candidate: f64, incumbent: f64, min_delta: f64) -> bool {
        match self {
            Direction::Minimize => candidate < incumbent - min_delta,
            Direction::Maximize => candidate > incumbent + min_delta,
        }
    }

    pub fn higher_is_better(self) -> bool {
        self == Direction::Maximize
    }
}

/// A metric on a split, written `val_loss`, `train_rmse`, `test_r2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MetricRef {
    pub split: SplitName,
    pub metric: MetricName,
}

impl MetricRef {
    pub const fn new(split: SplitName, metric: MetricName) -> Self {
        MetricRef { split, metric }
    }

    /// Every valid spelling, for error messages and did-you-mean hints.
    pub fn all_names() -> Vec<String> {
        SplitName::ALL
            .iter()
            .flat_map(|s| {
                MetricName::ALL
                    .iter()
                    .map(move |m| MetricRef::new(*s, *m).to_string())
            })
            .collect()
    }
}

impl fmt::Display for MetricRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.split.prefix(), self.metric)
    }
}

impl FromStr for MetricRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (prefix, metric) = s
            .split_once('_')
            .ok_or_else(|| format!("`{s}` is not a metric name such as `val_loss`"))?;
        let split = SplitName::ALL
            .into_iter()
            .find(|split| split.prefix() == prefix)
            .ok_or_else(|| format!("`{s}` does not start with `train_`, `val_` or `test_`"))?;
        let metric = MetricName::parse(metric).ok_or_else(|| {
            let known: Vec<&str> = MetricName::ALL.iter().map(|m| m.as_str()).collect();
            format!(
                "`{s}` names an unknown metric `{metric}` (known: {})",
                known.join(", ")
            )
        })?;
        Ok(MetricRef { split, metric })
    }
}

impl Serialize for MetricRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MetricRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_refs_round_trip() {
        for name in MetricRef::all_names() {
            let parsed: MetricRef = name.parse().unwrap_or_else(|e| unreachable!("{e}"));
            assert_eq!(parsed.to_string(), name);
        }
        assert!("validation_loss".parse::<MetricRef>().is_err());
        assert!("val_accuracyy".parse::<MetricRef>().is_err());
        assert_eq!(
            "val_log_loss".parse::<MetricRef>(),
            Ok(MetricRef::new(SplitName::Validation, MetricName::LogLoss))
        );
    }

    #[test]
    fn directions_follow_the_metric() {
        assert_eq!(MetricName::R2.direction(), Direction::Maximize);
        assert_eq!(MetricName::Loss.direction(), Direction::Minimize);
        assert!(Direction::Minimize.improves(1.0, 2.0, 0.5));
        assert!(!Direction::Minimize.improves(1.8, 2.0, 0.5));
        assert!(Direction::Maximize.improves(0.9, 0.5, 0.0));
        assert_eq!(MetricName::Accuracy.direction(), Direction::Maximize);
        assert_eq!(MetricName::LogLoss.direction(), Direction::Minimize);
    }

    #[test]
    fn metrics_follow_the_task() {
        assert!(MetricName::RocAuc.applies_to(Task::Binary));
        assert!(!MetricName::RocAuc.applies_to(Task::Multiclass));
        assert!(!MetricName::R2.applies_to(Task::Binary));
        assert!(!MetricName::Accuracy.applies_to(Task::Regression));
        assert!(
            [Task::Regression, Task::Binary, Task::Multiclass]
                .iter()
                .all(|&t| MetricName::Loss.applies_to(t))
        );
    }
}
