//! A run as a self-contained folder that another program (PyTorch, a
//! serving stack) can load without the registry: the weights as stored,
//! the resolved spec, the preprocessing, a schema of inputs, output and
//! layers, the final metrics and the reproducibility receipt. This module
//! decides which files and what they hold; [`folder`] writes them.

pub mod folder;
mod receipt;
mod schema;

use candle_core::Device;
use pipeline_registry::{ArtifactKind, RunRecord};
use serde::Serialize;

pub use receipt::{ArtifactSum, ExportedArtifacts, MetricsFile, Receipt, Selection};
pub use schema::{
    Denormalization, Normalization, Schema, SchemaInput, SchemaLayer, SchemaModel, SchemaOutput,
};

use crate::error::PredictError;
use crate::stored::{StoredModel, artifact, is_checkpoint};

/// Bumped when a file of the folder changes shape.
pub const FORMAT_VERSION: u32 = 1;

/// The files of an export, in the order they are written: what `--force`
/// may replace.
pub const FILES: [&str; 6] = [
    "model.safetensors",
    "spec.toml",
    "preprocessing.json",
    "schema.json",
    "metrics.json",
    "receipt.json",
];

/// An export ready to be written: each file's name and contents.
pub struct Export {
    pub record: RunRecord,
    /// A killed run's best checkpoint, not a completed run's weights.
    pub checkpoint: bool,
    pub files: Vec<(&'static str, Vec<u8>)>,
}

impl Export {
    /// The contents of every file of the export of `stored`. The weights
    /// are loaded once first: the folder promises weights that fit the
    /// schema.
    pub fn new(stored: StoredModel) -> Result<Export, PredictError> {
        stored.network(&Device::Cpu)?;
        let StoredModel {
            record,
            spec,
            preprocessing,
            weights,
            preprocessing_json,
        } = stored;
        let weights_record = artifact(&record, ArtifactKind::Weights)?;
        let preprocessing_record = artifact(&record, ArtifactKind::Preprocessing)?;
        let contents: [Vec<u8>; 6] = [
            weights,
            record.spec_toml.clone().into_bytes(),
            preprocessing_json,
            to_json(&Schema::new(&spec, &preprocessing)?)?,
            to_json(&MetricsFile::new(&record))?,
            to_json(&Receipt::new(&record, weights_record, preprocessing_record))?,
        ];
        let files = FILES.into_iter().zip(contents).collect();
        Ok(Export {
            checkpoint: is_checkpoint(&record),
            record,
            files,
        })
    }

    /// The bytes of every file together.
    pub fn bytes(&self) -> usize {
        self.files.iter().map(|(_, bytes)| bytes.len()).sum()
    }
}

/// `value` as pretty JSON with a final newline.
fn to_json(value: &impl Serialize) -> Result<Vec<u8>, PredictError> {
    let mut text = serde_json::to_string_pretty(value).map_err(PredictError::Json)?;
    text.push('\n');
    Ok(text.into_bytes())
}
