//! Sweeps (issue 22): `pipeline run` on a spec with `[sweep]`, each trial a
//! run linked to its sweep; grid points once with two jobs; seeded random
//! trials; pruning; a failing trial that does not stop the sweep; kill -9
//! and `sweep resume`; `sweep retry`; `sweep confirm`.

use std::time::{Duration, Instant};

use crate::common::{Workspace, diabetes_csv, stderr};

/// SimpleNN on diabetes with `sweep` appended, the data path absolute.
fn sweep_spec(workspace: &Workspace, epochs: u32, sweep: &str) -> String {
    let text = format!(
        r#"name = "diabetes-sweep"
seed = 42

[data]
path = "{data}"
target = "target"
normalize = "zscore"
split = {{ train = 0.70, validation = 0.15, test = 0.15 }}

[model]
layers = [
  {{ type = "linear", units = 16 }},
  {{ type = "relu" }},
  {{ type = "linear", units = 1 }},
]

[optimizer]
type = "adam"
learning_rate = 1e-2

[train]
epochs = {epochs}
batch_size = 64

{sweep}
"#,
        data = diabetes_csv().display()
    );
    workspace
        .write("sweep.toml", &text)
        .to_str()
        .unwrap()
        .to_owned()
}

/// The only sweep's id.
fn sweep_id(workspace: &Workspace) -> String {
    let ids: Vec<String> = workspace.query("SELECT id FROM sweeps");
    assert_eq!(ids.len(), 1, "{ids:?}");
    ids[0].clone()
}

/// (number, params, run status or "pruned", attempts) of every trial.
fn trials(workspace: &Workspace) -> Vec<(i64, String, String, i64)> {
    let numbers: Vec<i64> = workspace.query("SELECT number FROM sweep_trials ORDER BY number");
    let params: Vec<String> = workspace.query("SELECT params FROM sweep_trials ORDER BY number");
    let states: Vec<String> = workspace.query(
        "SELECT CASE WHEN r.pruned_epoch IS NOT NULL THEN 'pruned' \
         ELSE COALESCE(r.status, 'none') END \
         FROM sweep_trials t LEFT JOIN runs r ON r.id = t.run_id ORDER BY t.number",
    );
    let attempts: Vec<i64> = workspace.query("SELECT attempts FROM sweep_trials ORDER BY number");
    numbers
        .into_iter()
        .zip(params)
        .zip(states)
        .zip(attempts)
        .map(|(((n, p), s), a)| (n, p, s, a))
        .collect()
}

#[test]
fn a_grid_with_two_jobs_trains_every_point_exactly_once() {
    let workspace = Workspace::new();
    let spec = sweep_spec(
        &workspace,
        3,
        r#"[sweep]
method = "grid"
jobs = 2
[sweep.parameters]
"model.layers.0.units" = { values = [8, 16] }
"optimizer.learning_rate" = { values = [1e-3, 1e-2, 3e-2] }
"#,
    );
    let out = workspace.run(&["run", &spec]);
    assert!(out.status.success(), "{}", stderr(&out));
    let trials = trials(&workspace);
    assert_eq!(trials.len(), 6, "{trials:?}");
    let mut points: Vec<&str> = trials.iter().map(|t| t.1.as_str()).collect();
    points.sort_unstable();
    points.dedup();
    assert_eq!(points.len(), 6, "a grid point trained twice: {trials:?}");
    assert!(
        trials.iter().all(|t| t.2 == "completed" && t.3 == 1),
        "{trials:?}"
    );
    // Each trial is a normal run: its spec keys filter like any run's.
    let runs: Vec<String> = workspace
        .query("SELECT run_id FROM run_params WHERE key = 'model.layers.0.units' AND num = 8");
    assert_eq!(runs.len(), 3, "{runs:?}");
    let err = stderr(&out);
    assert!(err.contains("trial #5 of 6 completed"), "{err}");
}

#[test]
fn a_seeded_random_sweep_draws_the_same_trials_again() {
    let draw = || {
        let workspace = Workspace::new();
        let spec = sweep_spec(
            &workspace,
            2,
            r#"[sweep]
method = "random"
trials = 3
seed = 11
[sweep.parameters]
"optimizer.learning_rate" = { log_uniform = [1e-4, 1e-1] }
"model.layers.0.units" = { log_uniform = [4, 64] }
"#,
        );
        workspace.ok(&["run", &spec]);
        trials(&workspace)
            .into_iter()
            .map(|t| t.1)
            .collect::<Vec<_>>()
    };
    let first = draw();
    assert_eq!(first.len(), 3);
    assert_eq!(first, draw());
    // Integer bounds draw integers.
    let params: serde_json::Value = serde_json::from_str(&first[0]).unwrap();
    assert!(params["model.layers.0.units"].is_i64(), "{params}");
    assert!(params["optimizer.learning_rate"].is_f64(), "{params}");
}

#[test]
fn asha_prunes_trials_that_keep_their_curve_and_are_never_best() {
    let workspace = Workspace::new();
    // Learning rates from useless to good: the slow ones are pruned at the
    // first rung (epoch 2) once better trials reached it.
    let spec = sweep_spec(
        &workspace,
        12,
        r#"[sweep]
method = "grid"
[sweep.parameters]
"optimizer.learning_rate" = { values = [3e-2, 1e-2, 1e-5, 1e-6, 2e-6, 3e-6] }
[sweep.pruner]
type = "asha"
min_epochs = 2
reduction = 2
"#,
    );
    workspace.ok(&["run", &spec]);
    let trials = trials(&workspace);
    let pruned: Vec<_> = trials.iter().filter(|t| t.2 == "pruned").collect();
    assert!(!pruned.is_empty(), "{trials:?}");
    assert_eq!(trials[0].2, "completed", "{trials:?}");
    let epochs: Vec<i64> = workspace
        .query("SELECT epochs_run FROM runs WHERE pruned_epoch IS NOT NULL ORDER BY epochs_run");
    assert!(epochs.iter().all(|&e| (2..12).contains(&e)), "{epochs:?}");
    // Its curve is kept.
    let rows: Vec<i64> = workspace.query(
        "SELECT COUNT(*) FROM epoch_metrics e JOIN runs r ON r.id = e.run_id \
         WHERE r.pruned_epoch IS NOT NULL",
    );
    assert!(rows[0] > 0);
    // `runs --status pruned` lists them, and `best` is a completed trial.
    let listed: serde_json::Value =
        serde_json::from_str(&workspace.ok(&["runs", "--status", "pruned", "--json"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), pruned.len(), "{listed}");
    let best: serde_json::Value =
        serde_json::from_str(&workspace.ok(&["show", "best", "--json"])).unwrap();
    assert_eq!(best["status"], "completed", "{best}");
}

#[test]
fn a_failing_trial_is_recorded_and_the_sweep_goes_on_unless_fail_fast() {
    let workspace = Workspace::new();
    let spec = sweep_spec(
        &workspace,
        3,
        r#"[sweep]
method = "grid"
[sweep.parameters]
"optimizer.learning_rate" = { values = [1e-2, 1e12, 3e-2] }
"#,
    );
    let out = workspace.run(&["run", &spec]);
    let err = stderr(&out);
    let states: Vec<String> = trials(&workspace).into_iter().map(|t| t.2).collect();
    assert_eq!(states, ["completed", "failed", "completed"], "{err}");
    assert!(err.contains("trial #1 of 3 failed"), "{err}");
    // Retried: trained again (and fails again), nothing else trains.
    let id = sweep_id(&workspace);
    let out = workspace.run(&["sweep", "retry", &id, "--failed"]);
    assert!(!stderr(&out).contains("trial #0"), "{}", stderr(&out));
    let attempts: Vec<i64> = trials(&workspace).into_iter().map(|t| t.3).collect();
    assert_eq!(attempts, [1, 2, 1]);

    // --fail-fast stops at the first failure.
    let other = Workspace::new();
    let spec = sweep_spec(
        &other,
        3,
        r#"[sweep]
method = "grid"
[sweep.parameters]
"optimizer.learning_rate" = { values = [1e12, 1e-2, 3e-2] }
"#,
    );
    let out = other.run(&["run", &spec, "--fail-fast"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let states: Vec<String> = trials(&other).into_iter().map(|t| t.2).collect();
    assert_eq!(states, ["failed"], "{}", stderr(&out));
}

#[test]
fn a_sweep_killed_with_sigkill_resumes_to_exactly_its_budget() {
    let workspace = Workspace::new();
    let spec = sweep_spec(
        &workspace,
        40,
        r#"[sweep]
method = "random"
trials = 5
[sweep.parameters]
"optimizer.learning_rate" = { log_uniform = [1e-3, 1e-1] }
"#,
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .current_dir(workspace.path())
        .env("PIPELINE_REGISTRY", workspace.registry_url())
        .args(["run", &spec])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed once the first trial ended and another is training.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        std::thread::sleep(Duration::from_millis(50));
        // An error until the registry and its tables exist.
        let ended = workspace.try_query::<i64>(
            "SELECT COUNT(*) FROM sweep_trials t JOIN runs r ON r.id = t.run_id \
             WHERE r.status = 'completed'",
        );
        if ended.is_ok_and(|ended| ended.first().is_some_and(|&n| n >= 1)) {
            break;
        }
        assert!(Instant::now() < deadline, "no trial completed in 60 s");
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let id = sweep_id(&workspace);
    // The killed process's run reads `crashed`, never `running`.
    let out = workspace.run(&["sweep", "resume", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let trials = trials(&workspace);
    assert_eq!(trials.len(), 5, "{trials:?}");
    assert!(trials.iter().all(|t| t.2 == "completed"), "{trials:?}");
    let completed: Vec<i64> = workspace.query(
        "SELECT COUNT(*) FROM runs WHERE status = 'completed' \
         AND id IN (SELECT run_id FROM run_tags)",
    );
    assert_eq!(completed[0], 5, "a trial completed twice");
    workspace.assert_integrity();
}

#[test]
fn confirm_cross_validates_the_top_trials_and_show_ranks_them() {
    let workspace = Workspace::new();
    let spec = sweep_spec(
        &workspace,
        4,
        r#"[sweep]
method = "grid"
[sweep.parameters]
"optimizer.learning_rate" = { values = [1e-2, 1e-3, 3e-2] }
"#,
    );
    workspace.ok(&["run", &spec]);
    let id = sweep_id(&workspace);
    let out = workspace.ok(&[
        "sweep", "confirm", &id, "--top", "2", "--folds", "2", "--json",
    ]);
    let confirmed: serde_json::Value = serde_json::from_str(&out).unwrap();
    let confirmed = confirmed.as_array().unwrap();
    assert_eq!(confirmed.len(), 2, "{out}");
    assert!(confirmed[0]["mean"].is_f64(), "{out}");
    // 2 trials x 2 folds, each a run.
    let folds: Vec<i64> =
        workspace.query("SELECT COUNT(*) FROM runs WHERE data_path LIKE '%diabetes%'");
    assert_eq!(folds[0], 3 + 4);
    let shown = workspace.ok(&["sweep", "show", &id]);
    assert!(shown.contains("cross-validated"), "{shown}");
}
