//! `[model]`: the shape of one input row and the ordered layers, each read
//! by [`crate::layer`]; the list as a whole has a linear layer last
//! (optionally followed by softmax). Whether the layers fit the shapes they
//! are given is checked by the model stage, once the data's width is known.

use std::num::NonZeroU32;

use serde::Serialize;
use toml::Spanned;

use crate::layer::Layer;
use crate::raw::RawModel;
use crate::validate::{Checked, Validator};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelSpec {
    /// The shape of one row (`[channels, height, width]` for images,
    /// `[steps, features]` for sequences); the data's flat row is reshaped
    /// to it, row-major. `None`: the flat row of inputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Vec<NonZeroU32>>,
    pub layers: Vec<Layer>,
}

impl Validator<'_> {
    pub(crate) fn model(&self, raw: RawModel) -> Checked<ModelSpec> {
        let input = raw.input.map(|shape| self.input(shape)).transpose()?;
        let list_span = raw.layers.span();
        let raw_layers = raw.layers.into_inner();
        let mut layers = Vec::with_capacity(raw_layers.len());
        let mut spans = Vec::with_capacity(raw_layers.len());
        for (index, layer) in raw_layers.into_iter().enumerate() {
            spans.push(layer.span());
            layers.push(self.layer(index, layer)?);
        }
        if !layers.iter().any(|l| matches!(l, Layer::Linear { .. })) {
            return Err(self.fail(
                list_span,
                "model.layers",
                "the model has no linear layer".into(),
                Some("a model needs at least one { type = \"linear\", units = N }; the last one gives the outputs"),
            ));
        }
        let last = layers.len() - 1;
        if let Some(index) = layers[..last]
            .iter()
            .position(|l| matches!(l, Layer::Softmax))
        {
            return Err(self.fail(
                spans[index].clone(),
                &format!("model.layers[{index}]"),
                "softmax may only be the last layer: it turns the model's outputs into \
                 probabilities"
                    .into(),
                Some("end with { type = \"linear\", units = N } then { type = \"softmax\" }"),
            ));
        }
        let ends_linear = matches!(
            layers.as_slice(),
            [.., Layer::Linear { .. }] | [.., Layer::Linear { .. }, Layer::Softmax]
        );
        if !ends_linear {
            return Err(self.fail(
                list_span,
                "model.layers",
                "the last layer must be linear (optionally followed by softmax): its units are \
                 the model's outputs"
                    .into(),
                Some("add { type = \"linear\", units = 1 } at the end for one regression target"),
            ));
        }
        Ok(ModelSpec { input, layers })
    }

    fn input(&self, shape: Spanned<Vec<Spanned<i64>>>) -> Checked<Vec<NonZeroU32>> {
        let span = shape.span();
        let dims = shape.into_inner();
        if dims.is_empty() || dims.len() > 3 {
            return Err(self.fail(
                span,
                "model.input",
                format!(
                    "`model.input` has {} dimension(s); it takes 1 to 3",
                    dims.len()
                ),
                Some(
                    "[channels, height, width] for images (e.g. [1, 28, 28]), [steps, features] \
                     for sequences; leave it out for a flat row of inputs",
                ),
            ));
        }
        let mut values = Vec::with_capacity(dims.len());
        let mut product: u64 = 1;
        for dim in dims {
            let value = *dim.get_ref();
            let size = u32::try_from(value)
                .ok()
                .and_then(NonZeroU32::new)
                .ok_or_else(|| {
                    self.fail(
                        dim.span(),
                        "model.input",
                        if value > 0 {
                            format!(
                                "every size in `model.input` must be at most {}; got {value}",
                                u32::MAX
                            )
                        } else {
                            format!("every size in `model.input` must be at least 1; got {value}")
                        },
                        None,
                    )
                })?;
            product = product.saturating_mul(u64::from(size.get()));
            values.push(size);
        }
        if product > u64::from(u32::MAX) {
            return Err(self.fail(
                span,
                "model.input",
                format!("`model.input` holds {product} values a row, more than a model can take"),
                None,
            ));
        }
        Ok(values)
    }
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
