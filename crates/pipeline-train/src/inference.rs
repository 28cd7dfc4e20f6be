//! Predicting many rows: the rows go through the network in slices small
//! enough that each layer's activations stay in cache, which is several
//! times faster on a CPU than one pass over every row (and keeps memory
//! flat). `just bench-infer` measures the slice sizes.

use candle_core::{Device, Tensor};
use pipeline_model::Network;

use crate::error::TrainError;
use crate::trainer::predict;

/// Rows per forward pass at inference through candle (networks the dense
/// path does not run: convolutions, sequences; MLPs take
/// `pipeline_model::dense::PREDICT_ROWS`). For the first experiment's
/// network on candle's path, one thread (`just bench-infer`, 2-core
/// machine): 128 rows 4.6M rows/s, 256 rows 6.6M, 1,024 rows 4.5M, 4,096
/// rows 0.6M, all 200,000 rows in one pass 0.7M.
pub const FORWARD_ROWS: usize = 256;

/// One prediction per row of `inputs` (row-major, `width` values per row),
/// through `network` on `device`, `slice_rows` rows at a time.
pub fn predict_rows(
    network: &Network,
    inputs: &[f32],
    width: usize,
    slice_rows: usize,
    device: &Device,
) -> Result<Vec<f32>, TrainError> {
    let width = width.max(1);
    // MLPs on the CPU: the dense path, from the slice itself, in its own
    // passes (`pipeline_model::dense::PREDICT_ROWS`).
    if device.is_cpu()
        && let Some(outputs) = pipeline_model::dense::predict_rows(network, inputs, width)?
    {
        return Ok(outputs);
    }
    let mut predictions = Vec::with_capacity(inputs.len() / width);
    for slice in inputs.chunks(slice_rows.max(1) * width) {
        let x = Tensor::from_slice(slice, (slice.len() / width, width), device)?;
        predictions.extend(predict(network, &x)?);
    }
    Ok(predictions)
}
