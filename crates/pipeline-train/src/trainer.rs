//! The epoch loop: shuffled mini-batches, backward pass, optimizer step at
//! the schedule's learning rate, evaluation of train and validation after
//! every epoch, the best epoch by the monitored metric, early stopping, and
//! final metrics on every split with the best epoch's weights restored.

use std::sync::atomic::AtomicBool;

use candle_core::{DType, Device, Tensor};
use pipeline_data::{PreparedData, SplitData, TargetPlan, derive_seed};
use pipeline_model::memory::{Footprint, machine_memory};
use pipeline_model::{Criterion, Mode, Network, Optimizer, Scheduler};
use pipeline_spec::{Algorithm, Normalize, Spec};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::engine::{Engine, Stepper, TrainRows};
use crate::epochs::EpochLoop;
use crate::error::{HugeTarget, TrainError};
use crate::evaluation::{SplitReports, criterion, score, score_with_report};
use crate::metrics::{Metrics, SplitMetrics};
use crate::observer::{EpochRecord, Observer, Plan};
use crate::precision::Mixed;
use crate::state::TrainingState;

/// Why the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// All `train.epochs` ran.
    Completed,
    /// The monitored metric did not improve for `patience` epochs.
    EarlyStopped,
    /// The interrupt flag was raised (Ctrl-C); the epoch in progress is dropped.
    Interrupted,
}

/// The result of training.
pub struct Outcome {
    pub reason: StopReason,
    /// The finished epochs: after a resumed state, those it was given with
    /// [`TrainingState::with_history`], then the ones trained here.
    pub history: Vec<EpochRecord>,
    /// 1-based; `None` when no epoch finished.
    pub best_epoch: Option<u32>,
    /// Metrics on every split with the final weights (the best epoch's when
    /// `train.restore_best`, also when interrupted); `None` when interrupted.
    pub final_metrics: Option<SplitMetrics>,
    /// Classification runs: per-class scores and confusion matrices of the
    /// final weights on every split.
    pub final_reports: Option<SplitReports>,
    /// When interrupted: the state after the last finished epoch, to resume
    /// from (`train` with it as `start`).
    pub state: Option<TrainingState>,
    pub model: TrainedModel,
}

/// A network with what it needs to predict.
pub struct TrainedModel {
    pub network: Network,
    pub device: Device,
}

pub(crate) struct Split {
    x: Tensor,
    y: Vec<f32>,
}

impl Split {
    pub(crate) fn new(data: &SplitData, device: &Device) -> Result<Split, TrainError> {
        let (x, _) = data.tensors(device)?;
        Ok(Split {
            x,
            y: data.y.clone(),
        })
    }
}

/// Outputs of `network` for the rows of `x`, in evaluation mode, row-major
/// (one value per row and output: predictions or logits).
pub fn predict(network: &Network, x: &Tensor) -> Result<Vec<f32>, TrainError> {
    // MLPs on the CPU: the dense path, without candle's per-op allocations.
    if let Some(outputs) = pipeline_model::dense::predict(network, x)? {
        return Ok(outputs);
    }
    Ok(network
        .forward(x, Mode::Eval)?
        .flatten_all()?
        .to_vec1::<f32>()?)
}

/// Rows per forward pass when a whole split is scored: a convolution's
/// activations for every row at once would take gigabytes.
const SCORING_ROWS: usize = 512;

/// [`predict`] over a whole split, [`SCORING_ROWS`] rows at a time.
fn predict_split(network: &Network, x: &Tensor) -> Result<Vec<f32>, TrainError> {
    // MLPs on the CPU: the dense path slices the split itself.
    if let Some(outputs) = pipeline_model::dense::predict(network, x)? {
        return Ok(outputs);
    }
    let rows = x.dim(0)?;
    if rows <= SCORING_ROWS {
        return predict(network, x);
    }
    let mut outputs = Vec::new();
    for start in (0..rows).step_by(SCORING_ROWS) {
        let len = SCORING_ROWS.min(rows - start);
        outputs.extend(predict(network, &x.narrow(0, start, len)?)?);
    }
    Ok(outputs)
}

/// How a split is scored: the spec's loss with the data's class weights.
pub(crate) struct Scoring<'a> {
    spec: &'a Spec,
    pub(crate) criterion: Criterion,
    plan: &'a TargetPlan,
}

impl Scoring<'_> {
    pub(crate) fn metrics(&self, network: &Network, split: &Split) -> Result<Metrics, TrainError> {
        let outputs = predict_split(network, &split.x)?;
        score(
            &self.spec.loss,
            &self.criterion,
            self.plan,
            &outputs,
            &split.y,
        )
    }

    /// Metrics (and, for classification, reports) of the final weights on
    /// the training, validation and test splits.
    pub(crate) fn final_scores(
        &self,
        network: &Network,
        [train, validation, test]: [&Split; 3],
    ) -> Result<(Option<SplitMetrics>, Option<SplitReports>), TrainError> {
        let final_score = |split: &Split| {
            let outputs = predict_split(network, &split.x)?;
            score_with_report(
                &self.spec.loss,
                &self.criterion,
                self.plan,
                &outputs,
                &split.y,
            )
        };
        let (train, train_report) = final_score(train)?;
        let (validation, validation_report) = final_score(validation)?;
        let (test, test_report) = final_score(test)?;
        let reports = match (train_report, validation_report, test_report) {
            (Some(train), Some(validation), Some(test)) => Some(SplitReports {
                train,
                validation,
                test,
            }),
            _ => None,
        };
        let metrics = SplitMetrics {
            train,
            validation,
            test,
        };
        Ok((Some(metrics), reports))
    }
}

/// A freshly initialised network for `spec` and `data` (seeded), built
/// before training so that a spec/data mismatch is reported up front.
pub fn initial_network(
    spec: &Spec,
    data: &PreparedData,
    device: &Device,
) -> Result<Network, TrainError> {
    let features = data.preprocessing.input_width();
    let plan = &data.preprocessing.targets;
    let outputs = plan.outputs();
    if let (
        TargetPlan::Multiclass {
            column, classes, ..
        },
        Some(units),
    ) = (plan, spec.output_units())
        && units as usize != outputs
    {
        return Err(TrainError::ClassMismatch {
            units,
            column: column.clone(),
            classes: classes.clone(),
        });
    }
    if let (
        pipeline_spec::Loss::CrossEntropy {
            class_weights: Some(pipeline_spec::ClassWeights::Given(weights)),
            ..
        },
        Some(classes),
    ) = (&spec.loss, plan.classes())
        && weights.len() != classes.len()
    {
        return Err(TrainError::ClassWeights {
            given: weights.len(),
            classes: classes.to_vec(),
        });
    }
    // Counted before any tensor exists: a layer too large for the
    // machine would abort the process on its first allocation.
    Footprint::of(&spec.model, features)?.check_training(
        spec.train.batch_size as usize,
        optimizer_buffers(&spec.optimizer.algorithm),
        machine_memory(),
    )?;
    Ok(Network::new(
        &spec.model,
        features,
        outputs,
        derive_seed(spec.seed, "init"),
        device,
    )?)
}

/// The buffers of the parameters' size that `algorithm` keeps, as
/// PyTorch's optimizers do (momentum, Adam's two moments).
fn optimizer_buffers(algorithm: &Algorithm) -> usize {
    match *algorithm {
        Algorithm::Sgd { momentum, .. } => usize::from(momentum != 0.0),
        Algorithm::Adam { .. } | Algorithm::AdamW { .. } => 2,
        Algorithm::RmsProp {
            momentum, centered, ..
        } => 1 + usize::from(momentum != 0.0) + usize::from(centered),
    }
}

/// Regression targets whose largest absolute value reaches this are
/// "huge" when a loss stops being finite: their squares alone are 1e12.
const HUGE_TARGET: f64 = 1e6;

/// The first regression target left on its file's scale
/// (`data.normalize_target` off) that reaches [`HUGE_TARGET`] on the
/// training split: what a loss that overflowed most likely came from.
pub(crate) fn huge_target(spec: &Spec, data: &PreparedData) -> Option<HugeTarget> {
    if spec.data.normalize_target != Normalize::None {
        return None;
    }
    let TargetPlan::Regression { columns, .. } = &data.preprocessing.targets else {
        return None;
    };
    let width = data.train.targets.max(1);
    columns.iter().enumerate().find_map(|(i, column)| {
        let largest = data
            .train
            .y
            .iter()
            .skip(i)
            .step_by(width)
            .fold(0.0_f64, |largest, v| largest.max(f64::from(v.abs())));
        (largest >= HUGE_TARGET).then(|| HugeTarget {
            column: column.clone(),
            largest,
        })
    })
}

/// One training: the spec, its prepared data, the network to train and
/// where, who watches and what may stop it.
pub struct Training<'a> {
    pub spec: &'a Spec,
    pub data: &'a PreparedData,
    /// From [`initial_network`].
    pub network: Network,
    pub device: &'a Device,
    pub observer: &'a mut dyn Observer,
    /// Checked between batches.
    pub interrupt: &'a AtomicBool,
    /// A state an observer received from [`Observer::on_checkpoint`] of a
    /// training of the same spec and data: the training continues after
    /// that state's last epoch exactly as it would have without the stop
    /// (same weights, bit for bit, on the same device).
    pub start: Option<TrainingState>,
    /// Which path trains the batches (benchmarks and tests compare them).
    pub engine: Engine,
}

/// Trains `network` (from [`initial_network`]) on `data`; see [`Training`]
/// for the arguments.
pub fn train(
    spec: &Spec,
    data: &PreparedData,
    network: Network,
    device: &Device,
    observer: &mut dyn Observer,
    interrupt: &AtomicBool,
    start: Option<TrainingState>,
) -> Result<Outcome, TrainError> {
    train_with(Training {
        spec,
        data,
        network,
        device,
        observer,
        interrupt,
        start,
        engine: Engine::Auto,
    })
}

/// [`train`] with the batches trained by `training.engine`.
pub fn train_with(training: Training<'_>) -> Result<Outcome, TrainError> {
    let Training {
        spec,
        data,
        network,
        device,
        observer,
        interrupt,
        start,
        engine,
    } = training;
    let mut optimizer = Optimizer::new(&spec.optimizer, network.vars());
    let plan = &data.preprocessing.targets;
    let scoring = Scoring {
        spec,
        criterion: criterion(&spec.loss, plan),
        plan,
    };

    let (train_x, train_y) = data.train.tensors(device)?;
    let train = Split {
        x: train_x.clone(),
        y: data.train.y.clone(),
    };
    let validation = Split::new(&data.validation, device)?;

    let batches_per_epoch = data.train.rows.div_ceil(spec.train.batch_size as usize);
    let mut scheduler = Scheduler::new(
        &spec.optimizer,
        spec.train.monitor.metric.direction(),
        spec.train.epochs,
        batches_per_epoch,
    );

    // The loop's state lives in `state`, refreshed after every epoch: it is
    // what observers save and what an interrupted run hands back.
    let mut state = match start {
        Some(state) => resume(
            state,
            spec,
            data,
            &network,
            &mut optimizer,
            &mut scheduler,
            device,
        )?,
        None => fresh_state(spec, data, &network, &optimizer, &scheduler)?,
    };
    // The finished epochs: those the caller handed back with a resumed state
    // (a saved state holds none), then this call's.
    let history = std::mem::take(&mut state.history);
    let stepper = Stepper::new(
        engine,
        &network,
        &spec.optimizer,
        optimizer,
        Mixed::new(spec.train.precision).with_loss_scale(state.loss_scale),
        &scoring.criterion,
        device,
    )?;
    observer.on_start(&Plan {
        epochs: spec.train.epochs,
        first_epoch: state.epochs_done + 1,
        batches_per_epoch,
        parameters: network.parameter_count(),
    });
    let mut epochs = EpochLoop {
        spec,
        data,
        network,
        scoring: &scoring,
        rows: TrainRows {
            x: &train_x,
            y: &train_y,
            x_values: &data.train.x,
            y_values: &data.train.y,
            targets: data.train.targets,
        },
        train: &train,
        validation: &validation,
        stepper,
        scheduler,
        observer,
        interrupt,
        order: state.order.clone(),
        order_rng: state.order_rng.clone(),
        dropout_rng: state.dropout_rng.clone(),
        state,
        history,
    };
    let reason = epochs.run()?;
    epochs.finish(reason, device)
}

/// The state before the first epoch: the initial weights, the rows in
/// file order and the random streams seeded from the spec.
fn fresh_state(
    spec: &Spec,
    data: &PreparedData,
    network: &Network,
    optimizer: &Optimizer,
    scheduler: &Scheduler,
) -> Result<TrainingState, TrainError> {
    Ok(TrainingState {
        epochs_done: 0,
        names: network
            .snapshot_names()
            .into_iter()
            .map(String::from)
            .collect(),
        parameters: network
            .parameter_names()
            .into_iter()
            .map(String::from)
            .collect(),
        weights: network.snapshot()?,
        optimizer: optimizer.state(),
        scheduler: scheduler.state(),
        order: (0..data.train.rows as u32).collect(),
        order_rng: ChaCha8Rng::seed_from_u64(derive_seed(spec.seed, "batches")),
        dropout_rng: ChaCha8Rng::seed_from_u64(derive_seed(spec.seed, "dropout")),
        best: None,
        history: Vec::new(),
        loss_scale: None,
    })
}

/// Early stopping's patience ran out at the state's last epoch.
pub(crate) fn early_stop_due(spec: &Spec, state: &TrainingState) -> bool {
    match (spec.train.early_stopping, &state.best) {
        (Some(early), Some(best)) => state.epochs_done - best.epoch >= early.patience,
        _ => false,
    }
}

/// Puts a saved state into `network`, `optimizer` and `scheduler` after
/// checking that it belongs to this training; returns it with its tensors
/// on `device`.
fn resume(
    mut state: TrainingState,
    spec: &Spec,
    data: &PreparedData,
    network: &Network,
    optimizer: &mut Optimizer,
    scheduler: &mut Scheduler,
    device: &Device,
) -> Result<TrainingState, TrainError> {
    state.check_fits(spec, data, network)?;
    let dtypes: Vec<DType> = network.snapshot()?.iter().map(Tensor::dtype).collect();
    let on_device = |tensors: &[Tensor]| -> Result<Vec<Tensor>, TrainError> {
        tensors
            .iter()
            .zip(&dtypes)
            .map(|(t, dtype)| Ok(t.to_dtype(*dtype)?.to_device(device)?))
            .collect()
    };
    state.weights = on_device(&state.weights)?;
    if let Some(best) = &mut state.best {
        best.weights = on_device(&best.weights)?;
    }
    network.restore(&state.weights)?;
    optimizer.load_state(state.optimizer.clone())?;
    state.optimizer = optimizer.state();
    scheduler.restore(&state.scheduler);
    Ok(state)
}
