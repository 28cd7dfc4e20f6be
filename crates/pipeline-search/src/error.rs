//! The crate's one error type: a search space or a pruner that cannot be used.

/// Why a space, a sampler or a pruner was refused. Each variant names the dimension or setting.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SearchError {
    #[error("the search space has no dimension")]
    EmptySpace,
    #[error("dimension `{name}` has no choices")]
    NoChoices { name: String },
    #[error("dimension `{name}`: low {low} must be below high {high} (both finite)")]
    EmptyRange { name: String, low: f64, high: f64 },
    #[error(
        "dimension `{name}` is searched on a log scale, so its low bound must be above 0 (got {low})"
    )]
    LogNotPositive { name: String, low: f64 },
    #[error("a grid needs every dimension to be a list of values; `{name}` is a range")]
    GridNotCategorical { name: String },
    #[error("the grid has more points than can be counted (over 2^64)")]
    GridTooLarge,
    #[error("pruner setting `{setting}` must be at least {minimum} (got {value})")]
    PrunerSetting {
        setting: &'static str,
        minimum: u32,
        value: u32,
    },
}
