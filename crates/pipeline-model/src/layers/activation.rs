//! Layers without parameters that map each value (or, for softmax, each
//! row's last axis) on its own: PyTorch's `nn.ReLU`, `nn.Sigmoid`,
//! `nn.Tanh`, `nn.GELU` (exact, erf), `nn.LeakyReLU`, `nn.SiLU` and
//! `nn.Softmax(dim=-1)`.

use candle_core::{D, Result, Tensor};

use crate::layers::{channel, cpu, sigmoid_tanh};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    Relu,
    Sigmoid,
    Tanh,
    Gelu,
    LeakyRelu { negative_slope: f64 },
    Silu,
    Softmax,
}

impl Activation {
    pub fn forward(self, x: &Tensor) -> Result<Tensor> {
        match self {
            Activation::Relu if cpu::is_cpu_f32(x) => channel::relu(x),
            Activation::Relu => x.relu(),
            Activation::Sigmoid => sigmoid_tanh::sigmoid_op(x),
            Activation::Tanh => sigmoid_tanh::tanh_op(x),
            Activation::Gelu => x.gelu_erf(),
            Activation::LeakyRelu { negative_slope } => {
                candle_nn::ops::leaky_relu(x, negative_slope)
            }
            Activation::Silu => sigmoid_tanh::silu_op(x),
            // Not `softmax_last_dim`: that kernel has no backward pass.
            Activation::Softmax => candle_nn::ops::softmax(x, D::Minus1),
        }
    }
}
