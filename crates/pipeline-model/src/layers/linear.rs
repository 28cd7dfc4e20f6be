//! `nn.Linear` over the last axis: features `(N, F)` or sequences `(N, T, F)`.

use candle_core::{Result, Tensor, Var};

use super::params::{Init, Params, like};
use crate::error::ModelError;

pub struct Linear {
    weight: Var,
    bias: Option<Var>,
}

impl Linear {
    /// Layer `index`: `units × in_features` weights (`{index}.weight`) and,
    /// with `bias`, `units` biases (`{index}.bias`), uniform in ±1/√in_features.
    pub fn new(
        index: usize,
        in_features: usize,
        units: usize,
        bias: bool,
        params: &mut Params,
    ) -> std::result::Result<Linear, ModelError> {
        let init = Init::fan_in(in_features);
        let weight = params.parameter(format!("{index}.weight"), &[units, in_features], init)?;
        let bias = if bias {
            Some(params.parameter(format!("{index}.bias"), &[units], init)?)
        } else {
            None
        };
        Ok(Linear { weight, bias })
    }

    /// The weight (`units × in_features`) and the bias.
    pub(crate) fn parameters(&self) -> (&Var, Option<&Var>) {
        (&self.weight, self.bias.as_ref())
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // cuBLAS takes rows with no gap between them only (a step or the
        // last step of a sequence is a strided view); a no-op when they are.
        let x = &x.contiguous()?;
        let weight = like(&self.weight, x)?.t()?;
        let y = if x.rank() == 2 {
            x.matmul(&weight)?
        } else {
            x.broadcast_matmul(&weight)?
        };
        match &self.bias {
            Some(b) => y.broadcast_add(&like(b, x)?),
            None => Ok(y),
        }
    }
}
