//! The loss of a batch and its gradient with respect to the network's
//! outputs, for the dense path. The common losses (mse, binary and
//! multiclass cross-entropy, with their weights and smoothing) are written
//! out over the output buffer; the others go through [`Criterion::loss`]
//! and candle's backward pass on that one small tensor, so every loss the
//! spec accepts trains here with the same definition.

use candle_core::{Device, Tensor, Var};
use pipeline_spec::Loss;

use crate::error::ModelError;
use crate::loss::Criterion;

/// The mean loss of `prediction` against `target` (both `rows × outputs`;
/// for cross-entropy `target` holds one class index a row), with its
/// gradient written to `gradient` (`rows × outputs`).
pub fn loss_and_gradient(
    criterion: &Criterion,
    prediction: &[f32],
    target: &[f32],
    rows: usize,
    outputs: usize,
    gradient: &mut [f32],
) -> Result<f32, ModelError> {
    let gradient = &mut gradient[..rows * outputs];
    let prediction = &prediction[..rows * outputs];
    match criterion.kind() {
        Loss::Mse => Ok(mse(prediction, &target[..rows * outputs], gradient)),
        Loss::BinaryCrossEntropy { pos_weight } => Ok(binary_cross_entropy(
            prediction,
            &target[..rows * outputs],
            pos_weight.map(|w| w as f32),
            gradient,
        )),
        Loss::CrossEntropy {
            label_smoothing, ..
        } => cross_entropy(
            prediction,
            &target[..rows],
            outputs,
            criterion.class_weights(),
            *label_smoothing,
            gradient,
        ),
        Loss::Mae | Loss::Huber { .. } => {
            through_candle(criterion, prediction, target, rows, outputs, gradient)
        }
    }
}

fn mse(prediction: &[f32], target: &[f32], gradient: &mut [f32]) -> f32 {
    let n = prediction.len() as f32;
    let mut sum = 0.0f64;
    for ((g, &p), &t) in gradient.iter_mut().zip(prediction).zip(target) {
        let d = p - t;
        sum += f64::from(d * d);
        *g = 2.0 * d / n;
    }
    (sum / f64::from(n)) as f32
}

/// As [`crate::binary_cross_entropy_with_logits`]: per element
/// `(1 − y)·x + (1 + (pw − 1)·y)·softplus(−x)`, gradient
/// `(1 + (pw − 1)·y)·(σ(x) − 1) + (1 − y)`, over N.
fn binary_cross_entropy(
    logits: &[f32],
    target: &[f32],
    pos_weight: Option<f32>,
    gradient: &mut [f32],
) -> f32 {
    let n = logits.len() as f32;
    let mut sum = 0.0f64;
    for ((g, &x), &y) in gradient.iter_mut().zip(logits).zip(target) {
        let weight = pos_weight.map_or(1.0, |pw| 1.0 + (pw - 1.0) * y);
        let shift = (-x).max(0.0);
        let softplus = ((-shift).exp() + (-x - shift).exp()).ln() + shift;
        sum += f64::from((1.0 - y) * x + weight * softplus);
        let sigmoid = 1.0 / (1.0 + (-x).exp());
        *g = (weight * (sigmoid - 1.0) + (1.0 - y)) / n;
    }
    (sum / f64::from(n)) as f32
}

/// As [`crate::cross_entropy`]: with `s = softmax(z)`, `w` the class
/// weights, `W = Σ_i w[y_i]`, `S = Σ_c w[c]` and `ε` the smoothing,
/// `∂loss/∂z[i,j] = ((1 − ε)·w[y_i]·(s_ij − [j = y_i]) + (ε/K)·(S·s_ij − w[j])) / W`.
fn cross_entropy(
    logits: &[f32],
    classes: &[f32],
    k: usize,
    weights: Option<&[f32]>,
    smoothing: f64,
    gradient: &mut [f32],
) -> Result<f32, ModelError> {
    let weight = |c: usize| weights.map_or(1.0, |w| f64::from(w[c]));
    if weights.is_some_and(|w| w.len() != k) {
        return Err(ModelError::Dense {
            detail: format!(
                "{k} classes but {} class weights",
                weights.map_or(0, <[f32]>::len)
            ),
        });
    }
    let total_weight: f64 = (0..k).map(weight).sum();
    let eps = smoothing;
    // `W` first, so that one pass per row gives the loss terms and the
    // gradient from the row's exponentials, computed once.
    let mut denominator = 0.0f64;
    for &class in classes {
        let y = class as usize;
        if class < 0.0 || y >= k || class.fract() != 0.0 {
            return Err(ModelError::Dense {
                detail: format!("class index {class} for {k} classes"),
            });
        }
        denominator += weight(y);
    }
    let mut nll = 0.0f64;
    let mut smooth = 0.0f64;
    let mut exps = vec![0.0f64; k];
    for (row, &class) in classes.iter().enumerate() {
        let y = class as usize;
        let z = &logits[row * k..(row + 1) * k];
        let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        for (e, &v) in exps.iter_mut().zip(z) {
            *e = f64::from(v - max).exp();
        }
        let sum: f64 = exps.iter().sum();
        let log_sum = sum.ln();
        let log_p = |j: usize| f64::from(z[j] - max) - log_sum;
        nll -= weight(y) * log_p(y);
        if smoothing != 0.0 {
            smooth -= (0..k).map(|c| weight(c) * log_p(c)).sum::<f64>();
        }
        for (j, g) in gradient[row * k..(row + 1) * k].iter_mut().enumerate() {
            let s = exps[j] / sum;
            let hit = if j == y { 1.0 } else { 0.0 };
            let g_j = (1.0 - eps) * weight(y) * (s - hit)
                + eps / k as f64 * (total_weight * s - weight(j));
            *g = (g_j / denominator) as f32;
        }
    }
    let loss = ((1.0 - eps) * nll + eps / k as f64 * smooth) / denominator;
    Ok(loss as f32)
}

/// Any loss: candle computes it on the outputs as a leaf and differentiates.
fn through_candle(
    criterion: &Criterion,
    prediction: &[f32],
    target: &[f32],
    rows: usize,
    outputs: usize,
    gradient: &mut [f32],
) -> Result<f32, ModelError> {
    let cpu = Device::Cpu;
    let leaf = Var::from_tensor(&Tensor::from_slice(prediction, (rows, outputs), &cpu)?)?;
    let target_width = target.len() / rows.max(1);
    let target = Tensor::from_slice(&target[..rows * target_width], (rows, target_width), &cpu)?;
    let loss = criterion.loss(leaf.as_tensor(), &target)?;
    let grads = loss.backward()?;
    let value = loss.to_scalar::<f32>()?;
    match grads.get(leaf.as_tensor()) {
        Some(g) => gradient.copy_from_slice(&g.flatten_all()?.to_vec1::<f32>()?),
        None => gradient.fill(0.0),
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use pipeline_spec::ClassWeights;

    /// The written-out gradient equals candle's backward pass through
    /// [`Criterion::loss`], and so does the value.
    fn agrees_with_candle(
        criterion: &Criterion,
        prediction: &[f32],
        target: &[f32],
        outputs: usize,
    ) {
        let rows = prediction.len() / outputs;
        let mut fast = vec![0.0; prediction.len()];
        let mut slow = vec![0.0; prediction.len()];
        let a = loss_and_gradient(criterion, prediction, target, rows, outputs, &mut fast).unwrap();
        let b = through_candle(criterion, prediction, target, rows, outputs, &mut slow).unwrap();
        assert!((a - b).abs() < 1e-5 * b.abs().max(1.0), "loss {a} vs {b}");
        for (x, y) in fast.iter().zip(&slow) {
            assert!((x - y).abs() < 1e-6, "gradient {x} vs {y}");
        }
    }

    fn values(n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|i| (i as f32 * 0.71).sin() * scale).collect()
    }

    #[test]
    fn mse_and_binary_cross_entropy_match_candle() {
        let p = values(12, 3.0);
        let t: Vec<f32> = values(12, 2.0);
        agrees_with_candle(&Criterion::new(&Loss::Mse, None), &p, &t, 2);
        let labels: Vec<f32> = (0..12).map(|i| (i % 3 == 0) as u8 as f32).collect();
        for pos_weight in [None, Some(3.5)] {
            let criterion = Criterion::new(&Loss::BinaryCrossEntropy { pos_weight }, None);
            agrees_with_candle(&criterion, &p, &labels, 1);
        }
    }

    #[test]
    fn cross_entropy_with_weights_and_smoothing_matches_candle() {
        let logits = values(20, 4.0);
        let classes = [0.0, 3.0, 1.0, 3.0, 2.0];
        for (weights, smoothing) in [
            (None, 0.0),
            (None, 0.1),
            (Some(vec![0.5, 2.0, 1.0, 3.0]), 0.0),
            (Some(vec![0.5, 2.0, 1.0, 3.0]), 0.2),
        ] {
            let loss = Loss::CrossEntropy {
                class_weights: weights.as_ref().map(|w: &Vec<f32>| {
                    ClassWeights::Given(w.iter().map(|&x| f64::from(x)).collect())
                }),
                label_smoothing: smoothing,
            };
            agrees_with_candle(
                &Criterion::new(&loss, weights.clone()),
                &logits,
                &classes,
                4,
            );
        }
    }

    #[test]
    fn a_class_index_out_of_range_is_an_error() {
        let loss = Loss::CrossEntropy {
            class_weights: None,
            label_smoothing: 0.0,
        };
        let mut g = vec![0.0; 4];
        let r = loss_and_gradient(
            &Criterion::new(&loss, None),
            &[0.0; 4],
            &[2.0, 0.0],
            2,
            2,
            &mut g,
        );
        assert!(r.is_err());
    }
}
