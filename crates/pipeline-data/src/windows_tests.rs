#![allow(clippy::unwrap_used)]
use std::io::Write;

use pipeline_spec::Spec;

use super::*;

#[test]
fn interpolation_is_linear_in_time_and_repeats_the_ends() {
    let mut values = vec![f64::NAN, 1.0, f64::NAN, f64::NAN, 4.0, f64::NAN];
    interpolate_linear(&mut values);
    assert_eq!(values, vec![1.0, 1.0, 2.0, 3.0, 4.0, 4.0]);
}

fn spec(dir: &Path, csv: &str, data: &str) -> DataSpec {
    let mut file = std::fs::File::create(dir.join("s.csv")).unwrap();
    file.write_all(csv.as_bytes()).unwrap();
    let text = format!(
        "name = \"w\"\n[data]\npath = \"s.csv\"\ntarget = \"y\"\n{data}\n\
         [model]\nlayers = [{{ type = \"linear\", units = 1 }}]\n\
         [optimizer]\ntype = \"sgd\"\nlearning_rate = 0.1\n"
    );
    let path = dir.join("s.toml");
    std::fs::write(&path, text).unwrap();
    Spec::load(&path, &[]).unwrap().spec.data
}

/// Rows out of order, sorted by `t`; y = 10·t with t = 3 empty.
const SERIES: &str = "t,x,y\n2,0.2,20\n1,0.1,10\n3,0.3,\n4,0.4,40\n5,0.5,50\n6,0.6,60\n7,0.7,70\n\
                      8,0.8,80\n9,0.9,90\n10,1.0,100\n";

#[test]
fn windows_of_a_hand_computed_series() {
    let dir = tempfile::tempdir().unwrap();
    let csv = SERIES;
    let data = spec(
        dir.path(),
        csv,
        "features = [\"x\"]\nnormalize = \"none\"\n\
         split = { train = 0.5, validation = 0.25, test = 0.25 }\n\
         [data.window]\nsteps = 3\nhorizon = 2\norder_by = \"t\"\nmissing = \"interpolate\"",
    );
    let prepared = crate::prepare(&data, &dir.path().join("s.csv"), 1).unwrap();
    // 10 rows, windows of 3 and a target 2 rows later: 10 - 3 - 2 + 1 = 6
    // samples; validation and test round(1.5) = 2 and 1… as SplitSizes::of.
    let sizes = prepared.sizes;
    assert_eq!(sizes.train + sizes.validation + sizes.test, 6);
    assert_eq!((sizes.validation, sizes.test), (2, 2));
    let train = &prepared.train;
    assert_eq!(train.features, 3 * 2);
    // Sample 0: rows t = 1, 2, 3 as [x, y] (y at t = 3 interpolated: 30),
    // target y at t = 3 + 2 = 5.
    assert_eq!(train.x[..6], [0.1, 10.0, 0.2, 20.0, 0.3, 30.0]);
    assert_eq!(train.y, vec![50.0, 60.0]);
    // The splits follow time: validation's first target is t = 7, test's t = 9.
    assert_eq!(prepared.validation.y, vec![70.0, 80.0]);
    assert_eq!(prepared.test.y, vec![90.0, 100.0]);
    assert_eq!(prepared.test.x[..6], [0.5, 50.0, 0.6, 60.0, 0.7, 70.0]);
    let plan = prepared.preprocessing.window.clone().unwrap();
    assert_eq!(plan.channels, vec!["x".to_string(), "y".to_string()]);
    assert_eq!(prepared.preprocessing.input_width(), 6);
}

#[test]
fn scalers_are_fitted_on_the_training_rows_only() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "y\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";
    let data = spec(
        dir.path(),
        csv,
        "split = { train = 0.5, validation = 0.25, test = 0.25 }\n[data.window]\nsteps = 2",
    );
    let prepared = crate::prepare(&data, &dir.path().join("s.csv"), 1).unwrap();
    // 10 - 2 - 1 + 1 = 8 samples: 4 train, 2 validation, 2 test; the
    // training samples' inputs read rows 1..=5 (values 1 to 5).
    assert_eq!(
        (
            prepared.sizes.train,
            prepared.sizes.validation,
            prepared.sizes.test
        ),
        (4, 2, 2)
    );
    let t = &prepared.preprocessing.transforms[0];
    assert_eq!(t.shift, 3.0);
    assert!((t.scale - 2f64.sqrt()).abs() < 1e-12);
    // The target stays on the file's scale (normalize_target = "none").
    assert_eq!(prepared.train.y[0], 3.0);
}

#[test]
fn an_empty_cell_is_an_error_unless_interpolated() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "t,y\n1,1\n2,2\n3,\n4,4\n5,5\n6,6\n7,7\n8,8\n9,9\n10,10\n";
    let data = spec(dir.path(), csv, "[data.window]\nsteps = 2");
    let err = crate::prepare(&data, &dir.path().join("s.csv"), 1).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::WindowMissing {
                count: 1,
                first_row: 3,
                ..
            }
        ),
        "{err}"
    );
}

/// The windows inference builds from the training file are training's
/// samples, in time order, plus the windows whose target lies beyond the
/// file (the forecasts).
#[test]
fn inference_windows_of_the_training_file_are_its_samples_then_the_forecasts() {
    let dir = tempfile::tempdir().unwrap();
    let csv = SERIES;
    let data = spec(
        dir.path(),
        csv,
        "features = [\"x\"]\nnormalize_target = \"zscore\"\n\
         split = { train = 0.5, validation = 0.25, test = 0.25 }\n\
         [data.window]\nsteps = 3\nhorizon = 2\norder_by = \"t\"\nmissing = \"interpolate\"",
    );
    let path = dir.path().join("s.csv");
    let prepared = crate::prepare(&data, &path, 1).unwrap();
    let table = crate::read_table(&path).unwrap();
    let windows = windowed_inputs(&table, &prepared.preprocessing).unwrap();
    // 10 rows, windows of 3: 8 windows; the last 2 have no row 2 later.
    assert_eq!(windows.windows(), 8);
    let samples: Vec<f32> = [&prepared.train, &prepared.validation, &prepared.test]
        .iter()
        .flat_map(|s| s.x.iter().copied())
        .collect();
    assert_eq!(
        windows.inputs(0..windows.windows())[..samples.len()],
        samples[..]
    );
    // A window is its slice of the series, alone or among others.
    let width = samples.len() / (windows.windows() - 2);
    assert_eq!(windows.window(3), &samples[3 * width..4 * width]);
    assert_eq!(windows.inputs(2..4), &samples[2 * width..4 * width]);
    let targets: Vec<Option<f32>> = [&prepared.train, &prepared.validation, &prepared.test]
        .iter()
        .flat_map(|s| s.y.iter().map(|&y| Some(y)))
        .chain([None, None])
        .collect();
    assert_eq!(windows.targets, targets);
    // Each window's forecast belongs to its last row, in the file's order:
    // t = 3 is file row 2, t = 1 file row 1 (0-based: t = 2 comes first).
    assert_eq!(windows.rows, vec![2, 3, 4, 5, 6, 7, 8, 9]);
    assert_eq!(windows.base, vec![0.0; 8]);
}

#[test]
fn under_difference_the_forecast_adds_back_the_windows_last_level() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "y\n1\n2\n4\n7\n11\n16\n22\n29\n37\n46\n";
    let data = spec(
        dir.path(),
        csv,
        "split = { train = 0.5, validation = 0.25, test = 0.25 }\n\
         [data.window]\nsteps = 2\ndifference = true",
    );
    let path = dir.path().join("s.csv");
    let prepared = crate::prepare(&data, &path, 1).unwrap();
    let table = crate::read_table(&path).unwrap();
    let windows = windowed_inputs(&table, &prepared.preprocessing).unwrap();
    // The first row only gives the first change: windows end at rows 2..=9.
    assert_eq!(windows.rows, (2..10).collect::<Vec<_>>());
    assert_eq!(
        windows.base,
        vec![4.0, 7.0, 11.0, 16.0, 22.0, 29.0, 37.0, 46.0]
    );
    // Targets are the next change (4 → 7 is 3, …, 37 → 46 is 9); the last
    // window's is beyond the file.
    let known: Vec<f32> = windows.targets.iter().flatten().copied().collect();
    assert_eq!(known, vec![3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    assert_eq!(windows.targets[7], None);
}

#[test]
fn a_series_shorter_than_one_window_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "y\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";
    let data = spec(
        dir.path(),
        csv,
        "[data.window]\nsteps = 4\ndifference = true",
    );
    let path = dir.path().join("s.csv");
    let prepared = crate::prepare(&data, &path, 1).unwrap();
    std::fs::write(dir.path().join("short.csv"), "y\n1\n2\n3\n4\n").unwrap();
    let table = crate::read_table(&dir.path().join("short.csv")).unwrap();
    let err = windowed_inputs(&table, &prepared.preprocessing).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::TooFewRowsForWindow {
                rows: 4,
                needed: 5,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("the row before them"), "{err}");
}

#[test]
fn a_target_that_is_no_input_may_be_empty_or_absent_at_inference() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "x,y\n1,10\n2,20\n3,30\n4,40\n5,50\n6,60\n7,70\n8,80\n9,90\n10,100\n";
    let data = spec(
        dir.path(),
        csv,
        "features = [\"x\"]\n[data.window]\nsteps = 2\ntarget_input = false",
    );
    let prepared = crate::prepare(&data, &dir.path().join("s.csv"), 1).unwrap();
    // The rows to forecast have no target yet: not a gap to fill or refuse.
    let future = dir.path().join("future.csv");
    std::fs::write(&future, "x,y\n7,70\n8,80\n9,\n10,\n").unwrap();
    let table = crate::read_table(&future).unwrap();
    let windows = windowed_inputs(&table, &prepared.preprocessing).unwrap();
    assert_eq!(windows.rows, vec![1, 2, 3]);
    assert_eq!(windows.targets, vec![None, None, None]);
    // Without the column at all, the same windows.
    std::fs::write(&future, "x\n7\n8\n9\n10\n").unwrap();
    let table = crate::read_table(&future).unwrap();
    let without = windowed_inputs(&table, &prepared.preprocessing).unwrap();
    assert_eq!(without.inputs(0..3), windows.inputs(0..3));
    // A known target scores its window: the one ending at x = 8 (its
    // target is x = 9's y); x = 10's is empty, x = 11 beyond the file.
    std::fs::write(&future, "x,y\n7,70\n8,80\n9,90\n10,\n").unwrap();
    let table = crate::read_table(&future).unwrap();
    let scored = windowed_inputs(&table, &prepared.preprocessing).unwrap();
    assert_eq!(scored.targets, vec![Some(90.0), None, None]);
}

/// A repeated time gives two windows (and two forecasts) for one point in
/// time: an error naming the column, the value and both rows, in training
/// and at inference alike.
#[test]
fn a_repeated_time_is_an_error_naming_both_rows() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "date,y\n2020-01-01,1\n2020-01-02,2\n2020-01-04,4\n2020-01-03,3\n2020-01-02,5\n\
               2020-01-05,5\n2020-01-06,6\n2020-01-07,7\n2020-01-08,8\n2020-01-09,9\n";
    let data = spec(
        dir.path(),
        csv,
        "[data.window]\nsteps = 2\norder_by = \"date\"",
    );
    let path = dir.path().join("s.csv");
    let err = crate::prepare(&data, &path, 1).unwrap_err();
    assert!(
        matches!(
            &err,
            DataError::WindowRepeatedTime { column, value, first_row: 2, second_row: 5, .. }
                if column == "date" && value == "2020-01-02"
        ),
        "{err}"
    );
    assert!(err.is_user_error());
    // Numbers too, and at inference with the run's stored order column.
    std::fs::write(
        &path,
        "t,y\n1,1\n2,2\n3,3\n4,4\n5,5\n6,6\n7,7\n8,8\n9,9\n10,10\n",
    )
    .unwrap();
    let data = spec(
        dir.path(),
        &std::fs::read_to_string(&path).unwrap(),
        "[data.window]\nsteps = 2\norder_by = \"t\"",
    );
    let prepared = crate::prepare(&data, &path, 1).unwrap();
    let repeated = dir.path().join("repeated.csv");
    std::fs::write(&repeated, "t,y\n7,7\n8,8\n9,9\n8.0,8\n").unwrap();
    let table = crate::read_table(&repeated).unwrap();
    let err = windowed_inputs(&table, &prepared.preprocessing).unwrap_err();
    assert!(
        matches!(
            &err,
            DataError::WindowRepeatedTime { value, first_row: 2, second_row: 4, .. } if value == "8"
        ),
        "{err}"
    );
}

/// A window longer than the series leaves no samples: the message counts
/// the file's rows (not the samples) and names the longest window that fits.
#[test]
fn a_window_longer_than_the_series_names_the_longest_that_fits() {
    let dir = tempfile::tempdir().unwrap();
    let csv: String = std::iter::once("y\n".to_owned())
        .chain((0..100).map(|i| format!("{i}\n")))
        .collect();
    let data = spec(
        dir.path(),
        &csv,
        "[data.window]\nsteps = 500\nhorizon = 2\ndifference = true",
    );
    let err = crate::prepare(&data, &dir.path().join("s.csv"), 1).unwrap_err();
    // The default split (0.7/0.15/0.15) needs 4 samples: 100 + 1 - 1 - 2 - 4.
    assert!(
        matches!(
            err,
            DataError::WindowTooLong {
                rows: 100,
                samples: 0,
                fewest: 4,
                largest_steps: 94,
                ..
            }
        ),
        "{err}"
    );
    let text = err_text(
        dir.path(),
        &csv,
        "[data.window]\nsteps = 500\nhorizon = 2\ndifference = true",
    );
    assert!(text.contains("needs 503 rows"), "{text}");
    assert!(text.contains("the file has 100"), "{text}");
    assert!(text.contains("data.window.steps = 94 or fewer"), "{text}");
    // That window does fit; one more step does not.
    let fits = spec(
        dir.path(),
        &csv,
        "[data.window]\nsteps = 94\nhorizon = 2\ndifference = true",
    );
    crate::prepare(&fits, &dir.path().join("s.csv"), 1).unwrap();
    let over = spec(
        dir.path(),
        &csv,
        "[data.window]\nsteps = 95\nhorizon = 2\ndifference = true",
    );
    assert!(crate::prepare(&over, &dir.path().join("s.csv"), 1).is_err());
}

fn err_text(dir: &Path, csv: &str, data: &str) -> String {
    let data = spec(dir, csv, data);
    crate::prepare(&data, &dir.join("s.csv"), 1)
        .unwrap_err()
        .to_string()
}
