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

#[test]
fn windows_of_a_hand_computed_series() {
    let dir = tempfile::tempdir().unwrap();
    // Rows out of order, sorted by `t`; y = 10·t with t = 3 empty.
    let csv = "t,x,y\n2,0.2,20\n1,0.1,10\n3,0.3,\n4,0.4,40\n5,0.5,50\n6,0.6,60\n7,0.7,70\n\
               8,0.8,80\n9,0.9,90\n10,1.0,100\n";
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
