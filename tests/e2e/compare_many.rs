//! `compare` of many runs (issue 21, items 7 and 8): a ranked table first,
//! readable at 10 runs within 120 columns, `--top N`, `--plot` writing only
//! the file, `--metric` checked against what the runs recorded, and a
//! layer inserted in one run shown as one insertion.

use crate::common::{Workspace, repo_root, stderr};

/// Ten tiny runs of the diabetes MLP (2 epochs), differing in learning
/// rate and width; returns their ids in order.
fn ten_runs(ws: &Workspace) -> Vec<String> {
    let mut ids = Vec::new();
    for units in ["32", "64"] {
        for rate in ["0.001", "0.003", "0.01", "0.03", "0.1"] {
            let summary = ws.train(&[
                "train.epochs=2",
                &format!("optimizer.learning_rate={rate}"),
                &format!("model.layers.0.units={units}"),
            ]);
            ids.push(summary["id"].as_str().unwrap().to_string());
        }
    }
    ids
}

/// `text` with each run's short id replaced by `[RUN n]`.
fn redacted(text: &str, ids: &[String], ws: &Workspace) -> String {
    ids.iter()
        .enumerate()
        .fold(text.to_string(), |text, (index, id)| {
            text.replace(&ws.short_id(id), &format!("[RUN {}]", index + 1))
        })
}

#[test]
fn ten_runs_compare_as_a_ranked_table() {
    let ws = Workspace::new();
    let ids = ten_runs(&ws);
    let mut args: Vec<&str> = vec!["compare"];
    args.extend(ids.iter().map(String::as_str));

    let out = ws.run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    for line in text.lines() {
        assert!(line.chars().count() <= 120, "wider than 120: {line:?}");
    }
    assert!(text.lines().count() < 30, "{text}");
    assert!(text.contains("lr") && text.contains("units"), "{text}");
    assert!(!text.contains("learning curves"), "{text}");
    assert!(stderr(&out).contains("hint: --metrics"), "{}", stderr(&out));
    insta::assert_snapshot!("compare_ten_runs", redacted(&text, &ids, &ws));

    // `runs` at ten runs: the keys that differ as columns, sorted by one of
    // them (about 150 columns: two spec keys beside the metrics and verdict).
    let table = ws.ok(&["runs", "--sort", "optimizer.learning_rate"]);
    let mut lines = vec![];
    for line in table.lines() {
        assert!(line.chars().count() <= 160, "wider than 160: {line:?}");
        // `12-07 11:55`: the start time, the one thing that changes.
        let line: String = match line.find(char::is_numeric) {
            Some(_) if !line.starts_with(" id") => {
                let words: Vec<&str> = line.split("  ").collect();
                words
                    .iter()
                    .map(|w| {
                        let stamp = w.trim();
                        let is_time = stamp.len() == 11
                            && stamp.as_bytes().get(2) == Some(&b'-')
                            && stamp.as_bytes().get(5) == Some(&b' ');
                        if is_time { "[MM-DD hh:mm]" } else { w }
                    })
                    .collect::<Vec<_>>()
                    .join("  ")
            }
            _ => line.to_owned(),
        };
        lines.push(line);
    }
    insta::assert_snapshot!("runs_ten_runs", redacted(&lines.join("\n"), &ids, &ws));

    let mut top = args.clone();
    top.extend(["--top", "3"]);
    let text = ws.ok(&top);
    let ranks: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("runs, best first"))
        .skip(2)
        .take_while(|l| !l.trim().is_empty() && l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|word| word.parse::<usize>().is_ok())
        .collect();
    assert_eq!(ranks, ["1", "2", "3"], "{text}");
    insta::assert_snapshot!("compare_ten_runs_top_3", redacted(&text, &ids, &ws));

    let mut details = args.clone();
    details.extend(["--details"]);
    let text = ws.ok(&details);
    for expected in [
        "spec differences",
        "generalization",
        "reproducibility (against A)",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
    assert_eq!(
        text.matches(" loss (log scale)").count() + text.matches("  loss\n").count(),
        10
    );
}

#[test]
fn plot_writes_only_the_file_with_legends_by_what_differs() {
    let ws = Workspace::new();
    let a = ws.train(&["train.epochs=3"]);
    let b = ws.train(&["train.epochs=3", "optimizer.learning_rate=0.05"]);
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());

    let out = ws.run(&["compare", a, b, "--plot", "curves.svg"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        stderr(&out).trim(),
        "wrote the learning curves to curves.svg"
    );
    let svg = std::fs::read_to_string(ws.path().join("curves.svg")).unwrap();
    assert!(
        svg.contains("A · lr=0.001") && svg.contains("B · lr=0.05"),
        "{svg}"
    );
    assert!(!svg.contains(&a[..13]), "legend by what differs, not by id");
    assert_eq!(
        svg.matches("<circle data-run=").count(),
        2,
        "best epochs: {svg}"
    );

    // Any metric recorded per epoch; an unknown one lists the recorded ones.
    let out = ws.run(&["compare", a, b, "--metric", "val_accuracy"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("--metric val_accuracy: no run here recorded it per epoch"),
        "{err}"
    );
    assert!(
        err.contains("train_loss") && err.contains("val_loss"),
        "{err}"
    );
    let text = ws.ok(&["compare", a, b, "--metric", "val_loss"]);
    assert!(
        text.contains("val_loss") && text.contains("◆ best epoch"),
        "{text}"
    );
}

/// A dropout inserted in the second run is one insertion, not a
/// difference in every later layer.
#[test]
fn an_inserted_layer_is_one_insertion() {
    let ws = Workspace::new();
    let spec = std::fs::read_to_string(repo_root().join("experiments/mlp.toml"))
        .unwrap()
        .replace(
            "data/diabetes.csv",
            &repo_root()
                .join("experiments/data/diabetes.csv")
                .display()
                .to_string(),
        );
    let dropout = spec.replace(
        "  { type = \"relu\" },\n",
        "  { type = \"relu\" },\n  { type = \"dropout\", rate = 0.5 },\n",
    );
    assert_ne!(spec, dropout);
    let plain = ws.write("plain.toml", &spec);
    let with_dropout = ws.write("dropout.toml", &dropout);
    let id = |path: &std::path::Path| {
        let out = ws.ok(&[
            "run",
            path.to_str().unwrap(),
            "--set",
            "train.epochs=2",
            "--json",
        ]);
        let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
        summary["id"].as_str().unwrap().to_string()
    };
    let (a, b) = (id(&plain), id(&with_dropout));
    let text = ws.ok(&["compare", &a, &b]);
    assert!(
        text.contains("B: + dropout(rate=0.5) after layer 1"),
        "{text}"
    );
    assert!(!text.contains("model.layers.2"), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&ws.ok(&["compare", &a, &b, "--json"])).unwrap();
    assert_eq!(json["layer_changes"].as_array().unwrap().len(), 1, "{json}");
    assert_eq!(json["layer_changes"][0]["change"], "inserted");
    assert_eq!(json["layer_changes"][0]["reference_layer"], 1);
}
