//! Optimizers over candle `Var`s, with PyTorch's update rules:
//! `torch.optim.SGD` (momentum, dampening, nesterov), `torch.optim.Adam`,
//! `torch.optim.AdamW` and `torch.optim.RMSprop` (alpha, momentum,
//! centered). Weight decay is an L2 term added to the gradient for sgd, adam
//! and rmsprop, and a decoupled decay of the weights for adamw. Gradients may
//! first be clipped by value (`clip_grad_value_`), then by their global L2
//! norm (`clip_grad_norm_`). The learning rate is set from outside (by a
//! [`crate::Scheduler`]) before each step.
//!
//! Tests against PyTorch: `crates/pipeline-model/tests/pytorch.rs`.

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};
use pipeline_spec::{Algorithm, Optimizer as OptimizerSpec};

use crate::error::ModelError;

/// One parameter and its state. Missing state reads as zeros, as PyTorch
/// initializes it.
struct Slot {
    var: Var,
    /// Momentum buffer (sgd, rmsprop with momentum).
    buffer: Option<Tensor>,
    /// First moment (adam, adamw).
    first: Option<Tensor>,
    /// Second moment (adam, adamw) or running mean of squared gradients (rmsprop).
    second: Option<Tensor>,
    /// Running mean of gradients (rmsprop, centered).
    mean: Option<Tensor>,
}

/// What an optimizer has accumulated, to continue a training exactly where it
/// stopped: the number of steps taken (Adam's bias correction) and each
/// parameter's buffers, in the order of the parameters given to
/// [`Optimizer::new`], on the parameters' device.
#[derive(Debug, Clone)]
pub struct OptimizerState {
    pub step: i32,
    pub slots: Vec<SlotState>,
}

/// One parameter's buffers; `None` where the algorithm keeps none (or has
/// not stepped yet).
#[derive(Debug, Clone, Default)]
pub struct SlotState {
    /// Momentum buffer (sgd, rmsprop with momentum).
    pub buffer: Option<Tensor>,
    /// First moment (adam, adamw).
    pub first: Option<Tensor>,
    /// Second moment (adam, adamw) or running mean of squared gradients (rmsprop).
    pub second: Option<Tensor>,
    /// Running mean of gradients (rmsprop, centered).
    pub mean: Option<Tensor>,
}

impl SlotState {
    /// The buffers by name (`buffer`, `first`, `second`, `mean`), for files.
    pub fn named(&self) -> [(&'static str, Option<&Tensor>); 4] {
        [
            ("buffer", self.buffer.as_ref()),
            ("first", self.first.as_ref()),
            ("second", self.second.as_ref()),
            ("mean", self.mean.as_ref()),
        ]
    }

    /// Sets the buffer called `name` (see [`SlotState::named`]); `false` for
    /// an unknown name.
    pub fn set(&mut self, name: &str, tensor: Tensor) -> bool {
        let slot = match name {
            "buffer" => &mut self.buffer,
            "first" => &mut self.first,
            "second" => &mut self.second,
            "mean" => &mut self.mean,
            _ => return false,
        };
        *slot = Some(tensor);
        true
    }
}

pub struct Optimizer {
    spec: OptimizerSpec,
    learning_rate: f64,
    slots: Vec<Slot>,
    step: i32,
}

/// PyTorch's `clip_grad_norm_` adds this to the norm before dividing.
pub(crate) const CLIP_NORM_EPSILON: f64 = 1e-6;

impl Optimizer {
    pub fn new(spec: &OptimizerSpec, vars: Vec<Var>) -> Optimizer {
        let slots = vars
            .into_iter()
            .map(|var| Slot {
                var,
                buffer: None,
                first: None,
                second: None,
                mean: None,
            })
            .collect();
        Optimizer {
            spec: *spec,
            learning_rate: spec.learning_rate,
            slots,
            step: 0,
        }
    }

    /// The learning rate of the next step.
    pub fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    /// Sets the learning rate of the following steps (a schedule's value).
    pub fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    /// The accumulated state, for a checkpoint. Cheap: the buffers are
    /// replaced, never changed in place, by each step, so sharing them is a
    /// snapshot.
    pub fn state(&self) -> OptimizerState {
        let slots = self
            .slots
            .iter()
            .map(|slot| SlotState {
                buffer: slot.buffer.clone(),
                first: slot.first.clone(),
                second: slot.second.clone(),
                mean: slot.mean.clone(),
            })
            .collect();
        OptimizerState {
            step: self.step,
            slots,
        }
    }

    /// Puts back a state taken by [`Optimizer::state`] from an optimizer of
    /// the same parameters: one slot per parameter, each buffer of its
    /// parameter's shape, moved to the parameter's device.
    pub fn load_state(&mut self, state: OptimizerState) -> std::result::Result<(), ModelError> {
        if state.slots.len() != self.slots.len() {
            return Err(ModelError::State {
                detail: format!(
                    "the optimizer state has {} parameter(s), the network {}",
                    state.slots.len(),
                    self.slots.len()
                ),
            });
        }
        if state.step < 0 {
            return Err(ModelError::State {
                detail: format!("the optimizer's step count is {}", state.step),
            });
        }
        let mut loaded = Vec::with_capacity(self.slots.len());
        for (index, (slot, saved)) in self.slots.iter().zip(state.slots).enumerate() {
            let param = slot.var.as_tensor();
            let place = |name: &str, t: Option<Tensor>| -> std::result::Result<_, ModelError> {
                let Some(t) = t else { return Ok(None) };
                if t.dims() != param.dims() {
                    return Err(ModelError::State {
                        detail: format!(
                            "optimizer buffer `{name}` of parameter {index} has shape {:?}, \
                             the parameter {:?}",
                            t.dims(),
                            param.dims()
                        ),
                    });
                }
                Ok(Some(t.to_dtype(param.dtype())?.to_device(param.device())?))
            };
            loaded.push((
                place("buffer", saved.buffer)?,
                place("first", saved.first)?,
                place("second", saved.second)?,
                place("mean", saved.mean)?,
            ));
        }
        for (slot, (buffer, first, second, mean)) in self.slots.iter_mut().zip(loaded) {
            slot.buffer = buffer;
            slot.first = first;
            slot.second = second;
            slot.mean = mean;
        }
        self.step = state.step;
        Ok(())
    }

    /// Applies one update from the gradients of a backward pass.
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.step += 1;
        let mut gradients: Vec<Option<Tensor>> = self
            .slots
            .iter()
            .map(|slot| grads.get(slot.var.as_tensor()).map(Tensor::detach))
            .collect();
        if let Some(limit) = self.spec.clip_grad_value {
            for g in gradients.iter_mut().flatten() {
                *g = g.clamp(-limit, limit)?;
            }
        }
        if let Some(max_norm) = self.spec.clip_grad_norm {
            clip_by_global_norm(&mut gradients, max_norm)?;
        }
        for (slot, grad) in self.slots.iter_mut().zip(gradients) {
            if let Some(grad) = grad {
                update(&self.spec, self.learning_rate, self.step, slot, grad)?;
            }
        }
        Ok(())
    }
}

/// `torch.nn.utils.clip_grad_norm_`: scales every gradient by
/// `min(1, max_norm / (norm + 1e-6))`, with `norm` the L2 norm of all
/// gradients together. Stays on the device (no read-back of the norm).
fn clip_by_global_norm(gradients: &mut [Option<Tensor>], max_norm: f64) -> Result<()> {
    let mut squares: Option<Tensor> = None;
    for g in gradients.iter().flatten() {
        let s = g.sqr()?.sum_all()?;
        squares = Some(match squares {
            None => s,
            Some(total) => (total + s)?,
        });
    }
    let Some(squares) = squares else {
        return Ok(());
    };
    let norm = squares.sqrt()?;
    let coefficient = ((norm + CLIP_NORM_EPSILON)?.recip()? * max_norm)?.clamp(0.0, 1.0)?;
    for g in gradients.iter_mut().flatten() {
        *g = g.broadcast_mul(&coefficient)?;
    }
    Ok(())
}

/// One parameter's update from its gradient by the spec's algorithm: `lr`
/// is this step's learning rate, `step` its number (from 1). Weight decay is
/// an L2 term of the gradient, except for adamw which decays the weights.
fn update(spec: &OptimizerSpec, lr: f64, step: i32, slot: &mut Slot, grad: Tensor) -> Result<()> {
    let weight_decay = spec.weight_decay;
    match spec.algorithm {
        Algorithm::Sgd {
            momentum,
            dampening,
            nesterov,
        } => {
            let g = slot.with_l2(grad, weight_decay)?;
            slot.sgd(g, lr, momentum, dampening, nesterov)
        }
        Algorithm::Adam {
            beta1,
            beta2,
            epsilon,
        } => {
            let g = slot.with_l2(grad, weight_decay)?;
            let p = slot.var.as_tensor().clone();
            slot.adam(g, p, (lr, step), (beta1, beta2), epsilon)
        }
        Algorithm::AdamW {
            beta1,
            beta2,
            epsilon,
        } => {
            let p = slot.decoupled_decay(lr, weight_decay)?;
            slot.adam(grad, p, (lr, step), (beta1, beta2), epsilon)
        }
        Algorithm::RmsProp {
            alpha,
            epsilon,
            momentum,
            centered,
        } => {
            let g = slot.with_l2(grad, weight_decay)?;
            slot.rmsprop(g, lr, alpha, epsilon, (momentum, centered))
        }
    }
}

impl Slot {
    /// The gradient with L2 weight decay added: `grad + weight_decay * param`
    /// (sgd, adam, rmsprop).
    fn with_l2(&self, grad: Tensor, weight_decay: f64) -> Result<Tensor> {
        if weight_decay != 0.0 {
            grad + (self.var.as_tensor() * weight_decay)?
        } else {
            Ok(grad)
        }
    }

    /// The parameter after adamw's decoupled weight decay:
    /// `param * (1 - lr * weight_decay)`.
    fn decoupled_decay(&self, lr: f64, weight_decay: f64) -> Result<Tensor> {
        let param = self.var.as_tensor();
        if weight_decay != 0.0 {
            param * (1.0 - lr * weight_decay)
        } else {
            Ok(param.clone())
        }
    }

    /// `torch.optim.SGD`: the gradient `g` (weight decay included), through
    /// the momentum buffer when there is momentum (its lookahead with
    /// nesterov), scaled by `lr`.
    fn sgd(
        &mut self,
        mut g: Tensor,
        lr: f64,
        momentum: f64,
        dampening: f64,
        nesterov: bool,
    ) -> Result<()> {
        let param = self.var.as_tensor().clone();
        if momentum != 0.0 {
            let buffer = match &self.buffer {
                None => g.clone(),
                Some(previous) => ((previous * momentum)? + (&g * (1.0 - dampening))?)?,
            };
            g = if nesterov {
                (g + (&buffer * momentum)?)?
            } else {
                buffer.clone()
            };
            self.buffer = Some(buffer);
        }
        self.var.set(&(param - (g * lr)?)?)
    }

    /// `torch.optim.Adam` (and AdamW, whose decay made `p`): moves `p` by
    /// the bias-corrected first moment over the root of the second, both
    /// updated from `g`, at learning rate `lr` on step number `step`.
    fn adam(
        &mut self,
        g: Tensor,
        p: Tensor,
        (lr, step): (f64, i32),
        (beta1, beta2): (f64, f64),
        epsilon: f64,
    ) -> Result<()> {
        let m = running_average(self.first.as_ref(), &g, beta1)?;
        let v = running_average(self.second.as_ref(), &g.sqr()?, beta2)?;
        let bias1 = 1.0 - beta1.powi(step);
        let bias2 = 1.0 - beta2.powi(step);
        // torch: p -= lr / bias1 * m / (sqrt(v) / sqrt(bias2) + eps)
        let denominator = ((v.sqrt()? / bias2.sqrt())? + epsilon)?;
        let change = ((&m / denominator)? * (lr / bias1))?;
        self.var.set(&(p - change)?)?;
        self.first = Some(m);
        self.second = Some(v);
        Ok(())
    }

    /// `torch.optim.RMSprop`: the gradient `g` (weight decay included) over
    /// the root of the running mean of its squares (less the square of its
    /// running mean when centered), through a momentum buffer when there is
    /// momentum, scaled by `lr`.
    fn rmsprop(
        &mut self,
        g: Tensor,
        lr: f64,
        alpha: f64,
        epsilon: f64,
        (momentum, centered): (f64, bool),
    ) -> Result<()> {
        let param = self.var.as_tensor().clone();
        let square_avg = running_average(self.second.as_ref(), &g.sqr()?, alpha)?;
        let variance = if centered {
            let mean = running_average(self.mean.as_ref(), &g, alpha)?;
            let variance = (&square_avg - mean.sqr()?)?;
            self.mean = Some(mean);
            variance
        } else {
            square_avg.clone()
        };
        let denominator = (variance.sqrt()? + epsilon)?;
        let scaled = (g / denominator)?;
        let change = if momentum > 0.0 {
            let buffer = match &self.buffer {
                None => scaled,
                Some(b) => ((b * momentum)? + scaled)?,
            };
            self.buffer = Some(buffer.clone());
            buffer
        } else {
            scaled
        };
        self.var.set(&(param - (change * lr)?)?)?;
        self.second = Some(square_avg);
        Ok(())
    }
}

/// PyTorch's running average with coefficient `beta`:
/// `beta * previous + (1 - beta) * value`, with a missing `previous` read
/// as zeros (`(1 - beta) * value`).
fn running_average(previous: Option<&Tensor>, value: &Tensor, beta: f64) -> Result<Tensor> {
    let fresh = (value * (1.0 - beta))?;
    match previous {
        None => Ok(fresh),
        Some(previous) => (previous * beta)? + fresh,
    }
}
