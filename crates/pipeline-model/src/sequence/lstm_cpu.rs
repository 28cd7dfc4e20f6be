//! A whole LSTM sequence of `f32` on the CPU as one candle op, forward and
//! backward (through time). Built from candle's ops a step was about
//! fifteen small tensors forward and as many backward, each with its own
//! allocation, and the backward's zero-filled gradients and adds: co2_lstm
//! (52 steps, 16 units) trained at half PyTorch's speed (issue 20).
//!
//! Forward: the input's share of every gate for all steps in one product
//! (`X · W_x`, rows `(batch, time)`), then per step `z = that + b + h ·
//! W_h` (one product over the batch) and the gate arithmetic in place,
//! keeping the gates, the cells and the hidden states for the backward
//! pass. Backward: per step from the last, the gates' gradients `dz`, then
//! `dh = dz · W_hᵀ` and `dW_h += h_{t−1}ᵀ · dz`; after the loop `dW_x =
//! Xᵀ · dz`, `dx = dz · W_xᵀ` and `db = Σ dz`, each one product over
//! every step. The same `sigmoid` and `tanh` kernels as the layers'.

use std::sync::{Arc, Mutex};

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use crate::dense::gemm::{Mat, matmul};
use crate::layers::cpu::values;
use crate::layers::sigmoid_tanh::{sigmoid, tanh};

/// The sizes of one sequence: batch, steps, input features, hidden units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sizes {
    batch: usize,
    time: usize,
    features: usize,
    hidden: usize,
}

impl Sizes {
    fn gates(&self) -> usize {
        4 * self.hidden
    }

    /// From `x (B, T, F)`, `weight (F + H, 4H)` and `bias (4H)`.
    fn new(x: &[usize], weight: &[usize], bias: &[usize], hidden: usize) -> Result<Sizes> {
        let (&[batch, time, features], &[rows, gates], &[bias_len]) = (x, weight, bias) else {
            candle_core::bail!(
                "lstm takes (B, T, F), (F + H, 4H) and (4H), got {x:?}, {weight:?}, {bias:?}"
            );
        };
        if rows != features + hidden || gates != 4 * hidden || bias_len != gates || time == 0 {
            candle_core::bail!(
                "lstm of {x:?} with weight {weight:?} and bias {bias:?}, {hidden} units"
            );
        }
        Ok(Sizes {
            batch,
            time,
            features,
            hidden,
        })
    }
}

/// What the forward pass keeps for the backward pass, time-major.
#[derive(Debug)]
struct Tape {
    /// `(T, B, 4H)`: the gates after their activation (i, f, g, o).
    gates: Vec<f32>,
    /// `(T, B, H)`: the cells `c_t`.
    cells: Vec<f32>,
    /// `(T + 1, B, H)`: `h_{-1} = 0`, then every step's hidden state.
    hidden: Vec<f32>,
}

fn product(dst: &mut [f32], a: Mat<'_>, b: Mat<'_>, accumulate: bool) -> Result<()> {
    matmul(dst, a, b, accumulate, rayon::current_num_threads()).map_err(candle_core::Error::wrap)
}

/// Rows of the batch each part takes at least: the parts run side by side
/// on the pool, each through every step. The size depends on the batch
/// alone, so that the sums of the weight gradients are added the same way
/// whatever the number of cores.
const PART_ROWS: usize = 32;
/// Parts a large batch is cut into at most: scoring 1,160 rows in parts of
/// 32 made every step 37 products of 32 rows, mostly call overhead.
const MAX_PARTS: usize = 16;

/// The rows of each part of a batch of `batch` rows.
fn part_rows(batch: usize) -> usize {
    PART_ROWS.max(batch.div_ceil(MAX_PARTS))
}
/// Below this many gate values in all, the parts run on the calling thread.
const PARALLEL_GATES: usize = 1 << 16;

/// `work(rows)` for each part of the batch, in order.
fn in_parts<T: Send>(
    s: Sizes,
    work: impl Fn(std::ops::Range<usize>) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let rows = part_rows(s.batch);
    let parts: Vec<_> = (0..s.batch.div_ceil(rows))
        .map(|p| p * rows..((p + 1) * rows).min(s.batch))
        .collect();
    if parts.len() < 2 || s.batch * s.time * s.gates() < PARALLEL_GATES {
        parts.into_iter().map(work).collect()
    } else {
        parts.into_par_iter().map(&work).collect()
    }
}

/// One step's gate gradients for every row (`dz_step`, rows × 4h) from
/// the tape's gates and cells, the hidden state's gradient `dh` and the
/// cell's `dc` (which becomes the previous step's).
#[inline(always)]
fn gate_gradients(
    h: usize,
    gates: &[f32],
    cells: &[f32],
    before: Option<&[f32]>,
    dh: &[f32],
    dc: &mut [f32],
    dz_step: &mut [f32],
) {
    let g = 4 * h;
    for row in 0..dh.len() / h.max(1) {
        let gate = &gates[row * g..][..g];
        let out = &mut dz_step[row * g..][..g];
        let (i, rest) = gate.split_at(h);
        let (fg, rest) = rest.split_at(h);
        let (cg, o) = rest.split_at(h);
        let (d_i, rest) = out.split_at_mut(h);
        let (d_f, rest) = rest.split_at_mut(h);
        let (d_g, d_o) = rest.split_at_mut(h);
        let cells = &cells[row * h..][..h];
        let dh = &dh[row * h..][..h];
        let dc = &mut dc[row * h..][..h];
        for k in 0..h {
            let tc = tanh(cells[k]);
            let previous = before.map_or(0.0, |c| c[row * h + k]);
            let d_cell = dc[k] + dh[k] * o[k] * (1.0 - tc * tc);
            dc[k] = d_cell * fg[k];
            d_i[k] = d_cell * cg[k] * i[k] * (1.0 - i[k]);
            d_f[k] = d_cell * previous * fg[k] * (1.0 - fg[k]);
            d_g[k] = d_cell * i[k] * (1.0 - cg[k] * cg[k]);
            d_o[k] = dh[k] * tc * o[k] * (1.0 - o[k]);
        }
    }
}

/// The forward pass of the rows of `x` (`s.batch` of them), kept as a tape.
fn forward_part(s: Sizes, x: &[f32], weight: &[f32], bias: &[f32]) -> Result<Tape> {
    let (b, t, f, h, g) = (s.batch, s.time, s.features, s.hidden, s.gates());
    // The input's share of every gate, rows (batch, time).
    let mut projected = vec![0.0f32; b * t * g];
    product(
        &mut projected,
        Mat::row_major(x, b * t, f),
        Mat::row_major(&weight[..f * g], f, g),
        false,
    )?;
    let recurrent = Mat::row_major(&weight[f * g..], h, g);
    let mut tape = Tape {
        gates: vec![0.0; t * b * g],
        cells: vec![0.0; t * b * h],
        hidden: vec![0.0; (t + 1) * b * h],
    };
    for step in 0..t {
        let z = &mut tape.gates[step * b * g..][..b * g];
        for (row, z) in z.chunks_exact_mut(g).enumerate() {
            let from = &projected[(row * t + step) * g..][..g];
            for ((z, &p), &bias) in z.iter_mut().zip(from).zip(bias) {
                *z = p + bias;
            }
        }
        let (before, after) = tape.hidden.split_at_mut((step + 1) * b * h);
        let previous = &before[step * b * h..];
        product(z, Mat::row_major(previous, b, h), recurrent, true)?;
        let (done, cells) = tape.cells.split_at_mut(step * b * h);
        let cells = &mut cells[..b * h];
        let before = (step > 0).then(|| &done[(step - 1) * b * h..]);
        let next = &mut after[..b * h];
        // A closure that only calls: `gate_step` inlines into the widest
        // instruction set's function (a large closure body was compiled on
        // its own, for SSE2).
        pulp::Arch::new().dispatch(|| gate_step(h, z, cells, before, next));
    }
    Ok(tape)
}

/// One step's gate arithmetic for every row: `z` (rows × 4h, the gates'
/// inputs) becomes the gates, then the cells and the new hidden state.
#[inline(always)]
fn gate_step(h: usize, z: &mut [f32], cells: &mut [f32], before: Option<&[f32]>, next: &mut [f32]) {
    let g = 4 * h;
    for row in 0..next.len() / h.max(1) {
        let z = &mut z[row * g..][..g];
        let (ifg, rest) = z.split_at_mut(2 * h);
        let (cg, o) = rest.split_at_mut(h);
        ifg.iter_mut().for_each(|v| *v = sigmoid(*v));
        cg.iter_mut().for_each(|v| *v = tanh(*v));
        o.iter_mut().for_each(|v| *v = sigmoid(*v));
        let (i, fg) = ifg.split_at(h);
        let c = &mut cells[row * h..][..h];
        let state = &mut next[row * h..][..h];
        match before {
            Some(before) => {
                let before = &before[row * h..][..h];
                for (k, c) in c.iter_mut().enumerate() {
                    *c = fg[k] * before[k] + i[k] * cg[k];
                }
            }
            None => {
                for (k, c) in c.iter_mut().enumerate() {
                    *c = i[k] * cg[k];
                }
            }
        }
        for ((state, &c), &o) in state.iter_mut().zip(c.iter()).zip(o.iter()) {
            *state = o * tanh(c);
        }
    }
}

/// The LSTM over a whole sequence: `(x, weight, bias)` → the last hidden
/// state `(B, H)` or every step's `(B, T, H)`.
struct LstmSequence {
    hidden: usize,
    sequences: bool,
    /// One tape per part, shared with each backward pass (a graph may be
    /// walked twice).
    tape: Mutex<Arc<Vec<Tape>>>,
}

impl CustomOp3 for LstmSequence {
    fn name(&self) -> &'static str {
        "lstm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = values(self.name(), s1, l1)?;
        let weight = values(self.name(), s2, l2)?;
        let bias = values(self.name(), s3, l3)?;
        let s = Sizes::new(l1.dims(), l2.dims(), l3.dims(), self.hidden)?;
        let (t, f, h) = (s.time, s.features, s.hidden);
        let tapes = in_parts(s, |rows| {
            let part = Sizes {
                batch: rows.len(),
                ..s
            };
            forward_part(part, &x[rows.start * t * f..rows.end * t * f], weight, bias)
        })?;
        let mut out = Vec::with_capacity(if self.sequences {
            s.batch * t * h
        } else {
            s.batch * h
        });
        for tape in &tapes {
            let b = tape.cells.len() / (t * h);
            if self.sequences {
                let start = out.len();
                out.resize(start + b * t * h, 0.0);
                for step in 0..t {
                    let states = &tape.hidden[(step + 1) * b * h..][..b * h];
                    for (row, state) in states.chunks_exact(h).enumerate() {
                        out[start + (row * t + step) * h..][..h].copy_from_slice(state);
                    }
                }
            } else {
                out.extend_from_slice(&tape.hidden[t * b * h..]);
            }
        }
        let shape = if self.sequences {
            Shape::from((s.batch, t, h))
        } else {
            Shape::from((s.batch, h))
        };
        match self.tape.lock() {
            Ok(mut kept) => *kept = Arc::new(tapes),
            Err(_) => candle_core::bail!("lstm: the kept gates were poisoned"),
        }
        Ok((CpuStorage::F32(out), shape))
    }

    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        bias: &Tensor,
        _output: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let tape = match self.tape.lock() {
            Ok(kept) => Arc::clone(&kept),
            Err(_) => candle_core::bail!("lstm: the kept gates were poisoned"),
        };
        let op = LstmBackward {
            hidden: self.hidden,
            sequences: self.sequences,
            input_gradient: x.track_op(),
            tape,
        };
        let all =
            grad.contiguous()?
                .apply_op3_no_bwd(&x.contiguous()?, &weight.contiguous()?, &op)?;
        let (x_len, w_len, b_len) = (x.elem_count(), weight.elem_count(), bias.elem_count());
        let grad_x = if x.track_op() {
            Some(all.narrow(0, 0, x_len)?.reshape(x.shape())?)
        } else {
            None
        };
        let grad_weight = all.narrow(0, x_len, w_len)?.reshape(weight.shape())?;
        let grad_bias = all.narrow(0, x_len + w_len, b_len)?;
        Ok((grad_x, Some(grad_weight), Some(grad_bias)))
    }
}

/// `(grad_output, x, weight)` → `[grad_x…, grad_weight…, grad_bias…]`,
/// through time from the forward pass's tape.
struct LstmBackward {
    hidden: usize,
    sequences: bool,
    input_gradient: bool,
    tape: Arc<Vec<Tape>>,
}

impl CustomOp3 for LstmBackward {
    fn name(&self) -> &'static str {
        "lstm-backward"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let grad = values(self.name(), s1, l1)?;
        let x = values(self.name(), s2, l2)?;
        let weight = values(self.name(), s3, l3)?;
        let s = Sizes::new(l2.dims(), l3.dims(), &[4 * self.hidden], self.hidden)?;
        let (b, t, f, h, g) = (s.batch, s.time, s.features, s.hidden, s.gates());
        let expected = if self.sequences { b * t * h } else { b * h };
        let tapes = &self.tape;
        if grad.len() != expected || tapes.len() != b.div_ceil(part_rows(b)) {
            candle_core::bail!(
                "{}: a gradient of {} values for {s:?}",
                self.name(),
                grad.len()
            );
        }
        let per_row = if self.sequences { t * h } else { h };
        let parts = in_parts(s, |rows| {
            let part = Sizes {
                batch: rows.len(),
                ..s
            };
            backward_part(
                part,
                self.sequences,
                self.input_gradient,
                &grad[rows.start * per_row..rows.end * per_row],
                &x[rows.start * t * f..rows.end * t * f],
                weight,
                &tapes[rows.start / part_rows(b)],
            )
        })?;
        // [grad_x…, grad_weight…, grad_bias…]: the inputs' rows part after
        // part, the weights' and bias's sums added in the parts' order.
        let mut all = vec![0.0f32; b * t * f + (f + h) * g + g];
        let (grad_x, sums) = all.split_at_mut(b * t * f);
        let mut filled = 0;
        for part in &parts {
            let (dx, rest) = part.split_at(part.len() - sums.len());
            grad_x[filled..filled + dx.len()].copy_from_slice(dx);
            filled += dx.len();
            sums.iter_mut().zip(rest).for_each(|(s, &d)| *s += d);
        }
        let len = all.len();
        Ok((CpuStorage::F32(all), Shape::from(len)))
    }
}

/// The backward pass of one part's rows: `[grad_x…, grad_weight…,
/// grad_bias…]` of those rows.
fn backward_part(
    s: Sizes,
    sequences: bool,
    input_gradient: bool,
    grad: &[f32],
    x: &[f32],
    weight: &[f32],
    tape: &Tape,
) -> Result<Vec<f32>> {
    let (b, t, f, h, g) = (s.batch, s.time, s.features, s.hidden, s.gates());
    if tape.gates.len() != t * b * g {
        candle_core::bail!(
            "lstm-backward: a tape of {} gates for {s:?}",
            tape.gates.len()
        );
    }
    let recurrent = Mat::row_major(&weight[f * g..], h, g);
    let mut all = vec![0.0f32; b * t * f + (f + h) * g + g];
    let (grad_x, rest) = all.split_at_mut(b * t * f);
    let (grad_weight, grad_bias) = rest.split_at_mut((f + h) * g);
    let (grad_wx, grad_wh) = grad_weight.split_at_mut(f * g);
    // dz, rows (batch, time) as the input's.
    let mut dz = vec![0.0f32; b * t * g];
    let mut dh = vec![0.0f32; b * h];
    let mut dc = vec![0.0f32; b * h];
    let mut dz_step = vec![0.0f32; b * g];
    for step in (0..t).rev() {
        if sequences {
            for (row, d) in dh.chunks_exact_mut(h).enumerate() {
                let from = &grad[(row * t + step) * h..][..h];
                d.iter_mut().zip(from).for_each(|(d, &o)| *d += o);
            }
        } else if step == t - 1 {
            dh.copy_from_slice(grad);
        }
        let gates = &tape.gates[step * b * g..][..b * g];
        let cells = &tape.cells[step * b * h..][..b * h];
        let before = (step > 0).then(|| &tape.cells[(step - 1) * b * h..][..b * h]);
        pulp::Arch::new()
            .dispatch(|| gate_gradients(h, gates, cells, before, &dh, &mut dc, &mut dz_step));
        for (row, d) in dz_step.chunks_exact(g).enumerate() {
            dz[(row * t + step) * g..][..g].copy_from_slice(d);
        }
        let previous = &tape.hidden[step * b * h..][..b * h];
        // dW_h += h_{t−1}ᵀ · dz_t; dh = dz_t · W_hᵀ.
        product(
            grad_wh,
            Mat::row_major(previous, b, h).t(),
            Mat::row_major(&dz_step, b, g),
            true,
        )?;
        if step > 0 {
            product(
                &mut dh,
                Mat::row_major(&dz_step, b, g),
                recurrent.t(),
                false,
            )?;
        }
    }
    let dz_all = Mat::row_major(&dz, b * t, g);
    product(grad_wx, Mat::row_major(x, b * t, f).t(), dz_all, false)?;
    if input_gradient {
        product(
            grad_x,
            dz_all,
            Mat::row_major(&weight[..f * g], f, g).t(),
            false,
        )?;
    }
    for row in dz.chunks_exact(g) {
        grad_bias.iter_mut().zip(row).for_each(|(s, &d)| *s += d);
    }
    Ok(all)
}

/// The LSTM over `x` `(B, T, F)` with the fused `weight` `(F + H, 4H)` (the
/// input's rows, then the hidden state's) and `bias` `(4H)`, gates in
/// PyTorch's order: the last hidden state `(B, H)`, or every step's `(B,
/// T, H)` with `sequences`. All `f32` on the CPU.
pub fn lstm(x: &Tensor, weight: &Tensor, bias: &Tensor, sequences: bool) -> Result<Tensor> {
    let hidden = bias.elem_count() / 4;
    let op = LstmSequence {
        hidden,
        sequences,
        tape: Mutex::new(Arc::new(Vec::new())),
    };
    x.contiguous()?
        .apply_op3(&weight.contiguous()?, &bias.contiguous()?, op)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use candle_core::{Device, Var};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(rng: &mut ChaCha8Rng, dims: &[usize]) -> Var {
        let count = dims.iter().product();
        let values: Vec<f32> = (0..count).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        Var::from_tensor(&Tensor::from_vec(values, dims, &Device::Cpu).unwrap()).unwrap()
    }

    fn flat(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    }

    /// The step loop through candle's own ops, as `lstm.rs` runs elsewhere.
    fn reference(x: &Tensor, weight: &Tensor, bias: &Tensor, sequences: bool) -> Tensor {
        let (batch, time, _) = x.dims3().unwrap();
        let hidden = bias.elem_count() / 4;
        let mut h = Tensor::zeros((batch, hidden), x.dtype(), x.device()).unwrap();
        let mut c = h.clone();
        let mut states = Vec::new();
        for t in 0..time {
            let step = x.narrow(1, t, 1).unwrap().squeeze(1).unwrap();
            let joined = Tensor::cat(&[&step, &h], 1).unwrap();
            let gates = joined.matmul(weight).unwrap().broadcast_add(bias).unwrap();
            let part = |k: usize| gates.narrow(1, k * hidden, hidden).unwrap();
            let sigmoid = |t: Tensor| candle_nn::ops::sigmoid(&t).unwrap();
            let (i, f, g, o) = (
                sigmoid(part(0)),
                sigmoid(part(1)),
                part(2).tanh().unwrap(),
                sigmoid(part(3)),
            );
            c = ((f * &c).unwrap() + (i * g).unwrap()).unwrap();
            h = (o * c.tanh().unwrap()).unwrap();
            states.push(h.clone());
        }
        if sequences {
            Tensor::stack(&states, 1).unwrap()
        } else {
            h
        }
    }

    fn gradients(y: &Tensor, vars: &[&Var]) -> Vec<Vec<f32>> {
        let weights: Vec<f32> = (0..y.elem_count())
            .map(|i| ((i * 5) % 11) as f32 * 0.1 - 0.5)
            .collect();
        let weights = Tensor::from_vec(weights, y.dims(), &Device::Cpu).unwrap();
        let grads = (y * weights)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        vars.iter().map(|v| flat(grads.get(v).unwrap())).collect()
    }

    fn close(what: &str, ours: &[f32], theirs: &[f32]) {
        assert_eq!(ours.len(), theirs.len(), "{what}");
        for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                "{what}[{i}]: {a} against {b}"
            );
        }
    }

    #[test]
    fn outputs_and_gradients_match_candles_step_loop() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        // 37 rows: a full part and a partial one; 601: 16 parts of 38 rows
        // (a large batch's parts grow), the last short.
        for (b, sequences) in [(37, false), (37, true), (601, true)] {
            let (t, f, h) = (5, 3, 4);
            let x = random(&mut rng, &[b, t, f]);
            let weight = random(&mut rng, &[f + h, 4 * h]);
            let bias = random(&mut rng, &[4 * h]);
            let ours = lstm(x.as_tensor(), weight.as_tensor(), &bias, sequences).unwrap();
            let theirs = reference(x.as_tensor(), weight.as_tensor(), &bias, sequences);
            assert_eq!(ours.dims(), theirs.dims());
            close("output", &flat(&ours), &flat(&theirs));
            let vars = [&x, &weight, &bias];
            let (a, b) = (gradients(&ours, &vars), gradients(&theirs, &vars));
            for (name, (a, b)) in ["x", "weight", "bias"].iter().zip(a.iter().zip(&b)) {
                close(&format!("sequences {sequences}: gradient of {name}"), a, b);
            }
        }
    }

    #[test]
    fn the_bits_do_not_depend_on_the_number_of_threads() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        // 70 × 40 × 64 gate values: over the pool.
        let (b, t, f, h) = (70, 40, 2, 16);
        let x = random(&mut rng, &[b, t, f]);
        let weight = random(&mut rng, &[f + h, 4 * h]);
        let bias = random(&mut rng, &[4 * h]);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let y = lstm(x.as_tensor(), weight.as_tensor(), &bias, true).unwrap();
                (flat(&y), gradients(&y, &[&x, &weight, &bias]))
            })
        };
        assert_eq!(run(1), run(3));
    }

    #[test]
    fn bad_shapes_are_errors() {
        let x = Tensor::zeros((2, 3, 4), candle_core::DType::F32, &Device::Cpu).unwrap();
        let weight = Tensor::zeros((5, 8), candle_core::DType::F32, &Device::Cpu).unwrap();
        let bias = Tensor::zeros(8, candle_core::DType::F32, &Device::Cpu).unwrap();
        // 4 features + 2 units need 6 weight rows.
        assert!(lstm(&x, &weight, &bias, false).is_err());
    }
}
