//! The layers a network is built from, one concept per file. Each layer is
//! built from its spec settings, the row shape it receives (found by
//! [`shape`] first) and [`params::Params`], which names its tensors as
//! PyTorch's `nn.Sequential` does and fills them fresh or from a file.

pub mod activation;
pub mod batch_norm;
mod channel;
pub mod conv;
mod conv_gemm;
pub(crate) mod cpu;
pub mod dropout;
pub mod embedding;
pub mod layer_norm;
pub mod linear;
mod max_pool;
pub mod params;
pub mod pool;
pub mod shape;
pub mod sigmoid_tanh;
