//! The data stage end to end: columns → typed cells → dropped rows → split
//! → fills, categories and scalers fitted on the training rows → tensors.
//! Also the inference half: raw rows → normalized model inputs with a run's
//! stored [`Preprocessing`].

use std::path::Path;

use candle_core::{Device, Tensor};
use pipeline_spec::{ColumnType, CrossValidation, DataSpec, Missing};

use crate::cells::Cells;
use crate::columns::{select_features, suggest, unknown_column};
use crate::error::DataError;
use crate::features::{FeatureColumn, fit_columns, read_feature};
use crate::fingerprint::read_input_column;
use crate::folds::{fold_indices, fold_split};
use crate::preprocessing::{ColumnPlan, ColumnValues, Preprocessing};
use crate::source::{Table, read_table_hashed};
use crate::split::{SplitSizes, split_indices, stratified_split_indices};
use crate::targets::{TargetPlan, TargetValues, fit_targets, read_targets};

/// One split as dense row-major `f32` matrices.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitData {
    pub rows: usize,
    pub features: usize,
    /// `rows × features`, normalized.
    pub x: Vec<f32>,
    /// `rows × targets`: regression targets on the model's scale
    /// ([`TargetPlan::denormalize`] gives the file's), 0/1 for binary, the
    /// class index for multiclass.
    pub y: Vec<f32>,
    pub targets: usize,
}

impl SplitData {
    /// `(x, y)` on `device`, shapes `(rows, features)` and `(rows, targets)`.
    pub fn tensors(&self, device: &Device) -> Result<(Tensor, Tensor), DataError> {
        let x = Tensor::from_slice(&self.x, (self.rows, self.features), device)?;
        let y = Tensor::from_slice(&self.y, (self.rows, self.targets), device)?;
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

/// Reads, checks, splits and normalizes the data of a spec.
///
/// Order: rows with an empty cell in a `missing = "drop"` column (or an
/// empty target under `data.missing = "drop"`) are dropped from the whole
/// file first, so the split is of the rows that remain; then the rows are
/// split (for one fold of a cross-validation, the training and validation
/// rows are then dealt into folds, and the fold validates while the others
/// train; the test rows stay); then fills, categories and scalers are
/// fitted on the training rows only and applied to every split.
pub fn prepare(spec: &DataSpec, path: &Path, seed: u64) -> Result<PreparedData, DataError> {
    let (table, data_sha256) = read_table_hashed(path).map_err(|e| e.written_as(&spec.path))?;
    if let Some(window) = &spec.window {
        return crate::windows::prepare_windows(spec, window, path, &table, data_sha256);
    }
    let available = table.column_names();
    let (mut targets, mut target) = read_targets(spec, &table)?;
    let features = select_features(spec, path, &available)?;
    let columns: Vec<FeatureColumn> = features
        .iter()
        .map(|name| read_feature(spec, &table, name))
        .collect::<Result<_, _>>()?;
    let kept = kept_rows(
        spec,
        path,
        table.frame.height(),
        &targets,
        &target,
        &columns,
    )?;
    let (sizes, [train_rows, validation_rows, test_rows]) =
        split_rows(spec, path, &table, seed, &kept, &target)?;
    // Every cell needed is in `columns` and `target` now: the file's table
    // goes before the splits are encoded, which is when memory peaks.
    drop(table);
    let to_file_rows =
        |split: Vec<usize>| -> Vec<usize> { split.iter().map(|&i| kept[i]).collect() };
    let (train_rows, validation_rows, test_rows) = (
        to_file_rows(train_rows),
        to_file_rows(validation_rows),
        to_file_rows(test_rows),
    );

    // Statistics come from the training rows only.
    fit_targets(
        &mut targets,
        &mut target,
        spec.normalize_target,
        &train_rows,
    );
    let (plans, transforms) = fit_columns(path, &columns, &train_rows)?;
    let values: Vec<ColumnValues> = columns.into_iter().map(|c| c.values).collect();
    let preprocessing = Preprocessing {
        features,
        targets,
        normalize: spec.normalize,
        transforms,
        columns: plans,
        window: None,
    };
    let width = preprocessing.input_width();
    let gather = |indices: &[usize]| -> Result<SplitData, DataError> {
        Ok(SplitData {
            rows: indices.len(),
            features: width,
            x: preprocessing.encode(path, &values, indices, &|r| r + 1)?,
            y: indices
                .iter()
                .flat_map(|&r| &target.values[r * target.width..(r + 1) * target.width])
                .map(|&v| v as f32)
                .collect(),
            targets: target.width,
        })
    };
    Ok(PreparedData {
        train: gather(&train_rows)?,
        validation: gather(&validation_rows)?,
        test: gather(&test_rows)?,
        sizes,
        data_sha256,
        preprocessing,
    })
}

/// The file's rows that stay: those without an empty cell in a
/// `missing = "drop"` column (or an empty target under `data.missing =
/// "drop"`). They depend on the row alone, so they go before the split. An
/// empty cell left in a `missing = "error"` column is the error.
fn kept_rows(
    spec: &DataSpec,
    path: &Path,
    rows: usize,
    targets: &TargetPlan,
    target: &TargetValues,
    columns: &[FeatureColumn],
) -> Result<Vec<usize>, DataError> {
    let target_drops = spec.missing == Missing::Drop;
    let kept: Vec<usize> = (0..rows)
        .filter(|&r| {
            (!target_drops || !target.is_missing(r))
                && columns
                    .iter()
                    .all(|c| c.options.missing != Missing::Drop || !c.values.is_missing(r))
        })
        .collect();
    if let Some(error) = target.missing_error(path, &targets.columns(), &kept) {
        return Err(error);
    }
    for c in columns {
        if c.options.missing == Missing::Error
            && let Some(first) = kept.iter().find(|&&r| c.values.is_missing(r))
        {
            return Err(DataError::MissingValues {
                path: path.to_path_buf(),
                column: c.name.clone(),
                count: kept.iter().filter(|&&r| c.values.is_missing(r)).count(),
                first_row: first + 1,
                missing: Missing::Error,
            });
        }
    }
    Ok(kept)
}

/// The kept rows split into training, validation and test (indices into
/// `kept`): by `data.split_column`, stratified, or by fractions; then, for
/// one fold of a cross-validation, the fold's training and validation rows.
fn split_rows(
    spec: &DataSpec,
    path: &Path,
    table: &Table,
    seed: u64,
    kept: &[usize],
    target: &TargetValues,
) -> Result<(SplitSizes, [Vec<usize>; 3]), DataError> {
    let split_seed = crate::derive_seed(seed, "split");
    let classes: Option<Vec<usize>> = spec
        .stratify
        .then(|| kept.iter().map(|&r| target.values[r] as usize).collect());
    let (sizes, splits) = if let Some(column) = &spec.split_column {
        named_splits(table, column, kept)?
    } else if let Some(classes) = &classes {
        stratified_split_indices(classes, &spec.split, split_seed)
    } else {
        split_indices(kept.len(), &spec.split, spec.shuffle, split_seed)
    };
    if sizes.train == 0 || sizes.validation == 0 || sizes.test == 0 {
        return Err(DataError::TooFewRows {
            path: path.to_path_buf(),
            rows: kept.len(),
            train: sizes.train,
            validation: sizes.validation,
            test: sizes.test,
        });
    }
    match spec.cross_validation {
        None => Ok((sizes, splits)),
        Some(cross_validation) => fold_rows(
            path,
            cross_validation,
            seed,
            classes.as_deref(),
            sizes,
            splits,
        ),
    }
}

/// One fold of a cross-validation: the test rows stay; the training and
/// validation rows are dealt into folds, and this fold validates.
fn fold_rows(
    path: &Path,
    cross_validation: CrossValidation,
    seed: u64,
    classes: Option<&[usize]>,
    sizes: SplitSizes,
    [train_rows, validation_rows, test_rows]: [Vec<usize>; 3],
) -> Result<(SplitSizes, [Vec<usize>; 3]), DataError> {
    let pooled: Vec<usize> = train_rows.into_iter().chain(validation_rows).collect();
    let folds = cross_validation.folds();
    if pooled.len() < folds as usize {
        return Err(DataError::TooManyFolds {
            path: path.to_path_buf(),
            rows: pooled.len(),
            folds,
        });
    }
    let dealt = fold_indices(
        &pooled,
        classes,
        folds as usize,
        crate::derive_seed(seed, "folds"),
    );
    let (train, validation) = fold_split(&dealt, cross_validation.fold() as usize - 1);
    let sizes = SplitSizes {
        train: train.len(),
        validation: validation.len(),
        test: sizes.test,
    };
    Ok((sizes, [train, validation, test_rows]))
}

/// The splits a column names for each kept row (`train`, `validation` or
/// `val`, `test`; any case), as indices into `kept`.
fn named_splits(
    table: &Table,
    column: &str,
    kept: &[usize],
) -> Result<(SplitSizes, [Vec<usize>; 3]), DataError> {
    let available = table.column_names();
    if !available.iter().any(|c| c == column) {
        return Err(unknown_column(
            &table.path,
            column,
            "data.split_column",
            &available,
        ));
    }
    let names = Cells::read(table, column)?.into_categories();
    let mut splits: [Vec<usize>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for (index, &row) in kept.iter().enumerate() {
        let name = names[row].as_deref().unwrap_or("");
        let split = match name.to_ascii_lowercase().as_str() {
            "train" => 0,
            "validation" | "val" => 1,
            "test" => 2,
            _ => {
                return Err(DataError::SplitName {
                    path: table.path.clone(),
                    column: column.to_string(),
                    row: row + 1,
                    value: name.to_string(),
                });
            }
        };
        splits[split].push(index);
    }
    let sizes = SplitSizes {
        train: splits[0].len(),
        validation: splits[1].len(),
        test: splits[2].len(),
    };
    Ok((sizes, splits))
}

/// Model inputs for the rows of `table`, with the stored preprocessing:
/// every feature column must be present and of the run's type (see
/// [`crate::fingerprint`]: numbers for a float column, categories of the
/// run's kind for a categorical one); empty cells get the stored fill,
/// categories the stored encoding. A missing column, a value of the wrong
/// type, an empty cell without a fill or an unknown category (under
/// `unknown = "error"`) is an error naming the column and the first row.
pub fn model_inputs(table: &Table, preprocessing: &Preprocessing) -> Result<Vec<f32>, DataError> {
    if preprocessing.window.is_some() {
        return Err(DataError::WindowedInference {
            path: table.path.clone(),
        });
    }
    let available = table.column_names();
    let absent: Vec<&ColumnPlan> = preprocessing
        .columns
        .iter()
        .filter(|c| !available.contains(&c.column))
        .collect();
    if absent.len() > 1 {
        return Err(DataError::MissingColumns {
            path: table.path.clone(),
            columns: absent.iter().map(|c| c.column.clone()).collect(),
            features: preprocessing.columns.len(),
            available,
        });
    }
    if let Some(missing) = absent.first() {
        let role = match missing.column_type() {
            ColumnType::Float => "a float feature of the run",
            ColumnType::Categorical => "a categorical feature of the run",
        };
        let mut error = unknown_column(&table.path, &missing.column, role, &available);
        if let DataError::UnknownColumn { suggestion, .. } = &mut error {
            // A column the run reads already is no candidate for the missing one.
            let unused = available
                .iter()
                .filter(|c| !preprocessing.features.contains(c));
            *suggestion = suggest(&missing.column, unused);
        }
        return Err(error);
    }
    let values: Vec<ColumnValues> = preprocessing
        .columns
        .iter()
        .map(|plan| read_input_column(table, plan))
        .collect::<Result<_, DataError>>()?;
    let rows: Vec<usize> = (0..table.frame.height()).collect();
    preprocessing.encode(&table.path, &values, &rows, &|r| r + 1)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::path::PathBuf;

    use pipeline_spec::{FillValue, Spec};

    use super::*;
    use crate::preprocessing::Encoding;
    use crate::targets::TargetPlan;

    /// `[data]` settings over a file in a fresh temp folder; rows are not
    /// shuffled (unless `data` sets `shuffle`), so with 10 rows train =
    /// rows 1-6, validation 7-8, test 9-10.
    fn prepared(csv: &str, data: &str) -> Result<PreparedData, DataError> {
        let dir = std::env::temp_dir().join(format!(
            "pipeline-prepare-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path: PathBuf = dir.join("d.csv");
        std::fs::write(&path, csv).unwrap();
        // Classification takes the task's default loss and its outputs.
        let (units, loss) = if data.contains("multiclass") {
            (3, "")
        } else if data.contains("binary") {
            (1, "")
        } else {
            (1, "[loss]\ntype = \"mse\"\n")
        };
        let shuffle = if data.contains("shuffle") {
            ""
        } else {
            "shuffle = false\n"
        };
        let split = if data.contains("split_column") {
            ""
        } else {
            "split = { train = 0.6, validation = 0.2, test = 0.2 }\n"
        };
        let text = format!(
            "name = \"t\"\n[data]\npath = \"d.csv\"\ntarget = \"y\"\n{shuffle}{split}{data}\n[model]\nlayers = [{{ type = \"linear\", units = {units} }}]\n{loss}[optimizer]\ntype = \"adam\"\nlearning_rate = 0.01\n"
        );
        let spec = Spec::parse(Path::new("s.toml"), &text, &[]).unwrap();
        let result = prepare(&spec.data, &path, 1);
        std::fs::remove_dir_all(&dir).ok();
        result
    }

    /// Training rows 1-6 are ordinary; validation and test rows (7-10) hold
    /// extreme numbers and a category the training rows lack.
    fn messy(validation_and_test: [&str; 4]) -> String {
        let mut csv = String::from("x,z,color,y\n");
        for row in [
            "1,1,red,1",
            "2,2,blue,2",
            ",10,red,3",
            "4,,red,4",
            "5,4,,5",
            "3,3,blue,6",
        ] {
            csv.push_str(row);
            csv.push('\n');
        }
        for row in validation_and_test {
            csv.push_str(row);
            csv.push('\n');
        }
        csv
    }

    const EXTREME: [&str; 4] = [
        "1000,1e6,purple,7",
        ",-1e6,purple,8",
        "-1000,,green,9",
        "1e9,1e9,,10",
    ];
    const OTHER: [&str; 4] = ["0,0,red,7", "0,0,red,8", "0,0,blue,9", "0,0,blue,10"];

    const SETTINGS: &str = "missing = \"mean\"\nunknown = \"ignore\"\n[data.columns.z]\nmissing = \"median\"\nnormalize = \"robust\"\n[data.columns.color]\nmissing = \"mode\"\n";

    #[test]
    fn fills_categories_and_scalers_come_from_training_rows() {
        let data = prepared(&messy(EXTREME), SETTINGS).unwrap();
        let p = &data.preprocessing;
        assert_eq!(p.features, ["x", "z", "color"]);
        assert_eq!(p.input_names(), ["x", "z", "color=blue", "color=red"]);
        // x: training values 1, 2, 4, 5, 3 → mean 3; filled [1, 2, 3, 4, 5, 3]:
        // zscore mean 3, population variance 10/6.
        assert_eq!(p.columns[0].fill, Some(FillValue::Number(3.0)));
        assert_eq!(p.transforms[0].shift, 3.0);
        assert!((p.transforms[0].scale - (10.0f64 / 6.0).sqrt()).abs() < 1e-12);
        // z: training values 1, 2, 10, 4, 3 → median 3; filled
        // [1, 2, 10, 3, 4, 3]: median 3, q1 2.25, q3 3.75 → IQR 1.5.
        assert_eq!(p.columns[1].fill, Some(FillValue::Number(3.0)));
        assert_eq!((p.transforms[1].shift, p.transforms[1].scale), (3.0, 1.5));
        // color: red 3×, blue 2× in training → mode red; purple and green
        // (validation, test only) are not categories.
        assert_eq!(p.columns[2].fill, Some(FillValue::Text("red".into())));
        assert!(matches!(
            &p.columns[2].encoding,
            Encoding::Categorical { categories, .. } if categories == &["blue", "red"]
        ));
        // Row 5 (empty color) is filled with red; row 9 (green) is ignored.
        assert_eq!(&data.train.x[4 * 4 + 2..5 * 4], [0.0, 1.0]);
        assert_eq!(&data.test.x[2..4], [0.0, 0.0]);
        assert_eq!(data.test.y, [9.0, 10.0]);
    }

    #[test]
    fn no_statistic_comes_from_validation_or_test_rows() {
        let extreme = prepared(&messy(EXTREME), SETTINGS).unwrap();
        let other = prepared(&messy(OTHER), SETTINGS).unwrap();
        assert_eq!(extreme.preprocessing, other.preprocessing);
        assert_eq!(extreme.train, other.train);
        assert_ne!(extreme.validation, other.validation);
    }

    #[test]
    fn model_inputs_match_what_training_fed_the_model() {
        let csv = messy(OTHER);
        let data = prepared(&csv, SETTINGS).unwrap();
        let table = crate::source::read_table_from(
            Path::new("rows.csv"),
            crate::TableFormat::Csv,
            csv.into_bytes(),
        )
        .unwrap();
        let inputs = model_inputs(&table, &data.preprocessing).unwrap();
        let fed: Vec<f32> = [&data.train, &data.validation, &data.test]
            .iter()
            .flat_map(|s| s.x.clone())
            .collect();
        assert_eq!(inputs, fed);
        // The same through the stored JSON.
        let stored = Preprocessing::from_json(&data.preprocessing.to_json()).unwrap();
        assert_eq!(model_inputs(&table, &stored).unwrap(), fed);
    }

    #[test]
    fn a_missing_input_column_is_named_with_its_type() {
        let data = prepared(&messy(OTHER), SETTINGS).unwrap();
        let rows = |csv: &str| {
            crate::source::read_table_from(
                Path::new("rows.csv"),
                crate::TableFormat::Csv,
                csv.as_bytes().to_vec(),
            )
            .unwrap()
        };
        // `x` is a feature of the run: no candidate for the missing `z`.
        let e = model_inputs(&rows("x,color\n1,red\n"), &data.preprocessing).unwrap_err();
        assert!(
            matches!(&e, DataError::UnknownColumn { column, role: "a float feature of the run", suggestion: None, .. } if column == "z"),
            "{e}"
        );
        let e = model_inputs(&rows("x,zz,color\n1,2,red\n"), &data.preprocessing).unwrap_err();
        assert!(e.to_string().ends_with("did you mean `zz`?"), "{e}");
        let e = model_inputs(&rows("x,z\n1,2\n"), &data.preprocessing).unwrap_err();
        assert!(
            matches!(&e, DataError::UnknownColumn { column, role: "a categorical feature of the run", .. } if column == "color"),
            "{e}"
        );
    }

    #[test]
    fn an_unseen_category_outside_training_is_an_error_by_default() {
        let e = prepared(
            &messy(EXTREME),
            "missing = \"mean\"\n[data.columns.color]\nmissing = \"mode\"\n",
        )
        .unwrap_err();
        assert!(
            matches!(&e, DataError::UnknownCategory { column, row: 7, value, .. } if column == "color" && value == "purple"),
            "{e}"
        );
        assert!(e.to_string().contains("unknown = \"ignore\""), "{e}");
    }

    #[test]
    fn unhandled_empty_cells_name_the_column_and_count() {
        let e = prepared(&messy(OTHER), "").unwrap_err();
        assert!(
            matches!(&e, DataError::MissingValues { column, count: 1, first_row: 3, .. } if column == "x"),
            "{e}"
        );
        assert!(e.to_string().contains("[data.columns.x]"), "{e}");
        // [data] mean/median fill the float columns only: color's empty cell
        // stays an error.
        let e = prepared(&messy(OTHER), "missing = \"median\"").unwrap_err();
        assert!(
            matches!(&e, DataError::MissingValues { column, first_row: 5, .. } if column == "color"),
            "{e}"
        );
        let e = prepared(&messy(OTHER), "[data.columns.color]\nmissing = \"mean\"").unwrap_err();
        assert!(matches!(e, DataError::OptionNotForColumn { .. }), "{e}");
    }

    #[test]
    fn dropped_rows_leave_before_the_split() {
        // Rows 3, 4 and 5 have an empty cell; drop them (12 rows → 9 kept:
        // train 5, validation 2, test 2).
        let mut csv = messy(OTHER);
        csv.push_str("6,6,red,11\n7,7,blue,12\n");
        let data = prepared(&csv, "missing = \"drop\"").unwrap();
        assert_eq!(
            (data.sizes.train, data.sizes.validation, data.sizes.test),
            (5, 2, 2)
        );
        let train_y: Vec<f32> = data.train.y.clone();
        assert_eq!(train_y, [1.0, 2.0, 6.0, 7.0, 8.0]);
        assert_eq!(data.preprocessing.columns[0].fill, None);
    }

    #[test]
    fn ordinal_codes_and_constant_fills() {
        let data = prepared(
            &messy(OTHER),
            "missing = { constant = -1 }\nnormalize = \"none\"\nencode = \"ordinal\"\n",
        )
        .unwrap();
        let p = &data.preprocessing;
        assert_eq!(p.input_names(), ["x", "z", "color"]);
        // color's constant -1 becomes the category "-1": categories -1, blue, red.
        assert!(matches!(
            &p.columns[2].encoding,
            Encoding::Categorical { categories, .. } if categories == &["-1", "blue", "red"]
        ));
        // Row 3: x empty → -1; row 5: color empty → "-1" → code 0.
        assert_eq!(&data.train.x[2 * 3..3 * 3], [-1.0, 10.0, 2.0]);
        assert_eq!(&data.train.x[4 * 3..5 * 3], [5.0, 4.0, 0.0]);
    }

    #[test]
    fn labels_become_class_indices_counted_on_training_rows() {
        // Sorted by class, as many shipped files are; shuffle = false keeps
        // the order, so train = rows 1-6 (5 "cat", 1 "dog").
        let csv = "x,y\n1,cat\n2,cat\n3,cat\n4,cat\n5,cat\n6,dog\n7,dog\n8,dog\n9,emu\n10,emu\n";
        let data = prepared(csv, "task = \"multiclass\"").unwrap();
        let TargetPlan::Multiclass {
            classes, counts, ..
        } = &data.preprocessing.targets
        else {
            unreachable!("a multiclass plan")
        };
        assert_eq!(classes, &["cat", "dog", "emu"]);
        assert_eq!(counts, &[5, 1, 0]);
        assert_eq!(data.train.y, [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
        assert_eq!(data.test.y, [2.0, 2.0]);
        let e = prepared(csv, "task = \"binary\"").unwrap_err();
        assert!(matches!(e, DataError::ClassCount { .. }), "{e}");
        // An empty label is a missing target.
        let e = prepared(&csv.replace("3,cat", "3,"), "task = \"multiclass\"").unwrap_err();
        assert!(
            matches!(e, DataError::TargetMissing { first_row: 3, .. }),
            "{e}"
        );
    }

    #[test]
    fn normalized_targets_use_training_statistics() {
        let csv = "x,y,z\n1,1,10\n2,2,10\n3,3,10\n4,4,10\n5,5,10\n6,6,10\n7,70,0\n8,80,0\n9,90,0\n10,100,0\n";
        let text = "normalize_target = \"zscore\"";
        let data = prepared(csv, text).unwrap();
        let TargetPlan::Regression { transforms, .. } = &data.preprocessing.targets else {
            unreachable!("a regression plan")
        };
        // Training targets 1..6: mean 3.5, population std sqrt(35/12).
        assert_eq!(transforms[0].shift, 3.5);
        assert!((transforms[0].scale - (35.0f64 / 12.0).sqrt()).abs() < 1e-12);
        let mut back = data.test.y.clone();
        data.preprocessing.targets.denormalize(&mut back);
        assert!(
            (back[0] - 90.0).abs() < 1e-4 && (back[1] - 100.0).abs() < 1e-4,
            "{back:?}"
        );
    }

    #[test]
    fn a_column_can_name_the_splits() {
        let csv = "x,set,y\n1,train,1\n2,test,2\n3,train,3\n4,val,4\n5,Train,5\n6,validation,6\n";
        let data = prepared(csv, "split_column = \"set\"").unwrap();
        assert_eq!(data.preprocessing.features, ["x"]);
        assert_eq!(data.train.y, [1.0, 3.0, 5.0]);
        assert_eq!(data.validation.y, [4.0, 6.0]);
        assert_eq!(data.test.y, [2.0]);
        let e = prepared(
            &csv.replace("2,test", "2,holdout"),
            "split_column = \"set\"",
        )
        .unwrap_err();
        assert!(
            matches!(&e, DataError::SplitName { row: 2, value, .. } if value == "holdout"),
            "{e}"
        );
    }

    #[test]
    fn declared_types_override_the_file() {
        let csv = "zip,n,y\n94110,1,1\n2139,2,2\n94110,3,3\n2139,4,4\n94110,5,5\n2139,6,6\n94110,7,7\n2139,8,8\n94110,9,9\n2139,10,10\n";
        let data = prepared(csv, "[data.types]\nzip = \"categorical\"").unwrap();
        assert_eq!(
            data.preprocessing.input_names(),
            ["zip=2139", "zip=94110", "n"]
        );
        let csv = "t,y\n1,1\n2,2\n3,3\n4,4\n5,5\n6,6\n7,7\n8,8\n9,9\nten,10\n";
        let e = prepared(csv, "[data.types]\nt = \"float\"").unwrap_err();
        assert!(matches!(e, DataError::NonNumeric { row: 10, .. }), "{e}");
    }

    fn sorted(values: &[f32]) -> Vec<f32> {
        let mut values = values.to_vec();
        values.sort_by(f32::total_cmp);
        values
    }

    /// Issue 3: a fold keeps the spec's test rows, validates on its own
    /// rows, and fits its statistics on the other folds' rows only.
    #[test]
    fn a_fold_keeps_the_test_rows_and_fits_on_its_training_rows() {
        // x = y, so a row's x names it.
        let mut csv = String::from("x,y\n");
        for i in 1..=40 {
            csv.push_str(&format!("{i},{i}\n"));
        }
        let plain = prepared(&csv, "shuffle = true").unwrap();
        let pooled = sorted(&[plain.train.y.clone(), plain.validation.y.clone()].concat());
        let mut validated = Vec::new();
        for fold in 1..=3 {
            let data = prepared(
                &csv,
                &format!("shuffle = true\ncross_validation = {{ folds = 3, fold = {fold} }}"),
            )
            .unwrap();
            assert_eq!(data.test.y, plain.test.y, "fold {fold}: the test rows stay");
            assert_eq!(data.sizes.test, 8);
            assert_eq!(data.sizes.train + data.sizes.validation, 32);
            assert!(
                (10..=11).contains(&data.sizes.validation),
                "{:?}",
                data.sizes
            );
            let rows = sorted(&[data.train.y.clone(), data.validation.y.clone()].concat());
            assert_eq!(
                rows, pooled,
                "fold {fold}: train and validation are the pooled rows"
            );
            assert!(
                rows.iter().all(|y| !plain.test.y.contains(y)),
                "fold {fold}: no test row trains or validates"
            );
            // zscore of x fitted on this fold's training rows only.
            let mean =
                data.train.y.iter().map(|&v| f64::from(v)).sum::<f64>() / data.train.rows as f64;
            assert!((data.preprocessing.transforms[0].shift - mean).abs() < 1e-9);
            validated.extend(data.validation.y.clone());
        }
        assert_eq!(sorted(&validated), pooled, "each row validates once");
        let e = prepared(
            &csv,
            "shuffle = true\ncross_validation = { folds = 33, fold = 1 }",
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                DataError::TooManyFolds {
                    rows: 32,
                    folds: 33,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("at most 32 folds"), "{e}");
    }

    #[test]
    fn folds_of_a_classification_are_stratified() {
        // 30 rows of each class, sorted by class.
        let mut csv = String::from("x,y\n");
        for (i, label) in ["a", "b", "c"].iter().enumerate() {
            for j in 0..30 {
                csv.push_str(&format!("{},{label}\n", i * 30 + j));
            }
        }
        let counts = |split: &SplitData| {
            (0..3)
                .map(|c| split.y.iter().filter(|&&v| v == c as f32).count())
                .collect::<Vec<_>>()
        };
        let plain = prepared(
            &csv,
            "task = \"multiclass\"\nshuffle = true\nnormalize = \"none\"",
        )
        .unwrap();
        for fold in 1..=3 {
            let data = prepared(
                &csv,
                &format!(
                    "task = \"multiclass\"\nshuffle = true\nnormalize = \"none\"\ncross_validation = {{ folds = 3, fold = {fold} }}"
                ),
            )
            .unwrap();
            assert_eq!(counts(&data.test), [6, 6, 6]);
            assert_eq!(data.test.x, plain.test.x);
            assert_eq!(counts(&data.validation), [8, 8, 8], "fold {fold}");
            let TargetPlan::Multiclass { counts, .. } = &data.preprocessing.targets else {
                unreachable!("a multiclass plan")
            };
            assert_eq!(
                counts,
                &[16, 16, 16],
                "class counts of the fold's training rows"
            );
        }
    }
}
