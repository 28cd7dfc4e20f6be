//! The dense training path: networks of linear layers, elementwise
//! activations and dropout on flat rows — the tabular MLPs — trained on the
//! CPU without candle's autograd. Forward and backward are written out over
//! buffers allocated once for the largest batch: the outputs of the first
//! linear layer and of every step after it lie unit by unit
//! ([`Layout::UnitMajor`]), the bias goes into the matrix
//! product's output before it runs, the activation's derivative is taken
//! from the values the forward pass kept, the bias gradient is a vectorised
//! sum over each unit's row, the first layer computes no input gradient, and
//! the optimizer updates the weights in place ([`optim::SliceOptimizer`]).
//! The weights live here while an epoch trains and are written back to the
//! network's variables for scoring and checkpoints.
//!
//! It computes what [`crate::Network::forward`] + `backward` +
//! [`crate::Optimizer::step`] compute, to float rounding: dropout draws its
//! masks from the same stream in the same order. Tests:
//! `crates/pipeline-model/tests/dense.rs` (against the autograd path and
//! PyTorch).

pub(crate) mod gemm;
mod loss;
mod optim;

use candle_core::{Device, Tensor, Var};
use pipeline_spec::Optimizer as OptimizerSpec;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use self::gemm::{Mat, matmul};
pub use self::loss::loss_and_gradient;
pub use self::optim::SliceOptimizer;
use crate::error::ModelError;
use crate::layers::activation::Activation;
use crate::layers::sigmoid_tanh::{map_into, sigmoid, tanh};
use crate::loss::Criterion;
use crate::network::{DenseLayer, Network};
use crate::optim::OptimizerState;

enum Step {
    /// Parameters by their index in [`Network::vars`].
    Linear {
        weight: usize,
        bias: Option<usize>,
        inputs: usize,
        units: usize,
    },
    Activation(Activation),
    /// Kept with probability `1 - rate`, scaled by `1 / (1 - rate)`.
    Dropout {
        rate: f32,
        mask: Vec<f32>,
    },
}

pub struct DenseTrainer {
    steps: Vec<Step>,
    /// The index of the first linear step: the values it reads and those
    /// before lie row by row, the values after it unit by unit
    /// ([`Layout::UnitMajor`]), and so do their gradients.
    first_linear: usize,
    /// The network's variables and their values, in [`Network::vars`] order.
    vars: Vec<Var>,
    params: Vec<Vec<f32>>,
    grads: Vec<Vec<f32>>,
    optimizer: SliceOptimizer,
    criterion: Criterion,
    inputs: usize,
    outputs: usize,
    threads: usize,
    /// `values[0]`: the batch's rows; `values[s + 1]`: step `s`'s output.
    values: Vec<Vec<f32>>,
    /// The batch's targets.
    target: Vec<f32>,
    /// The gradient flowing back, and the next one.
    gradient: Vec<f32>,
    spare: Vec<f32>,
}

impl DenseTrainer {
    /// The dense path for `network`, when it runs it (`None`: use
    /// autograd): CPU only, flat rows, and layers it knows. The optimizer
    /// continues from `state` ([`crate::Optimizer::state`]).
    pub fn new(
        network: &Network,
        optimizer: &OptimizerSpec,
        state: OptimizerState,
        criterion: Criterion,
        device: &Device,
    ) -> Result<Option<DenseTrainer>, ModelError> {
        if !device.is_cpu() {
            return Ok(None);
        }
        let Some(layers) = network.dense_layers() else {
            return Ok(None);
        };
        let vars = network.vars();
        let position = |var: &Var| {
            vars.iter()
                .position(|v| v.as_tensor().id() == var.as_tensor().id())
                .ok_or_else(|| ModelError::Dense {
                    detail: "a linear layer's parameter is not among the network's".into(),
                })
        };
        let mut steps = Vec::with_capacity(layers.len());
        let inputs = network.input_shape().iter().product();
        let mut width = inputs;
        for layer in layers {
            steps.push(match layer {
                DenseLayer::Linear { weight, bias } => {
                    let (units, fan_in) = weight.as_tensor().dims2()?;
                    if fan_in != width {
                        return Err(ModelError::Dense {
                            detail: format!("a linear layer of {fan_in} inputs gets {width}"),
                        });
                    }
                    width = units;
                    Step::Linear {
                        weight: position(&weight)?,
                        bias: bias.as_ref().map(position).transpose()?,
                        inputs: fan_in,
                        units,
                    }
                }
                DenseLayer::Activation(activation) => Step::Activation(activation),
                DenseLayer::Dropout(rate) => Step::Dropout {
                    rate,
                    mask: Vec::new(),
                },
            });
        }
        let params = vars
            .iter()
            .map(|v| v.as_tensor().flatten_all()?.to_vec1::<f32>())
            .collect::<candle_core::Result<Vec<_>>>()?;
        let grads = params.iter().map(|p| vec![0.0; p.len()]).collect();
        let shapes = vars.iter().map(|v| v.as_tensor().dims().to_vec()).collect();
        let first_linear = steps
            .iter()
            .position(|s| matches!(s, Step::Linear { .. }))
            .unwrap_or(steps.len());
        Ok(Some(DenseTrainer {
            values: vec![Vec::new(); steps.len() + 1],
            first_linear,
            steps,
            vars,
            params,
            grads,
            optimizer: SliceOptimizer::new(optimizer, shapes, state)?,
            criterion,
            inputs,
            outputs: width,
            threads: pool_threads(),
            target: Vec::new(),
            gradient: Vec::new(),
            spare: Vec::new(),
        }))
    }

    pub fn set_learning_rate(&mut self, learning_rate: f64) {
        self.optimizer.set_learning_rate(learning_rate);
    }

    /// One optimizer step on the rows `batch` of `x` (`rows × inputs`) and
    /// `y` (`rows × target_width`); returns the batch's loss. `rng` is the
    /// dropout stream, as [`crate::Mode::Train`] takes it.
    pub fn train_batch(
        &mut self,
        x: &[f32],
        y: &[f32],
        target_width: usize,
        batch: &[u32],
        rng: &mut ChaCha8Rng,
    ) -> Result<f32, ModelError> {
        let n = batch.len();
        self.gather(x, y, target_width, batch)?;
        self.forward(n, rng)?;
        let outputs = self.outputs;
        self.gradient.resize(n * outputs, 0.0);
        // The loss reads rows: a unit-major output of several units is
        // turned into rows for it, and its gradient back.
        let turned = self.layout(self.steps.len()) == Layout::UnitMajor && outputs > 1;
        let prediction = self.values.last().map_or(&[][..], Vec::as_slice);
        let prediction = if turned {
            self.spare.clear();
            transpose(prediction, outputs, n, &mut self.spare);
            &self.spare[..]
        } else {
            prediction
        };
        let loss = loss_and_gradient(
            &self.criterion,
            prediction,
            &self.target,
            n,
            outputs,
            &mut self.gradient,
        )?;
        if turned {
            self.spare.clear();
            transpose(&self.gradient, n, outputs, &mut self.spare);
            std::mem::swap(&mut self.gradient, &mut self.spare);
        }
        self.backward(n)?;
        let mut params: Vec<&mut [f32]> = self.params.iter_mut().map(Vec::as_mut_slice).collect();
        let mut grads: Vec<&mut [f32]> = self.grads.iter_mut().map(Vec::as_mut_slice).collect();
        self.optimizer.step(&mut params, &mut grads)?;
        Ok(loss)
    }

    /// Copies the weights into the network's variables.
    pub fn write_back(&self) -> Result<(), ModelError> {
        for (var, values) in self.vars.iter().zip(&self.params) {
            let t = var.as_tensor();
            var.set(&Tensor::from_slice(values, t.dims(), t.device())?)?;
        }
        Ok(())
    }

    /// The optimizer's state, as [`crate::Optimizer::state`] gives it.
    pub fn optimizer_state(&self) -> Result<OptimizerState, ModelError> {
        self.optimizer.state()
    }

    fn gather(
        &mut self,
        x: &[f32],
        y: &[f32],
        width: usize,
        batch: &[u32],
    ) -> Result<(), ModelError> {
        let inputs = self.inputs;
        let rows = self.values.first_mut().ok_or_else(|| ModelError::Dense {
            detail: "no input buffer".into(),
        })?;
        rows.clear();
        self.target.clear();
        for &r in batch {
            let r = r as usize;
            let (Some(features), Some(target)) = (
                x.get(r * inputs..(r + 1) * inputs),
                y.get(r * width..(r + 1) * width),
            ) else {
                return Err(ModelError::Dense {
                    detail: format!("row {r} is outside the training data"),
                });
            };
            rows.extend_from_slice(features);
            self.target.extend_from_slice(target);
        }
        Ok(())
    }

    /// How `values[s]` (the input of step `s`) lies.
    fn layout(&self, s: usize) -> Layout {
        if s > self.first_linear {
            Layout::UnitMajor
        } else {
            Layout::RowMajor
        }
    }

    fn forward(&mut self, n: usize, rng: &mut ChaCha8Rng) -> Result<(), ModelError> {
        let mut width = self.inputs;
        for s in 0..self.steps.len() {
            let layout = self.layout(s);
            let (before, after) = self.values.split_at_mut(s + 1);
            let (input, output) = (&before[s][..n * width], &mut after[0]);
            match &mut self.steps[s] {
                Step::Linear {
                    weight,
                    bias,
                    inputs,
                    units,
                } => {
                    linear_forward(
                        output,
                        rows_of(input, n, width, layout),
                        Mat::row_major(&self.params[*weight], *units, *inputs),
                        bias.map(|b| self.params[b].as_slice()),
                        self.threads,
                    )?;
                    width = *units;
                }
                Step::Activation(activation) => {
                    // Same length every batch but the last: no refill.
                    output.resize(input.len(), 0.0);
                    activate_into(*activation, input, output);
                }
                Step::Dropout { rate, mask } => {
                    mask.clear();
                    mask.resize(input.len(), 1.0);
                    if *rate != 0.0 {
                        // Drawn row by row whatever the layout, as the
                        // network's forward pass draws them.
                        let keep = 1.0 - *rate;
                        for r in 0..n {
                            for c in 0..width {
                                let i = match layout {
                                    Layout::RowMajor => r * width + c,
                                    Layout::UnitMajor => c * n + r,
                                };
                                mask[i] = if rng.random::<f32>() < keep {
                                    1.0 / keep
                                } else {
                                    0.0
                                };
                            }
                        }
                    }
                    output.clear();
                    output.extend(input.iter().zip(mask.iter()).map(|(v, m)| v * m));
                }
            }
        }
        Ok(())
    }

    /// The gradients of the weights from the output's gradient
    /// (`self.gradient`, unit-major), layer by layer back to the first
    /// linear one, which computes no input gradient.
    fn backward(&mut self, n: usize) -> Result<(), ModelError> {
        let first_linear = self.first_linear;
        for s in (first_linear..self.steps.len()).rev() {
            let input = &self.values[s];
            let output = &self.values[s + 1];
            match &self.steps[s] {
                Step::Activation(activation) => {
                    scale_by_derivative(*activation, &mut self.gradient, input, output);
                }
                Step::Dropout { mask, .. } => {
                    for (g, m) in self.gradient.iter_mut().zip(mask) {
                        *g *= m;
                    }
                }
                Step::Linear {
                    weight,
                    bias,
                    inputs,
                    units,
                } => {
                    // `g`: units × n; `x`: n × inputs; `w`: units × inputs.
                    let g = Mat::row_major(&self.gradient[..n * units], *units, n);
                    let x = rows_of(&input[..n * inputs], n, *inputs, self.layout(s));
                    let w = Mat::row_major(&self.params[*weight], *units, *inputs);
                    let weight_grad = &mut self.grads[*weight];
                    if s > first_linear {
                        // The weight's gradient (`g · x`) and the input's
                        // (`wᵀ · g`, inputs × n) are independent products of
                        // the same size here: one on each half of the pool
                        // beats both split in two.
                        self.spare.resize(n * inputs, 0.0);
                        let spare = &mut self.spare;
                        let half = (self.threads / 2).max(1);
                        let (weights, inputs) = if self.threads > 1 {
                            rayon::join(
                                || matmul(weight_grad, g, x, false, half),
                                || matmul(spare, w.t(), g, false, half),
                            )
                        } else {
                            (
                                matmul(weight_grad, g, x, false, 1),
                                matmul(spare, w.t(), g, false, 1),
                            )
                        };
                        weights?;
                        inputs?;
                    } else {
                        matmul(weight_grad, g, x, false, self.threads)?;
                    }
                    if let Some(bias) = bias {
                        let unit_gradients = self.gradient[..n * units].chunks_exact(n.max(1));
                        for (total, unit) in self.grads[*bias].iter_mut().zip(unit_gradients) {
                            *total = sum(unit);
                        }
                    }
                    if s > first_linear {
                        std::mem::swap(&mut self.gradient, &mut self.spare);
                    }
                }
            }
        }
        Ok(())
    }
}

/// The `rows × width` matrix `values` holds in `layout`.
fn rows_of(values: &[f32], rows: usize, width: usize, layout: Layout) -> Mat<'_> {
    match layout {
        Layout::RowMajor => Mat::row_major(values, rows, width),
        Layout::UnitMajor => Mat::row_major(values, width, rows).t(),
    }
}

/// Appends the transpose of `from` (`rows × cols`, row-major) to `to`.
fn transpose(from: &[f32], rows: usize, cols: usize, to: &mut Vec<f32>) {
    to.extend((0..cols).flat_map(|c| (0..rows).map(move |r| from[r * cols + c])));
}

/// The sum of `values` in eight lanes, so that it vectorises.
fn sum(values: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks = values.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().sum();
    for chunk in chunks {
        for (lane, v) in lanes.iter_mut().zip(chunk) {
            *lane += v;
        }
    }
    lanes.iter().sum::<f32>() + rest
}

/// How a layer's outputs lie in memory.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Layout {
    /// `rows × units`: row after row, as the network's inputs and outputs.
    RowMajor,
    /// `units × rows`: unit after unit. The product is then `weight ·
    /// inputᵀ`, whose long side (the units) is the kernel's: measured on the
    /// 2-core machine, the 784-512-512-10 MLP predicts 10–30% faster in
    /// calls of 32 to 1,024 rows than with `input · weightᵀ`.
    UnitMajor,
}

/// A linear layer's outputs for `input` (`rows × fan_in`, any strides) and
/// the `units × fan_in` weight, `input · weightᵀ + bias`, laid out unit by
/// unit (`units × rows`: the product is `weight · inputᵀ`, see
/// [`Layout::UnitMajor`]); the bias is copied into the output first so that
/// the product adds onto it.
fn linear_forward(
    output: &mut Vec<f32>,
    input: Mat<'_>,
    weight: Mat<'_>,
    bias: Option<&[f32]>,
    threads: usize,
) -> Result<(), ModelError> {
    let (rows, units) = (input.rows, weight.rows);
    output.resize(rows * units, 0.0);
    if let Some(bias) = bias {
        for (unit, &b) in output.chunks_exact_mut(rows.max(1)).zip(bias) {
            unit.fill(b);
        }
    }
    matmul(output, weight, input.t(), bias.is_some(), threads)
}

/// `output[i] = f(input[i])` for the activation `f`: one loop per
/// activation, chosen once, so that each vectorises.
fn activate_into(activation: Activation, input: &[f32], output: &mut [f32]) {
    // Compiled for the CPU's widest vectors (see `optim`): same bits.
    match activation {
        Activation::Relu => map_into(input, output, |x| x.max(0.0)),
        Activation::Sigmoid => map_into(input, output, sigmoid),
        Activation::Tanh => map_into(input, output, tanh),
        Activation::LeakyRelu { negative_slope } => {
            let slope = negative_slope as f32;
            map_into(input, output, |x| if x > 0.0 { x } else { x * slope });
        }
        Activation::Silu => map_into(input, output, |x| x * sigmoid(x)),
        // Not taken by the dense path (see `Network::dense_layers`).
        Activation::Gelu | Activation::Softmax => output.copy_from_slice(input),
    }
}

/// `gradient[i] *= f'(input[i])` for the activation `f` with outputs
/// `output` (sigmoid and tanh take their derivative from the output), one
/// loop per activation.
fn scale_by_derivative(
    activation: Activation,
    gradient: &mut [f32],
    input: &[f32],
    output: &[f32],
) {
    fn each(gradient: &mut [f32], input: &[f32], output: &[f32], d: impl Fn(f32, f32) -> f32) {
        pulp::Arch::new().dispatch(
            #[inline(always)]
            || {
                for ((g, &x), &y) in gradient.iter_mut().zip(input).zip(output) {
                    *g *= d(x, y);
                }
            },
        );
    }
    match activation {
        Activation::Relu => each(
            gradient,
            input,
            output,
            |x, _| {
                if x > 0.0 { 1.0 } else { 0.0 }
            },
        ),
        Activation::Sigmoid => each(gradient, input, output, |_, y| y * (1.0 - y)),
        Activation::Tanh => each(gradient, input, output, |_, y| 1.0 - y * y),
        Activation::LeakyRelu { negative_slope } => {
            let slope = negative_slope as f32;
            each(
                gradient,
                input,
                output,
                |x, _| if x > 0.0 { 1.0 } else { slope },
            );
        }
        Activation::Silu => each(gradient, input, output, |x, _| {
            let s = sigmoid(x);
            s * (1.0 + x * (1.0 - s))
        }),
        Activation::Gelu | Activation::Softmax => {}
    }
}

/// Rows per pass of [`predict_rows`]: enough for the matrix products to
/// run near the kernel's speed, few enough that a wide layer's activations
/// stay in the cache. Measured on the 2-core machine (rows/s, best of 7
/// interleaved passes): the 784-512-512-10 MLP on two threads 45.6k at 256
/// rows, 66.7k at 1,024, 40.4k at 8,192; SimpleNN on one thread 10.7M at
/// 256, 11.6M at 1,024, 7.0M at 65,536.
pub const PREDICT_ROWS: usize = 1024;

/// The outputs of `network` for the rows of `x` (`rows × inputs`), in
/// evaluation mode (dropout off), row-major — as [`Network::forward`] with
/// [`crate::Mode::Eval`] gives them — computed by the dense path straight
/// from the tensor's and the variables' memory. `None` when the dense path
/// does not run this network or these tensors (not on the CPU, or not
/// contiguous): use [`Network::forward`].
pub fn predict(network: &Network, x: &Tensor) -> Result<Option<Vec<f32>>, ModelError> {
    let [_, width] = x.dims() else {
        return Ok(None);
    };
    match with_values(x, |values| predict_rows(network, values, *width))? {
        Some(outputs) => outputs,
        None => Ok(None),
    }
}

/// [`predict`] of rows given as a row-major slice (`width` values per
/// row), [`PREDICT_ROWS`] rows per pass through buffers kept between
/// passes. `None` when the dense path does not run this network (or its
/// weights are not in CPU memory).
pub fn predict_rows(
    network: &Network,
    inputs: &[f32],
    width: usize,
) -> Result<Option<Vec<f32>>, ModelError> {
    let Some(layers) = network.dense_layers() else {
        return Ok(None);
    };
    let threads = pool_threads();
    let width = width.max(1);
    let mut outputs = Vec::new();
    // Each layer writes `out` from `h`, then the two trade places. They are
    // the thread's, kept between calls: a fresh buffer of a few hundred
    // kilobytes per call is a fresh mapping and its page faults, which made
    // calls of 512 to 1,024 rows four times slower than calls of 256.
    let (mut h, mut out) = SCRATCH.with_borrow_mut(std::mem::take);
    let result = passes(
        &layers,
        inputs,
        width,
        threads,
        &mut h,
        &mut out,
        &mut outputs,
    );
    SCRATCH.with_borrow_mut(|kept| *kept = (h, out));
    Ok(result?.map(|()| outputs))
}

thread_local! {
    /// [`predict_rows`]'s two activation buffers, between calls.
    static SCRATCH: std::cell::RefCell<(Vec<f32>, Vec<f32>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// The passes of [`predict_rows`], appending to `outputs`; `None` when a
/// layer's weights are not in CPU memory or do not fit. Each pass reads its
/// rows in place and lays the layers' outputs out unit by unit
/// ([`Layout::UnitMajor`]), turning only the last one back into rows.
fn passes(
    layers: &[DenseLayer],
    inputs: &[f32],
    width: usize,
    threads: usize,
    h: &mut Vec<f32>,
    out: &mut Vec<f32>,
    outputs: &mut Vec<f32>,
) -> Result<Option<()>, ModelError> {
    outputs.reserve(inputs.len() / width);
    for slice in inputs.chunks(PREDICT_ROWS * width) {
        let rows = slice.len() / width;
        // What the next layer reads: the pass's rows until a layer has
        // written `h`, and how it lies.
        let mut in_h = false;
        let mut layout = Layout::RowMajor;
        let mut width = width;
        for layer in layers {
            let current: &[f32] = if in_h { h } else { slice };
            match layer {
                DenseLayer::Linear { weight, bias } => {
                    let (units, fan_in) = weight.as_tensor().dims2()?;
                    if fan_in != width {
                        return Ok(None);
                    }
                    let input = rows_of(current, rows, width, layout);
                    let bias = match bias {
                        None => None,
                        Some(bias) => match with_values(bias.as_tensor(), <[f32]>::to_vec)? {
                            Some(values) => Some(values),
                            None => return Ok(None),
                        },
                    };
                    let done = with_values(weight.as_tensor(), |w| {
                        linear_forward(
                            out,
                            input,
                            Mat::row_major(w, units, fan_in),
                            bias.as_deref(),
                            threads,
                        )
                    })?;
                    match done {
                        Some(result) => result?,
                        None => return Ok(None),
                    }
                    layout = Layout::UnitMajor;
                    width = units;
                }
                DenseLayer::Activation(activation) => {
                    out.resize(current.len(), 0.0);
                    activate_into(*activation, current, out);
                }
                DenseLayer::Dropout(_) => continue,
            }
            std::mem::swap(h, out);
            in_h = true;
        }
        let last: &[f32] = if in_h { h } else { slice };
        match layout {
            Layout::RowMajor => outputs.extend_from_slice(last),
            Layout::UnitMajor => transpose(last, width, rows, outputs),
        }
    }
    Ok(Some(()))
}

/// The threads the products may use: candle's count (`RAYON_NUM_THREADS`,
/// else the physical cores), read once. Without the variable candle reads
/// `/proc/cpuinfo` for it at every call, tens of microseconds, which made
/// small calls of [`predict_rows`] six times slower.
fn pool_threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(candle_core::utils::get_num_threads)
}

/// `f` of a contiguous CPU `f32` tensor's values, read in place; `None` for
/// other tensors.
fn with_values<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<Option<R>, ModelError> {
    let (storage, layout) = t.storage_and_layout();
    let candle_core::Storage::Cpu(cpu) = &*storage else {
        return Ok(None);
    };
    if !layout.is_contiguous() || t.dtype() != candle_core::DType::F32 {
        return Ok(None);
    }
    let start = layout.start_offset();
    let values = cpu.as_slice::<f32>()?;
    Ok(values.get(start..start + t.elem_count()).map(f))
}
