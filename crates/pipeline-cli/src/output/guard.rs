//! The registry's own files, which no output may replace: the guard lives
//! with the registry ([`pipeline_registry::RegistryFiles`]), which knows its
//! layout.

pub use pipeline_registry::RegistryFiles;
