//! Sigmoid and tanh on the CPU without libm: a polynomial `exp` (Cephes'
//! `expf`) and tanh (Cephes' `tanhf`) written as straight-line `f32`
//! arithmetic, so each loop vectorises, compiled for the CPU's widest
//! vectors through `pulp`'s runtime dispatch. libm's scalar `expf`,
//! `expm1f` and `tanhf` were three quarters of an LSTM's inference time
//! (`perf`, 100,000 windows of `experiments/co2_lstm.toml`).
//!
//! Within 3 units in the last place of the correctly rounded value
//! (tests below, against `f64`), and the same bits on every vector width:
//! multiplications and additions only, never fused.
//!
//! [`sigmoid`] and [`tanh`] are candle ops with their backward pass (from
//! the output, as PyTorch's): the recurrent layers, the activation layers
//! and the dense path all take them. Other devices and dtypes go through
//! candle's own kernels.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};

use super::cpu::{is_cpu_f32, values};

/// Below it `exp` gives the smallest normal float's neighbourhood, above
/// it saturates (at about 1.65e38): wide enough for sigmoid and tanh.
const EXP_LOW: f32 = -87.33;
const EXP_HIGH: f32 = 88.0;
/// `ln 2` in two parts: the first exact in few bits, so `n · LN2_HIGH` is
/// exact.
const LN2_HIGH: f32 = 0.693_359_4;
const LN2_LOW: f32 = -2.121_944_4e-4;

/// Adding it to a float of magnitude below 2²² rounds that float to an
/// integer (to nearest) and leaves the integer in the low mantissa bits.
const ROUND: f32 = 12_582_912.0; // 1.5 · 2²³

/// `e^x`, saturating outside `[EXP_LOW, EXP_HIGH]`; `NaN` stays `NaN`.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(EXP_LOW, EXP_HIGH);
    // x = n ln 2 + r, |r| ≤ ln 2 / 2, n in [-126, 127]. The integer comes
    // out of the rounding trick's bits: an `as i32` conversion (saturating
    // in Rust) would keep the loop from vectorising.
    let shifted = x * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = (x - n * LN2_HIGH) - n * LN2_LOW;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let er = p * (r * r) + r + 1.0;
    // 2^n through the exponent bits.
    let biased = shifted
        .to_bits()
        .wrapping_sub(ROUND.to_bits())
        .wrapping_add(127);
    er * f32::from_bits(biased << 23)
}

/// `1 / (1 + e^-x)`.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// Where tanh's polynomial hands over to `1 - 2 / (e^2|x| + 1)`.
const TANH_SMALL: f32 = 0.625;
/// Beyond it tanh rounds to 1 in `f32` (tanh 9 is still 1 − 2⁻²⁴).
const TANH_ONE: f32 = 10.0;

/// `tanh x`: an odd polynomial near 0 (no cancellation), exponentials
/// beyond; both computed and one chosen, so the loop has no branch.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let z = x * x;
    let near = ((((-5.704_988_7e-3 * z + 2.063_909e-2) * z - 5.373_971_6e-2) * z + 1.333_144_2e-1)
        * z
        - 3.333_328e-1)
        * z
        * x
        + x;
    let a = x.abs();
    // A comparison, not `min`: `NaN` must stay `NaN`.
    let a = if a > TANH_ONE { TANH_ONE } else { a };
    let far = (1.0 - 2.0 / (exp(2.0 * a) + 1.0)).copysign(x);
    if a < TANH_SMALL { near } else { far }
}

/// `output[i] = f(input[i])`, compiled for the CPU's widest vectors.
#[inline(always)]
pub fn map_into(input: &[f32], output: &mut [f32], f: impl Fn(f32) -> f32) {
    pulp::Arch::new().dispatch(
        #[inline(always)]
        || {
            for (o, &x) in output.iter_mut().zip(input) {
                *o = f(x);
            }
        },
    );
}

/// Sigmoid or tanh as a candle op: the kernels above forward, the
/// derivative from the output backward.
#[derive(Debug, Clone, Copy)]
enum Curve {
    Sigmoid,
    Tanh,
}

impl CustomOp1 for Curve {
    fn name(&self) -> &'static str {
        match self {
            Curve::Sigmoid => "sigmoid",
            Curve::Tanh => "tanh",
        }
    }

    /// A new contiguous tensor of the input's shape.
    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let input = values(self.name(), storage, layout)?;
        let mut output = vec![0.0; input.len()];
        match self {
            Curve::Sigmoid => map_into(input, &mut output, sigmoid),
            Curve::Tanh => map_into(input, &mut output, tanh),
        }
        Ok((CpuStorage::F32(output), layout.shape().clone()))
    }

    /// `σ' = σ (1 − σ)`, `tanh' = 1 − tanh²`, from the output.
    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let derivative = match self {
            Curve::Sigmoid => (res.affine(-1.0, 1.0)? * res)?,
            Curve::Tanh => res.sqr()?.affine(-1.0, 1.0)?,
        };
        Ok(Some((grad_res * derivative)?))
    }
}

/// The logistic sigmoid of each value, with its backward pass.
pub fn sigmoid_op(x: &Tensor) -> Result<Tensor> {
    if is_cpu_f32(x) {
        x.contiguous()?.apply_op1(Curve::Sigmoid)
    } else {
        candle_nn::ops::sigmoid(x)
    }
}

/// tanh of each value, with its backward pass.
pub fn tanh_op(x: &Tensor) -> Result<Tensor> {
    if is_cpu_f32(x) {
        x.contiguous()?.apply_op1(Curve::Tanh)
    } else {
        x.tanh()
    }
}

/// `x · σ(x)` (SiLU), differentiable through [`sigmoid_op`].
pub fn silu_op(x: &Tensor) -> Result<Tensor> {
    if is_cpu_f32(x) {
        x * sigmoid_op(x)?
    } else {
        candle_nn::ops::silu(x)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use candle_core::{Device, Var};

    /// Units in the last place between `value` and the exact `reference`.
    fn ulps(value: f32, reference: f64) -> f64 {
        let rounded = reference as f32;
        let ulp = (f32::from_bits(rounded.abs().to_bits() + 1) - rounded.abs()) as f64;
        (f64::from(value) - reference).abs() / ulp
    }

    /// Every 97th float bit pattern in `[-range, range]`, and 0.
    fn sweep(range: f32) -> impl Iterator<Item = f32> {
        let last = range.to_bits();
        (0..last)
            .step_by(97)
            .flat_map(|bits| [f32::from_bits(bits), -f32::from_bits(bits)])
    }

    #[test]
    fn exp_is_within_two_ulps_where_sigmoid_and_tanh_use_it() {
        let worst = sweep(80.0)
            .map(|x| ulps(exp(x), f64::from(x).exp()))
            .fold(0.0, f64::max);
        assert!(worst <= 2.0, "{worst} ulps");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-200.0), exp(EXP_LOW));
        assert!(exp(200.0).is_finite());
        assert!(exp(f32::NAN).is_nan());
    }

    #[test]
    fn sigmoid_and_tanh_are_within_three_ulps() {
        let sigmoid_worst = sweep(40.0)
            .map(|x| ulps(sigmoid(x), 1.0 / (1.0 + (-f64::from(x)).exp())))
            .fold(0.0, f64::max);
        assert!(sigmoid_worst <= 3.0, "sigmoid: {sigmoid_worst} ulps");
        let tanh_worst = sweep(12.0)
            .map(|x| ulps(tanh(x), f64::from(x).tanh()))
            .fold(0.0, f64::max);
        assert!(tanh_worst <= 3.0, "tanh: {tanh_worst} ulps");
        assert_eq!(tanh(0.0), 0.0);
        assert_eq!(tanh(20.0), 1.0);
        assert_eq!(tanh(-20.0), -1.0);
        assert_eq!(sigmoid(-200.0), sigmoid(-EXP_HIGH));
        assert_eq!(sigmoid(200.0), 1.0);
        assert!(tanh(f32::NAN).is_nan() && sigmoid(f32::NAN).is_nan());
    }

    #[test]
    fn the_ops_match_candles_values_and_gradients() {
        let values: Vec<f32> = (-40..=40).map(|i| i as f32 * 0.23).collect();
        // A strided view: every other column of a 9 × 18 matrix.
        let wide = Tensor::from_vec(
            values.iter().flat_map(|&v| [v, 0.5]).collect::<Vec<_>>(),
            (9, 18),
            &Device::Cpu,
        )
        .unwrap();
        let x = Var::from_tensor(&wide).unwrap();
        let strided = x
            .as_tensor()
            .reshape((9, 9, 2))
            .unwrap()
            .narrow(2, 0, 1)
            .unwrap();
        type Op = fn(&Tensor) -> Result<Tensor>;
        let pairs: [(&str, Op, Op); 3] = [
            ("sigmoid", sigmoid_op, candle_nn::ops::sigmoid),
            ("tanh", tanh_op, |x| x.tanh()),
            ("silu", silu_op, candle_nn::ops::silu),
        ];
        for (name, ours, candles) in pairs {
            let a = ours(&strided).unwrap();
            let b = candles(&strided).unwrap();
            let (ga, gb) = (
                a.sqr().unwrap().sum_all().unwrap().backward().unwrap(),
                b.sqr().unwrap().sum_all().unwrap().backward().unwrap(),
            );
            let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let (ga, gb) = (flat(ga.get(&x).unwrap()), flat(gb.get(&x).unwrap()));
            for (u, v) in flat(&a).iter().zip(flat(&b)).chain(ga.iter().zip(gb)) {
                assert!(
                    (u - v).abs() <= 1e-6 * v.abs().max(1.0),
                    "{name}: {u} vs {v}"
                );
            }
        }
    }
}
