//! A classification run's per-class scores and confusion matrix: stored in
//! the registry as final metrics named `precision[CLASS]`, `recall[CLASS]`,
//! `f1[CLASS]`, `support[CLASS]` and `confusion[TRUE][PREDICTED]`, and shown
//! as two tables by `run`, `show` and `evaluate`.

use pipeline_registry::MetricValue;
use pipeline_train::classification::ClassificationReport;

use crate::output::format::{self, number};

/// Per-class scores and the confusion matrix of one split.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassTable {
    pub classes: Vec<String>,
    /// Precision, recall, F1 and support per class.
    pub scores: Vec<[f64; 4]>,
    /// Rows: true class; columns: predicted class.
    pub confusion: Vec<Vec<u64>>,
}

impl ClassTable {
    pub fn from_report(report: &ClassificationReport, classes: &[String]) -> ClassTable {
        ClassTable {
            classes: classes.to_vec(),
            scores: report
                .per_class
                .iter()
                .map(|c| [c.precision, c.recall, c.f1, c.support as f64])
                .collect(),
            confusion: report.confusion_matrix.clone(),
        }
    }

    /// The table of one split of a run's stored final metrics; `None` when
    /// the run has none (a regression run, or one recorded before).
    pub fn from_metrics(
        metrics: &[MetricValue],
        split: &str,
        classes: &[String],
    ) -> Option<ClassTable> {
        let get = |name: String| {
            metrics
                .iter()
                .find(|m| m.split == split && m.metric == name)
                .map(|m| m.value)
        };
        let scores = classes
            .iter()
            .map(|c| {
                Some([
                    get(format!("precision[{c}]"))?,
                    get(format!("recall[{c}]"))?,
                    get(format!("f1[{c}]"))?,
                    get(format!("support[{c}]"))?,
                ])
            })
            .collect::<Option<Vec<_>>>()?;
        let confusion = classes
            .iter()
            .map(|t| {
                classes
                    .iter()
                    .map(|p| get(format!("confusion[{t}][{p}]")).map(|v| v as u64))
                    .collect::<Option<Vec<_>>>()
            })
            .collect::<Option<Vec<_>>>()?;
        Some(ClassTable {
            classes: classes.to_vec(),
            scores,
            confusion,
        })
    }

    /// The classes of a run from its stored metric names (`support[CLASS]`,
    /// in the order they were written).
    pub fn classes_in(metrics: &[MetricValue], split: &str) -> Vec<String> {
        metrics
            .iter()
            .filter(|m| m.split == split)
            .filter_map(|m| m.metric.strip_prefix("support[")?.strip_suffix(']'))
            .map(String::from)
            .collect()
    }

    /// Per-class scores, then the confusion matrix, titled with `what`.
    pub fn render(&self, what: &str) -> String {
        let mut out = format!("per class, {what}\n");
        let mut table = format::table(&["  class", "precision", "recall", "f1", "support"]);
        for (class, s) in self.classes.iter().zip(&self.scores) {
            table.add_row(vec![
                format!("  {class}"),
                number(s[0]),
                number(s[1]),
                number(s[2]),
                format!("{}", s[3] as u64),
            ]);
        }
        format::align_numbers(&mut table, 1);
        out.push_str(&format::render(&table));
        out.push('\n');
        out.push_str(&format!(
            "confusion matrix, {what} (rows: true class, columns: predicted)\n"
        ));
        let mut header = vec!["  true \\ predicted".to_string()];
        header.extend(self.classes.iter().cloned());
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let mut table = format::table(&header);
        for (class, row) in self.classes.iter().zip(&self.confusion) {
            let mut cells = vec![format!("  {class}")];
            cells.extend(row.iter().map(|c| c.to_string()));
            table.add_row(cells);
        }
        format::align_numbers(&mut table, 1);
        out.push_str(&format::render(&table));
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use pipeline_train::classification::ClassMetrics;

    use super::*;

    #[test]
    fn stored_rows_give_back_the_table() {
        let table = ClassTable {
            classes: vec!["cat".into(), "dog".into()],
            scores: vec![[1.0, 0.5, 0.666, 2.0], [0.5, 1.0, 0.666, 1.0]],
            confusion: vec![vec![1, 1], vec![0, 1]],
        };
        let report = ClassificationReport {
            per_class: table
                .scores
                .iter()
                .map(|[precision, recall, f1, support]| ClassMetrics {
                    precision: *precision,
                    recall: *recall,
                    f1: *f1,
                    support: *support as u64,
                })
                .collect(),
            confusion_matrix: table.confusion.clone(),
            accuracy: 0.0,
            balanced_accuracy: 0.0,
            precision_macro: 0.0,
            recall_macro: 0.0,
            f1_macro: 0.0,
            log_loss: 0.0,
            roc_auc: None,
        };
        // The rows `pipeline run` stores.
        let rows: Vec<MetricValue> = pipeline_run::class_metric_values(&report, &table.classes)
            .into_iter()
            .map(|(metric, value)| MetricValue {
                split: "test".into(),
                metric,
                value,
            })
            .collect();
        assert_eq!(ClassTable::classes_in(&rows, "test"), ["cat", "dog"]);
        assert_eq!(
            ClassTable::from_metrics(&rows, "test", &table.classes),
            Some(table.clone())
        );
        assert_eq!(
            ClassTable::from_metrics(&rows, "train", &table.classes),
            None
        );
        let text = table.render("test split");
        assert!(text.contains("confusion matrix"), "{text}");
    }
}
