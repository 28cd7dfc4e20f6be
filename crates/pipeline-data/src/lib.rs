//! Data preparation: reads a table with polars, picks the spec's columns
//! (names, patterns, exclusions), types them (floats and categories), drops
//! or fills empty cells, splits the rows with the spec's seed, fits fills,
//! categories and normalization on the training split only, and hands the
//! model dense `f32` tensors.
//!
//! The fitted [`Preprocessing`] is stored with each run so that inference
//! applies exactly what training did.

mod batches;
mod cells;
mod columns;
mod error;
mod features;
mod fingerprint;
mod folds;
mod json;
mod normalize;
mod prepare;
mod preprocessing;
mod seed;
mod source;
mod split;
mod stats;
mod targets;
mod windows;

pub use batches::{
    BATCH_ROWS, Batch, Batches, Position, PositionUnit, ReadAhead, column_types, read_batches,
    read_batches_from,
};
pub use cells::category_of;
pub use error::{DataError, TypeMismatch};
pub use fingerprint::{ResolvedColumn, columns_hash};
pub use folds::{fold_indices, fold_split};
pub use json::{JsonRowsError, parse_rows};
pub use normalize::ColumnTransform;
pub use prepare::{PreparedData, SplitData, model_inputs, prepare};
pub use preprocessing::{ColumnPlan, Encoding, Preprocessing};
pub use seed::derive_seed;
pub use source::{
    Table, TableFormat, numeric_column, read_table, read_table_from, read_table_hashed,
    table_from_json_rows,
};
pub use split::{SplitSizes, split_indices, stratified_split_indices};
pub use targets::TargetPlan;
pub use windows::{WindowPlan, WindowedInputs, windowed_inputs};
