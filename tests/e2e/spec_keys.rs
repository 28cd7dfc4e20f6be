//! Spec keys in `runs` (issue 21, items 1, 2 and 5): `--where` and `--sort`
//! on any resolved spec key, the keys that differ shown as columns (or those
//! `--columns` names), and one path syntax, dots or brackets, in `--set` too.

use serde_json::Value;

use crate::common::{Workspace, stderr};

/// Three runs of the diabetes MLP with learning rates 0.001, 0.01 and 0.05
/// (2 epochs), the last also 8 units wide through brackets; their ids in
/// that order.
fn three_runs(ws: &Workspace) -> Vec<String> {
    let overrides: [&[&str]; 3] = [
        &["train.epochs=2", "optimizer.learning_rate=0.001"],
        &["train.epochs=2", "optimizer.learning_rate=0.01"],
        &[
            "train.epochs=2",
            "optimizer.learning_rate=0.05",
            "model.layers[0].units=8",
        ],
    ];
    overrides
        .iter()
        .map(|o| ws.train(o)["id"].as_str().unwrap().to_owned())
        .collect()
}

fn listed(ws: &Workspace, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["runs", "--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&ws.ok(&all)).unwrap()
}

fn ids(runs: &[Value]) -> Vec<&str> {
    runs.iter().map(|r| r["id"].as_str().unwrap()).collect()
}

/// The table with run ids, start times and metric values (which follow
/// the trainer's arithmetic) replaced by placeholders; the spec columns and
/// the header stay as printed.
fn scrubbed_table(table: &str, ids: &[String]) -> String {
    let mut lines = table.lines();
    let header = lines.next().unwrap_or_default();
    let names: Vec<&str> = header.split_whitespace().collect();
    let first_metric = names.iter().position(|n| *n == "val_loss").unwrap();
    let mut out = vec![header.trim_end().to_owned()];
    for line in lines {
        let mut words: Vec<String> = line.split_whitespace().map(String::from).collect();
        // A short id starts the id's random part (the hex digits after the
        // version digit).
        let random = |id: &str| id.replace('-', "")[13..].to_owned();
        if let Some(index) = ids.iter().position(|id| random(id).starts_with(&words[0])) {
            words[0] = format!("[RUN {}]", index + 1);
        }
        // `started` is two words (date and time): every later column is one on.
        words[3] = "[DATE]".into();
        words[4] = "[TIME]".into();
        for word in words.iter_mut().skip(first_metric + 1).take(4) {
            *word = "[x]".into();
        }
        out.push(words.join(" "));
    }
    out.join("\n")
}

#[test]
fn where_sort_and_columns_read_spec_keys() {
    let ws = Workspace::new();
    let runs = three_runs(&ws);

    // `--where` on a spec key selects as numbers compare, brackets or dots.
    let fast = listed(&ws, &["--where", "optimizer.learning_rate > 0.005"]);
    assert_eq!(ids(&fast), [runs[2].as_str(), runs[1].as_str()]);
    let narrow = listed(&ws, &["--where", "model.layers[0].units < 10"]);
    assert_eq!(ids(&narrow), [runs[2].as_str()]);
    let wide_and_slow = listed(
        &ws,
        &[
            "--where",
            "model.layers.0.units = 64 and optimizer.learning_rate <= 0.01 and optimizer.type = adam",
        ],
    );
    assert_eq!(ids(&wide_and_slow), [runs[1].as_str(), runs[0].as_str()]);

    // `--sort` on a spec key, both directions.
    let ascending = listed(&ws, &["--sort", "optimizer.learning_rate"]);
    assert_eq!(ids(&ascending), [&runs[0], &runs[1], &runs[2]]);
    let descending = listed(&ws, &["--sort", "model.layers[0].units:desc"]);
    assert_eq!(descending.last().unwrap()["id"], runs[2].as_str());

    // `params` holds the keys that differ, as typed numbers.
    let params = &ascending[2]["params"];
    assert_eq!(params["optimizer.learning_rate"], 0.05);
    assert_eq!(params["model.layers.0.units"], 8);
    let keys: Vec<&String> = params.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["model.layers.0.units", "optimizer.learning_rate"]);
    let chosen = listed(&ws, &["--columns", "optimizer.type,model.layers[1].type"]);
    assert_eq!(
        chosen[0]["params"],
        serde_json::json!({"optimizer.type": "adam", "model.layers.1.type": "relu"})
    );
    assert_eq!(
        listed(&ws, &["--columns", "none"])[0]["params"],
        serde_json::json!({})
    );

    // The table shows the differing keys by their short names, readable.
    let table = ws.ok(&["runs", "--sort", "optimizer.learning_rate"]);
    insta::assert_snapshot!("runs_spec_columns", scrubbed_table(&table, &runs));
    let widest = table.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(widest <= 160, "{widest} columns:\n{table}");
    let hidden = ws.ok(&["runs", "--columns", "none"]);
    assert!(!hidden.contains("learning_rate"), "{hidden}");
    let named = ws.ok(&["runs", "--columns", "model.layers[0].units"]);
    assert!(named.lines().next().unwrap().contains("layers.0.units"));
    assert!(!named.contains("learning_rate"), "{named}");
}

#[test]
fn unknown_spec_keys_are_refused_with_the_closest_key() {
    let ws = Workspace::new();
    ws.train(&["train.epochs=2"]);
    for args in [
        &["runs", "--where", "optimizer.learning_rat > 0.005"][..],
        &["runs", "--sort", "optimizer.learning_rat"],
        &["runs", "--columns", "optimizer.learning_rat"],
    ] {
        let out = ws.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let message = stderr(&out);
        assert!(
            message.contains("spec key `optimizer.learning_rat`: no run records it")
                && message.contains("did you mean `optimizer.learning_rate`?"),
            "{args:?}: {message}"
        );
    }
    let out = ws.run(&["runs", "--where", "optimizer.type > 3"]);
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!("spec_key_holds_text", stderr(&out));
    let out = ws.run(&["runs", "--columns", "model.layers[x].units"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not a list index"),
        "{}",
        stderr(&out)
    );
}

/// `--set` takes brackets as `compare` prints them (issue 21, item 5).
#[test]
fn set_takes_brackets_and_dots_alike() {
    let ws = Workspace::new();
    let run = ws.train(&["train.epochs=2", "model.layers[0].units=8"]);
    let id = run["id"].as_str().unwrap();
    let units: Vec<f64> = ws.query(&format!(
        "SELECT num FROM run_params WHERE run_id = '{id}' AND key = 'model.layers.0.units'"
    ));
    assert_eq!(units, [8.0]);
    let out = ws.run(&[
        "run",
        crate::common::mlp_spec().to_str().unwrap(),
        "--set",
        "model.layers[9].units=8",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("past the end"), "{}", stderr(&out));
}

#[test]
fn runs_of_several_experiments_get_no_default_spec_columns() {
    let ws = Workspace::new();
    ws.train(&["train.epochs=2"]);
    ws.train(&["train.epochs=2", "optimizer.learning_rate=0.01"]);
    let iris = crate::common::repo_root().join("experiments/iris.toml");
    ws.ok(&["run", iris.to_str().unwrap(), "--set", "train.epochs=2"]);

    // Across experiments nearly every key differs: no default columns, a hint.
    let out = ws.run(&["runs"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = String::from_utf8(out.stdout.clone()).unwrap();
    let header = table.lines().next().unwrap();
    assert!(!header.contains("learning_rate"), "{header}");
    assert!(
        stderr(&out).contains("span 2 experiments"),
        "{}",
        stderr(&out)
    );

    // Within one experiment the differing key is a column again.
    let table = ws.ok(&["runs", "--experiment", "diabetes-mlp"]);
    assert!(
        table.lines().next().unwrap().contains("learning_rate"),
        "{table}"
    );
    // A short header that would read as a column of its own keeps its key.
    let table = ws.ok(&["runs", "--columns", "train.epochs"]);
    assert!(
        table.lines().next().unwrap().contains("train.epochs"),
        "{table}"
    );
    // A key the filter names is a column even across experiments.
    let table = ws.ok(&["runs", "--where", "optimizer.learning_rate > 0.005"]);
    assert!(
        table.lines().next().unwrap().contains("learning_rate"),
        "{table}"
    );
}
