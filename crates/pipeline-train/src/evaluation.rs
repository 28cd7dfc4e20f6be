//! Scoring a model's outputs against a split's targets: the same code for
//! the epochs of training, the final metrics and `pipeline evaluate`, so a
//! run's recorded metrics and a later evaluation cannot disagree.

use candle_core::{Device, Tensor};
use pipeline_data::TargetPlan;
use pipeline_model::Criterion;
use pipeline_spec::{ClassWeights, Loss, MetricName, Task};

use crate::classification::{ClassificationReport, classification_report, predicted_class};
use crate::error::TrainError;
use crate::metrics::{Metrics, regression_metrics};

/// The loss of a run with the class weights its data decides: `balanced`
/// weights come from the training split's class counts stored in `plan`.
pub fn criterion(loss: &Loss, plan: &TargetPlan) -> Criterion {
    let weights = match (loss, plan) {
        (
            Loss::CrossEntropy {
                class_weights: Some(weights),
                ..
            },
            TargetPlan::Multiclass { counts, .. },
        ) => Some(match weights {
            ClassWeights::Given(w) => w.iter().map(|&w| w as f32).collect(),
            ClassWeights::Balanced => balanced_weights(counts),
        }),
        _ => None,
    };
    Criterion::new(loss, weights)
}

/// `rows / (classes · rows_of_class)`, as scikit-learn's
/// `compute_class_weight("balanced")`; a class without training rows gets 1.
pub fn balanced_weights(counts: &[u64]) -> Vec<f32> {
    let total: u64 = counts.iter().sum();
    let k = counts.len() as f64;
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                1.0
            } else {
                (total as f64 / (k * c as f64)) as f32
            }
        })
        .collect()
}

/// Class probabilities from the model's outputs (row-major): the sigmoid of
/// a binary logit gives `[1 - p, p]`, a softmax over multiclass logits one
/// per class. `None` for regression.
pub fn probabilities(plan: &TargetPlan, outputs: &[f32]) -> Option<Vec<f32>> {
    match plan {
        TargetPlan::Regression { .. } => None,
        TargetPlan::Binary { .. } => Some(
            outputs
                .iter()
                .flat_map(|&logit| {
                    let p = sigmoid(f64::from(logit));
                    [(1.0 - p) as f32, p as f32]
                })
                .collect(),
        ),
        TargetPlan::Multiclass { classes, .. } => Some(
            outputs
                .chunks(classes.len().max(1))
                .flat_map(|row| {
                    let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                    let exp: Vec<f64> = row.iter().map(|&v| f64::from(v - max).exp()).collect();
                    let sum: f64 = exp.iter().sum();
                    exp.into_iter().map(move |e| (e / sum) as f32)
                })
                .collect(),
        ),
    }
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// The predicted class of each row, as the classification report counts it
/// ([`predicted_class`]: a binary positive at probability ≥ 0.5, else the
/// first most probable class).
pub fn predicted_classes(plan: &TargetPlan, probabilities: &[f32]) -> Vec<usize> {
    let k = plan.classes().map_or(1, <[String]>::len).max(1);
    probabilities
        .chunks(k)
        .map(|row| match plan {
            TargetPlan::Binary { .. } => predicted_class(&row[1..]),
            _ => predicted_class(row),
        } as usize)
        .collect()
}

/// The classification reports of a run's final weights on every split.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SplitReports {
    pub train: ClassificationReport,
    pub validation: ClassificationReport,
    pub test: ClassificationReport,
}

impl SplitReports {
    pub fn get(&self, split: pipeline_spec::SplitName) -> &ClassificationReport {
        match split {
            pipeline_spec::SplitName::Train => &self.train,
            pipeline_spec::SplitName::Validation => &self.validation,
            pipeline_spec::SplitName::Test => &self.test,
        }
    }
}

/// The metrics of `outputs` (the model's, row-major) against `y` (the
/// split's model-scale targets, as [`pipeline_data::SplitData::y`]).
pub fn score(
    loss: &Loss,
    criterion: &Criterion,
    plan: &TargetPlan,
    outputs: &[f32],
    y: &[f32],
) -> Result<Metrics, TrainError> {
    Ok(score_with_report(loss, criterion, plan, outputs, y)?.0)
}

/// [`score`], with the classification report the metrics came from
/// (`None` for regression).
pub fn score_with_report(
    loss: &Loss,
    criterion: &Criterion,
    plan: &TargetPlan,
    outputs: &[f32],
    y: &[f32],
) -> Result<(Metrics, Option<ClassificationReport>), TrainError> {
    match plan {
        TargetPlan::Regression { transforms, .. } => {
            let width = plan.width();
            let normalized = transforms.iter().any(|t| t.shift != 0.0 || t.scale != 1.0);
            if !normalized {
                return Ok((regression_metrics(loss, outputs, y, width, None), None));
            }
            // The loss is the training objective, on the model's scale; the
            // other metrics are in the file's units.
            let model_loss = regression_metrics(loss, outputs, y, width, None).loss();
            let (mut outputs, mut y) = (outputs.to_vec(), y.to_vec());
            plan.denormalize(&mut outputs);
            plan.denormalize(&mut y);
            let metrics = regression_metrics(loss, &outputs, &y, width, Some(model_loss));
            Ok((metrics, None))
        }
        _ => {
            let report = report(plan, outputs, y)?;
            let value = classification_loss(criterion, plan, outputs, y)?;
            let metrics = classification_metrics(plan.task(), value, &report);
            Ok((metrics, Some(report)))
        }
    }
}

/// The classification report of `outputs` against `y`; `None` for regression.
pub fn report(
    plan: &TargetPlan,
    outputs: &[f32],
    y: &[f32],
) -> Result<ClassificationReport, TrainError> {
    let classes = plan.classes().map_or(0, <[String]>::len);
    let mut probabilities = probabilities(plan, outputs).unwrap_or_default();
    if let TargetPlan::Binary { .. } = plan {
        // The positive class's probability alone: the report then predicts
        // it at ≥ 0.5, as `infer` does (an argmax of [0.5, 0.5] would not).
        probabilities = probabilities.chunks(2).map(|row| row[1]).collect();
    }
    let labels: Vec<u32> = y.iter().map(|&v| v as u32).collect();
    Ok(classification_report(classes, &labels, &probabilities)?)
}

fn classification_loss(
    criterion: &Criterion,
    plan: &TargetPlan,
    outputs: &[f32],
    y: &[f32],
) -> Result<f64, TrainError> {
    let rows = y.len();
    if rows == 0 {
        return Ok(f64::NAN);
    }
    let width = plan.outputs();
    let prediction = Tensor::from_slice(outputs, (rows, width), &Device::Cpu)?;
    let target = Tensor::from_slice(y, (rows, 1), &Device::Cpu)?;
    Ok(f64::from(
        criterion.loss(&prediction, &target)?.to_scalar::<f32>()?,
    ))
}

fn classification_metrics(task: Task, loss: f64, report: &ClassificationReport) -> Metrics {
    let values = MetricName::for_task(task)
        .iter()
        .filter_map(|&name| {
            let value = match name {
                MetricName::Loss => Some(loss),
                MetricName::Accuracy => Some(report.accuracy),
                MetricName::BalancedAccuracy => Some(report.balanced_accuracy),
                MetricName::Precision => Some(report.precision_macro),
                MetricName::Recall => Some(report.recall_macro),
                MetricName::F1 => Some(report.f1_macro),
                MetricName::LogLoss => Some(report.log_loss),
                // Undefined with one class in the split: not recorded.
                MetricName::RocAuc => report.roc_auc,
                _ => None,
            };
            value.map(|v| (name, v))
        })
        .collect();
    Metrics::new(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_weights_follow_scikit_learn() {
        // compute_class_weight("balanced", classes=[0, 1, 2], y=[0]*6 + [1]*3 + [2]):
        // 10 / (3 · [6, 3, 1]) = [0.5556, 1.1111, 3.3333].
        let w = balanced_weights(&[6, 3, 1]);
        assert!((w[0] - 10.0 / 18.0).abs() < 1e-6);
        assert!((w[1] - 10.0 / 9.0).abs() < 1e-6);
        assert!((w[2] - 10.0 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn probabilities_and_predicted_classes() {
        let binary = TargetPlan::Binary {
            column: "y".into(),
            classes: vec!["no".into(), "yes".into()],
            counts: vec![1, 1],
        };
        let p = probabilities(&binary, &[0.0, 2.0, -50.0]).unwrap_or_default();
        assert_eq!(p.len(), 6);
        assert!((p[1] - 0.5).abs() < 1e-7);
        assert!((p[3] - 0.880_797).abs() < 1e-6);
        assert!(p[5] < 1e-20);
        assert_eq!(predicted_classes(&binary, &p), [1, 1, 0]);

        let multi = TargetPlan::Multiclass {
            column: "y".into(),
            classes: vec!["a".into(), "b".into(), "c".into()],
            counts: vec![1, 1, 1],
        };
        let p = probabilities(&multi, &[1.0, 2.0, 3.0, 1000.0, 0.0, 0.0]).unwrap_or_default();
        // softmax([1, 2, 3]) = [0.0900, 0.2447, 0.6652]
        assert!((p[0] - 0.090_030_57).abs() < 1e-6);
        assert!((p[2] - 0.665_240_94).abs() < 1e-6);
        assert_eq!(&p[3..], [1.0, 0.0, 0.0]);
        assert_eq!(predicted_classes(&multi, &p), [2, 0]);
    }
}
