//! Issue 22, the read side of sweeps: `sweeps`, `sweep show`, the `pruned`
//! status and `infer --sweep`, on a sweep staged in SQL over real trained
//! runs (the driver that runs sweeps is tested with it).

use crate::common::{FIRST_ROW, Workspace, stderr};

/// The staged sweep's id.
pub const SWEEP_ID: &str = "0193a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b";

/// One staged trial: its learning rate, its run's selection value
/// (val_loss) and whether the pruner stopped it.
pub struct Staged {
    pub lr: f64,
    pub value: f64,
    pub pruned: bool,
}

/// Trains one 2-epoch run per trial, then records a random sweep of
/// budget `trials.len() + 1` in SQL, as the driver would: trial `i` is the
/// `i`-th run, and one more trial is claimed with no run yet. Returns the
/// runs' ids.
pub fn stage_sweep(ws: &Workspace, trials: &[Staged]) -> Vec<String> {
    let mut ids = Vec::new();
    for trial in trials {
        let lr = format!("optimizer.learning_rate={}", trial.lr);
        let run = ws.train(&["train.epochs=2", &lr]);
        ids.push(run["id"].as_str().unwrap().to_owned());
    }
    ws.execute(&format!(
        "INSERT INTO sweeps (id, experiment, name, spec_path, source_spec, spec_toml, method, \
         metric, higher_is_better, budget, jobs, seed, parameters, pruner, created_at) VALUES \
         ('{SWEEP_ID}', 'diabetes-mlp', NULL, 'experiments/sweep.toml', '[sweep]', '[sweep]', \
         'random', 'val_loss', 0, {}, 2, 7, \
         '[{{\"key\": \"optimizer.learning_rate\", \"log_uniform\": [0.0001, 0.1]}}]', \
         '{{\"type\": \"asha\", \"min_epochs\": 1, \"reduction\": 3}}', \
         '2026-01-01T00:00:00.000Z')",
        trials.len() + 1
    ));
    for (number, (trial, id)) in trials.iter().zip(&ids).enumerate() {
        ws.execute(&format!(
            "INSERT INTO sweep_trials (sweep_id, number, params, run_id, attempts, claimed_at) \
             VALUES ('{SWEEP_ID}', {number}, '{{\"optimizer.learning_rate\": {}}}', '{id}', 1, \
             '2026-01-01T00:00:00.000Z')",
            trial.lr
        ));
        ws.execute(&format!(
            "UPDATE runs SET selection_value = {} WHERE id = '{id}'",
            trial.value
        ));
        if trial.pruned {
            ws.execute(&format!(
                "UPDATE runs SET status = 'killed', pruned_epoch = 1, \
                 error = 'val_loss at epoch 1 is not in the best 1/3' WHERE id = '{id}'"
            ));
        }
    }
    ws.execute(&format!(
        "INSERT INTO sweep_trials (sweep_id, number, params, claimed_at) VALUES \
         ('{SWEEP_ID}', {}, '{{\"optimizer.learning_rate\": 0.05}}', '2026-01-01T00:00:00.000Z')",
        trials.len()
    ));
    ids
}

/// Three trials: #0 completed (0.5), #1 completed and best (0.3), #2 pruned
/// with the lowest value of all (0.1).
fn three_trials() -> Vec<Staged> {
    vec![
        Staged {
            lr: 0.001,
            value: 0.5,
            pruned: false,
        },
        Staged {
            lr: 0.01,
            value: 0.3,
            pruned: false,
        },
        Staged {
            lr: 0.03,
            value: 0.1,
            pruned: true,
        },
    ]
}

#[test]
fn sweep_show_ranks_trials_and_pruned_runs_read_pruned() {
    let ws = Workspace::new();
    let ids = stage_sweep(&ws, &three_trials());

    let listed = ws.ok(&["sweeps"]);
    let line = listed.lines().nth(1).unwrap();
    for word in [
        "diabetes-mlp",
        "random",
        "3/4",
        "val_loss",
        "0.3000",
        "#1",
        "stopped",
    ] {
        assert!(line.contains(word), "{word} missing in {line}");
    }
    let json: serde_json::Value = serde_json::from_str(&ws.ok(&["sweeps", "--json"])).unwrap();
    assert_eq!(json[0]["counts"]["pruned"], 1);
    assert_eq!(json[0]["counts"]["pending"], 1);
    assert_eq!(json[0]["best_trial"], 1);

    let shown = ws.ok(&["sweep", "show", "latest"]);
    assert!(shown.contains("val_loss (minimize)"), "{shown}");
    assert!(
        shown.contains("asha (min_epochs 1, reduction 3)"),
        "{shown}"
    );
    assert!(shown.contains("stopped: 3/4 trials ended (2 completed, 1 pruned, 1 pending)"));
    let rows: Vec<&str> = shown
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("rank"))
        .collect();
    assert!(rows[0].contains("learning_rate"), "{}", rows[0]);
    let order: Vec<&str> = rows[1..]
        .iter()
        .map(|row| row.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(order, ["#1", "#0", "#2", "#3"], "{shown}");
    assert!(rows[3].contains("pruned@1"), "{}", rows[3]);
    assert!(rows[4].contains("pending"), "{}", rows[4]);

    let top: serde_json::Value =
        serde_json::from_str(&ws.ok(&["sweep", "show", &SWEEP_ID[..8], "--json", "--top", "2"]))
            .unwrap();
    let trials = top["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 2);
    assert_eq!(trials[0]["number"], 1);
    assert_eq!(trials[0]["run_id"], ids[1].as_str());

    // The pruned run reads `pruned`, and `killed` no longer selects it.
    let pruned = ws.ok(&["runs", "--status", "pruned", "--json"]);
    let pruned: serde_json::Value = serde_json::from_str(&pruned).unwrap();
    assert_eq!(pruned.as_array().unwrap().len(), 1);
    assert_eq!(pruned[0]["id"], ids[2].as_str());
    assert_eq!(pruned[0]["status"], "pruned");
    let killed = ws.ok(&["runs", "--where", "status = killed", "--json"]);
    assert_eq!(killed.trim(), "[]");
    let shown: serde_json::Value =
        serde_json::from_str(&ws.ok(&["show", &ids[2], "--json"])).unwrap();
    assert_eq!(shown["status"], "pruned");
    let out = ws.run(&["resume", &ids[2]]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("pruned"), "{}", stderr(&out));
}

#[test]
fn infer_best_of_a_sweep_uses_its_best_completed_trial() {
    let ws = Workspace::new();
    let ids = stage_sweep(&ws, &three_trials());
    // A better run outside the sweep: `best` alone picks it, `--sweep` not.
    let outside = ws.train(&["train.epochs=2", "optimizer.learning_rate=0.02"]);
    let outside = outside["id"].as_str().unwrap().to_owned();
    ws.execute(&format!(
        "UPDATE runs SET selection_value = 0.01 WHERE id = '{outside}'"
    ));
    let predict = |args: &[&str]| {
        let mut all = vec!["infer", "--row", FIRST_ROW];
        all.extend(args);
        ws.ok(&all)
    };
    let in_sweep = predict(&["--sweep", "latest"]);
    assert_eq!(in_sweep, predict(&["--run", &ids[1]]));
    assert_ne!(in_sweep, predict(&["--run", &ids[0]]));
    assert_eq!(predict(&[]), predict(&["--run", &outside]));
    assert_ne!(predict(&[]), in_sweep);

    let out = ws.run(&["infer", "--row", FIRST_ROW, "--sweep", "nosuch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no sweep matches 'nosuch'"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("pipeline sweeps"), "{}", stderr(&out));
    let out = ws.run(&[
        "infer", "--row", FIRST_ROW, "--sweep", "latest", "--run", &outside,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a trial"), "{}", stderr(&out));
}

#[test]
fn a_registry_without_sweeps_says_so() {
    let ws = Workspace::new();
    ws.train(&["train.epochs=2"]);
    let out = ws.run(&["sweeps"]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("no sweeps"), "{}", stderr(&out));
    assert_eq!(ws.ok(&["sweeps", "--json"]).trim(), "[]");
    let out = ws.run(&["sweep", "show", "latest"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no sweep"), "{}", stderr(&out));
}
