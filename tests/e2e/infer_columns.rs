//! `infer`'s output columns (issue 21, item 12): a labelled file predicts
//! as it is, its `label` column kept beside `prediction`; another name is
//! one flag away, and a name the file already holds is a clear error.

use crate::common::{Workspace, repo_root, stderr};

/// Trains the shipped iris spec for two epochs; returns the data's path.
fn trained_iris(ws: &Workspace) -> String {
    let spec = repo_root().join("experiments/iris.toml");
    ws.ok(&[
        "run",
        spec.to_str().unwrap(),
        "--set",
        "train.epochs=2",
        "--json",
    ]);
    repo_root()
        .join("experiments/data/iris.csv")
        .display()
        .to_string()
}

#[test]
fn a_labelled_file_predicts_beside_its_label() {
    let ws = Workspace::new();
    let iris = trained_iris(&ws);
    let out = ws.ok(&["infer", "--run", "latest", "--input", &iris]);
    let mut lines = out.lines();
    assert_eq!(
        lines.next().unwrap(),
        "sepal_length_cm,sepal_width_cm,petal_length_cm,petal_width_cm,label,\
         prediction,probability_0,probability_1,probability_2"
    );
    assert_eq!(lines.count(), 150, "{out}");
    // Each row keeps its own label and gets a predicted class among the three.
    let first: Vec<&str> = out.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(first[4], "0", "{out}");
    assert!(["0", "1", "2"].contains(&first[5]), "{out}");

    // Another name for the predictions' column; probabilities keep theirs.
    let out = ws.ok(&[
        "infer",
        "--run",
        "latest",
        "--input",
        &iris,
        "--prediction-column",
        "predicted_label",
        "--only-predictions",
    ]);
    assert_eq!(
        out.lines().next().unwrap(),
        "predicted_label,probability_0,probability_1,probability_2"
    );
}

#[test]
fn a_prediction_column_the_file_holds_is_refused_with_a_hint() {
    let ws = Workspace::new();
    let iris = trained_iris(&ws);
    let out = ws.run(&[
        "infer",
        "--run",
        "latest",
        "--input",
        &iris,
        "--prediction-column",
        "label",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(
        message.contains("already has a column named `label`"),
        "{message}"
    );
    assert!(message.contains("--prediction-column NAME"), "{message}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // An empty name is refused before anything is read.
    let out = ws.run(&["infer", "--input", &iris, "--prediction-column", " "]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the column name is empty"),
        "{}",
        stderr(&out)
    );
}
