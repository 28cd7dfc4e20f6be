//! Issue 21, items 9 to 11: the graded verdict of real runs built to show
//! each state, stored in the registry and shown with its evidence and hint;
//! the memorisation warning only where nothing guards against it; the note
//! that says why `loss` and the metrics disagree.

use serde_json::Value;

use crate::common::{Workspace, repo_root};

/// Trains the diabetes MLP with `overrides`; returns `show --json` of it.
fn trained(ws: &Workspace, overrides: &[&str]) -> Value {
    let run = ws.train(overrides);
    let id = run["id"].as_str().unwrap().to_string();
    serde_json::from_str(&ws.ok(&["show", &id, "--json"])).unwrap()
}

fn findings(show: &Value) -> Vec<&str> {
    show["verdict_findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect()
}

#[test]
fn two_epochs_read_as_underfitting_and_still_improving() {
    let ws = Workspace::new();
    let show = trained(&ws, &["train.epochs=2"]);
    assert_eq!(show["verdict"], "underfitting", "{show:#}");
    assert_eq!(show["verdict_grade"], "strong");
    let found = findings(&show);
    assert_eq!(found[0], "underfitting:strong", "{found:?}");
    assert!(found[1].starts_with("still_improving:"), "{found:?}");
    // The skill is the validation R² of the kept model.
    let skill = show["skill"].as_f64().unwrap();
    assert!(skill < 0.0, "{skill}");
    assert_eq!(show["diagnosis"]["verdict"], "underfitting");
    let id = show["id"].as_str().unwrap();
    let text = ws.ok(&["show", id]);
    assert!(text.contains("verdict: underfitting (strong)"), "{text}");
    assert!(text.contains("also: still improving ("), "{text}");
    assert!(text.contains("hint: train longer (more epochs)"), "{text}");
    // Stored: `runs` shows it and `--where` selects on it.
    let runs = ws.ok(&["runs"]);
    assert!(runs.contains("underfitting (strong)"), "{runs}");
    let listed: Value =
        serde_json::from_str(&ws.ok(&["runs", "--where", "verdict = underfitting", "--json"]))
            .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let none: Value =
        serde_json::from_str(&ws.ok(&["runs", "--where", "verdict = good_fit", "--json"])).unwrap();
    assert_eq!(none.as_array().unwrap().len(), 0);
}

#[test]
fn a_tiny_learning_rate_reads_as_too_low() {
    let ws = Workspace::new();
    let show = trained(
        &ws,
        &["optimizer.learning_rate=0.0000001", "train.epochs=6"],
    );
    assert_eq!(show["verdict"], "learning_rate_too_low", "{show:#}");
    assert!(show["train_drop"].as_f64().unwrap() < 0.05);
    let text = ws.ok(&["show", show["id"].as_str().unwrap()]);
    assert!(text.contains("hint: raise the learning rate"), "{text}");
}

#[test]
fn a_huge_learning_rate_reads_as_diverged() {
    let ws = Workspace::new();
    let show = trained(&ws, &["optimizer.learning_rate=100", "train.epochs=10"]);
    assert_eq!(show["verdict"], "diverged", "{show:#}");
    assert!(findings(&show).contains(&"learning_rate_too_high:strong"));
    let text = ws.ok(&["show", show["id"].as_str().unwrap()]);
    assert!(text.contains("hint: lower the learning rate"), "{text}");
}

#[test]
fn the_shipped_overfit_pair_reads_mild_and_strong() {
    let ws = Workspace::new();
    let root = repo_root();
    let mut verdicts = Vec::new();
    for spec in ["overfit_regularized.toml", "overfit_wide.toml"] {
        let path = root.join("experiments").join(spec);
        let run: Value =
            serde_json::from_str(&ws.ok(&["run", path.to_str().unwrap(), "--json"])).unwrap();
        let show: Value =
            serde_json::from_str(&ws.ok(&["show", run["id"].as_str().unwrap(), "--json"])).unwrap();
        assert_eq!(show["verdict"], "overfitting", "{spec}: {show:#}");
        verdicts.push((
            show["verdict_grade"].as_str().unwrap().to_string(),
            show["val_above_min"].as_f64().unwrap(),
        ));
    }
    assert_eq!(verdicts[0].0, "mild", "{verdicts:?}");
    assert_eq!(verdicts[1].0, "strong", "{verdicts:?}");
    assert!(verdicts[0].1 < verdicts[1].1, "{verdicts:?}");
}

#[test]
fn a_run_recorded_before_the_diagnosis_is_judged_from_its_epochs() {
    let ws = Workspace::new();
    let show = trained(&ws, &["train.epochs=2"]);
    let id = show["id"].as_str().unwrap();
    ws.execute("UPDATE runs SET verdict = NULL, verdict_grade = NULL, verdict_findings = NULL");
    let runs = ws.ok(&["runs"]);
    assert!(!runs.contains("underfitting"), "{runs}");
    let old: Value = serde_json::from_str(&ws.ok(&["show", id, "--json"])).unwrap();
    assert_eq!(old["verdict"], Value::Null);
    assert_eq!(old["diagnosis"]["verdict"], "underfitting");
}

#[test]
fn the_loss_note_says_why_loss_and_metrics_differ() {
    let ws = Workspace::new();
    let plain = trained(&ws, &["train.epochs=2"]);
    assert_eq!(plain["loss_note"], Value::Null);
    let scaled = trained(&ws, &["train.epochs=2", "data.normalize_target=zscore"]);
    let text = ws.ok(&["show", scaled["id"].as_str().unwrap()]);
    assert!(
        text.contains("note: loss is on the z-scored target; mse, rmse, mae in the target's units"),
        "{text}"
    );
    let iris = repo_root().join("experiments/iris.toml");
    let run: Value = serde_json::from_str(&ws.ok(&[
        "run",
        iris.to_str().unwrap(),
        "--set",
        "train.epochs=2",
        "--json",
    ]))
    .unwrap();
    let text = ws.ok(&["show", run["id"].as_str().unwrap()]);
    assert!(
        text.contains(
            "note: loss includes label smoothing 0.05; log_loss and the other metrics do not"
        ),
        "{text}"
    );
}

/// Item 10: the memorisation warning fires where nothing guards against it
/// (the unregularized wide network), not on the regularized shipped specs.
#[test]
fn the_memorisation_warning_fires_only_without_regularization() {
    let ws = Workspace::new();
    let root = repo_root().join("experiments");
    let kinds = |spec: &str| -> Vec<String> {
        let path = root.join(spec);
        let out: Value =
            serde_json::from_str(&ws.ok(&["check", path.to_str().unwrap(), "--json"])).unwrap();
        out["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["kind"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(kinds("overfit_wide.toml").contains(&"few_rows_per_parameter".to_string()));
    for spec in [
        "mlp.toml",
        "overfit_regularized.toml",
        "wine.toml",
        "iris.toml",
    ] {
        assert!(
            !kinds(spec).contains(&"few_rows_per_parameter".to_string()),
            "{spec}"
        );
    }
}
