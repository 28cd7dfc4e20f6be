//! Samples from an ordered series (`[data.window]`): each sample holds the
//! `steps` rows before a point in time, row-major `[steps, channels]` (the
//! feature columns, then the target's own past unless `target_input =
//! false`); its target is the value `horizon` rows after the window's last
//! row. Rows are taken in the file's order, or sorted by `order_by`. The
//! samples are split in time order (the last ones are validation and test),
//! and every statistic (the channels' scalers, the target's normalization)
//! comes from the training samples' rows only.

use std::cmp::Ordering;
use std::path::Path;

use pipeline_spec::{DataSpec, Missing, Window, WindowMissing};
use serde::{Deserialize, Serialize};

use crate::cells::Cells;
use crate::columns::{select_features, unknown_column};
use crate::error::DataError;
use crate::normalize::ColumnTransform;
use crate::prepare::{PreparedData, SplitData};
use crate::preprocessing::{ColumnPlan, Encoding, Preprocessing};
use crate::source::Table;
use crate::split::split_indices;
use crate::targets::{TargetValues, fit_targets, read_targets};

/// What inference on a windowed run would need: stored with the run's
/// preprocessing (`window` in `preprocessing.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowPlan {
    pub steps: usize,
    pub horizon: usize,
    /// The input channels in model order (the features, then the target
    /// when it is an input); `Preprocessing::transforms` holds one scaler
    /// for each.
    pub channels: Vec<String>,
    pub target_input: bool,
    /// The target is the change from the window's last value, and the
    /// target's input channel the change from the row before.
    #[serde(default)]
    pub difference: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_by: Option<String>,
    pub interpolate: bool,
}

/// The samples of `table` under `window`, split and normalized.
pub(crate) fn prepare_windows(
    spec: &DataSpec,
    window: &Window,
    path: &Path,
    table: &Table,
    data_sha256: String,
) -> Result<PreparedData, DataError> {
    let (mut targets, target) = read_targets(spec, table)?;
    let available = table.column_names();
    // The series alone unless `data.features` names more channels.
    let features = match &spec.features {
        None => Vec::new(),
        Some(_) => select_features(spec, path, &available)?
            .into_iter()
            .filter(|c| window.order_by.as_ref() != Some(c))
            .collect(),
    };
    let order = time_order(table, window.order_by.as_deref())?;
    let interpolate = window.missing == WindowMissing::Interpolate;
    let reorder = |values: &[f64]| -> Vec<f64> { order.iter().map(|&r| values[r]).collect() };
    let mut channels: Vec<(String, Vec<f64>)> = Vec::with_capacity(features.len() + 1);
    for name in &features {
        let values = Cells::read(table, name)?.into_numbers(table, name)?;
        channels.push((name.clone(), reorder(&values)));
    }
    let target_name = targets.columns().first().cloned().unwrap_or_default();
    let mut series = reorder(&target.values);
    for (name, values) in channels
        .iter_mut()
        .map(|(n, v)| (n.as_str(), v))
        .chain(std::iter::once((target_name.as_str(), &mut series)))
    {
        fill_gaps(path, name, values, interpolate, &order)?;
    }
    // Under `difference`, the target's channel holds each row's change
    // from the row before, and the first row (without one) only serves as
    // the level the first change is taken from.
    let offset = usize::from(window.difference);
    if window.target_input {
        let input = if window.difference {
            std::iter::once(f64::NAN)
                .chain(series.windows(2).map(|pair| pair[1] - pair[0]))
                .collect()
        } else {
            series.clone()
        };
        channels.push((target_name.clone(), input));
    }

    let steps = window.steps.get() as usize;
    let horizon = window.horizon.get() as usize;
    let rows = series.len();
    let samples = (rows + 1).saturating_sub(offset + steps + horizon);
    // In time order: no seed is drawn.
    let (sizes, [train, validation, test]) = split_indices(samples, &spec.split, false, 0);
    if sizes.train == 0 || sizes.validation == 0 || sizes.test == 0 {
        return Err(DataError::TooFewRows {
            path: path.to_path_buf(),
            rows: samples,
            train: sizes.train,
            validation: sizes.validation,
            test: sizes.test,
        });
    }
    // Sample `s` reads rows `first(s)..first(s) + steps`.
    let first = |sample: usize| sample + offset;
    // The rows the training samples read: their inputs.
    let train_rows = first(0)..first(sizes.train - 1) + steps;
    let transforms: Vec<ColumnTransform> = channels
        .iter()
        .map(|(name, values)| {
            let normalize = spec.column_options(name).normalize;
            ColumnTransform::fit(name, normalize, values[train_rows.clone()].iter().copied())
        })
        .collect();
    let mut sample_targets = TargetValues {
        values: (0..samples)
            .map(|s| {
                let last = first(s) + steps - 1;
                let base = if window.difference { series[last] } else { 0.0 };
                series[last + horizon] - base
            })
            .collect(),
        width: 1,
    };
    fit_targets(
        &mut targets,
        &mut sample_targets,
        spec.normalize_target,
        &train,
    );
    let width = channels.len();
    let gather = |indices: &[usize]| SplitData {
        rows: indices.len(),
        features: steps * width,
        x: indices
            .iter()
            .flat_map(|&s| {
                (first(s)..first(s) + steps).flat_map(|row| (0..width).map(move |c| (row, c)))
            })
            .map(|(row, c)| transforms[c].apply(channels[c].1[row]) as f32)
            .collect(),
        y: indices
            .iter()
            .map(|&s| sample_targets.values[s] as f32)
            .collect(),
        targets: 1,
    };
    let (train, validation, test) = (gather(&train), gather(&validation), gather(&test));
    let names: Vec<String> = channels.iter().map(|(n, _)| n.clone()).collect();
    let preprocessing = Preprocessing {
        columns: names
            .iter()
            .map(|name| ColumnPlan {
                column: name.clone(),
                missing: Missing::Error,
                fill: None,
                encoding: Encoding::Float {
                    normalize: spec.column_options(name).normalize,
                },
            })
            .collect(),
        features: names.clone(),
        targets,
        normalize: spec.normalize,
        transforms,
        window: Some(WindowPlan {
            steps,
            horizon,
            channels: names,
            target_input: window.target_input,
            difference: window.difference,
            order_by: window.order_by.clone(),
            interpolate,
        }),
    };
    Ok(PreparedData {
        train,
        validation,
        test,
        sizes,
        data_sha256,
        preprocessing,
    })
}

/// The file's rows in time order: as they are, or sorted (stably) by
/// `order_by`, as numbers when the column holds numbers, else as text (ISO
/// dates sort as text).
fn time_order(table: &Table, order_by: Option<&str>) -> Result<Vec<usize>, DataError> {
    let rows = table.frame.height();
    let mut order: Vec<usize> = (0..rows).collect();
    let Some(column) = order_by else {
        return Ok(order);
    };
    let available = table.column_names();
    if !available.iter().any(|c| c == column) {
        return Err(unknown_column(
            &table.path,
            column,
            "data.window.order_by",
            &available,
        ));
    }
    let cells = Cells::read(table, column)?;
    if cells.is_mostly_numbers() {
        let keys = cells.into_numbers(table, column)?;
        order.sort_by(|&a, &b| keys[a].total_cmp(&keys[b]));
    } else {
        let keys = cells.into_categories();
        order.sort_by(|&a, &b| match (&keys[a], &keys[b]) {
            (Some(x), Some(y)) => x.cmp(y),
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (None, None) => Ordering::Equal,
        });
    }
    Ok(order)
}

/// Fills the empty cells of one series in time order by linear
/// interpolation (the nearest value repeated at either end), or reports
/// them (`first_row` is the file's row of the first, 1-based).
fn fill_gaps(
    path: &Path,
    column: &str,
    values: &mut [f64],
    interpolate: bool,
    order: &[usize],
) -> Result<(), DataError> {
    let missing = values.iter().filter(|v| v.is_nan()).count();
    if missing == 0 {
        return Ok(());
    }
    let first = values.iter().position(|v| v.is_nan()).unwrap_or(0);
    if !interpolate || missing == values.len() {
        return Err(DataError::WindowMissing {
            path: path.to_path_buf(),
            column: column.to_string(),
            count: missing,
            first_row: order.get(first).map_or(first, |&r| r) + 1,
        });
    }
    interpolate_linear(values);
    Ok(())
}

/// Linear interpolation over NaN runs, in place; NaNs before the first or
/// after the last value take that value. A series without values stays as
/// it is.
pub(crate) fn interpolate_linear(values: &mut [f64]) {
    let known: Vec<usize> = (0..values.len()).filter(|&i| !values[i].is_nan()).collect();
    let (Some(&first), Some(&last)) = (known.first(), known.last()) else {
        return;
    };
    let (head, tail) = (values[first], values[last]);
    values[..first].fill(head);
    values[last + 1..].fill(tail);
    for pair in known.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let (va, vb) = (values[a], values[b]);
        for (i, value) in values.iter_mut().enumerate().take(b).skip(a + 1) {
            *value = va + (vb - va) * (i - a) as f64 / (b - a) as f64;
        }
    }
}

#[cfg(test)]
#[path = "windows_tests.rs"]
mod tests;
