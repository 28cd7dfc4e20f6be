//! Deleting and archiving runs (issue 21, item 6): `rm` by id and by
//! `--where` removes the rows and then the folder, asks first (and refuses
//! off a terminal without `--yes`), never touches a run in progress or,
//! unforced, an aliased one; `archive` hides runs from `runs` and `best`
//! and `--undo` brings them back.

use std::process::Output;

use crate::common::{Workspace, scrub, stderr};

/// Trains a run of the shipped spec for `epochs` epochs; returns its id.
fn train(ws: &Workspace, epochs: u32) -> String {
    let summary = ws.train(&[&format!("train.epochs={epochs}")]);
    summary["id"].as_str().unwrap().to_owned()
}

/// The ids `runs ARGS --json` lists.
fn listed(ws: &Workspace, args: &[&str]) -> Vec<String> {
    let mut all = vec!["runs", "--json"];
    all.extend(args);
    let runs: Vec<serde_json::Value> = serde_json::from_str(&ws.ok(&all)).unwrap();
    runs.iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The id `show RUN --json` gives.
fn shown(ws: &Workspace, run: &str) -> String {
    let record: serde_json::Value = serde_json::from_str(&ws.ok(&["show", run, "--json"])).unwrap();
    record["id"].as_str().unwrap().to_owned()
}

/// How many rows of the registry's tables name run `id`.
fn rows_of(ws: &Workspace, id: &str) -> i64 {
    ws.query::<i64>(&format!(
        "SELECT (SELECT COUNT(*) FROM runs WHERE id = '{id}') \
         + (SELECT COUNT(*) FROM epoch_metrics WHERE run_id = '{id}') \
         + (SELECT COUNT(*) FROM final_metrics WHERE run_id = '{id}') \
         + (SELECT COUNT(*) FROM artifacts WHERE run_id = '{id}') \
         + (SELECT COUNT(*) FROM run_tags WHERE run_id = '{id}')"
    ))[0]
}

/// stderr (or stdout) with run ids and sizes replaced by placeholders.
fn scrubbed(text: &str, ws: &Workspace, ids: &[&str]) -> String {
    let mut text = scrub(text, ws);
    for (i, id) in ids.iter().enumerate() {
        text = text
            .replace(id, &format!("[RUN{}]", i + 1))
            .replace(&ws.short_id(id), &format!("[RUN{}]", i + 1));
    }
    text
}

fn assert_refused(out: &Output) {
    assert_eq!(out.status.code(), Some(2), "{}", stderr(out));
}

#[test]
fn rm_by_id_with_yes_removes_the_rows_then_the_folder() {
    let ws = Workspace::new();
    let gone = train(&ws, 2);
    let kept = train(&ws, 2);
    assert!(rows_of(&ws, &gone) > 10);
    assert!(ws.has_artifacts(&gone));

    let out = ws.ok(&["rm", &gone, "--yes", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["deleted"], true);
    assert_eq!(report["count"], 1);
    assert_eq!(report["runs"][0]["id"], gone.as_str());
    assert_eq!(report["experiments"], serde_json::json!(["diabetes-mlp"]));
    assert!(report["bytes"].as_u64().unwrap() > 1000, "{report}");
    assert_eq!(rows_of(&ws, &gone), 0);
    assert!(!ws.has_artifacts(&gone));
    assert_eq!(listed(&ws, &[]), [kept.as_str()]);
    assert!(ws.has_artifacts(&kept));
    // Nothing is left for gc.
    assert!(ws.ok(&["gc", "--json"]).contains("\"entries\":[]"));
    // The id is gone everywhere.
    assert_refused(&ws.run(&["show", &gone]));
}

#[test]
fn rm_refuses_without_yes_off_a_terminal() {
    let ws = Workspace::new();
    let id = train(&ws, 2);
    let out = ws.run(&["rm", &id]);
    assert_refused(&out);
    assert!(rows_of(&ws, &id) > 0);
    assert!(ws.has_artifacts(&id));
    insta::with_settings!({filters => vec![(r"\d+(\.\d)? (B|KiB|MiB)", "[SIZE]")]}, {
        insta::assert_snapshot!("rm_without_yes", scrubbed(&stderr(&out), &ws, &[&id]));
    });
}

#[test]
fn rm_by_where_lists_with_dry_run_then_deletes_what_matches() {
    let ws = Workspace::new();
    let short = train(&ws, 2);
    let long = train(&ws, 3);
    let other = train(&ws, 2);
    ws.ok(&["tag", &other, "keep"]);

    let selection = ["rm", "--where", "epochs = 2 and not tag = keep"];
    let dry = ws.run(&[&selection[..], &["--dry-run"][..]].concat());
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert_eq!(listed(&ws, &[]).len(), 3);
    insta::with_settings!({filters => vec![(r"\d+(\.\d)? (B|KiB|MiB)", "[SIZE]")]}, {
        insta::assert_snapshot!(
            "rm_dry_run",
            scrubbed(&String::from_utf8_lossy(&dry.stdout), &ws, &[&short])
        );
    });

    ws.ok(&[&selection[..], &["--yes"][..]].concat());
    let mut left = listed(&ws, &[]);
    left.sort();
    let mut expected = vec![long, other];
    expected.sort();
    assert_eq!(left, expected);
    assert_eq!(rows_of(&ws, &short), 0);
    assert!(!ws.has_artifacts(&short));

    // A filter that matches nothing deletes nothing, and says so.
    let out = ws.run(&["rm", "--where", "epochs = 99", "--yes"]);
    assert!(out.status.success());
    assert!(stderr(&out).contains("nothing deleted"), "{}", stderr(&out));
    // Neither a run nor a filter: refused with a hint.
    let out = ws.run(&["rm", "--yes"]);
    assert_refused(&out);
    assert!(stderr(&out).contains("hint:"), "{}", stderr(&out));
}

#[test]
fn rm_never_deletes_a_run_in_progress() {
    let ws = Workspace::new();
    let id = train(&ws, 2);
    // A run training on another host, alive by its heartbeat: no command
    // marks it crashed.
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
    ws.execute(&format!(
        "UPDATE runs SET status = 'running', ended_at = NULL, host = 'elsewhere', \
         heartbeat_at = '{now}' WHERE id = '{id}'"
    ));
    let out = ws.run(&["rm", &id, "--yes"]);
    assert_refused(&out);
    insta::assert_snapshot!("rm_running", scrubbed(&stderr(&out), &ws, &[&id]));
    let out = ws.run(&["rm", "--where", "epochs >= 1", "--yes", "--force"]);
    assert_refused(&out);
    assert!(stderr(&out).contains("is running"), "{}", stderr(&out));
    let out = ws.run(&["archive", &id]);
    assert_refused(&out);
    assert!(rows_of(&ws, &id) > 0);
    assert!(ws.has_artifacts(&id));
}

#[test]
fn rm_refuses_an_aliased_run_unless_forced() {
    let ws = Workspace::new();
    let id = train(&ws, 2);
    ws.ok(&["alias", "set", "production", &id]);
    let out = ws.run(&["rm", "production", "--yes"]);
    assert_refused(&out);
    insta::assert_snapshot!("rm_aliased", scrubbed(&stderr(&out), &ws, &[&id]));
    assert!(rows_of(&ws, &id) > 0);

    ws.ok(&["rm", "production", "--yes", "--force"]);
    assert_eq!(rows_of(&ws, &id), 0);
    assert_refused(&ws.run(&["show", "production"]));
}

#[test]
fn archive_hides_runs_from_runs_and_best_and_undo_brings_them_back() {
    let ws = Workspace::new();
    let first = train(&ws, 2);
    let second = train(&ws, 3);
    let best = shown(&ws, "best");
    let other = if best == first {
        second.clone()
    } else {
        first.clone()
    };

    let out = ws.run(&["archive", &best, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["archived"], true);
    assert_eq!(report["runs"], serde_json::json!([best.clone()]));

    assert_eq!(listed(&ws, &[]), [other.as_str()]);
    assert_eq!(listed(&ws, &["--archived"]), [best.as_str()]);
    assert_eq!(listed(&ws, &["--all"]).len(), 2);
    assert_eq!(shown(&ws, "best"), other);
    assert_eq!(shown(&ws, "best:test_r2"), other);
    assert_eq!(shown(&ws, "latest"), other);
    // Still named by its id, and `show` says it is archived.
    let text = ws.ok(&["show", &best]);
    assert!(text.contains("archived"), "{text}");
    let table = ws.ok(&["runs", "--all"]);
    assert!(table.contains("completed (archived)"), "{table}");
    // The files stay.
    assert!(ws.has_artifacts(&best));

    let out = ws.run(&["archive", "--undo", &best]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("brought back 1 run"),
        "{}",
        stderr(&out)
    );
    assert_eq!(listed(&ws, &[]).len(), 2);
    assert_eq!(shown(&ws, "best"), best);
    assert!(listed(&ws, &["--archived"]).is_empty());

    // By filter; `rm --archived` then deletes exactly the archived runs.
    ws.ok(&["archive", "--where", "epochs = 2"]);
    assert_eq!(listed(&ws, &["--archived"]), [first.as_str()]);
    ws.ok(&["rm", "--archived", "--yes"]);
    assert_eq!(listed(&ws, &["--all"]), [second]);
    assert_eq!(rows_of(&ws, &first), 0);
}
