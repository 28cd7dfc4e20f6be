//! How a batch trains: candle's autograd, for any network on any device,
//! or the dense path ([`pipeline_model::dense`]) for networks of linear
//! layers, elementwise activations and dropout on the CPU, which computes
//! the same update without building a graph. [`Engine::Auto`] picks the
//! dense path where it applies.

use candle_core::{Device, Tensor, Var};
use pipeline_model::dense::DenseTrainer;
use pipeline_model::{Criterion, Mode, Network, Optimizer, OptimizerState};
use pipeline_spec::Optimizer as OptimizerSpec;
use rand_chacha::ChaCha8Rng;

use crate::error::TrainError;
use crate::precision::{LossScaler, Mixed};

/// Which path trains the batches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Engine {
    /// The dense path where the network allows it, autograd otherwise.
    #[default]
    Auto,
    /// Always candle's autograd (the reference the dense path is tested
    /// against).
    Autograd,
}

/// The training data of one split as both paths read it.
pub(crate) struct TrainRows<'a> {
    pub x: &'a Tensor,
    pub y: &'a Tensor,
    pub x_values: &'a [f32],
    pub y_values: &'a [f32],
    pub targets: usize,
}

// One stepper per training: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Stepper {
    Autograd {
        optimizer: Optimizer,
        /// `train.precision`: the passes' dtype (and f16's loss scaling).
        mixed: Mixed,
        /// The network's parameters, taken once rather than every batch.
        vars: Vec<Var>,
    },
    Dense(Box<DenseTrainer>),
}

impl Stepper {
    /// `optimizer` (and `mixed`, f16's loss scale) hold the state to
    /// continue from (fresh, or a resumed run's). The dense path computes in f32 only: other precisions train
    /// on autograd.
    pub fn new(
        engine: Engine,
        network: &Network,
        spec: &OptimizerSpec,
        optimizer: Optimizer,
        mixed: Mixed,
        criterion: &Criterion,
        device: &Device,
    ) -> Result<Stepper, TrainError> {
        if engine == Engine::Auto
            && mixed.is_f32()
            && let Some(dense) =
                DenseTrainer::new(network, spec, optimizer.state(), criterion.clone(), device)?
        {
            return Ok(Stepper::Dense(Box::new(dense)));
        }
        Ok(Stepper::Autograd {
            optimizer,
            mixed,
            vars: network.vars(),
        })
    }

    /// One optimizer step on the rows `batch`; returns the batch's loss.
    pub fn step(
        &mut self,
        network: &Network,
        criterion: &Criterion,
        rows: &TrainRows<'_>,
        batch: &[u32],
        learning_rate: f64,
        dropout: &mut ChaCha8Rng,
    ) -> Result<f32, TrainError> {
        match self {
            Stepper::Autograd {
                optimizer,
                mixed,
                vars,
            } => {
                let device = rows.x.device();
                let index = Tensor::from_slice(batch, batch.len(), device)?;
                let xb = rows.x.index_select(&index, 0)?;
                let yb = rows.y.index_select(&index, 0)?;
                let prediction = mixed.forward(network, &xb, Mode::Train(dropout))?;
                let loss = criterion.loss(&prediction, &yb)?;
                let value = loss.to_scalar::<f32>()?;
                if value.is_finite() {
                    optimizer.set_learning_rate(learning_rate);
                    if let Some(grads) = mixed.gradients(&loss, vars)? {
                        optimizer.step(&grads)?;
                    }
                }
                Ok(value)
            }
            Stepper::Dense(dense) => {
                dense.set_learning_rate(learning_rate);
                Ok(
                    dense.train_batch(
                        rows.x_values,
                        rows.y_values,
                        rows.targets,
                        batch,
                        dropout,
                    )?,
                )
            }
        }
    }

    /// Puts the trained weights into `network`'s variables (the dense path
    /// keeps its own while an epoch runs).
    pub fn sync(&self) -> Result<(), TrainError> {
        match self {
            Stepper::Autograd { .. } => Ok(()),
            Stepper::Dense(dense) => Ok(dense.write_back()?),
        }
    }

    pub fn optimizer_state(&self) -> Result<OptimizerState, TrainError> {
        match self {
            Stepper::Autograd { optimizer, .. } => Ok(optimizer.state()),
            Stepper::Dense(dense) => Ok(dense.optimizer_state()?),
        }
    }

    /// f16's loss scale, to save with the state (`None` otherwise).
    pub fn loss_scale(&self) -> Option<LossScaler> {
        match self {
            Stepper::Autograd { mixed, .. } => mixed.loss_scale(),
            Stepper::Dense(_) => None,
        }
    }
}
