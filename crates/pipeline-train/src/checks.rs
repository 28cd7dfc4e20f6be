//! The classic mistakes, found before a single epoch runs: a spec, its
//! prepared data and its built network are looked at together, and each
//! pitfall becomes a warning with a hint. `pipeline check` prints them;
//! `pipeline run` prints them before training.

use pipeline_data::{PreparedData, TargetPlan};
use pipeline_model::Network;
use pipeline_spec::{Layer, MetricName, Spec};
use serde::Serialize;

/// Fewer training rows than this many times the parameters, unregularized,
/// risks memorising the training split (see `few_rows_per_parameter`).
pub const ROWS_PER_PARAMETER: usize = 1;
/// Feature spreads (standard deviations) further apart than this factor
/// need normalization.
pub const SCALE_RATIO: f64 = 100.0;
/// A learning rate this many times outside the usual range is "far".
pub const LEARNING_RATE_FACTOR: f64 = 10.0;
/// A network with at least this many linear layers is deep.
pub const DEEP_LINEAR_LAYERS: usize = 4;
/// Fewer validation rows than this make validation metrics noise.
pub const MIN_VALIDATION_ROWS: usize = 30;
/// Classes this many times apart in training rows are badly imbalanced.
pub const IMBALANCE_RATIO: f64 = 10.0;

/// What a warning is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PitfallKind {
    FewRowsPerParameter,
    UnnormalizedScales,
    LearningRate,
    UnregularizedDeepNetwork,
    SmallValidationSplit,
    ImbalancedAccuracy,
    ConstantTarget,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pitfall {
    pub kind: PitfallKind,
    pub message: String,
    pub hint: String,
}

/// What the checks look at together: a spec, its prepared data and its
/// built network.
struct Setup<'a> {
    spec: &'a Spec,
    data: &'a PreparedData,
    network: &'a Network,
}

/// One check: the pitfall it finds in a setup, if any.
type Check = fn(&Setup<'_>) -> Option<Pitfall>;

/// The checks of one pitfall each, in the order their warnings are given
/// (before the constant targets, one warning per target).
const CHECKS: [Check; 6] = [
    few_rows_per_parameter,
    unnormalized_scales,
    far_learning_rate,
    unregularized_deep_network,
    small_validation_split,
    imbalance,
];

/// Every pitfall of training `network` as `spec` says on `data`, in a
/// fixed order.
pub fn pitfalls(spec: &Spec, data: &PreparedData, network: &Network) -> Vec<Pitfall> {
    let setup = Setup {
        spec,
        data,
        network,
    };
    let mut found: Vec<Pitfall> = CHECKS.iter().filter_map(|check| check(&setup)).collect();
    found.extend(constant_targets(data));
    found
}

/// Fewer training rows than [`ROWS_PER_PARAMETER`] per parameter and
/// nothing against memorising them (no dropout, weight decay or early
/// stopping). The old rule of thumb (10 rows per parameter, whatever the
/// spec) fired on 11 of the 12 shipped specs, networks with dropout and a
/// regression whose validation loss ends within 5% of its train loss among
/// them: a regularized network with more parameters than rows is how deep
/// learning is done, and whether it memorised is read from its curves after
/// training (`show`'s verdict), not guessed before.
fn few_rows_per_parameter(setup: &Setup<'_>) -> Option<Pitfall> {
    let parameters = setup.network.parameter_count();
    let train_rows = setup.data.sizes.train;
    if train_rows >= ROWS_PER_PARAMETER * parameters || regularized(setup.spec) {
        return None;
    }
    Some(Pitfall {
        kind: PitfallKind::FewRowsPerParameter,
        message: format!(
            "{train_rows} training rows for {parameters} parameters, with no dropout, no \
             weight decay and no early stopping: the network can memorise the training split"
        ),
        hint: "use a smaller network or more data, or regularize: dropout layers, \
               optimizer.weight_decay, train.early_stopping"
            .into(),
    })
}

/// The spec guards against memorising: a dropout layer, weight decay or
/// early stopping.
fn regularized(spec: &Spec) -> bool {
    spec.model
        .layers
        .iter()
        .any(|l| matches!(l, Layer::Dropout { .. }))
        || spec.optimizer.weight_decay > 0.0
        || spec.train.early_stopping.is_some()
}

/// Feature spreads more than [`SCALE_RATIO`] apart: the inputs need
/// normalizing. Not for images or sequences.
fn unnormalized_scales(setup: &Setup<'_>) -> Option<Pitfall> {
    // Pixels of an image (or steps of a sequence) are positions of one
    // quantity, not separate features: their spreads differ by nature.
    let positional = setup
        .spec
        .model
        .input
        .as_ref()
        .is_some_and(|shape| shape.len() > 1);
    if positional {
        return None;
    }
    let (narrow, wide) = spreads(setup.data)?;
    if !(narrow.1 > 0.0 && wide.1 / narrow.1 > SCALE_RATIO) {
        return None;
    }
    Some(Pitfall {
        kind: PitfallKind::UnnormalizedScales,
        message: format!(
            "the inputs reach the network on scales {:.0}× apart (standard deviation \
             of `{}` {:.3e}, of `{}` {:.3e} on the training split)",
            wide.1 / narrow.1,
            wide.0,
            wide.1,
            narrow.0,
            narrow.1
        ),
        hint: "normalize them: data.normalize = \"zscore\", or per column \
               [data.columns.NAME] normalize = \"zscore\" (statistics come from the \
               training split only)"
            .into(),
    })
}

/// A learning rate more than [`LEARNING_RATE_FACTOR`] times outside the
/// optimizer's usual range.
fn far_learning_rate(setup: &Setup<'_>) -> Option<Pitfall> {
    let optimizer = &setup.spec.optimizer;
    let rate = optimizer.learning_rate();
    let (low, high) = optimizer.usual_learning_rates();
    if !(rate > high * LEARNING_RATE_FACTOR || rate < low / LEARNING_RATE_FACTOR) {
        return None;
    }
    let name = optimizer.name();
    Some(Pitfall {
        kind: PitfallKind::LearningRate,
        message: format!(
            "learning rate {rate:e} is far outside the usual range for {name} \
             ({low:e} to {high:e})"
        ),
        hint: if rate > high {
            "too large a rate makes the loss diverge; try 1e-3 for adam, 1e-2 for sgd".into()
        } else {
            "too small a rate barely moves the weights; try 1e-3 for adam, 1e-2 for sgd".into()
        },
    })
}

/// At least [`DEEP_LINEAR_LAYERS`] linear layers with no dropout, weight
/// decay or early stopping.
fn unregularized_deep_network(setup: &Setup<'_>) -> Option<Pitfall> {
    let spec = setup.spec;
    let linear = spec
        .model
        .layers
        .iter()
        .filter(|l| matches!(l, Layer::Linear { .. }))
        .count();
    let dropout = spec
        .model
        .layers
        .iter()
        .any(|l| matches!(l, Layer::Dropout { .. }));
    if !(linear >= DEEP_LINEAR_LAYERS
        && !dropout
        && spec.optimizer.weight_decay == 0.0
        && spec.train.early_stopping.is_none())
    {
        return None;
    }
    Some(Pitfall {
        kind: PitfallKind::UnregularizedDeepNetwork,
        message: format!(
            "a deep network ({linear} linear layers) with no dropout, no weight decay and \
             no early stopping"
        ),
        hint: "add a dropout layer, optimizer.weight_decay, or a [train.early_stopping] \
               table; `pipeline compare` shows the generalization gap"
            .into(),
    })
}

/// Fewer than [`MIN_VALIDATION_ROWS`] validation rows: its metrics, and
/// so the best epoch, are noise.
fn small_validation_split(setup: &Setup<'_>) -> Option<Pitfall> {
    let validation = setup.data.sizes.validation;
    if validation >= MIN_VALIDATION_ROWS {
        return None;
    }
    Some(Pitfall {
        kind: PitfallKind::SmallValidationSplit,
        message: format!(
            "the validation split has {validation} rows (fewer than \
             {MIN_VALIDATION_ROWS}): its loss, and so the best epoch and early stopping, \
             are mostly noise"
        ),
        hint: "raise data.split.validation, or use more data".into(),
    })
}

/// A regression target with one value on every training row: the network
/// can only learn that value, and r2 stays at 0 (or is undefined).
fn constant_targets(data: &PreparedData) -> Vec<Pitfall> {
    let TargetPlan::Regression { columns, .. } = &data.preprocessing.targets else {
        return Vec::new();
    };
    let split = &data.train;
    let width = split.targets.max(1);
    let mut rows = split.y.chunks_exact(width);
    let Some(first) = rows.next() else {
        return Vec::new();
    };
    let mut constant = vec![true; width];
    for row in rows {
        for ((same, value), first) in constant.iter_mut().zip(row).zip(first) {
            *same &= value == first;
        }
    }
    // The value as the file has it, not on the model's scale.
    let mut values = first.to_vec();
    data.preprocessing.targets.denormalize(&mut values);
    constant
        .iter()
        .enumerate()
        .filter(|(_, same)| **same)
        .map(|(t, _)| {
            let name = columns.get(t).cloned().unwrap_or_else(|| t.to_string());
            let value = values[t];
            Pitfall {
                kind: PitfallKind::ConstantTarget,
                message: format!(
                    "the target `{name}` is {value} on every one of the {} training rows: the \
                     network can only learn that one value (r2 stays at 0)",
                    split.rows
                ),
                hint: "check data.target names the column to predict, and that the file's \
                       rows differ in it (a filter or join gone wrong leaves one value)"
                    .into(),
            }
        })
        .collect()
}

/// Classes far apart in size while accuracy picks the best epoch or run:
/// always predicting the majority class then looks good.
fn imbalance(setup: &Setup<'_>) -> Option<Pitfall> {
    let (spec, data) = (setup.spec, setup.data);
    let (classes, counts) = match &data.preprocessing.targets {
        TargetPlan::Binary {
            classes, counts, ..
        }
        | TargetPlan::Multiclass {
            classes, counts, ..
        } => (classes, counts),
        TargetPlan::Regression { .. } => return None,
    };
    let accuracy: Vec<String> = [
        ("train.monitor", spec.train.monitor),
        ("selection.metric", spec.selection.metric),
    ]
    .iter()
    .filter(|(_, m)| m.metric == MetricName::Accuracy)
    .map(|(key, m)| format!("{key} = {m}"))
    .collect();
    if accuracy.is_empty() {
        return None;
    }
    let (major, minor) = counts.iter().enumerate().fold(
        (None::<(usize, u64)>, None::<(usize, u64)>),
        |(hi, lo), (i, &c)| {
            (
                if hi.is_none_or(|(_, h)| c > h) {
                    Some((i, c))
                } else {
                    hi
                },
                if lo.is_none_or(|(_, l)| c < l) {
                    Some((i, c))
                } else {
                    lo
                },
            )
        },
    );
    let ((major, major_rows), (minor, minor_rows)) = (major?, minor?);
    if (major_rows as f64) < IMBALANCE_RATIO * (minor_rows.max(1) as f64) {
        return None;
    }
    let total: u64 = counts.iter().sum();
    Some(Pitfall {
        kind: PitfallKind::ImbalancedAccuracy,
        message: format!(
            "the classes are badly imbalanced ({} `{}` rows against {} `{}` in the training \
             split) while {} choose by accuracy: predicting `{}` for every row already scores \
             {:.3}",
            major_rows,
            classes[major],
            minor_rows,
            classes[minor],
            accuracy.join(" and "),
            classes[major],
            major_rows as f64 / total.max(1) as f64
        ),
        hint: "choose on val_f1 or val_balanced_accuracy instead, and weigh the classes: \
               loss.class_weights = \"balanced\" (cross_entropy) or loss.pos_weight \
               (binary_cross_entropy)"
            .into(),
    })
}

/// The features with the smallest and the largest standard deviation on
/// the training split, as the network sees them.
fn spreads(data: &PreparedData) -> Option<((String, f64), (String, f64))> {
    let split = &data.train;
    if split.rows < 2 || split.features == 0 {
        return None;
    }
    let names = data.preprocessing.input_names();
    // Row by row (the matrix is row-major): a pass per column would stride
    // through the whole split once for each of, say, 784 pixels.
    let width = split.features;
    let rows = || split.x.chunks_exact(width);
    let n = split.rows as f64;
    let mut sums = vec![0.0f64; width];
    for row in rows() {
        for (sum, v) in sums.iter_mut().zip(row) {
            *sum += f64::from(*v);
        }
    }
    let means: Vec<f64> = sums.iter().map(|s| s / n).collect();
    let mut squares = vec![0.0f64; width];
    for row in rows() {
        for ((square, v), mean) in squares.iter_mut().zip(row).zip(&means) {
            *square += (f64::from(*v) - mean).powi(2);
        }
    }
    let mut narrow: Option<(String, f64)> = None;
    let mut wide: Option<(String, f64)> = None;
    for (column, square) in squares.iter().enumerate() {
        let std = (square / n).sqrt();
        if std == 0.0 {
            // A constant column has no scale to compare.
            continue;
        }
        let name = names
            .get(column)
            .cloned()
            .unwrap_or_else(|| column.to_string());
        if narrow.as_ref().is_none_or(|(_, s)| std < *s) {
            narrow = Some((name.clone(), std));
        }
        if wide.as_ref().is_none_or(|(_, s)| std > *s) {
            wide = Some((name, std));
        }
    }
    Some((narrow?, wide?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::path::Path;

    use candle_core::Device;
    use pipeline_data::{ColumnTransform, Preprocessing, SplitData, SplitSizes};

    use pipeline_spec::Normalize;

    use super::*;

    fn spec(extra: &str) -> Spec {
        let text = format!(
            r#"
name = "t"
[data]
path = "t.csv"
target = "y"
{extra}
[model]
layers = [{{ type = "linear", units = 4 }}, {{ type = "relu" }}, {{ type = "linear", units = 1 }}]
[loss]
type = "mse"
[optimizer]
type = "adam"
learning_rate = 1e-3
"#
        );
        Spec::parse(Path::new("t.toml"), &text, &[]).unwrap()
    }

    fn with(spec: &Spec, overrides: &[&str]) -> Spec {
        let text = spec.to_toml();
        let overrides: Vec<pipeline_spec::Override> =
            overrides.iter().map(|o| o.parse().unwrap()).collect();
        Spec::parse(Path::new("t.toml"), &text, &overrides).unwrap()
    }

    /// `rows` training rows of two features: `a` spread 1, `b` spread `scale`.
    fn data(rows: usize, validation: usize, scale: f32, normalize: Normalize) -> PreparedData {
        let x: Vec<f32> = (0..rows)
            .flat_map(|i| {
                let sign = if i % 2 == 0 { 1.0 } else { -1.0 };
                [sign, sign * scale]
            })
            .collect();
        let split = |rows: usize, x: Vec<f32>| SplitData {
            rows,
            features: 2,
            x,
            y: (0..rows).map(|i| i as f32).collect(),
            targets: 1,
        };
        let transform = |c: &str| ColumnTransform {
            column: c.into(),
            shift: 0.0,
            scale: 1.0,
        };
        PreparedData {
            preprocessing: Preprocessing {
                features: vec!["a".into(), "b".into()],
                targets: TargetPlan::regression("y"),
                normalize,
                transforms: vec![transform("a"), transform("b")],
                columns: Vec::new(),
                window: None,
            },
            sizes: SplitSizes {
                train: rows,
                validation,
                test: validation,
            },
            train: split(rows, x),
            validation: split(0, Vec::new()),
            test: split(0, Vec::new()),
            data_sha256: String::new(),
        }
    }

    fn kinds(spec: &Spec, data: &PreparedData) -> Vec<PitfallKind> {
        let network = Network::new(&spec.model, data.train.features, 1, 1, &Device::Cpu).unwrap();
        pitfalls(spec, data, &network)
            .into_iter()
            .map(|p| p.kind)
            .collect()
    }

    #[test]
    fn imbalanced_classes_under_accuracy_are_found() {
        let binary = |counts: Vec<u64>, extra: &str| {
            let text = format!(
                "name = \"t\"\n[data]\npath = \"t.csv\"\ntarget = \"y\"\ntask = \"binary\"\n[model]\nlayers = [{{ type = \"linear\", units = 4 }}, {{ type = \"relu\" }}, {{ type = \"linear\", units = 1 }}]\n[optimizer]\ntype = \"adam\"\nlearning_rate = 1e-3\n{extra}"
            );
            let spec = Spec::parse(Path::new("t.toml"), &text, &[]).unwrap();
            let mut data = data(200, 30, 1.0, Normalize::Zscore);
            data.preprocessing.targets = TargetPlan::Binary {
                column: "y".into(),
                classes: vec!["no".into(), "yes".into()],
                counts,
            };
            kinds(&spec, &data)
        };
        let accuracy = "[selection]\nmetric = \"val_accuracy\"\n";
        assert_eq!(
            binary(vec![190, 10], accuracy),
            [PitfallKind::ImbalancedAccuracy]
        );
        assert_eq!(binary(vec![150, 50], accuracy), []);
        assert_eq!(
            binary(vec![190, 10], "[selection]\nmetric = \"val_f1\"\n"),
            []
        );
        assert_eq!(
            binary(vec![190, 10], "[train]\nmonitor = \"val_accuracy\"\n"),
            [PitfallKind::ImbalancedAccuracy]
        );
    }

    #[test]
    fn a_sound_setup_has_no_warnings() {
        // 2-4-1: 17 parameters, so 170 training rows are enough.
        let spec = spec("");
        assert_eq!(kinds(&spec, &data(170, 30, 50.0, Normalize::Zscore)), []);
    }

    #[test]
    fn each_pitfall_is_found() {
        let base = spec("");
        // 2-4-1: 17 parameters; 16 rows and nothing against memorising.
        assert_eq!(
            kinds(&base, &data(16, 30, 1.0, Normalize::Zscore)),
            [PitfallKind::FewRowsPerParameter]
        );
        // Issue 21: 169 rows (under the old 10 per parameter) is no warning,
        // nor are 16 with weight decay.
        assert_eq!(kinds(&base, &data(169, 30, 1.0, Normalize::Zscore)), []);
        assert_eq!(
            kinds(
                &with(&base, &["optimizer.weight_decay=0.01"]),
                &data(16, 30, 1.0, Normalize::Zscore)
            ),
            []
        );
        assert_eq!(
            kinds(&base, &data(200, 30, 1000.0, Normalize::None)),
            [PitfallKind::UnnormalizedScales]
        );
        assert_eq!(
            kinds(
                &with(&base, &["optimizer.learning_rate=0.5"]),
                &data(200, 30, 1.0, Normalize::Zscore)
            ),
            [PitfallKind::LearningRate]
        );
        assert_eq!(
            kinds(
                &with(&base, &["optimizer.learning_rate=1e-8"]),
                &data(200, 30, 1.0, Normalize::Zscore)
            ),
            [PitfallKind::LearningRate]
        );
        assert_eq!(
            kinds(&base, &data(200, 29, 1.0, Normalize::Zscore)),
            [PitfallKind::SmallValidationSplit]
        );
    }

    /// A target with one value trains to r2 0 without a word otherwise.
    #[test]
    fn a_constant_regression_target_is_found() {
        let base = spec("");
        let mut rows = data(200, 30, 1.0, Normalize::Zscore);
        rows.train.y = vec![0.0; 200];
        rows.preprocessing.targets = TargetPlan::Regression {
            columns: vec!["y".into()],
            transforms: vec![ColumnTransform {
                column: "y".into(),
                shift: 7.5,
                scale: 2.0,
            }],
        };
        let network = Network::new(&base.model, 2, 1, 1, &Device::Cpu).unwrap();
        let found = pitfalls(&base, &rows, &network);
        assert_eq!(
            found.iter().map(|p| p.kind).collect::<Vec<_>>(),
            [PitfallKind::ConstantTarget]
        );
        // Named with its value on the file's scale.
        assert!(
            found[0]
                .message
                .contains("`y` is 7.5 on every one of the 200"),
            "{}",
            found[0].message
        );
        // One varying row is enough; a class label is no regression target.
        rows.train.y[199] = 1.0;
        assert_eq!(kinds(&base, &rows), []);
    }

    #[test]
    fn a_deep_network_needs_some_regularization() {
        let deep = r#"
name = "t"
[data]
path = "t.csv"
target = "y"
[model]
layers = [
  { type = "linear", units = 2 }, { type = "relu" },
  { type = "linear", units = 2 }, { type = "relu" },
  { type = "linear", units = 2 }, { type = "relu" },
  { type = "linear", units = 1 },
]
[loss]
type = "mse"
[optimizer]
type = "adam"
learning_rate = 1e-3
"#;
        let deep = Spec::parse(Path::new("t.toml"), deep, &[]).unwrap();
        let rows = data(1000, 100, 1.0, Normalize::Zscore);
        assert_eq!(kinds(&deep, &rows), [PitfallKind::UnregularizedDeepNetwork]);
        assert_eq!(
            kinds(&with(&deep, &["optimizer.weight_decay=0.01"]), &rows),
            []
        );
        assert_eq!(
            kinds(&with(&deep, &["train.early_stopping.patience=5"]), &rows),
            []
        );
    }
}
