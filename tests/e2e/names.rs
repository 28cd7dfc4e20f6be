//! Issue 21: run names and notes in `runs`, short ids that never collide,
//! and `best` that works once several experiments have runs.

use crate::common::{FIRST_ROW, Workspace, mlp_spec, stderr};

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

fn show(ws: &Workspace, run: &str) -> serde_json::Value {
    json(&ws.ok(&["show", run, "--json"]))
}

#[test]
fn a_name_selects_its_run_and_runs_shows_names_and_notes() {
    let ws = Workspace::new();
    let spec = mlp_spec();
    let spec = spec.to_str().unwrap();
    let first = json(&ws.ok(&[
        "run",
        spec,
        "--set",
        "train.epochs=2",
        "--json",
        "--name",
        "baseline",
        "--note",
        "first try, raw features",
    ]));
    let unnamed = ws.train(&["train.epochs=2"]);
    let shown = show(&ws, "baseline");
    assert_eq!(shown["id"], first["id"]);
    assert_eq!(shown["name"], "baseline");
    let short = shown["short_id"].as_str().unwrap().to_owned();
    assert!(short.len() >= 7, "{short}");
    assert!(
        ws.ok(&["show", "baseline"])
            .contains("  name            baseline\n")
    );

    let listed = json(&ws.ok(&["runs", "--json"]));
    let runs = listed.as_array().unwrap();
    assert_eq!(runs[0]["id"], unnamed["id"]);
    assert_eq!(runs[0]["name"], serde_json::Value::Null);
    assert_eq!(runs[0]["note"], serde_json::Value::Null);
    assert_eq!(runs[1]["name"], "baseline");
    assert_eq!(runs[1]["note"], "first try, raw features");
    assert_eq!(runs[1]["short_id"], short.as_str());
    let table = ws.ok(&["runs"]);
    let header = table.lines().next().unwrap();
    assert!(
        header.contains("name") && header.contains("note"),
        "{table}"
    );
    assert!(table.contains("baseline") && table.contains("first try, raw features"));
    assert!(table.contains(&short), "{table}");

    // Unique: a second run cannot take it; nothing is trained.
    let out = ws.run(&["run", spec, "--set", "train.epochs=2", "--name", "baseline"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("already has it"), "{}", stderr(&out));
    // Names that read as selectors are refused before anything is read.
    let out = ws.run(&["run", spec, "--name", "best"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        json(&ws.ok(&["runs", "--json"])).as_array().unwrap().len(),
        2
    );

    // Renamed after the fact; `--where name = …` finds it.
    ws.ok(&["name", "baseline", "raw-features"]);
    assert_eq!(show(&ws, "raw-features")["id"], first["id"]);
    assert_eq!(ws.run(&["show", "baseline"]).status.code(), Some(2));
    let found = json(&ws.ok(&["runs", "--where", "name = raw-features", "--json"]));
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["id"], first["id"]);

    // Without names or notes, no such columns.
    ws.ok(&["name", "raw-features", ""]);
    ws.ok(&["note", "latest", ""]);
    ws.ok(&["note", first["id"].as_str().unwrap(), ""]);
    let header = ws.ok(&["runs"]).lines().next().unwrap().to_owned();
    assert!(
        !header.contains("name") && !header.contains("note"),
        "{header}"
    );
}

#[test]
fn the_folds_of_a_cross_validation_get_distinct_short_ids_and_names() {
    let ws = Workspace::new();
    let spec = mlp_spec();
    let out = ws.ok(&[
        "run",
        spec.to_str().unwrap(),
        "--folds",
        "5",
        "--set",
        "train.epochs=2",
        "--name",
        "cv",
    ]);
    let runs = json(&ws.ok(&["runs", "--json"]));
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 5);
    let mut shorts: Vec<&str> = runs
        .iter()
        .map(|r| r["short_id"].as_str().unwrap())
        .collect();
    for (run, short) in runs.iter().zip(&shorts) {
        // The fold table and `runs` print it, and `show` accepts it.
        assert!(out.contains(short), "{short} not in\n{out}");
        assert_eq!(show(&ws, short)["id"], run["id"]);
    }
    let table = ws.ok(&["runs"]);
    for short in &shorts {
        assert_eq!(table.matches(short).count(), 1, "{table}");
    }
    shorts.sort_unstable();
    shorts.dedup();
    assert_eq!(shorts.len(), 5);
    let third = show(&ws, "cv/fold-3-of-5");
    assert!(
        third["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "fold:3/5"),
        "{third}"
    );
}

#[test]
fn best_is_the_best_of_the_latest_runs_experiment() {
    let ws = Workspace::new();
    // Two experiments: diabetes-mlp, then "wider" (the latest).
    let mlp_good = ws.train(&["train.epochs=3"]);
    let _mlp_poor = ws.train(&["train.epochs=1"]);
    let wider_a = ws.train(&["name=wider", "train.epochs=2"]);
    let wider_b = ws.train(&["name=wider", "train.epochs=3", "seed=7"]);
    let wider_best = json(&ws.ok(&["runs", "--experiment", "wider", "--json"]));
    let by_selection = |runs: &serde_json::Value| {
        runs.as_array()
            .unwrap()
            .iter()
            .min_by(|a, b| {
                let value = |r: &serde_json::Value| r["selection_value"].as_f64().unwrap();
                value(a).total_cmp(&value(b))
            })
            .unwrap()["id"]
            .clone()
    };
    let best = by_selection(&wider_best);
    assert!(best == wider_a["id"] || best == wider_b["id"]);
    let mlp_runs = json(&ws.ok(&["runs", "--experiment", "diabetes-mlp", "--json"]));
    assert_eq!(by_selection(&mlp_runs), mlp_good["id"]);

    let said = "best of experiment 'wider' (the latest run's); --experiment NAME for another";
    let out = ws.run(&["compare", "best", "latest", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out).matches(said).count(), 1, "{}", stderr(&out));
    let compared = json(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(compared["runs"][0]["id"], best);
    assert_eq!(compared["runs"][1]["id"], wider_b["id"]);

    let out = ws.run(&["infer", "--run", "best", "--row", FIRST_ROW]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(said), "{}", stderr(&out));

    let out = ws.run(&["alias", "set", "production", "best:test_r2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("best:test_r2 of experiment 'wider' (the latest run's)"),
        "{}",
        stderr(&out)
    );
    let production = show(&ws, "production");
    assert_eq!(production["experiment"], "wider");

    // --experiment still picks another; an unknown one names the selector
    // as typed.
    assert_eq!(
        show(&ws, "best")["experiment"],
        "wider",
        "show best follows the latest run too"
    );
    let out = ws.run(&["show", "best", "--experiment", "diabetes-mlp", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        json(&String::from_utf8(out.stdout).unwrap())["id"],
        mlp_good["id"]
    );
    let out = ws.run(&["show", "best:val_loss", "--experiment", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("'best:val_loss'"), "{}", stderr(&out));
}
