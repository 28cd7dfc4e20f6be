//! Classification metrics of predicted probabilities against true classes,
//! computed in f64 as scikit-learn computes them, so a run's numbers can be
//! checked against `sklearn.metrics` on the same predictions.
//!
//! One entry point, [`classification_report`], takes the class count, the
//! true class of each row and the probabilities the network gives:
//!
//! - `N × K` values, row-major, one row of class probabilities per label
//!   (a softmax head; also accepted for `K = 2`), or
//! - for `K = 2` only, `N` values: the probability of the positive class 1
//!   (a sigmoid head).
//!
//! The predicted class of a row is its most probable class, the first one on
//! ties (numpy's `argmax`); with the positive-class probability alone it is 1
//! when `p >= 0.5` (scikit-learn's and our convention for a threshold of
//! one half). The two forms can therefore disagree only on a row that is
//! exactly `[0.5, 0.5]`: argmax says 0, `p >= 0.5` says 1.

use serde::Serialize;

/// Precision, recall and F1 of one class, treated as the positive class
/// against all others (scikit-learn's `precision_recall_fscore_support` with
/// `average=None`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassMetrics {
    /// Of the rows predicted as this class, the share that truly are:
    /// `tp / (tp + fp)`; 0 when the class is never predicted (scikit-learn's
    /// default `zero_division="warn"`).
    pub precision: f64,
    /// Of the rows truly of this class, the share predicted as it:
    /// `tp / (tp + fn)`; 0 when the class never occurs in the labels.
    pub recall: f64,
    /// Harmonic mean of precision and recall, computed as scikit-learn does
    /// from the counts: `2·tp / (2·tp + fp + fn)`; 0 when the class is
    /// neither present nor predicted.
    pub f1: f64,
    /// The number of rows truly of this class.
    pub support: u64,
}

/// The metrics of a classifier's probabilities on one split.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassificationReport {
    /// Share of rows whose predicted class is the true class
    /// (`accuracy_score`).
    pub accuracy: f64,
    /// Mean recall over the classes that occur in the labels
    /// (`balanced_accuracy_score`, `adjusted=False`): a class that is only
    /// predicted, never true, is left out, as scikit-learn does.
    pub balanced_accuracy: f64,
    /// Unweighted mean of the per-class precisions over all `K` classes
    /// (`precision_score(average="macro", labels=range(K))`).
    pub precision_macro: f64,
    /// Unweighted mean of the per-class recalls over all `K` classes
    /// (`recall_score(average="macro", labels=range(K))`); unlike
    /// `balanced_accuracy`, a class absent from the labels counts as 0.
    pub recall_macro: f64,
    /// Unweighted mean of the per-class F1 scores over all `K` classes
    /// (`f1_score(average="macro", labels=range(K))`), not the F1 of the
    /// macro precision and recall.
    pub f1_macro: f64,
    /// One entry per class, in class order.
    pub per_class: Vec<ClassMetrics>,
    /// `K × K` counts: row = true class, column = predicted class
    /// (`confusion_matrix(labels=range(K))`).
    pub confusion_matrix: Vec<Vec<u64>>,
    /// Mean negative log-likelihood of the true classes, natural log
    /// (`log_loss(labels=range(K))` of scikit-learn 1.9): each probability is
    /// first clipped to `[ε, 1 − ε]` with ε = `f32::EPSILON` (2⁻²³), the
    /// machine epsilon of the probabilities' dtype as scikit-learn uses, so a
    /// confident mistake costs at most `−ln ε ≈ 15.94`. Rows are not
    /// renormalised (scikit-learn 1.9 only warns when they do not sum to
    /// one). With positive-class probabilities `p`, a negative row's
    /// probability is `1 − p`.
    pub log_loss: f64,
    /// Area under the ROC curve of the positive class's probability
    /// (`roc_auc_score`), tied scores counted as half: the Mann–Whitney
    /// statistic with average ranks. Only for two classes; `None` for more,
    /// and when the labels hold a single class (scikit-learn 1.9 then warns
    /// and returns nan).
    pub roc_auc: Option<f64>,
}

/// Inputs [`classification_report`] cannot score.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClassificationError {
    #[error("a classifier needs at least 2 classes, got {classes}")]
    TooFewClasses { classes: usize },
    #[error("no rows to score")]
    NoRows,
    #[error(
        "{probabilities} probabilities for {rows} rows of {classes} classes: expected {} (rows × classes){}",
        rows * classes,
        if *classes == 2 { format!(" or {rows} (positive class)") } else { String::new() }
    )]
    Shape {
        classes: usize,
        rows: usize,
        probabilities: usize,
    },
    #[error("row {row}: label {label} is not a class index below {classes}")]
    Label {
        row: usize,
        label: u32,
        classes: usize,
    },
    #[error("row {row}: {value} is not a probability in [0, 1]")]
    Probability { row: usize, value: f32 },
}

/// The predicted class of one row of probabilities: with one value (the
/// positive class's probability of a binary classifier) 1 when `p >= 0.5`,
/// else the first most probable class (numpy's `argmax`; NaN never wins).
pub fn predicted_class(probabilities: &[f32]) -> u32 {
    if let [positive] = probabilities {
        return u32::from(*positive >= 0.5);
    }
    let mut best = 0;
    for (class, p) in probabilities.iter().enumerate() {
        if *p > probabilities[best] || probabilities[best].is_nan() {
            best = class;
        }
    }
    best as u32
}

/// Accuracy, balanced accuracy, macro and per-class precision/recall/F1, the
/// confusion matrix, log loss and (two classes) ROC AUC of `probabilities`
/// against `labels`, as scikit-learn 1.9 computes them with
/// `labels=range(classes)` (see [`ClassificationReport`] for each number).
///
/// `labels` holds each row's true class in `0..classes`; `probabilities` is
/// `labels.len() × classes` values row-major, or for `classes == 2` also
/// `labels.len()` positive-class probabilities (see the module docs for how
/// the predicted class follows). Errors on fewer than 2 classes, no rows,
/// other lengths, labels out of range and values outside `[0, 1]` or NaN
/// (scikit-learn refuses those too).
pub fn classification_report(
    classes: usize,
    labels: &[u32],
    probabilities: &[f32],
) -> Result<ClassificationReport, ClassificationError> {
    let rows = labels.len();
    if classes < 2 {
        return Err(ClassificationError::TooFewClasses { classes });
    }
    if rows == 0 {
        return Err(ClassificationError::NoRows);
    }
    let width = if probabilities.len() == rows * classes {
        classes
    } else if classes == 2 && probabilities.len() == rows {
        1
    } else {
        return Err(ClassificationError::Shape {
            classes,
            rows,
            probabilities: probabilities.len(),
        });
    };
    if let Some((row, label)) = labels
        .iter()
        .enumerate()
        .find(|(_, label)| **label as usize >= classes)
    {
        return Err(ClassificationError::Label {
            row,
            label: *label,
            classes,
        });
    }
    if let Some((index, value)) = probabilities
        .iter()
        .enumerate()
        .find(|(_, p)| !(0.0..=1.0).contains(*p))
    {
        return Err(ClassificationError::Probability {
            row: index / width,
            value: *value,
        });
    }

    let mut confusion = vec![vec![0u64; classes]; classes];
    for (label, row) in labels.iter().zip(probabilities.chunks_exact(width)) {
        confusion[*label as usize][predicted_class(row) as usize] += 1;
    }
    let per_class: Vec<ClassMetrics> = (0..classes)
        .map(|class| class_metrics(&confusion, class))
        .collect();
    let correct: u64 = (0..classes).map(|class| confusion[class][class]).sum();
    let present: Vec<&ClassMetrics> = per_class.iter().filter(|m| m.support > 0).collect();
    let mean =
        |value: fn(&ClassMetrics) -> f64| per_class.iter().map(value).sum::<f64>() / classes as f64;
    let roc_auc = if classes == 2 {
        let positive: Vec<f32> = probabilities
            .chunks_exact(width)
            .map(|row| row[width - 1])
            .collect();
        roc_auc(labels, &positive)
    } else {
        None
    };
    Ok(ClassificationReport {
        accuracy: correct as f64 / rows as f64,
        balanced_accuracy: present.iter().map(|m| m.recall).sum::<f64>() / present.len() as f64,
        precision_macro: mean(|m| m.precision),
        recall_macro: mean(|m| m.recall),
        f1_macro: mean(|m| m.f1),
        log_loss: log_loss(labels, probabilities, width),
        per_class,
        confusion_matrix: confusion,
        roc_auc,
    })
}

/// `a / b`, or 0 when `b` is 0 (scikit-learn's `zero_division="warn"`).
fn divide(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn class_metrics(confusion: &[Vec<u64>], class: usize) -> ClassMetrics {
    let true_positives = confusion[class][class];
    let support: u64 = confusion[class].iter().sum();
    let predicted: u64 = confusion.iter().map(|row| row[class]).sum();
    ClassMetrics {
        precision: divide(true_positives, predicted),
        recall: divide(true_positives, support),
        f1: divide(2 * true_positives, support + predicted),
        support,
    }
}

/// scikit-learn 1.9's `log_loss`: probabilities clipped to `[ε, 1 − ε]`
/// with ε = `f32::EPSILON`, no renormalisation, mean over rows.
fn log_loss(labels: &[u32], probabilities: &[f32], width: usize) -> f64 {
    let epsilon = f64::from(f32::EPSILON);
    let total: f64 = labels
        .iter()
        .zip(probabilities.chunks_exact(width))
        .map(|(label, row)| {
            let p = if width == 1 {
                let positive = f64::from(row[0]);
                if *label == 1 {
                    positive
                } else {
                    1.0 - positive
                }
            } else {
                f64::from(row[*label as usize])
            };
            -p.clamp(epsilon, 1.0 - epsilon).ln()
        })
        .sum();
    total / labels.len() as f64
}

/// `roc_auc_score` of binary `labels` (1 = positive) and `scores`: the share
/// of (positive, negative) pairs where the positive scores higher, ties
/// counting half, from the positives' average ranks. `None` when either
/// class is missing.
fn roc_auc(labels: &[u32], scores: &[f32]) -> Option<f64> {
    let positives = labels.iter().filter(|label| **label == 1).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|a, b| scores[*a].total_cmp(&scores[*b]));
    let mut positive_rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        // Ranks start + 1 ..= end share their mean.
        let average_rank = (start + 1 + end) as f64 / 2.0;
        let tied_positives = order[start..end]
            .iter()
            .filter(|i| labels[**i] == 1)
            .count();
        positive_rank_sum += average_rank * tied_positives as f64;
        start = end;
    }
    let (positives, negatives) = (positives as f64, negatives as f64);
    Some((positive_rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

#[cfg(test)]
mod tests {
    //! Every expected number is printed by
    //! `crates/pipeline-train/tests/sklearn_classification_reference.py`
    //! (scikit-learn 1.9.1, numpy 2.4.6): counts-based metrics to 1e-12,
    //! log loss and ROC AUC to 1e-9 (the saturated log loss, which
    //! scikit-learn computes in float32, to 1e-6 relative).
    #![allow(clippy::unwrap_used)]
    use super::*;

    // scikit-learn 1.9.1, numpy 2.4.6
    // BINARY: predicted [0, 0, 0, 0, 1, 1, 1, 1, 1, 0]
    const BINARY_LABELS: [u32; 10] = [0, 1, 1, 0, 1, 0, 0, 1, 1, 0];
    const BINARY_PROBABILITIES: [f32; 10] = [0.1, 0.4, 0.4, 0.4, 0.8, 0.5, 0.65, 0.5, 0.9, 0.2];
    const BINARY_ACCURACY: f64 = 0.6;
    const BINARY_BALANCED_ACCURACY: f64 = 0.6;
    const BINARY_PRECISION_MACRO: f64 = 0.6;
    const BINARY_RECALL_MACRO: f64 = 0.6;
    const BINARY_F1_MACRO: f64 = 0.6;
    const BINARY_PRECISION: [f64; 2] = [0.6, 0.6];
    const BINARY_RECALL: [f64; 2] = [0.6, 0.6];
    const BINARY_F1: [f64; 2] = [0.6, 0.6];
    const BINARY_SUPPORT: [u64; 2] = [5, 5];
    const BINARY_CONFUSION: [[u64; 2]; 2] = [[3, 2], [2, 3]];
    const BINARY_LOG_LOSS: f64 = 0.5436531636059903;
    const BINARY_ROC_AUC: f64 = 0.74;
    // BINARY_TWO_COLUMNS: predicted [0, 0, 0, 0, 1, 0, 1, 0, 1, 0]
    const BINARY_TWO_COLUMNS_LABELS: [u32; 10] = [0, 1, 1, 0, 1, 0, 0, 1, 1, 0];
    const BINARY_TWO_COLUMNS_PROBABILITIES: [f32; 20] = [
        0.9,
        0.1,
        0.6,
        0.4,
        0.6,
        0.4,
        0.6,
        0.4,
        0.19999999,
        0.8,
        0.5,
        0.5,
        0.35000002,
        0.65,
        0.5,
        0.5,
        0.100000024,
        0.9,
        0.8,
        0.2,
    ];
    // (10, 2) row-major
    const BINARY_TWO_COLUMNS_ACCURACY: f64 = 0.6;
    const BINARY_TWO_COLUMNS_BALANCED_ACCURACY: f64 = 0.6000000000000001;
    const BINARY_TWO_COLUMNS_PRECISION_MACRO: f64 = 0.6190476190476191;
    const BINARY_TWO_COLUMNS_RECALL_MACRO: f64 = 0.6000000000000001;
    const BINARY_TWO_COLUMNS_F1_MACRO: f64 = 0.5833333333333333;
    const BINARY_TWO_COLUMNS_PRECISION: [f64; 2] = [0.5714285714285714, 0.6666666666666666];
    const BINARY_TWO_COLUMNS_RECALL: [f64; 2] = [0.8, 0.4];
    const BINARY_TWO_COLUMNS_F1: [f64; 2] = [0.6666666666666666, 0.5];
    const BINARY_TWO_COLUMNS_SUPPORT: [u64; 2] = [5, 5];
    const BINARY_TWO_COLUMNS_CONFUSION: [[u64; 2]; 2] = [[4, 1], [3, 2]];
    const BINARY_TWO_COLUMNS_LOG_LOSS: f64 = 0.5436531592598184;
    const BINARY_TWO_COLUMNS_ROC_AUC: f64 = 0.74;
    // NEVER_PREDICTED: predicted [0, 1, 0, 1, 1, 1, 0, 0]
    const NEVER_PREDICTED_LABELS: [u32; 8] = [0, 1, 2, 2, 1, 0, 2, 1];
    const NEVER_PREDICTED_PROBABILITIES: [f32; 24] = [
        0.7, 0.2, 0.1, 0.1, 0.6, 0.3, 0.5, 0.2, 0.3, 0.2, 0.45, 0.35, 0.3, 0.4, 0.3, 0.25, 0.5,
        0.25, 0.4, 0.3, 0.3, 0.6, 0.3, 0.1,
    ];
    // (8, 3) row-major
    const NEVER_PREDICTED_ACCURACY: f64 = 0.375;
    const NEVER_PREDICTED_BALANCED_ACCURACY: f64 = 0.38888888888888884;
    const NEVER_PREDICTED_PRECISION_MACRO: f64 = 0.25;
    const NEVER_PREDICTED_RECALL_MACRO: f64 = 0.38888888888888884;
    const NEVER_PREDICTED_F1_MACRO: f64 = 0.30158730158730157;
    const NEVER_PREDICTED_PRECISION: [f64; 3] = [0.25, 0.5, 0.0];
    const NEVER_PREDICTED_RECALL: [f64; 3] = [0.5, 0.6666666666666666, 0.0];
    const NEVER_PREDICTED_F1: [f64; 3] = [0.3333333333333333, 0.5714285714285714, 0.0];
    const NEVER_PREDICTED_SUPPORT: [u64; 3] = [2, 3, 3];
    const NEVER_PREDICTED_CONFUSION: [[u64; 3]; 3] = [[1, 1, 0], [1, 2, 0], [2, 1, 0]];
    const NEVER_PREDICTED_LOG_LOSS: f64 = 0.9789782572985218;
    // ABSENT_CLASS: predicted [0, 1, 3, 3, 2, 2, 0]
    const ABSENT_CLASS_LABELS: [u32; 7] = [0, 1, 2, 0, 1, 2, 0];
    const ABSENT_CLASS_PROBABILITIES: [f32; 28] = [
        0.4, 0.4, 0.1, 0.1, 0.1, 0.7, 0.1, 0.1, 0.2, 0.1, 0.3, 0.4, 0.05, 0.15, 0.2, 0.6, 0.3, 0.3,
        0.35, 0.05, 0.1, 0.1, 0.75, 0.05, 0.9, 0.05, 0.03, 0.02,
    ];
    // (7, 4) row-major
    const ABSENT_CLASS_ACCURACY: f64 = 0.5714285714285714;
    const ABSENT_CLASS_BALANCED_ACCURACY: f64 = 0.5555555555555555;
    const ABSENT_CLASS_PRECISION_MACRO: f64 = 0.625;
    const ABSENT_CLASS_RECALL_MACRO: f64 = 0.41666666666666663;
    const ABSENT_CLASS_F1_MACRO: f64 = 0.4916666666666667;
    const ABSENT_CLASS_PRECISION: [f64; 4] = [1.0, 1.0, 0.5, 0.0];
    const ABSENT_CLASS_RECALL: [f64; 4] = [0.6666666666666666, 0.5, 0.5, 0.0];
    const ABSENT_CLASS_F1: [f64; 4] = [0.8, 0.6666666666666666, 0.5, 0.0];
    const ABSENT_CLASS_SUPPORT: [u64; 4] = [3, 2, 2, 0];
    const ABSENT_CLASS_CONFUSION: [[u64; 4]; 4] =
        [[2, 0, 0, 1], [0, 1, 1, 0], [0, 0, 1, 1], [0, 0, 0, 0]];
    const ABSENT_CLASS_LOG_LOSS: f64 = 1.0099551543391472;
    // SATURATED: log_loss on float32 input (eps = np.float32(1.1920929e-07))
    const SATURATED_LABELS: [u32; 4] = [1, 0, 1, 0];
    const SATURATED_PROBABILITIES: [f32; 4] = [1.0, 0.0, 0.0, 1.0];
    const SATURATED_LOG_LOSS: f64 = 7.971192359924316;
    // roc_auc_score with one class in y_true: nan, warning: Only one class is present in y_true. ROC AUC score is not defined in that case.

    struct Expected<'a, const K: usize> {
        accuracy: f64,
        balanced_accuracy: f64,
        precision_macro: f64,
        recall_macro: f64,
        f1_macro: f64,
        precision: [f64; K],
        recall: [f64; K],
        f1: [f64; K],
        support: [u64; K],
        confusion: [[u64; K]; K],
        log_loss: f64,
        roc_auc: Option<f64>,
        name: &'a str,
    }

    fn close(name: &str, what: &str, got: f64, expected: f64, tolerance: f64) {
        assert!(
            (got - expected).abs() <= tolerance,
            "{name} {what}: got {got}, scikit-learn {expected}"
        );
    }

    fn check<const K: usize>(report: &ClassificationReport, expected: &Expected<K>) {
        let name = expected.name;
        close(name, "accuracy", report.accuracy, expected.accuracy, 1e-12);
        close(
            name,
            "balanced accuracy",
            report.balanced_accuracy,
            expected.balanced_accuracy,
            1e-12,
        );
        close(
            name,
            "macro precision",
            report.precision_macro,
            expected.precision_macro,
            1e-12,
        );
        close(
            name,
            "macro recall",
            report.recall_macro,
            expected.recall_macro,
            1e-12,
        );
        close(name, "macro f1", report.f1_macro, expected.f1_macro, 1e-12);
        assert_eq!(report.per_class.len(), K, "{name}: classes");
        for (class, metrics) in report.per_class.iter().enumerate() {
            close(
                name,
                &format!("precision {class}"),
                metrics.precision,
                expected.precision[class],
                1e-12,
            );
            close(
                name,
                &format!("recall {class}"),
                metrics.recall,
                expected.recall[class],
                1e-12,
            );
            close(
                name,
                &format!("f1 {class}"),
                metrics.f1,
                expected.f1[class],
                1e-12,
            );
            assert_eq!(
                metrics.support, expected.support[class],
                "{name}: support {class}"
            );
        }
        let confusion: Vec<Vec<u64>> = expected.confusion.iter().map(|row| row.to_vec()).collect();
        assert_eq!(
            report.confusion_matrix, confusion,
            "{name}: confusion matrix"
        );
        close(name, "log loss", report.log_loss, expected.log_loss, 1e-9);
        match (report.roc_auc, expected.roc_auc) {
            (Some(got), Some(auc)) => close(name, "roc auc", got, auc, 1e-9),
            (got, auc) => assert_eq!(got, auc, "{name}: roc auc"),
        }
    }

    #[test]
    fn binary_with_tied_scores_matches_scikit_learn() {
        let report = classification_report(2, &BINARY_LABELS, &BINARY_PROBABILITIES).unwrap();
        check(
            &report,
            &Expected {
                name: "binary",
                accuracy: BINARY_ACCURACY,
                balanced_accuracy: BINARY_BALANCED_ACCURACY,
                precision_macro: BINARY_PRECISION_MACRO,
                recall_macro: BINARY_RECALL_MACRO,
                f1_macro: BINARY_F1_MACRO,
                precision: BINARY_PRECISION,
                recall: BINARY_RECALL,
                f1: BINARY_F1,
                support: BINARY_SUPPORT,
                confusion: BINARY_CONFUSION,
                log_loss: BINARY_LOG_LOSS,
                roc_auc: Some(BINARY_ROC_AUC),
            },
        );
    }

    #[test]
    fn binary_as_two_columns_matches_scikit_learn() {
        let report = classification_report(
            2,
            &BINARY_TWO_COLUMNS_LABELS,
            &BINARY_TWO_COLUMNS_PROBABILITIES,
        )
        .unwrap();
        check(
            &report,
            &Expected {
                name: "binary as two columns",
                accuracy: BINARY_TWO_COLUMNS_ACCURACY,
                balanced_accuracy: BINARY_TWO_COLUMNS_BALANCED_ACCURACY,
                precision_macro: BINARY_TWO_COLUMNS_PRECISION_MACRO,
                recall_macro: BINARY_TWO_COLUMNS_RECALL_MACRO,
                f1_macro: BINARY_TWO_COLUMNS_F1_MACRO,
                precision: BINARY_TWO_COLUMNS_PRECISION,
                recall: BINARY_TWO_COLUMNS_RECALL,
                f1: BINARY_TWO_COLUMNS_F1,
                support: BINARY_TWO_COLUMNS_SUPPORT,
                confusion: BINARY_TWO_COLUMNS_CONFUSION,
                log_loss: BINARY_TWO_COLUMNS_LOG_LOSS,
                roc_auc: Some(BINARY_TWO_COLUMNS_ROC_AUC),
            },
        );
    }

    #[test]
    fn class_never_predicted_matches_scikit_learn() {
        let report =
            classification_report(3, &NEVER_PREDICTED_LABELS, &NEVER_PREDICTED_PROBABILITIES)
                .unwrap();
        check(
            &report,
            &Expected {
                name: "class never predicted",
                accuracy: NEVER_PREDICTED_ACCURACY,
                balanced_accuracy: NEVER_PREDICTED_BALANCED_ACCURACY,
                precision_macro: NEVER_PREDICTED_PRECISION_MACRO,
                recall_macro: NEVER_PREDICTED_RECALL_MACRO,
                f1_macro: NEVER_PREDICTED_F1_MACRO,
                precision: NEVER_PREDICTED_PRECISION,
                recall: NEVER_PREDICTED_RECALL,
                f1: NEVER_PREDICTED_F1,
                support: NEVER_PREDICTED_SUPPORT,
                confusion: NEVER_PREDICTED_CONFUSION,
                log_loss: NEVER_PREDICTED_LOG_LOSS,
                roc_auc: None,
            },
        );
    }

    #[test]
    fn class_absent_from_labels_matches_scikit_learn() {
        let report =
            classification_report(4, &ABSENT_CLASS_LABELS, &ABSENT_CLASS_PROBABILITIES).unwrap();
        check(
            &report,
            &Expected {
                name: "class absent from labels",
                accuracy: ABSENT_CLASS_ACCURACY,
                balanced_accuracy: ABSENT_CLASS_BALANCED_ACCURACY,
                precision_macro: ABSENT_CLASS_PRECISION_MACRO,
                recall_macro: ABSENT_CLASS_RECALL_MACRO,
                f1_macro: ABSENT_CLASS_F1_MACRO,
                precision: ABSENT_CLASS_PRECISION,
                recall: ABSENT_CLASS_RECALL,
                f1: ABSENT_CLASS_F1,
                support: ABSENT_CLASS_SUPPORT,
                confusion: ABSENT_CLASS_CONFUSION,
                log_loss: ABSENT_CLASS_LOG_LOSS,
                roc_auc: None,
            },
        );
    }

    #[test]
    fn saturated_probabilities_are_clipped_to_float32_epsilon() {
        let report = classification_report(2, &SATURATED_LABELS, &SATURATED_PROBABILITIES).unwrap();
        let relative = (report.log_loss - SATURATED_LOG_LOSS).abs() / SATURATED_LOG_LOSS;
        assert!(
            relative < 1e-6,
            "log loss {} vs scikit-learn {SATURATED_LOG_LOSS}",
            report.log_loss
        );
        // Two confident mistakes at −ln(2⁻²³) and two near-zero losses.
        let epsilon = f64::from(f32::EPSILON);
        let exact = (-2.0 * epsilon.ln() - 2.0 * (1.0 - epsilon).ln()) / 4.0;
        assert!((report.log_loss - exact).abs() < 1e-12);
    }

    #[test]
    fn roc_auc_is_none_for_a_single_class() {
        // scikit-learn 1.9 warns and returns nan for roc_auc_score([1, 1, 1], …).
        let report = classification_report(2, &[1, 1, 1], &[0.2, 0.7, 0.9]).unwrap();
        assert_eq!(report.roc_auc, None);
        assert_eq!(report.accuracy, 2.0 / 3.0);
    }

    #[test]
    fn predicted_class_follows_numpy_argmax_and_the_half_threshold() {
        assert_eq!(predicted_class(&[0.5]), 1);
        assert_eq!(predicted_class(&[0.4999]), 0);
        assert_eq!(predicted_class(&[0.5, 0.5]), 0);
        assert_eq!(predicted_class(&[0.2, 0.4, 0.4]), 1);
        assert_eq!(predicted_class(&[0.1, 0.2, 0.7]), 2);
    }

    #[test]
    fn rejects_inputs_scikit_learn_rejects() {
        use ClassificationError as E;
        assert_eq!(
            classification_report(1, &[0], &[1.0]),
            Err(E::TooFewClasses { classes: 1 })
        );
        assert_eq!(classification_report(3, &[], &[]), Err(E::NoRows));
        assert_eq!(
            classification_report(3, &[0, 1], &[0.5, 0.5]),
            Err(E::Shape {
                classes: 3,
                rows: 2,
                probabilities: 2
            })
        );
        assert_eq!(
            classification_report(2, &[0, 2], &[0.5, 0.5]),
            Err(E::Label {
                row: 1,
                label: 2,
                classes: 2
            })
        );
        assert_eq!(
            classification_report(2, &[0, 1], &[0.5, 1.5]),
            Err(E::Probability { row: 1, value: 1.5 })
        );
        assert!(matches!(
            classification_report(2, &[0, 1], &[0.5, 0.5, f32::NAN, 0.5]),
            Err(E::Probability { row: 1, .. })
        ));
        let message = E::Shape {
            classes: 2,
            rows: 3,
            probabilities: 4,
        }
        .to_string();
        assert_eq!(
            message,
            "4 probabilities for 3 rows of 2 classes: expected 6 (rows × classes) or 3 (positive class)"
        );
    }
}
