//! One feature column of a prepared run: read and typed (`[data.types]`,
//! else the file's), its `[data.columns]` settings checked against its
//! type, and fitted on the training rows: its fill, its categories and the
//! scalers of its model inputs ([`ColumnPlan`], [`ColumnTransform`]).

use std::path::Path;

use pipeline_spec::{
    ColumnOptions, ColumnType, DataSpec, Encode, FillValue, Missing, Normalize,
    ResolvedColumnOptions,
};

use crate::cells::{Cells, category_of};
use crate::error::DataError;
use crate::normalize::ColumnTransform;
use crate::preprocessing::{ColumnPlan, ColumnValues, Encoding};
use crate::source::Table;
use crate::stats;

/// A feature column read and typed, with its resolved settings.
pub(crate) struct FeatureColumn {
    pub name: String,
    pub options: ResolvedColumnOptions,
    pub values: ColumnValues,
}

/// Reads one feature and decides its type: `[data.types]` first, then the
/// file's (numbers are floats; text is categorical unless most of it is
/// numbers, which makes it a float column with bad cells).
pub(crate) fn read_feature(
    spec: &DataSpec,
    table: &Table,
    name: &str,
) -> Result<FeatureColumn, DataError> {
    let options = spec.column_options(name);
    let cells = Cells::read(table, name)?;
    let categorical = match options.declared_type {
        Some(ColumnType::Float) => false,
        Some(ColumnType::Categorical) => true,
        None => !cells.is_mostly_numbers(),
    };
    let values = if categorical {
        ColumnValues::Categorical(cells.into_categories())
    } else {
        ColumnValues::Float(cells.into_numbers(table, name)?)
    };
    let not_for =
        |setting: String, kind: &'static str, advice: &'static str| DataError::OptionNotForColumn {
            path: table.path.clone(),
            column: name.to_string(),
            setting,
            kind,
            advice,
        };
    let options = if categorical {
        categorical_options(options, &not_for)?
    } else {
        float_options(options, spec.columns.get(name), &not_for)?
    };
    Ok(FeatureColumn {
        name: name.to_string(),
        options,
        values,
    })
}

/// Why a column's setting does not apply to its type.
type NotFor<'a> = dyn Fn(String, &'static str, &'static str) -> DataError + 'a;

/// A categorical column's settings: mean and median fills refused when set
/// on it (the `[data]` default leaves its empty cells an error), a numeric
/// constant made a category, and no scaler on one-hot inputs.
fn categorical_options(
    mut options: ResolvedColumnOptions,
    not_for: &NotFor<'_>,
) -> Result<ResolvedColumnOptions, DataError> {
    match &options.missing {
        Missing::Mean | Missing::Median if options.missing_is_own => {
            return Err(not_for(
                format!("missing = {}", options.missing),
                "categorical",
                "use \"mode\", { constant = \"…\" }, \"drop\" or \"error\"",
            ));
        }
        // The [data] default fills the float columns; an empty cell of
        // a categorical one stays an error.
        Missing::Mean | Missing::Median => options.missing = Missing::Error,
        Missing::Constant(FillValue::Number(n)) => {
            options.missing = Missing::Constant(FillValue::Text(category_of(*n)));
        }
        _ => {}
    }
    if options.normalize_is_own && options.encode == Encode::Onehot {
        return Err(not_for(
            format!("normalize = \"{}\"", options.normalize.as_str()),
            "categorical and one-hot encoded (0/1 inputs)",
            "remove it, or set encode = \"ordinal\"",
        ));
    }
    Ok(options)
}

/// A float column's settings: no category settings of its own, and a
/// numeric fill.
fn float_options(
    options: ResolvedColumnOptions,
    own: Option<&ColumnOptions>,
    not_for: &NotFor<'_>,
) -> Result<ResolvedColumnOptions, DataError> {
    if let Some(own) = own {
        for (setting, set) in [
            ("encode", own.encode.is_some()),
            ("unknown", own.unknown.is_some()),
        ] {
            if set {
                return Err(not_for(
                    setting.to_string(),
                    "a float column",
                    "remove it, or declare the column categorical in [data.types]",
                ));
            }
        }
    }
    if let Missing::Constant(FillValue::Text(text)) = &options.missing {
        return Err(not_for(
            format!("missing = {{ constant = {text:?} }}"),
            "a float column",
            "fill it with a number, e.g. { constant = 0.0 }",
        ));
    }
    Ok(options)
}

/// Fits one column on the training rows: its fill, its categories, and the
/// transforms of its model inputs.
fn fit_column(
    path: &Path,
    column: &FeatureColumn,
    train_rows: &[usize],
) -> Result<(ColumnPlan, Vec<ColumnTransform>), DataError> {
    let no_values = |statistic: &'static str| DataError::NoTrainingValues {
        path: path.to_path_buf(),
        column: column.name.clone(),
        statistic,
    };
    match &column.values {
        ColumnValues::Float(cells) => fit_float(column, cells, train_rows, &no_values),
        ColumnValues::Categorical(cells) => fit_categorical(column, cells, train_rows, &no_values),
    }
}

/// A float column: its fill (a statistic of the training values or a
/// constant) and its scaler, fitted on the filled training values.
fn fit_float(
    column: &FeatureColumn,
    cells: &[f64],
    train_rows: &[usize],
    no_values: &dyn Fn(&'static str) -> DataError,
) -> Result<(ColumnPlan, Vec<ColumnTransform>), DataError> {
    let options = &column.options;
    let train: Vec<f64> = train_rows
        .iter()
        .map(|&r| cells[r])
        .filter(|v| !v.is_nan())
        .collect();
    let fill = match &options.missing {
        Missing::Error | Missing::Drop => None,
        Missing::Mean => Some(stats::mean(&train).ok_or_else(|| no_values("mean"))?),
        Missing::Median => Some(stats::median(&train).ok_or_else(|| no_values("median"))?),
        Missing::Mode => {
            let ordered: Vec<stats::Ordered> = train.iter().map(|&v| stats::Ordered(v)).collect();
            Some(stats::mode(&ordered).ok_or_else(|| no_values("mode"))?.0)
        }
        Missing::Constant(FillValue::Number(n)) => Some(*n),
        Missing::Constant(FillValue::Text(_)) => None,
    };
    let filled = train_rows.iter().filter_map(|&r| {
        let value = cells[r];
        if value.is_nan() { fill } else { Some(value) }
    });
    let transform = ColumnTransform::fit(&column.name, options.normalize, filled);
    let plan = ColumnPlan {
        column: column.name.clone(),
        missing: options.missing.clone(),
        fill: fill.map(FillValue::Number),
        encoding: Encoding::Float {
            normalize: options.normalize,
        },
    };
    Ok((plan, vec![transform]))
}

/// A categorical column: its fill (the training mode or a constant), its
/// sorted categories, and one identity transform per one-hot input or a
/// scaler of the ordinal codes.
fn fit_categorical(
    column: &FeatureColumn,
    cells: &[Option<String>],
    train_rows: &[usize],
    no_values: &dyn Fn(&'static str) -> DataError,
) -> Result<(ColumnPlan, Vec<ColumnTransform>), DataError> {
    let options = &column.options;
    let train: Vec<&String> = train_rows
        .iter()
        .filter_map(|&r| cells[r].as_ref())
        .collect();
    let fill = match &options.missing {
        Missing::Mode => Some(
            stats::mode(&train)
                .ok_or_else(|| no_values("mode"))?
                .clone(),
        ),
        Missing::Constant(FillValue::Text(text)) => Some(text.clone()),
        _ => None,
    };
    let mut categories: Vec<String> = train.iter().map(|c| (*c).clone()).collect();
    categories.extend(fill.clone());
    categories.sort_unstable();
    categories.dedup();
    let (normalize, transforms) = match options.encode {
        Encode::Onehot => (
            Normalize::None,
            categories
                .iter()
                .map(|c| ColumnTransform::identity(&format!("{}={c}", column.name)))
                .collect(),
        ),
        Encode::Ordinal => {
            let codes: Vec<f64> = train_rows
                .iter()
                .filter_map(|&r| cells[r].as_ref().or(fill.as_ref()))
                .filter_map(|c| categories.binary_search(c).ok())
                .map(|code| code as f64)
                .collect();
            (
                options.normalize,
                vec![ColumnTransform::fit(
                    &column.name,
                    options.normalize,
                    codes.into_iter(),
                )],
            )
        }
    };
    let plan = ColumnPlan {
        column: column.name.clone(),
        missing: options.missing.clone(),
        fill: fill.map(FillValue::Text),
        encoding: Encoding::Categorical {
            encode: options.encode,
            unknown: options.unknown,
            categories,
            normalize,
        },
    };
    Ok((plan, transforms))
}

/// Every column fitted on the training rows: its plan, and the transforms
/// of all its model inputs in order.
pub(crate) fn fit_columns(
    path: &Path,
    columns: &[FeatureColumn],
    train_rows: &[usize],
) -> Result<(Vec<ColumnPlan>, Vec<ColumnTransform>), DataError> {
    let mut plans = Vec::with_capacity(columns.len());
    let mut transforms = Vec::new();
    for c in columns {
        let (plan, column_transforms) = fit_column(path, c, train_rows)?;
        plans.push(plan);
        transforms.extend(column_transforms);
    }
    Ok((plans, transforms))
}
