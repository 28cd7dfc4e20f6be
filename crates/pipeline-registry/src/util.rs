//! Small helpers shared by the read and write paths: timestamps and checked
//! integer conversions between Rust types and SQL INTEGER columns.

use chrono::{SecondsFormat, Utc};

/// Rows per multi-row INSERT (at most 5 bound values each, far below
/// SQLite's limit of 32,766).
pub(crate) const ROWS_PER_INSERT: usize = 500;

/// The current time as stored in the registry: RFC 3339, UTC, milliseconds
/// (`2025-01-31T12:34:56.789Z`), so text order is time order.
pub(crate) fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A real as the registry stores it: NaN as NULL on both backends
/// (SQLite turns a NaN into NULL itself; PostgreSQL would store NaN and
/// sort it above every number, ranking a diverged run best).
pub(crate) fn real(value: f64) -> Option<f64> {
    (!value.is_nan()).then_some(value)
}
