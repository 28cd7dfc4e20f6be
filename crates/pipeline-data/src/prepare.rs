//! The data stage end to end: columns → numbers → split → normalization →
//! tensors. Also the inference half: raw rows → normalized model inputs with
//! a run's stored [`Preprocessing`].

use std::path::Path;

use candle_core::{Device, Tensor};
use pipeline_spec::DataSpec;

use crate::error::DataError;
use crate::normalize::{ColumnTransform, Preprocessing};
use crate::source::{Table, numeric_column, read_table_hashed};
use crate::split::{SplitSizes, split_indices};

/// One split as dense row-major `f32` matrices.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitData {
    pub rows: usize,
    pub features: usize,
    /// `rows × features`, normalized.
    pub x: Vec<f32>,
    /// `rows × 1`, as in the file.
    pub y: Vec<f32>,
}

impl SplitData {
    /// `(x, y)` on `device`, shapes `(rows, features)` and `(rows, 1)`.
    pub fn tensors(&self, device: &Device) -> Result<(Tensor, Tensor), DataError> {
        let x = Tensor::from_slice(&self.x, (self.rows, self.features), device)?;
        let y = Tensor::from_slice(&self.y, (self.rows, 1), device)?;
        Ok((x, y))
    }
}

/// The prepared data of a run.
#[derive(Debug, Clone)]
pub struct PreparedData {
    pub preprocessing: Preprocessing,
    pub sizes: SplitSizes,
    pub train: SplitData,
    pub validation: SplitData,
    pub test: SplitData,
    /// sha256 of the data file's bytes.
    pub data_sha256: String,
}

fn unknown_column(
    path: &Path,
    column: &str,
    role: &'static str,
    available: &[String],
) -> DataError {
    DataError::UnknownColumn {
        path: path.to_path_buf(),
        column: column.to_string(),
        role,
        suggestion: available
            .iter()
            .map(|c| (strsim::damerau_levenshtein(column, c), c))
            .filter(|(d, c)| *d <= 2.max(c.len() / 3))
            .min_by_key(|(d, _)| *d)
            .map(|(_, c)| c.clone()),
        available: available.to_vec(),
    }
}

/// Reads, checks, splits and normalizes the data of a spec.
pub fn prepare(spec: &DataSpec, path: &Path, seed: u64) -> Result<PreparedData, DataError> {
    let (table, data_sha256) = read_table_hashed(path)?;
    let available = table.column_names();
    if !available.contains(&spec.target) {
        return Err(unknown_column(path, &spec.target, "target", &available));
    }
    let features: Vec<String> = match &spec.features {
        Some(list) => {
            if let Some(missing) = list.iter().find(|c| !available.contains(c)) {
                return Err(unknown_column(path, missing, "feature", &available));
            }
            list.clone()
        }
        None => available
            .iter()
            .filter(|c| **c != spec.target)
            .cloned()
            .collect(),
    };
    if features.is_empty() {
        return Err(DataError::NoFeatures {
            path: path.to_path_buf(),
            target: spec.target.clone(),
        });
    }
    let rows = table.frame.height();

    let columns: Vec<Vec<f64>> = features
        .iter()
        .map(|c| numeric_column(&table, c))
        .collect::<Result<_, _>>()?;
    let target = numeric_column(&table, &spec.target)?;

    let (sizes, [train_rows, validation_rows, test_rows]) = split_indices(
        rows,
        &spec.split,
        spec.shuffle,
        crate::derive_seed(seed, "split"),
    );
    if sizes.train == 0 || sizes.validation == 0 || sizes.test == 0 {
        return Err(DataError::TooFewRows {
            path: path.to_path_buf(),
            rows,
            train: sizes.train,
            validation: sizes.validation,
            test: sizes.test,
        });
    }

    // Statistics come from the training rows only.
    let transforms: Vec<ColumnTransform> = features
        .iter()
        .zip(&columns)
        .map(|(name, values)| {
            ColumnTransform::fit(name, spec.normalize, train_rows.iter().map(|&r| values[r]))
        })
        .collect();
    let preprocessing = Preprocessing {
        features,
        target: spec.target.clone(),
        normalize: spec.normalize,
        transforms,
    };
    let gather = |indices: &[usize]| SplitData {
        rows: indices.len(),
        features: columns.len(),
        x: indices
            .iter()
            .flat_map(|&r| {
                columns
                    .iter()
                    .zip(&preprocessing.transforms)
                    .map(move |(c, t)| t.apply(c[r]) as f32)
            })
            .collect(),
        y: indices.iter().map(|&r| target[r] as f32).collect(),
    };
    Ok(PreparedData {
        train: gather(&train_rows),
        validation: gather(&validation_rows),
        test: gather(&test_rows),
        sizes,
        data_sha256,
        preprocessing,
    })
}

/// Model inputs for the rows of `table`, with the stored preprocessing:
/// every feature column must be present and numeric.
pub fn model_inputs(table: &Table, preprocessing: &Preprocessing) -> Result<Vec<f32>, DataError> {
    let available = table.column_names();
    if let Some(missing) = preprocessing
        .features
        .iter()
        .find(|c| !available.contains(c))
    {
        return Err(unknown_column(
            &table.path,
            missing,
            "feature of the run",
            &available,
        ));
    }
    let columns: Vec<Vec<f64>> = preprocessing
        .features
        .iter()
        .map(|c| numeric_column(table, c))
        .collect::<Result<_, _>>()?;
    let rows = table.frame.height();
    Ok((0..rows)
        .flat_map(|r| {
            columns
                .iter()
                .zip(&preprocessing.transforms)
                .map(move |(c, t)| t.apply(c[r]) as f32)
        })
        .collect())
}
