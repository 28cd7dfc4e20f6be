//! The optimizer's update rules ([`crate::Optimizer`]: PyTorch's SGD, Adam,
//! AdamW and RMSprop, weight decay, clipping) applied in place to raw `f32`
//! buffers: one pass over each parameter instead of a dozen tensor
//! operations that each allocate their result, split across the rayon pool
//! for large parameters, each piece compiled for the widest vectors the CPU
//! has (`pulp`'s runtime dispatch: the same operations in the same order,
//! so the same bits, 1.7× faster for Adam on AVX2 than the baseline
//! x86-64's SSE2). Its state converts to and from
//! [`OptimizerState`], so checkpoints do not depend on the path that
//! trained.

use candle_core::{Device, Tensor};
use pipeline_spec::{Algorithm, Optimizer as OptimizerSpec};
use rayon::prelude::*;

use crate::error::ModelError;
use crate::optim::{CLIP_NORM_EPSILON, OptimizerState, SlotState};

/// Parameters with fewer values are updated on the calling thread.
const PARALLEL_MIN: usize = 1 << 15;
/// Values per parallel task.
const CHUNK: usize = 1 << 14;

#[derive(Default)]
struct Buffers {
    buffer: Option<Vec<f32>>,
    first: Option<Vec<f32>>,
    second: Option<Vec<f32>>,
    mean: Option<Vec<f32>>,
}

pub struct SliceOptimizer {
    spec: OptimizerSpec,
    learning_rate: f64,
    step: i32,
    /// One per parameter, with its shape.
    slots: Vec<(Vec<usize>, Buffers)>,
}

impl SliceOptimizer {
    /// For parameters of `shapes`, continuing from `state` (taken from a
    /// [`crate::Optimizer`] or a [`SliceOptimizer`] of the same parameters).
    pub fn new(
        spec: &OptimizerSpec,
        shapes: Vec<Vec<usize>>,
        state: OptimizerState,
    ) -> Result<SliceOptimizer, ModelError> {
        if state.slots.len() != shapes.len() {
            return Err(ModelError::State {
                detail: format!(
                    "the optimizer state has {} parameter(s), the network {}",
                    state.slots.len(),
                    shapes.len()
                ),
            });
        }
        let mut slots = Vec::with_capacity(shapes.len());
        for (index, (shape, saved)) in shapes.into_iter().zip(state.slots).enumerate() {
            let len: usize = shape.iter().product();
            let read = |name: &str, t: Option<Tensor>| -> Result<Option<Vec<f32>>, ModelError> {
                let Some(t) = t else { return Ok(None) };
                let values = t
                    .to_dtype(candle_core::DType::F32)?
                    .flatten_all()?
                    .to_vec1::<f32>()?;
                if values.len() != len {
                    return Err(ModelError::State {
                        detail: format!(
                            "optimizer buffer `{name}` of parameter {index} has {} values, the \
                             parameter {len}",
                            values.len()
                        ),
                    });
                }
                Ok(Some(values))
            };
            let buffers = Buffers {
                buffer: read("buffer", saved.buffer)?,
                first: read("first", saved.first)?,
                second: read("second", saved.second)?,
                mean: read("mean", saved.mean)?,
            };
            slots.push((shape, buffers));
        }
        Ok(SliceOptimizer {
            spec: *spec,
            learning_rate: spec.learning_rate,
            step: state.step,
            slots,
        })
    }

    pub fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    /// The state as [`crate::Optimizer::state`] gives it, on the CPU.
    pub fn state(&self) -> Result<OptimizerState, ModelError> {
        let tensor = |values: &Option<Vec<f32>>, shape: &[usize]| -> Result<_, ModelError> {
            values
                .as_ref()
                .map(|v| Tensor::from_slice(v, shape, &Device::Cpu))
                .transpose()
                .map_err(ModelError::from)
        };
        let slots = self
            .slots
            .iter()
            .map(|(shape, b)| {
                Ok(SlotState {
                    buffer: tensor(&b.buffer, shape)?,
                    first: tensor(&b.first, shape)?,
                    second: tensor(&b.second, shape)?,
                    mean: tensor(&b.mean, shape)?,
                })
            })
            .collect::<Result<_, ModelError>>()?;
        Ok(OptimizerState {
            step: self.step,
            slots,
        })
    }

    /// One update of every parameter from its gradient (both in the order
    /// of the shapes given to [`SliceOptimizer::new`]). Gradients are
    /// clipped in place first when the spec says so.
    pub fn step(
        &mut self,
        params: &mut [&mut [f32]],
        grads: &mut [&mut [f32]],
    ) -> Result<(), ModelError> {
        if params.len() != self.slots.len() || grads.len() != self.slots.len() {
            return Err(ModelError::Dense {
                detail: format!(
                    "{} parameters and {} gradients for an optimizer of {}",
                    params.len(),
                    grads.len(),
                    self.slots.len()
                ),
            });
        }
        for ((shape, _), (p, g)) in self.slots.iter().zip(params.iter().zip(grads.iter())) {
            let len: usize = shape.iter().product();
            if p.len() != len || g.len() != len {
                return Err(ModelError::Dense {
                    detail: format!(
                        "a parameter of {len} values got {} values and {} gradients",
                        p.len(),
                        g.len()
                    ),
                });
            }
        }
        self.step += 1;
        if let Some(limit) = self.spec.clip_grad_value {
            let limit = limit as f32;
            for g in grads.iter_mut() {
                for x in g.iter_mut() {
                    *x = x.clamp(-limit, limit);
                }
            }
        }
        if let Some(max_norm) = self.spec.clip_grad_norm {
            let squares: f64 = grads
                .iter()
                .map(|g| g.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>())
                .sum();
            let coefficient =
                (max_norm / (squares.sqrt() + CLIP_NORM_EPSILON)).clamp(0.0, 1.0) as f32;
            for g in grads.iter_mut() {
                for x in g.iter_mut() {
                    *x *= coefficient;
                }
            }
        }
        let rule = Rule::new(&self.spec, self.learning_rate, self.step);
        for ((_, buffers), (p, g)) in self
            .slots
            .iter_mut()
            .zip(params.iter_mut().zip(grads.iter()))
        {
            rule.apply(buffers, p, g);
        }
        Ok(())
    }
}

/// The constants of one step's update, as `f32` (the tensor path's scalar
/// operations also compute in the tensors' `f32`).
#[derive(Clone, Copy)]
enum Rule {
    Sgd {
        lr: f32,
        decay: f32,
        momentum: f32,
        dampening: f32,
        nesterov: bool,
    },
    Adam {
        /// `1 - lr·decay` for adamw (decoupled), 1 otherwise.
        shrink: f32,
        /// L2 decay added to the gradient (adam), 0 for adamw.
        decay: f32,
        beta1: f32,
        beta2: f32,
        epsilon: f32,
        /// lr / (1 - β1^t).
        step_size: f32,
        /// √(1 - β2^t).
        bias2_sqrt: f32,
    },
    RmsProp {
        lr: f32,
        decay: f32,
        alpha: f32,
        epsilon: f32,
        momentum: f32,
        centered: bool,
    },
}

impl Rule {
    fn new(spec: &OptimizerSpec, lr: f64, step: i32) -> Rule {
        let decay = spec.weight_decay;
        match spec.algorithm {
            Algorithm::Sgd {
                momentum,
                dampening,
                nesterov,
            } => Rule::Sgd {
                lr: lr as f32,
                decay: decay as f32,
                momentum: momentum as f32,
                dampening: dampening as f32,
                nesterov,
            },
            Algorithm::Adam {
                beta1,
                beta2,
                epsilon,
            }
            | Algorithm::AdamW {
                beta1,
                beta2,
                epsilon,
            } => {
                let decoupled = matches!(spec.algorithm, Algorithm::AdamW { .. });
                Rule::Adam {
                    shrink: if decoupled {
                        (1.0 - lr * decay) as f32
                    } else {
                        1.0
                    },
                    decay: if decoupled { 0.0 } else { decay as f32 },
                    beta1: beta1 as f32,
                    beta2: beta2 as f32,
                    epsilon: epsilon as f32,
                    step_size: (lr / (1.0 - beta1.powi(step))) as f32,
                    bias2_sqrt: (1.0 - beta2.powi(step)).sqrt() as f32,
                }
            }
            Algorithm::RmsProp {
                alpha,
                epsilon,
                momentum,
                centered,
            } => Rule::RmsProp {
                lr: lr as f32,
                decay: decay as f32,
                alpha: alpha as f32,
                epsilon: epsilon as f32,
                momentum: momentum as f32,
                centered,
            },
        }
    }

    /// Updates one parameter `p` from its gradient `g`, creating the
    /// buffers its rule keeps on the first step.
    fn apply(self, buffers: &mut Buffers, p: &mut [f32], g: &[f32]) {
        let zeros = || vec![0.0f32; p.len()];
        match self {
            Rule::Sgd { momentum, .. } => {
                if momentum == 0.0 {
                    return par_update(p, g, vec![], move |p, g, _| self.sgd_plain(p, g));
                }
                // PyTorch starts the momentum buffer at the first gradient.
                let fresh = buffers.buffer.is_none();
                let buffer = buffers.buffer.get_or_insert_with(zeros);
                par_update(p, g, vec![buffer], move |p, g, s| {
                    self.sgd_momentum(p, g, s, fresh)
                });
            }
            Rule::Adam { .. } => {
                let first = buffers.first.get_or_insert_with(zeros);
                let second = buffers.second.get_or_insert_with(zeros);
                par_update(p, g, vec![first, second], move |p, g, s| self.adam(p, g, s));
            }
            Rule::RmsProp {
                momentum, centered, ..
            } => {
                let mut states = vec![buffers.second.get_or_insert_with(zeros)];
                if centered {
                    states.push(buffers.mean.get_or_insert_with(zeros));
                }
                if momentum > 0.0 {
                    states.push(buffers.buffer.get_or_insert_with(zeros));
                }
                par_update(p, g, states, move |p, g, s| self.rmsprop(p, g, s));
            }
        }
    }

    #[inline(always)]
    fn sgd_plain(self, p: &mut [f32], g: &[f32]) {
        let Rule::Sgd { lr, decay, .. } = self else {
            return;
        };
        for (p, &g) in p.iter_mut().zip(g) {
            let g = g + *p * decay;
            *p -= g * lr;
        }
    }

    #[inline(always)]
    fn sgd_momentum(self, p: &mut [f32], g: &[f32], s: &mut [&mut [f32]], fresh: bool) {
        let Rule::Sgd {
            lr,
            decay,
            momentum,
            dampening,
            nesterov,
        } = self
        else {
            return;
        };
        let [buffer] = s else { return };
        for ((p, &g), b) in p.iter_mut().zip(g).zip(buffer.iter_mut()) {
            let g = g + *p * decay;
            *b = if fresh {
                g
            } else {
                *b * momentum + g * (1.0 - dampening)
            };
            let change = if nesterov { g + *b * momentum } else { *b };
            *p -= change * lr;
        }
    }

    #[inline(always)]
    fn adam(self, p: &mut [f32], g: &[f32], s: &mut [&mut [f32]]) {
        let Rule::Adam {
            shrink,
            decay,
            beta1,
            beta2,
            epsilon,
            step_size,
            bias2_sqrt,
        } = self
        else {
            return;
        };
        let [m, v] = s else { return };
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            let g = g + *p * decay;
            *m = *m * beta1 + g * (1.0 - beta1);
            *v = *v * beta2 + g * g * (1.0 - beta2);
            let denominator = v.sqrt() / bias2_sqrt + epsilon;
            *p = *p * shrink - *m / denominator * step_size;
        }
    }

    #[inline(always)]
    fn rmsprop(self, p: &mut [f32], g: &[f32], s: &mut [&mut [f32]]) {
        let Rule::RmsProp {
            lr,
            decay,
            alpha,
            epsilon,
            momentum,
            centered,
        } = self
        else {
            return;
        };
        let (square, rest) = match s {
            [square, rest @ ..] => (square, rest),
            [] => return,
        };
        let (mut mean, mut buffer) = match (centered, momentum > 0.0, rest) {
            (true, true, [mean, buffer]) => (Some(mean), Some(buffer)),
            (true, false, [mean]) => (Some(mean), None),
            (false, true, [buffer]) => (None, Some(buffer)),
            (false, false, []) => (None, None),
            _ => return,
        };
        for i in 0..p.len() {
            let g = g[i] + p[i] * decay;
            square[i] = square[i] * alpha + g * g * (1.0 - alpha);
            let variance = match mean.as_deref_mut() {
                Some(mean) => {
                    mean[i] = mean[i] * alpha + g * (1.0 - alpha);
                    square[i] - mean[i] * mean[i]
                }
                None => square[i],
            };
            let scaled = g / (variance.sqrt() + epsilon);
            let change = match buffer.as_deref_mut() {
                Some(buffer) => {
                    buffer[i] = buffer[i] * momentum + scaled;
                    buffer[i]
                }
                None => scaled,
            };
            p[i] -= change * lr;
        }
    }
}

/// Matching pieces of a parameter, its gradient and its state buffers.
type Piece<'a> = (&'a mut [f32], &'a [f32], Vec<&'a mut [f32]>);

/// Runs `kernel` over matching pieces of a parameter, its gradient and its
/// state buffers: on this thread for small parameters, in chunks across
/// the rayon pool for large ones.
fn par_update<F>(p: &mut [f32], g: &[f32], mut states: Vec<&mut Vec<f32>>, kernel: F)
where
    F: Fn(&mut [f32], &[f32], &mut [&mut [f32]]) + Sync,
{
    let arch = pulp::Arch::new();
    if p.len() < PARALLEL_MIN {
        let mut whole: Vec<&mut [f32]> = states.iter_mut().map(|s| s.as_mut_slice()).collect();
        arch.dispatch(
            #[inline(always)]
            || kernel(p, g, &mut whole),
        );
        return;
    }
    let mut chunked: Vec<_> = states.iter_mut().map(|s| s.chunks_mut(CHUNK)).collect();
    let tasks: Vec<Piece<'_>> = p
        .chunks_mut(CHUNK)
        .zip(g.chunks(CHUNK))
        .map(|(p, g)| {
            let pieces = chunked.iter_mut().filter_map(Iterator::next).collect();
            (p, g, pieces)
        })
        .collect();
    tasks.into_par_iter().for_each(|(p, g, mut pieces)| {
        arch.dispatch(
            #[inline(always)]
            || kernel(p, g, &mut pieces),
        )
    });
}
