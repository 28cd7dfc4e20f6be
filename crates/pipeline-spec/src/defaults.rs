//! Every default value of the spec, in one place. The reference in the
//! README and the resolved spec printed by `pipeline run` both come from here.

use crate::columns::{Encode, Missing, UnknownCategory};
use crate::device::Device;
use crate::metric::{MetricName, MetricRef, SplitName};
use crate::raw::{Normalize, Precision};

/// `seed`: every random choice (split, initialisation, shuffling, dropout) derives from it.
pub const SEED: u64 = 42;
/// `data.task`: numbers are predicted unless the spec says classes.
pub const TASK: crate::Task = crate::Task::Regression;
/// `data.stratify`: on for classification (every split keeps the classes'
/// proportions); regression cannot stratify.
pub const STRATIFY_CLASSIFICATION: bool = true;
/// `data.normalize_target` (regression): targets are used as in the file.
pub const NORMALIZE_TARGET: Normalize = Normalize::None;
/// `data.normalize`.
pub const NORMALIZE: Normalize = Normalize::Zscore;
/// `data.missing` (and `data.columns.NAME.missing`): an empty feature cell
/// is an error naming the column and row unless the spec says otherwise.
pub const MISSING: Missing = Missing::Error;
/// `data.encode`: categorical columns become one 0/1 input per category.
pub const ENCODE: Encode = Encode::Onehot;
/// `data.unknown`: a category unseen in the training split is an error.
pub const UNKNOWN: UnknownCategory = UnknownCategory::Error;
/// `data.exclude`, `data.types`, `data.columns`: empty (every column but the
/// target is a feature; types come from the file: text columns are
/// categorical, numbers are floats; no per-column settings).
/// `data.split`: train / validation / test fractions.
pub const SPLIT_TRAIN: f64 = 0.70;
pub const SPLIT_VALIDATION: f64 = 0.15;
pub const SPLIT_TEST: f64 = 0.15;
/// `data.shuffle`: shuffle rows before splitting.
pub const SHUFFLE: bool = true;
/// `data.window.horizon`: the target is the row right after the window.
pub const WINDOW_HORIZON: std::num::NonZeroU32 = std::num::NonZeroU32::MIN;
/// `data.window.target_input`: the series' own past is the last input channel.
pub const WINDOW_TARGET_INPUT: bool = true;
/// `data.window.difference`: the target is the level, not its change.
pub const WINDOW_DIFFERENCE: bool = false;
/// `data.window.missing`: an empty cell of the series is an error.
pub const WINDOW_MISSING: crate::window::WindowMissing = crate::window::WindowMissing::Error;
/// `[loss]`: when the table is absent, mse for regression,
/// binary_cross_entropy for binary and cross_entropy for multiclass
/// ([`crate::Loss::default_for`]).
/// `loss.delta` for the huber loss.
pub const HUBER_DELTA: f64 = 1.0;
/// `loss.label_smoothing` (cross_entropy). `loss.pos_weight`
/// (binary_cross_entropy) and `loss.class_weights` (cross_entropy) have no
/// default: every row weighs the same unless one is set.
pub const LABEL_SMOOTHING: f64 = 0.0;
/// `optimizer.*`.
pub const WEIGHT_DECAY: f64 = 0.0;
pub const ADAMW_WEIGHT_DECAY: f64 = 0.01;
pub const MOMENTUM: f64 = 0.0;
pub const BETA1: f64 = 0.9;
pub const BETA2: f64 = 0.999;
pub const EPSILON: f64 = 1e-8;
/// `optimizer.dampening` and `optimizer.nesterov` (sgd).
pub const DAMPENING: f64 = 0.0;
pub const NESTEROV: bool = false;
/// `optimizer.alpha` and `optimizer.centered` (rmsprop; its `epsilon` is
/// [`EPSILON`], its `momentum` [`MOMENTUM`]).
pub const RMSPROP_ALPHA: f64 = 0.99;
pub const CENTERED: bool = false;
/// `optimizer.clip_grad_norm` and `optimizer.clip_grad_value` have no
/// default: gradients are not clipped unless one is set.
/// `[optimizer.schedule]`: the learning rate stays constant unless a table is given.
pub const SCHEDULE: crate::Schedule = crate::Schedule::Constant;
/// `optimizer.schedule.gamma` of `type = "step"` (`step_size` is required;
/// `exponential` requires its `gamma`).
pub const STEP_GAMMA: f64 = 0.1;
/// `type = "cosine"`: `t_max` defaults to `train.epochs - warmup_epochs`, so
/// that the cosine reaches `eta_min` at the last epoch.
pub const COSINE_ETA_MIN: f64 = 0.0;
pub const WARMUP_EPOCHS: u32 = 0;
/// The warmup's first epoch runs at this fraction of `learning_rate` (as
/// `torch.optim.lr_scheduler.LinearLR`'s `start_factor`).
pub const WARMUP_START_FACTOR: f64 = 1.0 / 3.0;
/// `type = "one_cycle"`: `max_lr` defaults to `optimizer.learning_rate`.
pub const ONE_CYCLE_PCT_START: f64 = 0.3;
pub const ONE_CYCLE_DIV_FACTOR: f64 = 25.0;
pub const ONE_CYCLE_FINAL_DIV_FACTOR: f64 = 1e4;
/// `type = "plateau"` (as `torch.optim.lr_scheduler.ReduceLROnPlateau`,
/// relative threshold; the mode follows `train.monitor`).
pub const PLATEAU_FACTOR: f64 = 0.1;
pub const PLATEAU_PATIENCE: u32 = 10;
pub const PLATEAU_MIN_LR: f64 = 0.0;
pub const PLATEAU_THRESHOLD: f64 = 1e-4;
pub const PLATEAU_COOLDOWN: u32 = 0;
/// `train.*`.
pub const EPOCHS: u32 = 100;
pub const BATCH_SIZE: u32 = 32;
pub const DEVICE: Device = Device::Cpu;
pub const PRECISION: Precision = Precision::F32;
pub const MONITOR: MetricRef = MetricRef::new(SplitName::Validation, MetricName::Loss);
pub const RESTORE_BEST: bool = true;
/// `train.early_stopping.*` (early stopping is off unless the table is present).
pub const MIN_DELTA: f64 = 0.0;
/// Epochs of rising validation loss that mark the onset of overfitting in
/// the registry when `train.early_stopping` is absent (else its `patience`).
pub const ONSET_PATIENCE: u32 = 10;
/// `selection.metric`: what `best` means among the runs of an experiment.
pub const SELECTION_METRIC: MetricRef = MetricRef::new(SplitName::Validation, MetricName::Loss);
/// `model.layers[].bias` (linear and convolution layers).
pub const BIAS: bool = true;
/// `model.layers[].negative_slope` of `leaky_relu` (as `nn.LeakyReLU`).
pub const LEAKY_RELU_NEGATIVE_SLOPE: f64 = 0.01;
/// `model.layers[].return_sequences` of `rnn`, `lstm`, `gru`: the last state only.
pub const RETURN_SEQUENCES: bool = false;
/// `model.layers[].dropout` of `transformer` (as `nn.TransformerEncoderLayer`).
pub const TRANSFORMER_DROPOUT: f64 = 0.1;
/// `model.layers[].stride` and `padding` of `conv1d` and `conv2d`; the
/// pooling layers' `stride` defaults to their `kernel` (as PyTorch).
pub const CONV_STRIDE: std::num::NonZeroU32 = std::num::NonZeroU32::MIN;
pub const CONV_PADDING: u32 = 0;
// `model.input` has no default: absent, the model sees each row as a flat
// vector of its inputs.
/// `sweep.jobs`: one trial at a time. `sweep.seed` defaults to the spec's
/// `seed`; `sweep.metric` and `sweep.direction` to `[selection]`'s;
/// `sweep.trials` has no default (required for random and tpe, refused for
/// grid, which runs every point once).
pub const SWEEP_JOBS: std::num::NonZeroU32 = std::num::NonZeroU32::MIN;
/// `[sweep.pruner]`: no pruning unless the table is given.
pub const PRUNER: crate::PrunerSpec = crate::PrunerSpec::None;
/// `sweep.pruner.min_epochs`: asha's first rung; the median pruner's
/// warm-up (no trial is stopped before it).
pub const PRUNER_MIN_EPOCHS: u32 = 5;
/// `sweep.pruner.reduction` (asha): the best third of the trials at a rung go on.
pub const ASHA_REDUCTION: u32 = 3;
/// `sweep.pruner.min_trials` (median): other trials that must have reached
/// an epoch before a trial is judged there.
pub const MEDIAN_MIN_TRIALS: u32 = 5;
