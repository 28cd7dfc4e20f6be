//! The experiment spec: a TOML file read strictly into validated types.
//!
//! Parsing happens in two steps, as in uv and ruff: serde reads the file into
//! `raw` structs that reject unknown keys, then [`Spec::parse`] (or
//! [`Spec::load`], which reads the file first) checks the values that serde
//! cannot (fractions summing to one, positive learning rates, …), one module
//! per section: `data`, `model` (and `layer`), `loss`, `optimizer`, `train`, `selection`,
//! `sweep` (a space of specs: [`LoadedSpec::trial`] is one of them).
//! After that point an invalid spec cannot be represented. Every default
//! lives in [`defaults`].

mod columns;
mod cross_validation;
mod data;
pub mod defaults;
mod device;
mod error;
mod flat;
mod keys;
mod layer;
mod loss;
mod metric;
mod model;
mod optimizer;
mod overrides;
mod path;
mod raw;
mod schema;
mod selection;
mod spec;
mod split;
mod sweep;
mod task;
mod train;
mod validate;
mod window;

pub use columns::{
    ColumnOptions, ColumnType, Encode, FillValue, Missing, ResolvedColumnOptions, UnknownCategory,
    glob_matches, is_glob,
};
pub use cross_validation::{CrossValidation, FoldsRefusal};
pub use data::{DataSpec, Targets};
pub use device::Device;
pub use error::{SpecError, SpecErrorKind, closest};
pub use flat::{FlatValue, flatten_spec};
pub use keys::{differing_keys, is_noise_key, short_key_names};
pub use layer::{Convolution, Layer, Pooling, Recurrent, Transformer};
pub use loss::{ClassWeights, Loss};
pub use metric::{Direction, MetricName, MetricRef, SplitName};
pub use model::ModelSpec;
pub use optimizer::{Algorithm, Optimizer, Schedule};
pub use overrides::Override;
pub use path::{dotted_path, path_segments};
pub use raw::{Normalize, Precision};
pub use schema::json_schema;
pub use selection::Selection;
pub use spec::{ExperimentName, LoadedSpec, Spec};
pub use split::SplitFractions;
pub use sweep::{Domain, PrunerSpec, SweepMethod, SweepParameter, SweepSpec};
pub use task::Task;
pub use train::{EarlyStopping, TrainSpec};
pub use window::{Window, WindowMissing};

#[cfg(test)]
mod sweep_tests;
#[cfg(test)]
mod tests;
