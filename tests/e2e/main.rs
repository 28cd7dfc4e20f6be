//! End-to-end tests: the real `pipeline` binary on the shipped diabetes data,
//! against a registry in a temporary folder.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod artifact_stores;
mod backends;
mod bounded_inputs;
mod check;
mod classification;
mod color;
mod common;
mod compare_many;
mod completions;
mod devices;
mod diagnosis;
mod errors;
mod export;
mod fingerprint;
mod folds;
mod guarded_paths;
mod help;
mod infer_columns;
mod inference;
mod json_shapes;
mod labels;
mod layers;
mod learning;
mod lifecycle;
mod malformed;
mod messages;
mod messy;
mod names;
mod precision;
mod predict_json;
mod removal;
mod report;
mod resume;
mod schedules;
mod sequences;
mod serve;
mod signals;
mod spec_keys;
mod stress;
mod sweep_runs;
mod sweeps;
mod tour;
mod workers;
mod workflow;
