//! A run's final metrics grouped by split (`{"test": {"r2": 0.5, …}, …}`),
//! as export's `metrics.json` and serve's `GET /model` show them.

use pipeline_registry::RunRecord;

use crate::json::Entries;

/// Split → metric → value, in the record's order; NaN (a diverged metric)
/// is written as null.
pub type FinalMetrics = Entries<Entries<f64>>;

/// The final metrics of `record`, by split.
pub fn final_metrics(record: &RunRecord) -> FinalMetrics {
    let mut by_split = FinalMetrics::default();
    for m in &record.final_metrics {
        by_split.entry(&m.split).0.push((m.metric.clone(), m.value));
    }
    by_split
}
