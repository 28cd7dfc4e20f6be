//! Samples from an ordered series (`[data.window]`): each sample holds the
//! `steps` rows before a point in time, row-major `[steps, channels]` (the
//! feature columns, then the target's own past unless `target_input =
//! false`); its target is the value `horizon` rows after the window's last
//! row. Rows are taken in the file's order, or sorted by `order_by`. The
//! samples are split in time order (the last ones are validation and test),
//! and every statistic (the channels' scalers, the target's normalization)
//! comes from the training samples' rows only.

use std::cmp::Ordering;
use std::ops::Range;
use std::path::Path;

use pipeline_spec::{DataSpec, Missing, Window, WindowMissing};
use serde::{Deserialize, Serialize};

use crate::cells::{Cells, category_of};
use crate::columns::{select_features, unknown_column};
use crate::error::DataError;
use crate::normalize::ColumnTransform;
use crate::prepare::{PreparedData, SplitData};
use crate::preprocessing::{ColumnPlan, Encoding, Preprocessing};
use crate::source::Table;
use crate::split::{SplitSizes, split_indices};
use crate::targets::{TargetPlan, TargetValues, fit_targets, read_targets};

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
    let features = window_features(spec, window, path, table)?;
    let target_name = targets.columns().first().cloned().unwrap_or_default();
    let Series {
        channels, target, ..
    } = read_series(
        table,
        path,
        &SeriesColumns {
            features: &features,
            target: &target_name,
            order_by: window.order_by.as_deref(),
            interpolate: window.missing == WindowMissing::Interpolate,
            target_input: window.target_input,
            difference: window.difference,
        },
        Some(target.values),
    )?;
    let series = target.unwrap_or_default();
    let shape = Sampling::of(window);
    let rows = series.len();
    let samples = shape.samples(rows);
    // In time order: no seed is drawn.
    let (sizes, [train, validation, test]) = split_indices(samples, &spec.split, false, 0);
    if sizes.train == 0 || sizes.validation == 0 || sizes.test == 0 {
        return Err(too_long(spec, window, path, rows, samples));
    }
    // The rows the training samples read: their inputs.
    let train_rows = shape.first(0)..shape.first(sizes.train - 1) + shape.steps;
    let transforms = fit_channels(spec, &channels, train_rows);
    let mut sample_targets = shape.targets(&series, samples);
    fit_targets(
        &mut targets,
        &mut sample_targets,
        spec.normalize_target,
        &train,
    );
    let gather = |indices: &[usize]| shape.gather(indices, &channels, &transforms, &sample_targets);
    let (train, validation, test) = (gather(&train), gather(&validation), gather(&test));
    let names: Vec<String> = channels.iter().map(|(n, _)| n.clone()).collect();
    let preprocessing = window_preprocessing(spec, window, names, targets, transforms);
    Ok(PreparedData {
        train,
        validation,
        test,
        sizes,
        data_sha256,
        preprocessing,
    })
}

/// The input channels besides the target's own past: none unless
/// `data.features` names some (never the `order_by` column).
fn window_features(
    spec: &DataSpec,
    window: &Window,
    path: &Path,
    table: &Table,
) -> Result<Vec<String>, DataError> {
    Ok(match &spec.features {
        None => Vec::new(),
        Some(_) => select_features(spec, path, &table.column_names())?
            .into_iter()
            .filter(|c| window.order_by.as_ref() != Some(c))
            .collect(),
    })
}

/// Each channel's scaler, fitted on the series rows the training samples
/// read (`train_rows`).
fn fit_channels(
    spec: &DataSpec,
    channels: &[(String, Vec<f64>)],
    train_rows: Range<usize>,
) -> Vec<ColumnTransform> {
    channels
        .iter()
        .map(|(name, values)| {
            let normalize = spec.column_options(name).normalize;
            ColumnTransform::fit(name, normalize, values[train_rows.clone()].iter().copied())
        })
        .collect()
}

/// How a window's samples sit on the series (time-order rows): sample `s`
/// reads the `steps` rows from [`Sampling::first`], and its target is the
/// value `horizon` rows after its last (less the last row's value under
/// `difference`, whose first row only serves as a level).
#[derive(Debug, Clone, Copy)]
struct Sampling {
    steps: usize,
    horizon: usize,
    difference: bool,
    /// The row sample 0 starts at: 1 under `difference`, else 0.
    offset: usize,
}

impl Sampling {
    fn of(window: &Window) -> Sampling {
        Sampling {
            steps: window.steps.get() as usize,
            horizon: window.horizon.get() as usize,
            difference: window.difference,
            offset: usize::from(window.difference),
        }
    }

    /// How many samples a series of `rows` rows holds.
    fn samples(self, rows: usize) -> usize {
        (rows + 1).saturating_sub(self.offset + self.steps + self.horizon)
    }

    /// The first row sample `sample` reads.
    fn first(self, sample: usize) -> usize {
        sample + self.offset
    }

    /// Each sample's target from the target's `series`, one column.
    fn targets(self, series: &[f64], samples: usize) -> TargetValues {
        TargetValues {
            values: (0..samples)
                .map(|s| {
                    let last = self.first(s) + self.steps - 1;
                    let base = if self.difference { series[last] } else { 0.0 };
                    series[last + self.horizon] - base
                })
                .collect(),
            width: 1,
        }
    }

    /// The split of the samples `indices`: each one's rows of every
    /// channel, scaled, row-major `[steps, channels]`, and its target.
    fn gather(
        self,
        indices: &[usize],
        channels: &[(String, Vec<f64>)],
        transforms: &[ColumnTransform],
        targets: &TargetValues,
    ) -> SplitData {
        let width = channels.len();
        SplitData {
            rows: indices.len(),
            features: self.steps * width,
            x: indices
                .iter()
                .flat_map(|&s| {
                    (self.first(s)..self.first(s) + self.steps)
                        .flat_map(|row| (0..width).map(move |c| (row, c)))
                })
                .map(|(row, c)| transforms[c].apply(channels[c].1[row]) as f32)
                .collect(),
            y: indices.iter().map(|&s| targets.values[s] as f32).collect(),
            targets: 1,
        }
    }
}

/// Too few samples for every split: the rows a split gets are samples
/// (windows), not the file's rows, so the error says what one window needs
/// and the longest that would still do.
fn too_long(
    spec: &DataSpec,
    window: &Window,
    path: &Path,
    rows: usize,
    samples: usize,
) -> DataError {
    let offset = usize::from(window.difference);
    let horizon = window.horizon.get() as usize;
    let fewest = (1..=rows)
        .find(|&n| {
            let sizes = SplitSizes::of(n, &spec.split);
            sizes.train > 0 && sizes.validation > 0 && sizes.test > 0
        })
        .unwrap_or(rows + 1);
    DataError::WindowTooLong {
        path: path.to_path_buf(),
        rows,
        steps: window.steps.get() as usize,
        horizon,
        difference: window.difference,
        samples,
        fewest,
        largest_steps: (rows + 1).saturating_sub(offset + horizon + fewest),
    }
}

/// What a windowed run stores to window new rows the same way: each
/// channel's float plan and transform, the targets, and the window.
fn window_preprocessing(
    spec: &DataSpec,
    window: &Window,
    names: Vec<String>,
    targets: TargetPlan,
    transforms: Vec<ColumnTransform>,
) -> Preprocessing {
    Preprocessing {
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
            steps: window.steps.get() as usize,
            horizon: window.horizon.get() as usize,
            channels: names,
            target_input: window.target_input,
            difference: window.difference,
            order_by: window.order_by.clone(),
            interpolate: window.missing == WindowMissing::Interpolate,
        }),
    }
}

/// Which columns make a series and how ([`WindowPlan`]'s settings, or the
/// spec's while preparing).
struct SeriesColumns<'a> {
    /// The input channels other than the target's own past.
    features: &'a [String],
    target: &'a str,
    order_by: Option<&'a str>,
    interpolate: bool,
    target_input: bool,
    difference: bool,
}

/// A table's rows as one series in time order.
struct Series {
    /// The file's rows (0-based) in time order.
    order: Vec<usize>,
    /// The model's input channels, in model order, in time order.
    channels: Vec<(String, Vec<f64>)>,
    /// The target's values in time order (`None`: the file has no such
    /// column, which inference allows when the target is no input).
    target: Option<Vec<f64>>,
}

/// Orders the rows, reads every channel as numbers, fills the gaps (or
/// reports them), and under `difference` turns the target's channel into
/// the change from the row before (the first row has none: `NaN`, and
/// serves only as the level the first change is taken from). `target`:
/// the target's values by file row when the caller has read them already.
fn read_series(
    table: &Table,
    path: &Path,
    columns: &SeriesColumns<'_>,
    target: Option<Vec<f64>>,
) -> Result<Series, DataError> {
    let order = time_order(table, columns.order_by)?;
    let reorder = |values: &[f64]| -> Vec<f64> { order.iter().map(|&r| values[r]).collect() };
    let available = table.column_names();
    let read = |name: &str, role: &'static str| -> Result<Vec<f64>, DataError> {
        if !available.iter().any(|c| c == name) {
            return Err(unknown_column(path, name, role, &available));
        }
        let mut values = reorder(&Cells::read(table, name)?.into_numbers(table, name)?);
        fill_gaps(path, name, &mut values, columns.interpolate, &order)?;
        Ok(values)
    };
    let mut channels: Vec<(String, Vec<f64>)> = Vec::with_capacity(columns.features.len() + 1);
    for name in columns.features {
        channels.push((name.clone(), read(name, "an input channel of the run")?));
    }
    let needed = columns.target_input || columns.difference;
    let target = match target {
        Some(values) => {
            let mut values = reorder(&values);
            fill_gaps(
                path,
                columns.target,
                &mut values,
                columns.interpolate,
                &order,
            )?;
            Some(values)
        }
        None if needed => Some(read(columns.target, "the series the run forecasts")?),
        // Only scored (`evaluate`), never an input: its empty cells are
        // rows without a known target, not gaps to fill.
        None if available.iter().any(|c| c == columns.target) => Some(reorder(
            &Cells::read(table, columns.target)?.into_numbers(table, columns.target)?,
        )),
        None => None,
    };
    if let (true, Some(series)) = (columns.target_input, &target) {
        let input = if columns.difference {
            std::iter::once(f64::NAN)
                .chain(series.windows(2).map(|pair| pair[1] - pair[0]))
                .collect()
        } else {
            series.clone()
        };
        channels.push((columns.target.to_owned(), input));
    }
    Ok(Series {
        order,
        channels,
        target,
    })
}

/// The windows of a file, for predicting with (or evaluating) a windowed
/// run: every window of `steps` consecutive rows in time order, the last
/// ones included even when the value `horizon` rows after them is not in
/// the file (those are the forecasts). The series is held once, scaled; a
/// window's inputs are built when asked for ([`WindowedInputs::inputs`]), so
/// memory grows with the series' rows, not with rows × `steps`.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowedInputs {
    /// The series in time order, `rows × channels`, row-major, scaled as in
    /// training (the first row `NaN` in the target's channel under
    /// `difference`: it serves only as a level, no window reads it).
    series: Vec<f32>,
    channels: usize,
    steps: usize,
    /// The time-order row of window 0's first row (1 under `difference`).
    offset: usize,
    /// For each window, the file row (0-based, in the file's order) of its
    /// last row: the row its forecast belongs to.
    pub rows: Vec<usize>,
    /// For each window, what its de-normalized output is added to: the
    /// target's value at the window's last row under `difference`, else 0.
    pub base: Vec<f64>,
    /// For each window, its target on the model's scale when the file holds
    /// the value `horizon` rows later, as training computed it (`None`
    /// beyond the file, or for an empty cell of a target that is no input).
    pub targets: Vec<Option<f32>>,
}

impl WindowedInputs {
    pub fn windows(&self) -> usize {
        self.rows.len()
    }

    /// One window's model inputs, `steps × channels` row-major: a slice of
    /// the series (consecutive windows overlap).
    pub fn window(&self, w: usize) -> &[f32] {
        let first = (w + self.offset) * self.channels;
        &self.series[first..first + self.steps * self.channels]
    }

    /// The model inputs of `windows`, one after the other (what a
    /// prediction pass takes): a range, or any windows picked.
    pub fn inputs(&self, windows: impl ExactSizeIterator<Item = usize>) -> Vec<f32> {
        let mut x = Vec::with_capacity(windows.len() * self.steps * self.channels);
        for w in windows {
            x.extend_from_slice(self.window(w));
        }
        x
    }

    /// Records window `w`'s file row (that of its last row), its base level
    /// and its target on the model's scale when the file holds it (`target`:
    /// the target's series in time order, `order`: the file row of each).
    fn push_labels(
        &mut self,
        w: usize,
        order: &[usize],
        target: Option<&[f64]>,
        plan: &WindowPlan,
        target_transform: Option<&ColumnTransform>,
    ) {
        let last = w + self.offset + self.steps - 1;
        self.rows.push(order[last]);
        let level = match (target, plan.difference) {
            (Some(series), true) => series[last],
            _ => 0.0,
        };
        self.base.push(level);
        let later = target
            .and_then(|series| series.get(last + plan.horizon))
            .filter(|value| !value.is_nan())
            .map(|value| {
                let change = value - level;
                target_transform.map_or(change, |t| t.apply(change)) as f32
            });
        self.targets.push(later);
    }
}

/// The windows of `table` under a windowed run's stored preprocessing: the
/// same ordering, gap filling, differencing and per-channel scaling as
/// training. A missing channel column, a gap the run did not interpolate, or
/// fewer rows than one window needs is an error.
pub fn windowed_inputs(
    table: &Table,
    preprocessing: &Preprocessing,
) -> Result<WindowedInputs, DataError> {
    let path = &table.path;
    let Some(plan) = &preprocessing.window else {
        return Err(DataError::NotWindowed {
            path: path.clone(),
            detail: "its preprocessing has no window".into(),
        });
    };
    let Series {
        order,
        channels,
        target,
    } = read_planned_series(table, preprocessing, plan)?;
    let offset = usize::from(plan.difference);
    let rows = order.len();
    let needed = offset + plan.steps;
    if rows < needed {
        return Err(DataError::TooFewRowsForWindow {
            path: path.clone(),
            rows,
            needed,
            steps: plan.steps,
        });
    }
    let series = scaled_series(path, &channels, &preprocessing.transforms, rows)?;
    let windows = rows + 1 - needed;
    let mut inputs = WindowedInputs {
        series,
        channels: channels.len(),
        steps: plan.steps,
        offset,
        rows: Vec::with_capacity(windows),
        base: Vec::with_capacity(windows),
        targets: Vec::with_capacity(windows),
    };
    let target_transform = match &preprocessing.targets {
        TargetPlan::Regression { transforms, .. } => transforms.first(),
        _ => None,
    };
    for w in 0..windows {
        inputs.push_labels(w, &order, target.as_deref(), plan, target_transform);
    }
    Ok(inputs)
}

/// The series of `table` with the channels, order and gap filling the
/// run's window `plan` stored.
fn read_planned_series(
    table: &Table,
    preprocessing: &Preprocessing,
    plan: &WindowPlan,
) -> Result<Series, DataError> {
    let target_name = preprocessing
        .targets
        .columns()
        .first()
        .cloned()
        .unwrap_or_default();
    // The target's channel, when it is an input, comes last.
    let features: Vec<String> = if plan.target_input {
        plan.channels[..plan.channels.len().saturating_sub(1)].to_vec()
    } else {
        plan.channels.clone()
    };
    read_series(
        table,
        &table.path,
        &SeriesColumns {
            features: &features,
            target: &target_name,
            order_by: plan.order_by.as_deref(),
            interpolate: plan.interpolate,
            target_input: plan.target_input,
            difference: plan.difference,
        },
        None,
    )
}

/// The first `rows` rows of the channels, scaled once by the stored
/// `transforms` (one per channel, else an error), row-major
/// `[rows, channels]`: window `w` reads rows `w + offset .. w + offset +
/// steps` of it.
fn scaled_series(
    path: &Path,
    channels: &[(String, Vec<f64>)],
    transforms: &[ColumnTransform],
    rows: usize,
) -> Result<Vec<f32>, DataError> {
    if transforms.len() != channels.len() {
        return Err(DataError::NotWindowed {
            path: path.to_path_buf(),
            detail: format!(
                "{} scaler(s) stored for {} channel(s)",
                transforms.len(),
                channels.len()
            ),
        });
    }
    let mut series = Vec::with_capacity(rows * channels.len());
    for row in 0..rows {
        for (c, (_, values)) in channels.iter().enumerate() {
            series.push(transforms[c].apply(values[row]) as f32);
        }
    }
    Ok(series)
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
    // The first pair of rows (in time order) with one time: two values for
    // one point in time would give two windows, and two forecasts, for it.
    let repeated = if cells.is_mostly_numbers() {
        let keys = cells.into_numbers(table, column)?;
        order.sort_by(|&a, &b| keys[a].total_cmp(&keys[b]));
        order
            .windows(2)
            .find(|pair| !keys[pair[0]].is_nan() && keys[pair[0]] == keys[pair[1]])
            .map(|pair| (pair[0], pair[1], category_of(keys[pair[0]])))
    } else {
        let keys = cells.into_categories();
        order.sort_by(|&a, &b| match (&keys[a], &keys[b]) {
            (Some(x), Some(y)) => x.cmp(y),
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (None, None) => Ordering::Equal,
        });
        order
            .windows(2)
            .find_map(|pair| match (&keys[pair[0]], &keys[pair[1]]) {
                (Some(x), Some(y)) if x == y => Some((pair[0], pair[1], x.clone())),
                _ => None,
            })
    };
    if let Some((first, second, value)) = repeated {
        // The sort is stable: `first` comes before `second` in the file.
        return Err(DataError::WindowRepeatedTime {
            path: table.path.clone(),
            column: column.to_owned(),
            value,
            first_row: first + 1,
            second_row: second + 1,
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
