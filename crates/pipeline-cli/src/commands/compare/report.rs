//! What `pipeline compare` reports, built once from the runs' records:
//! every run with its rank, legend, metrics, gaps, verdict and curves, the
//! spec differences (layers aligned), and how reruns reproduce each other.
//! `--json` prints it; the text, the HTML report and the plot render it.

use crate::commands::shared::Context;
use std::collections::BTreeMap;

use pipeline_registry::{ArtifactKind, Registry, RunId, RunRecord, RunStatus, ShortIds};
use pipeline_spec::MetricName;
use pipeline_train::diagnosis::Diagnosis;
use pipeline_train::generalization::{Verdict, assess};
use serde::Serialize;

use crate::commands::curves::{curve, final_metric, loss_curve, metric_names};
use crate::output::diagnosis::{diagnosis_of, loss_note};

use super::differences::{Difference, LayerChange, spec_differences};
use super::legend::legends;
use super::reproducibility::{Reproduction, Weights};
use super::{PlotMetric, SPLITS, label, ranks};

#[derive(Debug, Serialize)]
pub struct CompareReport {
    /// In the order the runs were named (or ranked), labelled `A`, `B`, …
    pub runs: Vec<RunReport>,
    pub spec_differences: Vec<Difference>,
    /// Layers a run inserted or removed, against the first run's layers
    /// (whose numbers the `model.layers.N` keys above use).
    pub layer_changes: Vec<LayerChange>,
    pub reproducibility: Reproducibility,
    /// The per-epoch metric in `curves.plotted` (`--metric`, default `loss`).
    pub plotted_metric: String,
    /// Why `loss` and the metric columns disagree (a normalized target,
    /// label smoothing, class weights), from the runs' specs; each distinct
    /// sentence once.
    pub loss_notes: Vec<String>,
}

/// One run's results.
#[derive(Debug, Serialize)]
pub struct RunReport {
    pub id: RunId,
    /// 1 for the best run by its selection metric (ties and runs without
    /// a value in the order named).
    pub rank: usize,
    /// What tells this run apart from the others: `lr=0.05, units=256`.
    pub legend: String,
    /// The shortest unique prefix of the id's random part ([`ShortIds`]).
    pub short_id: String,
    pub name: Option<String>,
    pub experiment: String,
    pub status: RunStatus,
    pub best_epoch: Option<u32>,
    pub epochs_run: u32,
    /// Split, then each metric the run recorded, at its best epoch (`None`
    /// where that split lacks it).
    pub metrics: BTreeMap<&'static str, BTreeMap<&'static str, Option<f64>>>,
    pub gap: Gaps,
    pub verdict: Verdict,
    pub verdict_text: String,
    /// The graded diagnosis (`underfitting (strong)`, …): the stored one,
    /// or computed from the curve for a run recorded before it was kept.
    pub diagnosis: Diagnosis,
    pub curves: Curves,
    /// The metric `best` ranks the run's experiment by, and its value
    /// (the text's runs table; not in JSON).
    #[serde(skip)]
    pub selection_metric: String,
    #[serde(skip)]
    pub selection_value: Option<f64>,
}

/// Loss gaps at the best epoch.
#[derive(Debug, Serialize)]
pub struct Gaps {
    pub validation_minus_train_loss: Option<f64>,
    pub test_minus_train_loss: Option<f64>,
}

/// Loss per epoch, as `[epoch, loss]` pairs, and the plotted metric's
/// series by name (`train_loss`, `val_accuracy`, …).
#[derive(Debug, Serialize)]
pub struct Curves {
    pub train_loss: Vec<(f64, f64)>,
    pub validation_loss: Vec<(f64, f64)>,
    pub plotted: BTreeMap<String, Vec<(f64, f64)>>,
}

/// Every run after the first against the first, and the reruns: runs
/// that claim to be the same spec (same spec hash, data sha256 and seed).
#[derive(Debug, Serialize)]
pub struct Reproducibility {
    /// The first run's id.
    pub reference: Option<RunId>,
    pub runs: Vec<ReproductionReport>,
    /// Each set of two or more runs with the same spec, data and seed: the
    /// others against its first.
    pub groups: Vec<ReproductionGroup>,
}

#[derive(Debug, Serialize)]
pub struct ReproductionGroup {
    pub reference: RunId,
    pub runs: Vec<ReproductionReport>,
}

#[derive(Debug, Serialize)]
pub struct ReproductionReport {
    pub id: RunId,
    #[serde(flatten)]
    pub reproduction: Reproduction,
}

impl CompareReport {
    /// Compares `records`, reading each run's weights from `registry`.
    pub fn new(
        ctx: &Context,
        registry: &Registry,
        records: &[RunRecord],
        plotted: &PlotMetric,
        short_ids: &ShortIds,
    ) -> CompareReport {
        let weights: Vec<Weights> = records
            .iter()
            .enumerate()
            .map(|(index, r)| weights(ctx, registry, r, &label(index)))
            .collect();
        let runs = match (records.first(), weights.first()) {
            (Some(first), Some(first_weights)) => records
                .iter()
                .zip(&weights)
                .skip(1)
                .map(|other| ReproductionReport {
                    id: other.0.id.clone(),
                    reproduction: Reproduction::check((first, first_weights), other),
                })
                .collect(),
            _ => Vec::new(),
        };
        let differences = spec_differences(records);
        let shown: Vec<String> = records.iter().map(|r| short_ids.get(&r.id)).collect();
        let ids: Vec<&str> = shown.iter().map(String::as_str).collect();
        // A run's name is its legend; the others say what differs.
        let legends = legends(&ids, &differences.keys, &differences.layer_changes)
            .into_iter()
            .zip(records)
            .map(|(legend, r)| r.name.clone().unwrap_or(legend));
        let ranks = ranks(records);
        CompareReport {
            runs: records
                .iter()
                .zip(legends)
                .zip(ranks)
                .map(|((r, legend), rank)| RunReport::of(r, rank, legend, plotted, short_ids))
                .collect(),
            spec_differences: differences.keys,
            layer_changes: differences.layer_changes,
            reproducibility: Reproducibility {
                reference: records.first().map(|r| r.id.clone()),
                runs,
                groups: groups(records, &weights),
            },
            plotted_metric: plotted.name.clone(),
            loss_notes: {
                let mut notes: Vec<String> = records
                    .iter()
                    .filter_map(|r| loss_note(&r.spec_toml))
                    .collect();
                notes.sort();
                notes.dedup();
                notes
            },
        }
    }

    /// The runs' indices, best first.
    pub fn ranked(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.runs.len()).collect();
        order.sort_by_key(|&i| self.runs[i].rank);
        order
    }

    /// The metrics any run recorded, in the order tables show them
    /// ([`MetricName::ALL`]).
    pub fn metric_names(&self) -> Vec<&'static str> {
        MetricName::ALL
            .iter()
            .map(|m| m.as_str())
            .filter(|name| {
                self.runs
                    .iter()
                    .any(|r| r.metrics.values().any(|m| m.contains_key(name)))
            })
            .collect()
    }
}

impl RunReport {
    fn of(
        r: &RunRecord,
        rank: usize,
        legend: String,
        plotted: &PlotMetric,
        short_ids: &ShortIds,
    ) -> RunReport {
        let names = metric_names(&[r]);
        let metrics = SPLITS
            .iter()
            .map(|split| {
                let values = names.iter().map(|m| (*m, final_metric(r, split, m)));
                (*split, values.collect())
            })
            .collect();
        let losses = loss_curve(r);
        let verdict = assess(&losses);
        let diagnosis = diagnosis_of(r, &losses);
        RunReport {
            short_id: short_ids.get(&r.id),
            name: r.name.clone(),
            id: r.id.clone(),
            rank,
            legend,
            experiment: r.experiment.clone(),
            status: r.status,
            best_epoch: r.best_epoch,
            epochs_run: r.epochs_run,
            metrics,
            gap: Gaps::of(r),
            verdict_text: verdict.sentence(),
            verdict,
            diagnosis,
            curves: Curves {
                train_loss: curve(r, "train", "loss"),
                validation_loss: curve(r, "validation", "loss"),
                plotted: plotted
                    .series
                    .iter()
                    .map(|(split, name)| (name.clone(), curve(r, split, &plotted.metric)))
                    .collect(),
            },
            selection_metric: r.selection_metric.clone(),
            selection_value: r.selection_value,
        }
    }

    /// The run's final `metric` on `split`, if recorded.
    pub fn metric(&self, split: &str, metric: &str) -> Option<f64> {
        self.metrics
            .get(split)
            .and_then(|values| values.get(metric))
            .copied()
            .flatten()
    }
}

impl Gaps {
    /// Validation − train and test − train loss at the best epoch.
    fn of(r: &RunRecord) -> Gaps {
        let loss = |split| final_metric(r, split, "loss");
        let train = loss("train");
        Gaps {
            validation_minus_train_loss: loss("validation").zip(train).map(|(v, t)| v - t),
            test_minus_train_loss: loss("test").zip(train).map(|(v, t)| v - t),
        }
    }
}

/// Runs with the same spec hash, data sha256 and seed, two or more, each
/// set's later runs against its first.
fn groups(records: &[RunRecord], weights: &[Weights]) -> Vec<ReproductionGroup> {
    let key = |r: &RunRecord| {
        (
            r.spec_hash.clone(),
            r.data_sha256.clone(),
            r.seed.to_string(),
        )
    };
    let mut seen: Vec<usize> = Vec::new();
    let mut out = Vec::new();
    for (first, record) in records.iter().enumerate() {
        if seen.contains(&first) {
            continue;
        }
        let members: Vec<usize> = (first..records.len())
            .filter(|&i| key(&records[i]) == key(record) && records[i].id != record.id)
            .collect();
        seen.extend(&members);
        if members.is_empty() {
            continue;
        }
        out.push(ReproductionGroup {
            reference: record.id.clone(),
            runs: members
                .iter()
                .map(|&i| ReproductionReport {
                    id: records[i].id.clone(),
                    reproduction: Reproduction::check(
                        (record, &weights[first]),
                        (&records[i], &weights[i]),
                    ),
                })
                .collect(),
        });
    }
    out
}

/// The digest of the run's weights, read from its artifact with the
/// file's checksum verified (so a file changed since the run is reported).
fn weights(ctx: &Context, registry: &Registry, record: &RunRecord, label: &str) -> Weights {
    let artifact = record
        .artifact(ArtifactKind::Weights)
        .ok_or_else(|| format!("{label} has no weights"))?;
    let bytes = ctx
        .block_on(registry.read_verified(artifact))
        .map_err(|e| format!("{label}: {e}"))?;
    pipeline_model::weights_digest(&bytes).map_err(|e| format!("{label}'s weights: {e}"))
}
