//! Optimizers over candle `Var`s, with PyTorch's update rules:
//! `torch.optim.SGD` (momentum, L2 weight decay), `torch.optim.Adam` (L2
//! weight decay added to the gradient) and `torch.optim.AdamW` (decoupled
//! weight decay).

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};
use pipeline_spec::Optimizer as OptimizerSpec;

struct Slot {
    var: Var,
    /// Momentum buffer (sgd) or first moment (adam, adamw).
    first: Option<Tensor>,
    /// Second moment (adam, adamw).
    second: Option<Tensor>,
}

pub struct Optimizer {
    spec: OptimizerSpec,
    slots: Vec<Slot>,
    step: i32,
}

impl Optimizer {
    pub fn new(spec: OptimizerSpec, vars: Vec<Var>) -> Optimizer {
        let slots = vars
            .into_iter()
            .map(|var| Slot {
                var,
                first: None,
                second: None,
            })
            .collect();
        Optimizer {
            spec,
            slots,
            step: 0,
        }
    }

    /// Applies one update from the gradients of a backward pass.
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.step += 1;
        for slot in &mut self.slots {
            let Some(grad) = grads.get(slot.var.as_tensor()) else {
                continue;
            };
            let param = slot.var.as_tensor();
            match self.spec {
                OptimizerSpec::Sgd {
                    learning_rate,
                    momentum,
                    weight_decay,
                } => {
                    let mut g = grad.clone();
                    if weight_decay != 0.0 {
                        g = (g + (param * weight_decay)?)?;
                    }
                    if momentum != 0.0 {
                        let buffer = match &slot.first {
                            None => g,
                            Some(previous) => ((previous * momentum)? + g)?,
                        };
                        slot.first = Some(buffer.clone());
                        g = buffer;
                    }
                    slot.var.set(&(param - (g * learning_rate)?)?)?;
                }
                OptimizerSpec::Adam {
                    learning_rate,
                    beta1,
                    beta2,
                    epsilon,
                    weight_decay,
                }
                | OptimizerSpec::AdamW {
                    learning_rate,
                    beta1,
                    beta2,
                    epsilon,
                    weight_decay,
                } => {
                    let decoupled = matches!(self.spec, OptimizerSpec::AdamW { .. });
                    let mut g = grad.clone();
                    let mut p = param.clone();
                    if weight_decay != 0.0 {
                        if decoupled {
                            p = (p * (1.0 - learning_rate * weight_decay))?;
                        } else {
                            g = (g + (param * weight_decay)?)?;
                        }
                    }
                    let m = match &slot.first {
                        None => (&g * (1.0 - beta1))?,
                        Some(m) => ((m * beta1)? + (&g * (1.0 - beta1))?)?,
                    };
                    let v = match &slot.second {
                        None => (g.sqr()? * (1.0 - beta2))?,
                        Some(v) => ((v * beta2)? + (g.sqr()? * (1.0 - beta2))?)?,
                    };
                    let bias1 = 1.0 - beta1.powi(self.step);
                    let bias2 = 1.0 - beta2.powi(self.step);
                    // torch: p -= lr / bias1 * m / (sqrt(v) / sqrt(bias2) + eps)
                    let denominator = ((v.sqrt()? / bias2.sqrt())? + epsilon)?;
                    let update = ((&m / denominator)? * (learning_rate / bias1))?;
                    slot.var.set(&(p - update)?)?;
                    slot.first = Some(m);
                    slot.second = Some(v);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use candle_core::Device;

    /// Three steps on f(p) = sum(p²) from p = [1, -2]; the expected values
    /// follow PyTorch's documented update rules, computed by hand in f64.
    fn run(spec: OptimizerSpec) -> Vec<f32> {
        let p = Var::new(&[1.0f32, -2.0], &Device::Cpu).unwrap();
        let mut opt = Optimizer::new(spec, vec![p.clone()]);
        for _ in 0..3 {
            let loss = p.as_tensor().sqr().unwrap().sum_all().unwrap();
            opt.step(&loss.backward().unwrap()).unwrap();
        }
        p.as_tensor().to_vec1::<f32>().unwrap()
    }

    fn reference(
        mut p: [f64; 2],
        update: impl Fn(usize, &mut [f64; 2], &mut [[f64; 2]; 2]),
    ) -> [f64; 2] {
        let mut state = [[0.0; 2]; 2];
        for t in 1..=3 {
            update(t, &mut p, &mut state);
        }
        p
    }

    fn close(a: &[f32], b: [f64; 2]) {
        for (x, y) in a.iter().zip(b) {
            assert!((f64::from(*x) - y).abs() < 1e-5, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn sgd_with_momentum_and_weight_decay() {
        let (lr, mu, wd) = (0.1, 0.9, 0.01);
        let got = run(OptimizerSpec::Sgd {
            learning_rate: lr,
            momentum: mu,
            weight_decay: wd,
        });
        let want = reference([1.0, -2.0], |t, p, s| {
            for i in 0..2 {
                let g = 2.0 * p[i] + wd * p[i];
                s[0][i] = if t == 1 { g } else { mu * s[0][i] + g };
                p[i] -= lr * s[0][i];
            }
        });
        close(&got, want);
    }

    fn adam_reference(lr: f64, wd: f64, decoupled: bool) -> [f64; 2] {
        let (b1, b2, eps) = (0.9, 0.999, 1e-8);
        reference([1.0, -2.0], |t, p, s| {
            for i in 0..2 {
                let mut g = 2.0 * p[i];
                if decoupled {
                    p[i] *= 1.0 - lr * wd;
                } else {
                    g += wd * p[i];
                }
                s[0][i] = b1 * s[0][i] + (1.0 - b1) * g;
                s[1][i] = b2 * s[1][i] + (1.0 - b2) * g * g;
                let m_hat = s[0][i] / (1.0 - b1.powi(t as i32));
                let v_hat = s[1][i] / (1.0 - b2.powi(t as i32));
                p[i] -= lr * m_hat / (v_hat.sqrt() + eps);
            }
        })
    }

    #[test]
    fn adam_with_l2_weight_decay() {
        let got = run(OptimizerSpec::Adam {
            learning_rate: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            weight_decay: 0.1,
        });
        close(&got, adam_reference(0.1, 0.1, false));
    }

    #[test]
    fn adamw_with_decoupled_weight_decay() {
        let got = run(OptimizerSpec::AdamW {
            learning_rate: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            weight_decay: 0.1,
        });
        close(&got, adam_reference(0.1, 0.1, true));
    }
}
