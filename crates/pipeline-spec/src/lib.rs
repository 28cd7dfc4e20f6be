//! The experiment spec: a TOML file read strictly into validated types.
//!
//! Parsing happens in two steps, as in uv and ruff: serde reads the file into
//! `raw` structs that reject unknown keys, then [`Spec::from_raw`] checks the
//! values that serde cannot (fractions summing to one, positive learning
//! rates, …). After that point an invalid spec cannot be represented. Every
//! default lives in [`defaults`].

mod columns;
mod cross_validation;
pub mod defaults;
mod device;
mod error;
mod metric;
mod model;
mod optimizer;
mod overrides;
mod raw;
mod schema;
mod task;
mod types;

pub use columns::{
    ColumnOptions, ColumnType, Encode, FillValue, Missing, UnknownCategory, glob_matches, is_glob,
};
pub use cross_validation::{CrossValidation, FoldsRefusal};
pub use error::{SpecError, SpecErrorKind, closest};
pub use metric::{Direction, MetricName, MetricRef, SplitName};
pub use model::{Convolution, Layer, ModelSpec, Pooling, Recurrent, Transformer};
pub use optimizer::{Algorithm, Optimizer, Schedule};
pub use overrides::Override;
pub use schema::json_schema;
pub use task::Task;
pub use types::*;

#[cfg(test)]
mod tests;
