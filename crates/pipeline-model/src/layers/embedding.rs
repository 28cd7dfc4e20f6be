//! `nn.Embedding`: each input value is a whole-number code that picks a row
//! of a `(vocabulary, dimensions)` table, so rows `(N, T)` become
//! `(N, T, dimensions)`. The data stage hands codes over as f32; a value
//! that is not a code of the vocabulary (negative, fractional, too large,
//! not finite) is an error naming the layer and the value.

use candle_core::{DType, Result, Tensor, Var};

use super::params::{Init, Params};
use crate::error::ModelError;

pub struct Embedding {
    index: usize,
    table: Var,
    vocabulary: usize,
    dimensions: usize,
}

impl Embedding {
    /// The table `{index}.weight`, normal with standard deviation 1 as PyTorch's.
    pub fn new(
        index: usize,
        vocabulary: usize,
        dimensions: usize,
        params: &mut Params,
    ) -> std::result::Result<Embedding, ModelError> {
        let table = params.parameter(
            format!("{index}.weight"),
            &[vocabulary, dimensions],
            Init::Normal { std: 1.0 },
        )?;
        Ok(Embedding {
            index,
            table,
            vocabulary,
            dimensions,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let values = x.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?;
        let mut codes = Vec::with_capacity(values.len());
        for value in values {
            let code = value as usize;
            if !(value >= 0.0 && value.fract() == 0.0 && code < self.vocabulary) {
                return Err(candle_core::Error::wrap(ModelError::EmbeddingCode {
                    index: self.index,
                    value,
                    vocabulary: self.vocabulary,
                }));
            }
            codes.push(code as u32);
        }
        let count = codes.len();
        let codes = Tensor::from_vec(codes, count, x.device())?;
        let mut dims = x.dims().to_vec();
        dims.push(self.dimensions);
        self.table
            .as_tensor()
            .index_select(&codes, 0)?
            .reshape(dims)
    }
}
